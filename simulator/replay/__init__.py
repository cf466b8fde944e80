"""Replay of captured charger logs (issue 12).  So far: reading frame logs of every layout
into one neutral record (logs.read_log / read_text)."""
from .layouts import CHARGESIM, HUB_EXPORT, LAYOUTS, OCPP_J, SOAP, detect
from .logs import read_log, read_text
from .records import IN, OUT, LogError, LogEvent, LoggedFrame, LogRead, Problem, SoapMessage

__all__ = [
    "CHARGESIM", "HUB_EXPORT", "LAYOUTS", "OCPP_J", "SOAP", "detect", "read_log", "read_text",
    "IN", "OUT", "LogError", "LogEvent", "LoggedFrame", "LogRead", "Problem", "SoapMessage",
]
