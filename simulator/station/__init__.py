"""The virtual charge point, version-neutral (its dialect speaks the protocol)."""
from .auth import AuthCache, IdTagInfo
from .config import ChangeResult, ConfigStore, KeySpec
from .connector import TRANSITIONS, Connector, Status
from .errors import (BootRejected, ConnectFailed, IllegalTransition, NotRegistered, StationError,
                     UnknownMessageId)
from .events import Event
from .ev import EV
from .meter import Meter, Reading, Sample
from .options import StationOptions
from .station import STOP_REASONS, Station
from .transaction import MeterSnapshot, Transaction

__all__ = ["AuthCache", "IdTagInfo", "ChangeResult", "ConfigStore", "KeySpec",
           "TRANSITIONS", "Connector", "Status", "BootRejected", "ConnectFailed",
           "IllegalTransition", "NotRegistered", "StationError", "UnknownMessageId", "Event",
           "EV", "Meter", "Reading", "Sample", "StationOptions", "STOP_REASONS", "Station",
           "MeterSnapshot", "Transaction"]
