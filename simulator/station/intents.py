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
from .transaction import MeterSnapshot, Transaction


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
    connector_id: int
    id_token: str
    meter_start: int                       # Wh
    timestamp: str                         # ISO 8601
    reservation_id: int | None = None

    @classmethod
    def of(cls, tx: Transaction) -> TransactionStarted:
        return cls(tx.connector_id, tx.id_tag, tx.meter_start, iso(tx.start_time),
                   tx.reservation_id)


@dataclass(frozen=True, slots=True)
class MeterSample:
    kind: ClassVar[str] = "meter_sample"
    connector_id: int
    transaction_id: int | None             # None: outside a transaction; < 0: provisional
    snapshots: tuple[dict, ...]            # snapshot_record()s

    @classmethod
    def of(cls, connector_id: int, transaction_id: int | None,
           snapshots: list[MeterSnapshot]) -> MeterSample:
        return cls(connector_id, transaction_id,
                   tuple(snapshot_record(s) for s in snapshots if s.samples))


@dataclass(frozen=True, slots=True)
class TransactionEnded:
    kind: ClassVar[str] = "transaction_ended"
    connector_id: int
    transaction_id: int | None             # < 0: provisional, remapped at delivery
    meter_stop: int
    timestamp: str
    reason: str                            # Local, Remote, EVDisconnected, PowerLoss, ...
    id_token: str | None = None
    data: tuple[dict, ...] = ()            # snapshot_record()s

    @classmethod
    def of(cls, tx: Transaction) -> TransactionEnded:
        return cls(tx.connector_id, tx.transaction_id, tx.meter_stop, iso(tx.stop_time),
                   tx.stop_reason, tx.stop_id_tag,
                   tuple(snapshot_record(s) for s in tx.data if s.samples))


TransactionIntent = TransactionStarted | MeterSample | TransactionEnded
TRANSACTION_KINDS = {c.kind: c for c in (TransactionStarted, MeterSample, TransactionEnded)}


def record(intent: TransactionIntent) -> dict:
    """The intent as JSON (for the journal)."""
    out = {f.name: getattr(intent, f.name) for f in fields(intent)}
    for key in ("snapshots", "data"):
        if key in out:
            out[key] = list(out[key])
    return out


def from_record(kind: str, data: dict) -> TransactionIntent:
    cls = TRANSACTION_KINDS[kind]
    data = dict(data)
    for key in ("snapshots", "data"):
        if key in data:
            data[key] = tuple(data[key])
    return cls(**data)


Intent = (FirmwareStatusChanged | DiagnosticsStatusChanged | LogStatusChanged | SecurityEvent
          | SignCertificateRequest)
