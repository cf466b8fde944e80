"""The 1.6J dialect: the link, the charger-initiated messages and the dispatch of CSMS
requests to the feature modules' handler tables.

Inbound: each CSMS request a 1.6 profile defines is answered by calling into the station;
effects that send messages of their own run after the reply (the station defers them).
Requests of profiles not implemented are answered with CALLERROR NotSupported — never
with a fake Accepted.  Outbound: the station's intents go to the feature module that
knows their wire message (`SENDERS`).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Callable

from ...protocol import ErrorCode, OcppError
from ...station.clock import parse_iso
from ...station.intents import MeterSample
from ...station.lifecycle import Registration
from ..base import BootResult, Dialect
from ..ocppj import OcppJLink
from . import (config_keys, core, diagnostics, firmware, local_list, names, reservations,
               security, send_defaults, smart_charging)
from .transaction_ids import CsmsTransactions, TransactionIds
from .transactions import id_tag_info, transaction_message

if TYPE_CHECKING:
    from ...session import Session
    from ...station.auth import AuthorizationInfo
    from ...station.connector import Connector

VERSION = "ocpp1.6"
FEATURES = (core, local_list, reservations, security, smart_charging, diagnostics, firmware)
# One table for every station: CSMS request -> handler(station, payload), intent -> sender.
HANDLERS: dict[str, Callable] = {a: fn for m in FEATURES for a, fn in m.HANDLERS.items()}
SENDERS: dict[type, Callable] = {t: fn for m in FEATURES
                                 for t, fn in getattr(m, "SENDERS", {}).items()}


class Ocpp16Dialect(CsmsTransactions, Dialect):
    version = VERSION
    setting_keys = config_keys.SETTING_KEYS
    status_transitions = names.TRANSITIONS

    def __init__(self, station):
        super().__init__(station)
        self.link = OcppJLink(station, VERSION, self.handle)
        self._handlers = HANDLERS
        self._senders = SENDERS
        # the CSMS's transaction ids and the provisional ones, kept in the station's
        # journal (read lazily: the journal is opened after the dialect is made)
        self.transaction_ids = TransactionIds(lambda: station.transaction_refs)

    def config_specs(self, options):
        return config_keys.specs(options.connectors, options.security_profile)

    @property
    def session(self) -> Session | None:
        return self.link.session

    async def connect(self, on_lost) -> None:
        await self.link.open(on_lost, self.station.settings["ping_interval"])

    async def close(self) -> None:
        await self.link.close()

    def abort(self, notify: bool) -> None:
        self.link.abort(notify)

    def set_ping_interval(self, seconds: int) -> None:
        self.link.set_ping_interval(seconds)

    # -- charger-initiated ---------------------------------------------------------------
    def send_defaults(self, action: str, payload: dict, connector: int) -> dict:
        return send_defaults.defaults(self, action, payload, connector)

    async def send(self, intent):
        sender = self._senders.get(type(intent))
        if sender is None:
            raise TypeError(f"the 1.6 dialect cannot say {type(intent).__name__}")
        return await sender(self.link, intent)

    async def boot(self) -> BootResult:
        reply = await self.link.call("BootNotification", core.boot_payload(self.station.options))
        return BootResult(names.REGISTRATION_OF[reply["status"]], reply["interval"],
                          parse_iso(reply["currentTime"]))

    async def heartbeat(self) -> datetime | None:
        reply = await self.link.call("Heartbeat", {})
        return parse_iso(reply["currentTime"])

    async def status_notification(self, connector: Connector) -> None:
        await self.link.call("StatusNotification", core.status_payload(connector))

    async def authorize(self, id_token) -> AuthorizationInfo:
        reply = await self.link.call("Authorize", {"idTag": id_token.value})
        return id_tag_info(reply["idTagInfo"])

    # -- transactions: the CSMS's integer ids are ours alone (transaction_ids.py) -----------
    transaction_message = staticmethod(transaction_message)

    async def meter_values(self, connector_id: int, transaction_id: int | None,
                           snapshots) -> None:
        """MeterValues built from snapshots, naming the CSMS's `transaction_id` as given
        (tools and tests that speak 1.6 directly; the station sends intents)."""
        action, payload = transaction_message(MeterSample.of(connector_id, snapshots),
                                              transaction_id)
        if payload is not None:
            await self.link.call(action, payload)

    async def data_transfer(self, vendor_id: str, message_id: str | None,
                            data: str | None) -> tuple[str, str | None]:
        reply = await self.link.call("DataTransfer",
                                     core.data_transfer_payload(vendor_id, message_id, data))
        return reply["status"], reply.get("data")

    # -- CSMS-initiated --------------------------------------------------------------------
    async def handle(self, action: str, payload: dict) -> dict:
        st = self.station
        st.events.emit("csms_request", action, payload=payload)
        scripted = st.take_answer(action)  # a scenario's one-shot answer replaces the model's
        if scripted is not None:
            return scripted
        if st.registration == Registration.REJECTED:
            # 1.6 §4.2: a rejected charger does not take part in OCPP until it retries.
            raise OcppError(ErrorCode.GENERIC_ERROR,
                            "BootNotification was rejected; no requests until accepted")
        handler = self._handlers.get(action)
        if handler is None:
            raise OcppError(ErrorCode.NOT_SUPPORTED, f"{action} is not supported by this station")
        return await handler(st, payload)
