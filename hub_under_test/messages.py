"""The abstract hub protocol: version-neutral, typed messages between adapters and the manager.

Adapters (one per wire protocol: OCPP-J 1.6 and 2.0.1 today, SOAP 1.5 later) translate wire
payloads into these dataclasses and back; the manager, the store and the event bus only ever
see these.  They are the one source of truth for the hub's internal protocol: `json_schema()`
derives JSON Schema from the same definitions (`python -m hub_under_test.schema` prints it),
and `to_dict` / `from_dict` give the JSON form that travels on the event bus.

Versioned: `PROTOCOL_VERSION` is bumped on any incompatible change; adding an optional field
is compatible.  Timestamps are timezone-aware UTC datetimes; energy is in Wh.
"""
from __future__ import annotations

import dataclasses
import enum
import sys
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar, Union

PROTOCOL_VERSION = 1
SCHEMA_ID = f"urn:chargesim:hub:messages:v{PROTOCOL_VERSION}"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# -- enumerations (the union of what the wire protocols can say) --------------------------

class RegistrationStatus(str, enum.Enum):
    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


class AuthorizationStatus(str, enum.Enum):
    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"
    UNKNOWN = "Unknown"  # the token is not known at all (1.6 says Invalid, 2.0.1 Unknown)


class ConnectorStatus(str, enum.Enum):
    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EVSE = "SuspendedEVSE"
    SUSPENDED_EV = "SuspendedEV"
    FINISHING = "Finishing"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"
    OCCUPIED = "Occupied"  # 2.0.1's one word for Preparing..Finishing


class DataTransferStatus(str, enum.Enum):
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    UNKNOWN_MESSAGE_ID = "UnknownMessageId"
    UNKNOWN_VENDOR_ID = "UnknownVendorId"


class Implausible(ValueError):
    """A well-formed message that cannot be true (a stop below its meter start, a transaction
    on connector -1, ...).  Strict hubs refuse it; adapters answer it in their protocol's
    terms (1.6: CALLERROR PropertyConstraintViolation)."""


# -- messages -----------------------------------------------------------------------------

class Message:
    """Base of all hub messages.  `TOPIC` is the event-bus routing key, if it is published.

    Every concrete subclass registers itself in `MESSAGES` (by class name), so the JSON
    Schema covers the commands (`commands.py`) and the feature events as well."""
    TOPIC: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if dataclasses.is_dataclass(cls) or "__slots__" in cls.__dict__:
            MESSAGES[cls.__name__] = cls  # the slotted dataclass replaces its draft


MESSAGES: dict[str, type[Message]] = {}


@dataclass(slots=True)
class StationBoot(Message):
    """A station (re)started and introduces itself."""
    TOPIC: ClassVar[str] = "station.booted"
    station_id: str
    vendor: str
    model: str
    serial_number: str | None = None
    firmware_version: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    meter_type: str | None = None
    meter_serial_number: str | None = None
    reason: str | None = None  # 2.0.1 boot reason; None for 1.6


@dataclass(slots=True)
class BootResult(Message):
    status: RegistrationStatus
    current_time: datetime
    interval: int  # heartbeat interval (Accepted) or retry interval (Pending/Rejected), seconds


@dataclass(slots=True)
class Heartbeat(Message):
    station_id: str


@dataclass(slots=True)
class HeartbeatResult(Message):
    current_time: datetime


@dataclass(slots=True)
class StatusChange(Message):
    """A connector (1.6 connectorId; 2.0.1 adapters map the EVSE here) changed status.
    connector_id 0 is the station as a whole."""
    TOPIC: ClassVar[str] = "status.changed"
    station_id: str
    connector_id: int
    status: ConnectorStatus
    error_code: str = "NoError"
    info: str | None = None
    vendor_id: str | None = None
    vendor_error_code: str | None = None
    timestamp: datetime | None = None


@dataclass(slots=True)
class AuthorizeRequest(Message):
    TOPIC: ClassVar[str] = "token.authorized"
    station_id: str
    id_token: str
    token_type: str | None = None  # 2.0.1 IdTokenType; None for 1.6


@dataclass(slots=True)
class IdTokenInfo(Message):
    status: AuthorizationStatus
    expiry_date: datetime | None = None
    parent_id_token: str | None = None


@dataclass(slots=True)
class TransactionStart(Message):
    station_id: str
    connector_id: int
    id_token: str
    meter_start: int  # Wh
    timestamp: datetime
    reservation_id: int | None = None


