"""1.6 authorization, transaction messages and meter values.

The builders are apart from sending: the offline queue stores the payloads and sends them
later through `Ocpp16Dialect.deliver`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...station.auth import IdTagInfo
from ...station.clock import iso, parse_iso

if TYPE_CHECKING:
    from ...station.meter import Sample
    from ...station.transaction import MeterSnapshot, Transaction


def id_tag_info(payload: dict | None) -> IdTagInfo | None:
    if not payload:
        return None
    return IdTagInfo(payload["status"], parse_iso(payload.get("expiryDate")),
                     payload.get("parentIdTag"))


def sampled_value(sample: Sample, context: str) -> dict:
    out = {"value": sample.value, "context": context, "measurand": sample.measurand}
    if sample.phase:
        out["phase"] = sample.phase
    if sample.location:
        out["location"] = sample.location
    if sample.unit:
        out["unit"] = sample.unit
    return out


def meter_value(snapshot: MeterSnapshot) -> dict:
    return {"timestamp": iso(snapshot.timestamp),
            "sampledValue": [sampled_value(s, snapshot.context) for s in snapshot.samples]}


def start_transaction_payload(tx: Transaction) -> dict:
    payload = {"connectorId": tx.connector_id, "idTag": tx.id_tag,
               "meterStart": tx.meter_start, "timestamp": iso(tx.start_time)}
    if tx.reservation_id is not None:
        payload["reservationId"] = tx.reservation_id
    return payload


def stop_transaction_payload(tx: Transaction) -> dict:
    payload = {"transactionId": tx.transaction_id, "meterStop": tx.meter_stop,
               "timestamp": iso(tx.stop_time), "reason": tx.stop_reason}
    if tx.stop_id_tag:
        payload["idTag"] = tx.stop_id_tag
    data = [meter_value(s) for s in tx.data if s.samples]
    if data:
        payload["transactionData"] = data
    return payload


def meter_values_payload(connector_id: int, transaction_id: int | None,
                         snapshots: list[MeterSnapshot]) -> dict | None:
    values = [meter_value(s) for s in snapshots if s.samples]
    if not values:  # meterValue and sampledValue must not be empty
        return None
    payload = {"connectorId": connector_id, "meterValue": values}
    if transaction_id is not None:
        payload["transactionId"] = transaction_id
    return payload
