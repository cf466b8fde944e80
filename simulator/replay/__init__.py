"""Replay of captured charger logs (docs/replay.md): reading frame logs of every layout into
one neutral record (logs.read_log / read_text), per-station scripts (script.build), the
replay on the session layer with id/tag/time mapping (replayer.replay, mapping), the
divergence report (compare, report), --to-scenario and --anonymize."""
from .layouts import CHARGESIM, HUB_EXPORT, LAYOUTS, OCPP_J, SOAP, detect
from .logs import read_log, read_text
from .records import IN, OUT, LogError, LogEvent, LoggedFrame, LogRead, Problem, SoapMessage

__all__ = [
    "CHARGESIM", "HUB_EXPORT", "LAYOUTS", "OCPP_J", "SOAP", "detect", "read_log", "read_text",
    "IN", "OUT", "LogError", "LogEvent", "LoggedFrame", "LogRead", "Problem", "SoapMessage",
]
