"""1.6 authorization, transaction messages and meter values.

The station hands transaction intents (station/intents.py) naming its own transaction ids;
the offline queue holds them as JSON records and `Ocpp16Dialect.deliver` builds the 1.6
message only when it is sent, naming the transaction by the CSMS's integer id
(transaction_ids.py).  The neutral trigger reasons have no 1.6 field.
"""
from __future__ import annotations

from ...station.auth import AuthorizationInfo
from ...station.clock import parse_iso
from ...station.id_token import IdToken
from ...station.intents import (MeterSample, TransactionEnded, TransactionStarted,
                                TransactionUpdated)
from ...station.transaction import StopReason
from . import names

# 1.6 has no token type: every idTag is read as this one (and sent as its value).
TOKEN_TYPE = "ISO14443"


def id_token(id_tag: str) -> IdToken:
    return IdToken(id_tag, TOKEN_TYPE)


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


def transaction_message(intent, csms_id: int | None) -> tuple[str, dict | None]:
    """(1.6 action, payload) of a transaction intent, its transaction named `csms_id`;
    None: nothing to send."""
    if isinstance(intent, TransactionStarted):
        payload = {"connectorId": intent.evse_id, "idTag": intent.id_token,
                   "meterStart": intent.meter_start, "timestamp": intent.timestamp}
        if intent.reservation_id is not None:
            payload["reservationId"] = intent.reservation_id
        return "StartTransaction", payload
    if isinstance(intent, TransactionEnded):
        payload = {"transactionId": csms_id, "meterStop": intent.meter_stop,
                   "timestamp": intent.timestamp,
                   "reason": names.STOP_REASON[StopReason(intent.reason)]}
        if intent.id_token:
            payload["idTag"] = intent.id_token
        if intent.data:
            payload["transactionData"] = [_meter_value(r) for r in intent.data]
        return "StopTransaction", payload
    if not isinstance(intent, (TransactionUpdated, MeterSample)):
        raise TypeError(f"{type(intent).__name__} is not a transaction intent")
    if not intent.snapshots:  # meterValue and sampledValue must not be empty
        return "MeterValues", None
    payload = {"connectorId": intent.evse_id,
               "meterValue": [_meter_value(r) for r in intent.snapshots]}
    if csms_id is not None:
        payload["transactionId"] = csms_id
    return "MeterValues", payload