@dataclass(slots=True)
class TransactionStarted(Message):
    """The hub's answer to TransactionStart, and the event published for it."""
    TOPIC: ClassVar[str] = "transaction.started"
    station_id: str
    transaction_id: int
    connector_id: int
    id_token: str
    meter_start: int
    timestamp: datetime
    id_token_info: IdTokenInfo


@dataclass(slots=True)
class MeterSample(Message):
    timestamp: datetime
    raw_value: str  # as sent (may be signed data)
    value: float | None = None  # numeric reading, when raw_value is a number
    measurand: str = "Energy.Active.Import.Register"
    phase: str | None = None
    unit: str = "Wh"
    context: str | None = None
    location: str | None = None
    format: str | None = None


@dataclass(slots=True)
class MeterReading(Message):
    TOPIC: ClassVar[str] = "meter.values"
    station_id: str
    connector_id: int
    transaction_id: int | None = None
    samples: list[MeterSample] = field(default_factory=list)


@dataclass(slots=True)
class TransactionStop(Message):
    station_id: str
    transaction_id: int
    meter_stop: int  # Wh
    timestamp: datetime
    reason: str | None = None  # the wire protocol's reason name, e.g. "Local", "EVDisconnected"
    id_token: str | None = None
    samples: list[MeterSample] = field(default_factory=list)


@dataclass(slots=True)
class TransactionStopped(Message):
    """The hub's answer to TransactionStop, and the event published for it."""
    TOPIC: ClassVar[str] = "transaction.stopped"
    station_id: str
    transaction_id: int
    known: bool  # False: the hub had no record of this transaction
    energy_wh: int | None = None
    reason: str | None = None
    id_token_info: IdTokenInfo | None = None
    closed_by: str = "station"  # "hub": a stale transaction the hub ended (reason says why)


@dataclass(slots=True)
class TransactionUpdated(Message):
    """A 2.0.1 TransactionEvent Updated (TransactionStarted / TransactionStopped stand for
    Started and Ended): the hub's transaction id, the station's own id, and what was wrong
    with the event (`flags`: a seqNo gap, an unknown transaction, ...; accepted anyway)."""
    TOPIC: ClassVar[str] = "transaction.updated"
    station_id: str
    transaction_id: int
    remote_id: str
    seq_no: int
    trigger_reason: str
    timestamp: datetime
    offline: bool = False
    charging_state: str | None = None
    id_token: str | None = None
    samples: list[MeterSample] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class StationReport(Message):
    """A report a 2.0.1 station sends on its own or on request (NotifyReport, NotifyEvent,
    ReportChargingProfiles, NotifyChargingLimit, ...): the action, its requestId and seqNo
    when it has them, whether more parts follow (`tbc`) and the number of items in it."""
    TOPIC: ClassVar[str] = "station.report"
    station_id: str
    action: str
    request_id: int | None = None
    seq_no: int | None = None
    tbc: bool = False
    items: int = 0


@dataclass(slots=True)
class DataTransfer(Message):
    TOPIC: ClassVar[str] = "datatransfer.received"
    station_id: str
    vendor_id: str
    message_id: str | None = None
    data: Any = None  # 1.6: a string; 2.0.1: any JSON


@dataclass(slots=True)
class DataTransferResult(Message):
    status: DataTransferStatus
    data: Any = None


@dataclass(slots=True)
class FirmwareStatusChange(Message):
    TOPIC: ClassVar[str] = "firmware.status"
    station_id: str
    status: str
    request_id: int | None = None


@dataclass(slots=True)
class DiagnosticsStatusChange(Message):
    """1.6 DiagnosticsStatusNotification; 2.0.1 LogStatusNotification."""
    TOPIC: ClassVar[str] = "diagnostics.status"
    station_id: str
    status: str
    request_id: int | None = None


@dataclass(slots=True)
class FileUploaded(Message):
    """A station's diagnostics or log file arrived on the hub's upload endpoint (api/files.py)."""
    TOPIC: ClassVar[str] = "files.uploaded"
    station_id: str
    name: str
    size: int


@dataclass(slots=True)
class SecurityEvent(Message):
    TOPIC: ClassVar[str] = "security.event"
    station_id: str
    type: str
    timestamp: datetime
    tech_info: str | None = None


@dataclass(slots=True)
class CertificateSigningRequest(Message):
    """A station asks the hub's CA to sign its key (1.6 security: SignCertificate)."""
    station_id: str
    csr: str   # PEM


