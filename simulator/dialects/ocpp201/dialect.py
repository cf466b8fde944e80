"""The 2.0.1J dialect: the link, the charger-initiated messages and the dispatch of CSMS
requests to the feature modules' handler tables.

Requests of blocks not implemented are answered with CALLERROR NotSupported, never with a
fake Accepted.
"""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Callable

from ...protocol import ErrorCode, OcppError
from ...station.clock import now_iso, parse_iso
from ...station.intents import MeterSample, TransactionEnded
from ...station.lifecycle import Registration
from ..base import BootResult, Dialect
from ..ocppj import OcppJLink
from . import core, device_model, names, security, send_defaults, smart_charging
from .transactions import TransactionEvents, id_token_info, token_payload

if TYPE_CHECKING:
    from ...session import Session
    from ...station.auth import AuthorizationInfo
    from ...station.connector import Connector

VERSION = "ocpp2.0.1"
FEATURES = (core, smart_charging, security)
HANDLERS: dict[str, Callable] = {a: fn for m in FEATURES for a, fn in m.HANDLERS.items()}
SENDERS: dict[type, Callable] = {t: fn for m in FEATURES
                                 for t, fn in getattr(m, "SENDERS", {}).items()}


class Ocpp201Dialect(Dialect):
    version = VERSION
    setting_keys = device_model.SETTING_KEYS
    status_transitions = names.TRANSITIONS

    def __init__(self, station):
        super().__init__(station)
        self.link = OcppJLink(station, VERSION, self.handle)
        o = station.options
        self.model = device_model.model(o.connectors, o.security_profile, o.max_power_w,
                                        o.phases)
        self.events = TransactionEvents(lambda: station.transaction_refs)
        self.boot_reason = "PowerUp"
        self.firmware_request: int | None = None   # the plain UpdateFirmware's requestId
        self._sent_status: dict[int, str] | None = None   # connector -> last status sent
        self._idle_reset: Callable[[], None] | None = None
        self._watching: Callable[[], None] | None = None
        self._lock: asyncio.Lock | None = None
        self._states: dict[int, str] = {}   # connector -> chargingState last said
        self._event_id = 0                  # NotifyEvent eventId

    def _on_event(self, event) -> None:
        if event.kind == "reset" and event.text == "reboot":
            self.boot_reason = "FirmwareUpdate"
        elif event.kind == "reservation_expired" and self.station.booting.may_send():
            # H: the CSMS hears that a reservation ended without being used
            self.station.tasks.spawn(self._reservation_update(event.data["reservation_id"],
                                                              "Expired"), "reservation-update")

    async def _reservation_update(self, reservation_id: int, status: str) -> None:
        from ...station.errors import SEND_ERRORS
        try:
            await self.link.call("ReservationStatusUpdate", {
                "reservationId": reservation_id, "reservationUpdateStatus": status})
        except SEND_ERRORS as e:
            self.station.events.emit("error", f"ReservationStatusUpdate failed: {e}")

    def config_specs(self, options):
        return self.model.specs()

    @property
    def session(self) -> Session | None:
        return self.link.session

    async def connect(self, on_lost) -> None:
        self._sent_status = None    # a new link hears every status again
        if self._watching is None:  # why the next boot happens (the station's events)
            self._watching = self.station.events.subscribe(self._on_event)
        await self.link.open(on_lost, self.station.settings["ping_interval"])

    async def close(self) -> None:
        await self.link.close()

    def abort(self, notify: bool) -> None:
        self.link.abort(notify)

    def set_ping_interval(self, seconds: int) -> None:
        self.link.set_ping_interval(seconds)

    # -- B provisioning ----------------------------------------------------------------------
    async def boot(self) -> BootResult:
        reply = await self.link.call("BootNotification",
                                     core.boot_payload(self.station, self.boot_reason))
        status = names.REGISTRATION_OF[reply["status"]]
        if status == Registration.ACCEPTED:
            self.boot_reason = "PowerUp"
        return BootResult(status, reply["interval"], parse_iso(reply["currentTime"]))

    async def heartbeat(self) -> datetime | None:
        reply = await self.link.call("Heartbeat", {})
        return parse_iso(reply["currentTime"])

    async def status_notification(self, connector: Connector) -> None:
        if connector.id == 0:
            return    # 2.0.1 reports connectors of EVSEs only
        await self._charging_state(connector)
        status = names.STATUS[connector.status]
        if self._sent_status is None:
            self._sent_status = {}
        if self._sent_status.get(connector.id) == status:
            return    # Preparing -> Charging is Occupied -> Occupied: nothing to say
        before = self._sent_status.get(connector.id)
        await self.link.call("StatusNotification", {
            "timestamp": now_iso(), "connectorStatus": status,
            "evseId": connector.evse_id, "connectorId": connector.number})
        self._sent_status[connector.id] = status
        if status == "Faulted" or before == "Faulted":
            await self._notify_fault(connector, status, cleared=status != "Faulted")

    async def _notify_fault(self, connector: Connector, status: str, cleared: bool) -> None:
        """N: a fault (and its end) as a NotifyEvent on the connector's AvailabilityState,
        with the error code as techCode."""
        self._event_id += 1
        event = {"eventId": self._event_id, "timestamp": now_iso(), "trigger": "Delta",
                 "actualValue": status, "eventNotificationType": "HardWiredNotification",
                 "component": {"name": "Connector", "evse": {
                     "id": connector.evse_id, "connectorId": connector.number}},
                 "variable": {"name": "AvailabilityState"}}
        if cleared:
            event["cleared"] = True
        elif connector.error_code:
            event["techCode"] = str(connector.error_code)[:50]
            if connector.info:
                event["techInfo"] = connector.info[:500]
        await self.link.call("NotifyEvent", {"generatedAt": now_iso(), "seqNo": 0,
                                             "tbc": False, "eventData": [event]})

    def forget_status(self, connector_id: int | None) -> None:
        """The next StatusNotification of the connector (None: all) goes out (triggered)."""
        if self._sent_status is not None:
            if connector_id:
                self._sent_status.pop(connector_id, None)
            else:
                self._sent_status.clear()

    def reset_when_idle(self) -> None:
        """Reset OnIdle with transactions running: reset once the last one has ended."""
        st = self.station
        if self._idle_reset is not None:
            return

        def on_event(event) -> None:
            if event.kind == "tx_stopped" and all(c.transaction is None
                                                  for c in st.connectors[1:]):
                self._idle_reset()
                self._idle_reset = None
                if st.request_reset(hard=False):
                    self.boot_reason = "ScheduledReset"
        self._idle_reset = st.events.subscribe(on_event)

    # -- C authorization ---------------------------------------------------------------------
    async def authorize(self, id_token) -> AuthorizationInfo:
        reply = await self.link.call("Authorize",
                                     {"idToken": token_payload(id_token.value, id_token.type)})
        return id_token_info(reply["idTokenInfo"])

    # -- E transactions: the station's id is the transactionId -----------------------------------
    def transaction_name(self, transaction: str) -> str:
        return transaction

    def csms_transaction(self, transaction_id) -> str | None:
        return transaction_id if self.station.transaction(transaction_id) is not None else None

    def held(self, intent) -> None:
        self.events.held(intent.transaction)

    def _tx_lock(self) -> asyncio.Lock:
        # one transaction event at a time: each takes the next seqNo once the last one is
        # delivered (made on first use: an idle station has none)
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def deliver(self, intent) -> AuthorizationInfo | None:
        st = self.station
        state = None
        if not isinstance(intent, MeterSample):
            c = st.connectors[intent.connector_id]
            if c.transaction is not None and c.transaction.id == intent.transaction:
                state = names.CHARGING_STATE.get(c.status)
                if not isinstance(intent, TransactionEnded):
                    self._states[c.id] = state
        async with self._tx_lock():
            action, payload = self.events.build(intent, state)
            if payload is None:
                return None
            reply = await self.link.call(action, payload)
            if not isinstance(intent, MeterSample):
                self.events.delivered(intent, bool(payload.get("offline")))
        return id_token_info(reply.get("idTokenInfo"))

    async def _charging_state(self, connector: Connector) -> None:
        """A running transaction's charging state changed (Charging <-> SuspendedEV, ...):
        TransactionEvent Updated, ChargingStateChanged, when nothing of it waits offline."""
        tx = connector.transaction
        state = names.CHARGING_STATE.get(connector.status)
        if tx is None or state is None or tx.stopping:
            self._states.pop(connector.id, None)
            return
        if self._states.get(connector.id, state) == state:
            return
        self._states[connector.id] = state
        if (str(tx.start_state) != "confirmed" or self.events.waiting(tx.id)
                or not self.station.booting.may_send()):
            return   # the next event says the state
        async with self._tx_lock():
            await self.link.call("TransactionEvent", self.events.state_changed(tx.id, state))
            self.events.counted(tx.id)

    # -- P data transfer ---------------------------------------------------------------------
    async def data_transfer(self, vendor_id: str, message_id: str | None,
                            data: str | None) -> tuple[str, str | None]:
        payload = {"vendorId": vendor_id}
        if message_id is not None:
            payload["messageId"] = message_id
        if data is not None:
            payload["data"] = data
        reply = await self.link.call("DataTransfer", payload)
        data = reply.get("data")
        return reply["status"], data if data is None or isinstance(data, str) else str(data)

    def send_defaults(self, action: str, payload: dict, connector: int) -> dict:
        return send_defaults.defaults(self, action, payload, connector)

    async def send(self, intent):
        sender = SENDERS.get(type(intent))
        if sender is None:
            raise TypeError(f"the 2.0.1 dialect cannot say {type(intent).__name__}")
        return await sender(self.link, intent)

    # -- CSMS-initiated ----------------------------------------------------------------------
    async def handle(self, action: str, payload: dict) -> dict:
        st = self.station
        st.events.emit("csms_request", action, payload=payload)
        scripted = st.take_answer(action)
        if scripted is not None:
            return scripted
        if st.registration == Registration.REJECTED:
            raise OcppError(ErrorCode.SECURITY_ERROR,
                            "BootNotification was rejected; no requests until accepted")
        handler = HANDLERS.get(action)
        if handler is None:
            raise OcppError(ErrorCode.NOT_SUPPORTED, f"{action} is not supported by this station")
        return await handler(st, payload)
