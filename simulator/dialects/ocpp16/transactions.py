"""1.6 authorization, transaction messages and meter values.

The station hands transaction intents (station/intents.py); the offline queue holds them
as JSON records and `Ocpp16Dialect.deliver` builds the 1.6 message only when it is sent
(a provisional transaction id already remapped by the queue).
"""
from __future__ import annotations

from ...station.auth import AuthorizationInfo
from ...station.clock import parse_iso
from ...station.intents import TransactionEnded, TransactionIntent, TransactionStarted
from ...station.transaction import StopReason
from . import names


def id_tag_info(payload: dict | None) -> AuthorizationInfo | None:
    if not payload:
        return None
    return AuthorizationInfo(payload["status"], parse_iso(payload.get("expiryDate")),
                     payload.get("parentIdTag"))


def _meter_value(record: dict) -> dict:
    context = record["context"]
    return {"timestamp": record["timestamp"],
            "sampledValue": [{"value": x["value"], "context": context,
                              "measurand": x["measurand"],
                              **{k: x[k] for k in ("phase", "location", "unit") if x.get(k)}}
                             for x in record["samples"]]}


def transaction_message(intent: TransactionIntent) -> tuple[str, dict | None]:
    """(1.6 action, payload) of a transaction intent; None: nothing to send."""
    if isinstance(intent, TransactionStarted):
        payload = {"connectorId": intent.connector_id, "idTag": intent.id_token,
                   "meterStart": intent.meter_start, "timestamp": intent.timestamp}
        if intent.reservation_id is not None:
            payload["reservationId"] = intent.reservation_id
        return "StartTransaction", payload
    if isinstance(intent, TransactionEnded):
        payload = {"transactionId": intent.transaction_id, "meterStop": intent.meter_stop,
                   "timestamp": intent.timestamp,
                   "reason": names.STOP_REASON[StopReason(intent.reason)]}
        if intent.id_token:
            payload["idTag"] = intent.id_token
        if intent.data:
            payload["transactionData"] = [_meter_value(r) for r in intent.data]
        return "StopTransaction", payload
    if not intent.snapshots:  # meterValue and sampledValue must not be empty
        return "MeterValues", None
    payload = {"connectorId": intent.connector_id,
               "meterValue": [_meter_value(r) for r in intent.snapshots]}
    if intent.transaction_id is not None:
        payload["transactionId"] = intent.transaction_id
    return "MeterValues", payload


def meter_values_payload(connector_id: int, transaction_id: int | None,
                         snapshots: list[MeterSnapshot]) -> dict | None:
    values = [meter_value(s) for s in snapshots if s.samples]
    if not values:  # meterValue and sampledValue must not be empty
        return None
    payload = {"connectorId": connector_id, "meterValue": values}
    if transaction_id is not None:
        payload["transactionId"] = transaction_id
    return payload
