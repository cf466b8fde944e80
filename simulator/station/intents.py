"""What the station wants said to the CSMS, in no protocol's words.

A feature decides that something must be reported (a firmware status, a security event, a
certificate request); it hands one of these to `Station.send` / `Station.notify`, and the
station's dialect turns it into the wire message of its protocol version.  Each intent is a
small frozen dataclass of plain values, so it can be journalled and compared in tests.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from .clock import iso, parse_iso
from .meter import Sample
from .transaction import MeterSnapshot, Transaction, Trigger, end_trigger


@dataclass(frozen=True, slots=True)
class FirmwareStatusChanged:
    status: str                    # Downloading, Downloaded, Installing, Installed, ...
    request_id: int | None = None  # the signed update it belongs to (None: a plain one)
    signed: bool = False           # reported in the signed-update vocabulary


@dataclass(frozen=True, slots=True)
class DiagnosticsStatusChanged:
    status: str                    # Idle, Uploading, Uploaded, UploadFailed


@dataclass(frozen=True, slots=True)
class LogStatusChanged:
    status: str                    # Idle, Uploading, Uploaded, UploadFailure, ...
    request_id: int | None = None


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    kind: str                      # e.g. FailedToAuthenticateAtCentralSystem
    timestamp: str                 # ISO 8601, when it happened
    tech_info: str | None = None


@dataclass(frozen=True, slots=True)
class SignCertificateRequest:
    """Ask the CSMS to sign a certificate; the dialect answers the CSMS's status."""
    csr: str                       # PEM


# -- transaction messages: what the offline queue holds (JSON records, see offline_queue.py) --
def snapshot_record(s: MeterSnapshot) -> dict:
    return {"timestamp": iso(s.timestamp), "context": s.context,
            "samples": [{k: v for k, v in (("measurand", x.measurand), ("value", x.value),
                                           ("unit", x.unit), ("phase", x.phase),
                                           ("location", x.location)) if v is not None}
                        for x in s.samples]}


def snapshot_from(record: dict) -> MeterSnapshot:
    return MeterSnapshot(parse_iso(record["timestamp"]), record["context"],
                         [Sample(**x) for x in record["samples"]])


@dataclass(frozen=True, slots=True)
class TransactionStarted:
    kind: ClassVar[str] = "transaction_started"
    transaction: str                       # the station's transaction id (Transaction.id)
    connector_id: int
    evse_id: int
    id_token: str                          # the id token's value
    token_type: str                        # ... and type
    meter_start: int                       # Wh
    timestamp: str                         # ISO 8601
    trigger: str                           # transaction.Trigger
    reservation_id: int | None = None
    remote: bool = False                   # started by the CSMS's remote start

    @classmethod
    def of(cls, tx: Transaction) -> TransactionStarted:
        return cls(tx.id, tx.connector_id, tx.evse_id, tx.id_token.value, tx.id_token.type,
                   tx.meter_start, iso(tx.start_time), str(tx.trigger), tx.reservation_id,
                   tx.remote)


@dataclass(frozen=True, slots=True)
class TransactionUpdated:
    """Meter values of a running transaction (they wait out an outage, in order)."""
    kind: ClassVar[str] = "transaction_updated"
    transaction: str
    connector_id: int
    evse_id: int
    snapshots: tuple[dict, ...]            # snapshot_record()s
    trigger: str = Trigger.METER_PERIODIC

    @classmethod
    def of(cls, tx: Transaction, snapshots: list[MeterSnapshot],
           trigger: str = Trigger.METER_PERIODIC) -> TransactionUpdated:
        return cls(tx.id, tx.connector_id, tx.evse_id,
                   tuple(snapshot_record(s) for s in snapshots if s.samples), str(trigger))


@dataclass(frozen=True, slots=True)
class MeterSample:
    """Meter values outside a transaction (never queued: a later reading replaces them)."""
    kind: ClassVar[str] = "meter_sample"
    connector_id: int
    evse_id: int
    snapshots: tuple[dict, ...]

    @classmethod
    def of(cls, connector_id: int, snapshots: list[MeterSnapshot],
           evse_id: int | None = None) -> MeterSample:
        return cls(connector_id, connector_id if evse_id is None else evse_id,
                   tuple(snapshot_record(s) for s in snapshots if s.samples))


@dataclass(frozen=True, slots=True)
class TransactionEnded:
    kind: ClassVar[str] = "transaction_ended"
    transaction: str
    connector_id: int
    evse_id: int
    meter_stop: int
    timestamp: str
    reason: str                            # transaction.StopReason
    trigger: str                           # transaction.Trigger
    id_token: str | None = None            # who stopped it: value ...
    token_type: str | None = None          # ... and type
    data: tuple[dict, ...] = ()            # snapshot_record()s

    @classmethod
    def of(cls, tx: Transaction) -> TransactionEnded:
        who = tx.stop_id_token
        return cls(tx.id, tx.connector_id, tx.evse_id, tx.meter_stop, iso(tx.stop_time),
                   str(tx.stop_reason), str(end_trigger(tx.stop_reason)),
                   who.value if who else None, who.type if who else None,
                   tuple(snapshot_record(s) for s in tx.data if s.samples))


TransactionIntent = TransactionStarted | TransactionUpdated | TransactionEnded
# What the offline queue holds (MeterSample outside a transaction is not queued).
TRANSACTION_KINDS = {c.kind: c for c in (TransactionStarted, TransactionUpdated, TransactionEnded)}


def record(intent: TransactionIntent) -> dict:
    """The intent as JSON (for the journal)."""
    out = {f.name: getattr(intent, f.name) for f in fields(intent)}
    for key in ("snapshots", "data"):
        if key in out:
            out[key] = list(out[key])
    return out


def from_record(kind: str, data: dict) -> TransactionIntent:
    """The intent back from its record; ValueError for a record that is not one (e.g. a
    journal line written by an older version)."""
    cls = TRANSACTION_KINDS.get(kind)
    if cls is None:
        raise ValueError(f"{kind!r} is not a transaction intent")
    data = dict(data)
    names = {f.name for f in fields(cls)}
    if not set(data) <= names:
        raise ValueError(f"{kind} record with unknown fields {sorted(set(data) - names)}")
    for key in ("snapshots", "data"):
        if key in data:
            data[key] = tuple(data[key])
    try:
        return cls(**data)
    except TypeError as e:
        raise ValueError(f"{kind} record: {e}") from None


Intent = (FirmwareStatusChanged | DiagnosticsStatusChanged | LogStatusChanged | SecurityEvent
          | SignCertificateRequest)