@dataclass(slots=True)
class CertificateSigningResult(Message):
    """accepted: the CSR was signed; `chain` (leaf, CA; PEM) goes to the station next, as the
    command CertificateSigned, and `record` is the hub's row of the issued certificate."""
    accepted: bool
    reason: str | None = None
    chain: str | None = None
    record: int | None = None


@dataclass(slots=True)
class StationConnected(Message):
    TOPIC: ClassVar[str] = "station.connected"
    station_id: str
    protocol: str
    remote: str | None = None


@dataclass(slots=True)
class StationDisconnected(Message):
    TOPIC: ClassVar[str] = "station.disconnected"
    station_id: str
    code: int | None = None
    reason: str | None = None




# -- JSON form ----------------------------------------------------------------------------

def format_time(ts: datetime) -> str:
    """UTC with a 'Z' (some chargers reject '+00:00'), millisecond precision."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An RFC 3339 timestamp as an aware datetime (no offset is read as UTC)."""
    ts = datetime.fromisoformat(text.replace("z", "Z"))
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def to_dict(message: Message) -> dict:
    """The JSON form of a message (field names as in Python, datetimes as strings)."""
    return {f.name: _to_json(getattr(message, f.name)) for f in dataclasses.fields(message)}


def _to_json(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, Message):
        return to_dict(value)
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    return value


def from_dict(cls: type[Message], data: dict) -> Message:
    """Build a message from its JSON form (the inverse of to_dict)."""
    hints = _hints(cls)
    kwargs = {f.name: _from_json(hints[f.name], data[f.name])
              for f in dataclasses.fields(cls) if f.name in data}
    return cls(**kwargs)


def _from_json(tp, value):
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _from_json(inner[0], value) if len(inner) == 1 else value
    if origin is list:
        (item,) = typing.get_args(tp)
        return [_from_json(item, v) for v in value]
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            return tp(value)
        if tp is datetime:
            return parse_time(value)
        if dataclasses.is_dataclass(tp):
            return from_dict(tp, value)
    return value


# -- JSON Schema --------------------------------------------------------------------------

def _hints(cls) -> dict:
    return typing.get_type_hints(cls, globalns=vars(sys.modules[cls.__module__]))


def _schema_of(tp, defs: dict) -> dict:
    if tp is Any:
        return {}
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        inner = [a for a in args if a is not type(None)]
        options = [_schema_of(a, defs) for a in inner]
        if type(None) in args:
            only = options[0]
            if len(options) == 1 and set(only) <= {"type", "format"} and "type" in only:
                return {**only, "type": [only["type"], "null"]}
            options.append({"type": "null"})
        return options[0] if len(options) == 1 else {"anyOf": options}
    if origin is list:
        (item,) = typing.get_args(tp)
        return {"type": "array", "items": _schema_of(item, defs)}
    if tp is str:
        return {"type": "string"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is datetime:
        return {"type": "string", "format": "date-time"}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"type": "string", "enum": [m.value for m in tp]}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        _define(tp, defs)
        return {"$ref": f"#/definitions/{tp.__name__}"}
    raise TypeError(f"no JSON Schema mapping for {tp!r}")


def _define(cls, defs: dict) -> None:
    if cls.__name__ in defs:
        return
    defs[cls.__name__] = {}  # placeholder against recursion
    hints = _hints(cls)
    props, required = {}, []
    for f in dataclasses.fields(cls):
        props[f.name] = _schema_of(hints[f.name], defs)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    schema = {"type": "object", "properties": props, "required": required,
              "additionalProperties": False}
    if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
        schema["description"] = " ".join(cls.__doc__.split())
    if getattr(cls, "TOPIC", None):
        schema["x-topic"] = cls.TOPIC
    defs[cls.__name__] = schema


def json_schema(message: type[Message] | None = None) -> dict:
    """JSON Schema (draft-07) for one message type, or for all of them (`definitions`)."""
    defs: dict = {}
    for cls in MESSAGES.values():
        _define(cls, defs)
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "$id": SCHEMA_ID,
              "title": "chargesim hub messages", "version": PROTOCOL_VERSION,
              "definitions": defs}
    if message is not None:
        schema["title"] = message.__name__
        schema["$ref"] = f"#/definitions/{message.__name__}"
    return schema


if __name__ == "__main__":
    # The schema printer is hub_under_test/schema.py (it loads the commands too); this name
    # is kept as a way to run it, by module name, so this module never imports commands.
    import runpy
    runpy.run_module("hub_under_test.schema", run_name="__main__")
