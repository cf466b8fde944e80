"""The virtual charge point, version-neutral (its dialect speaks the protocol)."""
from .auth import AuthCache, AuthorizationInfo
from .config import ChangeResult, ConfigStore, KeySpec
from .connector import Connector, Status
from .errors import (BootRejected, ConnectFailed, IllegalTransition, NotRegistered, StationError,
                     UnknownMessageId)
from .events import Event
from .ev import EV
from .lifecycle import Registration
from .meter import Meter, Reading, Sample
from .options import StationOptions
from .station import STOP_REASONS, Station
from .transaction import MeterSnapshot, StopReason, Transaction

__all__ = ["AuthCache", "AuthorizationInfo", "ChangeResult", "ConfigStore", "KeySpec",
           "Connector", "Status", "BootRejected", "ConnectFailed",
           "IllegalTransition", "NotRegistered", "StationError", "UnknownMessageId", "Event",
           "EV", "Registration", "Meter", "Reading", "Sample", "StationOptions",
           "STOP_REASONS", "StopReason", "Station", "MeterSnapshot", "Transaction"]
