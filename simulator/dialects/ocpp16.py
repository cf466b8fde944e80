"""How the station speaks OCPP 1.6J.

Outbound: payloads built from the station model.  Inbound: each CSMS request the 1.6 Core and
Remote Trigger profiles define is answered by calling into the station; effects that send
messages of their own run after the reply (the station defers them).  Requests of profiles
not implemented yet are answered with CALLERROR NotSupported — never with a fake Accepted.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Callable

from ..protocol import ErrorCode, OcppError
from ..station.auth import IdTagInfo
from ..station.clock import iso, now_iso, parse_iso
from ..station import diagnostics, firmware, security, smart_charging
from ..station.local_list import ListEntry, list_version, send_local_list
from .base import BootResult, Dialect
from .ocppj import OcppJLink

if TYPE_CHECKING:
    from ..session import Session
    from ..station.connector import Connector
    from ..station.meter import Sample
    from ..station.transaction import MeterSnapshot, Transaction

VERSION = "ocpp1.6"


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


class Ocpp16Dialect(Dialect):
    version = VERSION

    def __init__(self, station):
        super().__init__(station)
        self.link = OcppJLink(station, VERSION, self.handle)
        self._handlers: dict[str, Callable] = {
            "ChangeAvailability": self._change_availability,
            "ChangeConfiguration": self._change_configuration,
            "ClearCache": self._clear_cache,
            "DataTransfer": self._data_transfer,
            "GetConfiguration": self._get_configuration,
            "RemoteStartTransaction": self._remote_start,
            "RemoteStopTransaction": self._remote_stop,
            "Reset": self._reset,
            "TriggerMessage": self._trigger_message,
            "UnlockConnector": self._unlock_connector,
            # LocalAuthListManagement and Reservation profiles
            "SendLocalList": self._send_local_list,
            "GetLocalListVersion": self._get_local_list_version,
            "ReserveNow": self._reserve_now,
            "CancelReservation": self._cancel_reservation,
        }
        # Security extensions (station/security.py): certificates, ExtendedTriggerMessage;
        # Smart Charging (station/smart_charging.py)
        # Firmware Management, diagnostics, GetLog (station/firmware.py, diagnostics.py);
        # firmware.py's ExtendedTriggerMessage wraps security.py's, so it comes after it.
        for action, fn in [*security.HANDLERS_16.items(), *smart_charging.HANDLERS_16.items(),
                           *diagnostics.HANDLERS_16.items(), *firmware.HANDLERS_16.items()]:
            self._handlers[action] = (lambda fn: lambda p: fn(self.station, p))(fn)

    @property
    def session(self) -> Session | None:
        return self.link.session

    async def connect(self, on_lost) -> None:
        await self.link.open(on_lost, self.station.config["WebSocketPingInterval"])

    async def close(self) -> None:
        await self.link.close()

    def abort(self, notify: bool) -> None:
        self.link.abort(notify)

    def set_ping_interval(self, seconds: int) -> None:
        self.link.set_ping_interval(seconds)

    # -- charger-initiated ---------------------------------------------------------------
    async def boot(self) -> BootResult:
        opts = self.station.options
        payload = {"chargePointVendor": opts.vendor, "chargePointModel": opts.model,
                   "firmwareVersion": opts.firmware_version}
        if opts.serial_number:
            payload["chargePointSerialNumber"] = opts.serial_number
        reply = await self.link.call("BootNotification", payload)
        return BootResult(reply["status"], reply["interval"], parse_iso(reply["currentTime"]))

    async def heartbeat(self) -> datetime | None:
        reply = await self.link.call("Heartbeat", {})
        return parse_iso(reply["currentTime"])

    async def status_notification(self, connector: Connector) -> None:
        payload = {"connectorId": connector.id, "errorCode": connector.error_code,
                   "status": str(connector.status), "timestamp": now_iso()}
        if connector.info:
            payload["info"] = connector.info
        await self.link.call("StatusNotification", payload)

    async def authorize(self, id_tag: str) -> IdTagInfo:
        reply = await self.link.call("Authorize", {"idTag": id_tag})
        return id_tag_info(reply["idTagInfo"])

    # Transaction messages are built apart from sending them: the offline queue stores
    # the payloads and sends them later through `deliver`.
    def start_transaction_payload(self, tx: Transaction) -> dict:
        payload = {"connectorId": tx.connector_id, "idTag": tx.id_tag,
                   "meterStart": tx.meter_start, "timestamp": iso(tx.start_time)}
        if tx.reservation_id is not None:
            payload["reservationId"] = tx.reservation_id
        return payload

    async def start_transaction(self, tx: Transaction) -> tuple[int, IdTagInfo]:
        reply = await self.link.call("StartTransaction", self.start_transaction_payload(tx))
        return reply["transactionId"], id_tag_info(reply["idTagInfo"])

    async def deliver(self, action: str, payload: dict) -> tuple[int | None, IdTagInfo | None]:
        """Send a stored transaction message: (transactionId, idTagInfo) of the reply."""
        reply = await self.link.call(action, payload)
        return reply.get("transactionId"), id_tag_info(reply.get("idTagInfo"))

    def stop_transaction_payload(self, tx: Transaction) -> dict:
        payload = {"transactionId": tx.transaction_id, "meterStop": tx.meter_stop,
                   "timestamp": iso(tx.stop_time), "reason": tx.stop_reason}
        if tx.stop_id_tag:
            payload["idTag"] = tx.stop_id_tag
        data = [meter_value(s) for s in tx.data if s.samples]
        if data:
            payload["transactionData"] = data
        return payload

    async def stop_transaction(self, tx: Transaction) -> IdTagInfo | None:
        reply = await self.link.call("StopTransaction", self.stop_transaction_payload(tx))
        return id_tag_info(reply.get("idTagInfo"))

    def meter_values_payload(self, connector_id: int, transaction_id: int | None,
                             snapshots: list[MeterSnapshot]) -> dict | None:
        values = [meter_value(s) for s in snapshots if s.samples]
        if not values:  # meterValue and sampledValue must not be empty
            return None
        payload = {"connectorId": connector_id, "meterValue": values}
        if transaction_id is not None:
            payload["transactionId"] = transaction_id
        return payload

    async def meter_values(self, connector_id: int, transaction_id: int | None,
                           snapshots: list[MeterSnapshot]) -> None:
        payload = self.meter_values_payload(connector_id, transaction_id, snapshots)
        if payload is not None:
            await self.link.call("MeterValues", payload)

    async def data_transfer(self, vendor_id: str, message_id: str | None,
                            data: str | None) -> tuple[str, str | None]:
        payload = {"vendorId": vendor_id}
        if message_id is not None:
            payload["messageId"] = message_id
        if data is not None:
            payload["data"] = data
        reply = await self.link.call("DataTransfer", payload)
        return reply["status"], reply.get("data")

    async def diagnostics_status(self, status: str) -> None:
        await self.link.call("DiagnosticsStatusNotification", {"status": status})

    async def firmware_status(self, status: str) -> None:
        await self.link.call("FirmwareStatusNotification", {"status": status})

    # -- CSMS-initiated --------------------------------------------------------------------
    async def handle(self, action: str, payload: dict) -> dict:
        st = self.station
        st.events.emit("csms_request", action, payload=payload)
        scripted = st.take_answer(action)  # a scenario's one-shot answer replaces the model's
        if scripted is not None:
            return scripted
        if st.registration == "Rejected":
            # 1.6 §4.2: a rejected charger does not take part in OCPP until it retries.
            raise OcppError(ErrorCode.GENERIC_ERROR,
                            "BootNotification was rejected; no requests until accepted")
        handler = self._handlers.get(action)
        if handler is None:
            raise OcppError(ErrorCode.NOT_SUPPORTED, f"{action} is not supported by this station")
        return await handler(payload)

    async def _change_availability(self, p: dict) -> dict:
        return {"status": self.station.change_availability(p["connectorId"],
                                                           p["type"] == "Operative")}

    async def _change_configuration(self, p: dict) -> dict:
        return {"status": self.station.change_configuration(p["key"], p["value"])}

    async def _clear_cache(self, p: dict) -> dict:
        return {"status": "Accepted" if self.station.clear_cache() else "Rejected"}

    async def _data_transfer(self, p: dict) -> dict:
        status, data = await self.station.incoming_data_transfer(
            p["vendorId"], p.get("messageId"), p.get("data"))
        return {"status": status, **({"data": data} if data is not None else {})}

    async def _get_configuration(self, p: dict) -> dict:
        config = self.station.config
        keys = p.get("key") or None
        limit = config["GetConfigurationMaxKeys"]
        if keys and len(keys) > limit:
            raise OcppError(ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
                            f"at most {limit} keys per GetConfiguration (GetConfigurationMaxKeys)")
        known, unknown = config.entries(keys)
        reply: dict = {}
        if known:
            reply["configurationKey"] = [  # write-only keys are listed without their value
                {"key": k, "readonly": ro} if k in security.WRITE_ONLY
                else {"key": k, "readonly": ro, "value": v} for k, v, ro in known]
        if unknown:
            reply["unknownKey"] = unknown
        return reply

    async def _remote_start(self, p: dict) -> dict:
        # A chargingProfile (TxProfile) it cannot apply rejects the start; else it is
        # installed for the transaction the start begins (smart_charging.py).
        profile, sc = p.get("chargingProfile"), self.station.smart_charging
        if profile is not None and sc.remote_start_profile(profile) is not None:
            return {"status": "Rejected"}
        ok = self.station.remote_start(p["idTag"], p.get("connectorId"))
        if ok and profile is not None:
            sc.bind_remote_start(p["idTag"], profile)
        return {"status": "Accepted" if ok else "Rejected"}

    async def _remote_stop(self, p: dict) -> dict:
        ok = self.station.remote_stop(p["transactionId"])
        return {"status": "Accepted" if ok else "Rejected"}

    async def _reset(self, p: dict) -> dict:
        ok = self.station.request_reset(hard=p["type"] == "Hard")
        return {"status": "Accepted" if ok else "Rejected"}

    async def _trigger_message(self, p: dict) -> dict:
        return {"status": self.station.trigger(p["requestedMessage"], p.get("connectorId"))}

    async def _unlock_connector(self, p: dict) -> dict:
        return {"status": await self.station.unlock(p["connectorId"])}

    async def _send_local_list(self, p: dict) -> dict:
        entries = [ListEntry(e["idTag"], id_tag_info(e.get("idTagInfo")))
                   for e in p.get("localAuthorizationList") or []]
        return {"status": send_local_list(self.station, p["updateType"], p["listVersion"], entries)}

    async def _get_local_list_version(self, p: dict) -> dict:
        return {"listVersion": list_version(self.station)}

    async def _reserve_now(self, p: dict) -> dict:
        return {"status": self.station.reservations.reserve(
            p["connectorId"], p["idTag"], parse_iso(p["expiryDate"]), p["reservationId"],
            p.get("parentIdTag"))}

    async def _cancel_reservation(self, p: dict) -> dict:
        ok = self.station.reservations.cancel(p["reservationId"])
        return {"status": "Accepted" if ok else "Rejected"}
