"""2.0.1 authorization and transactions: TransactionEvent Started / Updated / Ended, built
from the station's intents when they are sent (now, or later from the offline queue).

The transactionId is the station's own opaque transaction id.  Per transaction the dialect
keeps, in the station's journal (`TransactionRefs`, so a restart goes on counting):
{"seq": the next seqNo, "held": intents of it still waiting in the queue}.  seqNo moves on
only when an event was delivered, so a retried event keeps its number; `offline` is true
for the events that waited in the queue.
"""
from __future__ import annotations

from ...station.auth import AuthorizationInfo
from ...station.clock import parse_iso
from ...station.id_token import IdToken
from ...station.intents import (MeterSample, TransactionEnded, TransactionStarted,
                                TransactionUpdated)
from ...station.transaction import StopReason, Trigger
from . import names

# IdTokenEnumType
TOKEN_TYPES = ("Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress",
               "NoAuthorization")


def id_token(payload: dict) -> IdToken:
    return IdToken(payload["idToken"], payload["type"])


def token_payload(value: str, type_: str | None) -> dict:
    return {"idToken": value, "type": type_ or "ISO14443"}


def id_token_info(payload: dict | None) -> AuthorizationInfo | None:
    if not payload:
        return None
    group = payload.get("groupIdToken")
    return AuthorizationInfo(payload["status"], parse_iso(payload.get("cacheExpiryDateTime")),
                             group["idToken"] if group else None)


def _number(text) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


def meter_value(record: dict, context: str | None = None) -> dict:
    ctx = context or record["context"]
    out = []
    for x in record["samples"]:
        sv: dict = {"value": _number(x["value"]), "context": ctx, "measurand": x["measurand"]}
        if x.get("phase"):
            sv["phase"] = x["phase"]
        if x.get("location"):
            sv["location"] = x["location"]
        if x.get("unit"):
            sv["unitOfMeasure"] = {"unit": x["unit"]}
        out.append(sv)
    return {"timestamp": record["timestamp"], "sampledValue": out}


class TransactionEvents:
    """seqNo, offline flag and remoteStartId of each transaction (the dialect's notes)."""
    __slots__ = ("_refs_of", "remote_starts")

    def __init__(self, refs_of):
        self._refs_of = refs_of
        self.remote_starts: dict[int, int] = {}   # connector -> remoteStartId (pending)

    def held(self, tx: str) -> None:
        refs = self._refs_of()
        rec = dict(refs.get(tx) or {"seq": 0})
        rec["held"] = rec.get("held", 0) + 1
        refs.set(tx, rec)

    def build(self, intent, charging_state: str | None = None) -> tuple[str, dict | None]:
        """(action, payload) for an intent; the payload's seqNo is the transaction's next."""
        if isinstance(intent, MeterSample):
            if not intent.snapshots:
                return "MeterValues", None
            return "MeterValues", {"evseId": intent.evse_id,
                                   "meterValue": [meter_value(r) for r in intent.snapshots]}
        rec = self._refs_of().get(intent.transaction) or {"seq": 0}
        info: dict = {"transactionId": intent.transaction}
        p: dict = {"seqNo": rec.get("seq", 0), "transactionInfo": info}
        if rec.get("held"):
            p["offline"] = True
        if isinstance(intent, TransactionStarted):
            p.update(eventType="Started", timestamp=intent.timestamp,
                     triggerReason=names.TRIGGER_REASON[Trigger(intent.trigger)],
                     evse={"id": intent.evse_id, "connectorId": 1},
                     idToken=token_payload(intent.id_token, intent.token_type),
                     meterValue=[{"timestamp": intent.timestamp, "sampledValue": [
                         {"value": intent.meter_start, "context": "Transaction.Begin",
                          "measurand": "Energy.Active.Import.Register",
                          "unitOfMeasure": {"unit": "Wh"}}]}])
            if intent.reservation_id is not None:
                p["reservationId"] = intent.reservation_id
            remote = self.remote_starts.pop(intent.connector_id, None)
            # the remote start's id, also when the cable coming in started it (F02)
            if remote is not None and (intent.trigger == Trigger.REMOTE_START or intent.remote):
                info["remoteStartId"] = remote
            if charging_state:
                info["chargingState"] = charging_state
            return "TransactionEvent", p
        if isinstance(intent, TransactionEnded):
            info["stoppedReason"] = names.STOP_REASON[StopReason(intent.reason)]
            p.update(eventType="Ended", timestamp=intent.timestamp,
                     triggerReason=names.TRIGGER_REASON[Trigger(intent.trigger)])
            if intent.id_token:
                p["idToken"] = token_payload(intent.id_token, intent.token_type)
            values = [meter_value(r) for r in intent.data]
            values.append({"timestamp": intent.timestamp, "sampledValue": [
                {"value": intent.meter_stop, "context": "Transaction.End",
                 "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}}]})
            p["meterValue"] = values
            return "TransactionEvent", p
        if not isinstance(intent, TransactionUpdated):
            raise TypeError(f"{type(intent).__name__} is not a transaction intent")
        if charging_state:
            info["chargingState"] = charging_state
        p.update(eventType="Updated",
                 timestamp=intent.snapshots[0]["timestamp"] if intent.snapshots else None,
                 triggerReason=names.TRIGGER_REASON[Trigger(intent.trigger)])
        if p["timestamp"] is None:
            from ...station.clock import now_iso
            p["timestamp"] = now_iso()
        if intent.snapshots:
            p["meterValue"] = [meter_value(r) for r in intent.snapshots]
        return "TransactionEvent", p

    def state_changed(self, tx: str, state: str) -> dict:
        """TransactionEvent Updated for a new chargingState (E02: ChargingStateChanged)."""
        from ...station.clock import now_iso
        rec = self._refs_of().get(tx) or {"seq": 0}
        return {"eventType": "Updated", "timestamp": now_iso(),
                "triggerReason": "ChargingStateChanged", "seqNo": rec.get("seq", 0),
                "transactionInfo": {"transactionId": tx, "chargingState": state}}

    def counted(self, tx: str) -> None:
        """An event outside the queue (a charging-state change) was delivered."""
        refs = self._refs_of()
        rec = dict(refs.get(tx) or {"seq": 0})
        rec["seq"] = rec.get("seq", 0) + 1
        refs.set(tx, rec)

    def waiting(self, tx: str) -> bool:
        """Events of `tx` still wait in the offline queue."""
        rec = self._refs_of().get(tx)
        return bool(rec and rec.get("held"))

    def any_waiting(self) -> bool:
        return any(isinstance(rec, dict) and rec.get("held") for _, rec in self._refs_of().items())

    def delivered(self, intent, offline: bool) -> None:
        """The event reached the CSMS: the next seqNo, one held event fewer."""
        refs = self._refs_of()
        if isinstance(intent, TransactionEnded):
            refs.drop(intent.transaction)
            return
        rec = dict(refs.get(intent.transaction) or {"seq": 0})
        rec["seq"] = rec.get("seq", 0) + 1
        if offline and rec.get("held"):
            rec["held"] -= 1
        refs.set(intent.transaction, rec)
