"""The OCPP 1.5 SOAP dialect: the station's messages as 1.5 SOAP requests to the CSMS's
CentralSystemService, and the CSMS's requests to the station's ChargePointService.

The station is the same as with 1.6: this module only says its intents in 1.5 words and
turns the CSMS's 1.5 requests into the station's neutral operations (`handlers.py`).
Configuration keys, connector numbering and the CSMS's integer transaction ids are those
of 1.6 (1.5 has the same ones, and the 1.6 dialect's tables are reused, not copied).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ...protocol import ErrorCode, OcppError
from ...station.clock import parse_iso
from ...station.intents import DiagnosticsStatusChanged, FirmwareStatusChanged
from ...station.lifecycle import Registration
from ..base import BootResult, Dialect
from ..ocpp16 import config_keys
from ..ocpp16.names import TRANSITIONS
from ..ocpp16.transaction_ids import CsmsTransactions, TransactionIds
from ..ocpp16.transactions import id_tag_info
from . import messages, names, send_defaults
from .handlers import HANDLERS
from .link import VERSION, SoapLink

if TYPE_CHECKING:
    from ...station.auth import AuthorizationInfo
    from ...station.connector import Connector


class Ocpp15SoapDialect(CsmsTransactions, Dialect):
    version = VERSION
    setting_keys = config_keys.SETTING_KEYS
    status_transitions = TRANSITIONS      # the station's own moves; 1.5 names fewer

    def __init__(self, station):
        super().__init__(station)
        if station.options.security_profile:
            raise ValueError(f"security profile {station.options.security_profile}: OCPP 1.5 "
                             "SOAP has no security profiles (they came with 1.6's extensions)")
        self.link = SoapLink(station, self.handle)
        self.transaction_ids = TransactionIds(lambda: station.transaction_refs)
        self._reported: dict[int, tuple] = {}   # connector -> the last status said

    def config_specs(self, options):
        return config_keys.specs(options.connectors, options.security_profile)

    @property
    def session(self) -> SoapLink | None:
        """The link stands in for an RPC session (call, closed, after_reply, taps)."""
        return None if self.link.closed else self.link

    @property
    def callback_url(self) -> str | None:
        """The URL of the station's ChargePointService (sent as From), once connected."""
        return self.link.url

    async def connect(self, on_lost) -> None:
        await self.link.open(on_lost)
        self._reported.clear()          # the current statuses go out again

    async def close(self) -> None:
        await self.link.close()

    def abort(self, notify: bool) -> None:
        self.link.abort(notify)

    # -- charger-initiated ---------------------------------------------------------------
    async def boot(self) -> BootResult:
        self._reported.clear()          # after a boot every status is said again
        reply = await self.link.call("BootNotification", messages.boot_payload(self.station.options))
        return BootResult(names.REGISTRATION_OF[reply["status"]], reply["heartbeatInterval"],
                          parse_iso(reply["currentTime"]))

    async def heartbeat(self) -> datetime | None:
        reply = await self.link.call("Heartbeat", {})
        return parse_iso(reply["currentTime"])

    async def status_notification(self, connector: Connector) -> None:
        payload = messages.status_payload(connector)
        said = (payload["status"], payload["errorCode"], payload.get("info"))
        if self._reported.get(connector.id) == said:
            return          # e.g. Preparing -> Charging: both are Occupied in 1.5
        await self.link.call("StatusNotification", payload)
        self._reported[connector.id] = said

    async def authorize(self, id_token) -> AuthorizationInfo:
        reply = await self.link.call("Authorize", {"idTag": id_token.value})
        return id_tag_info(reply["idTagInfo"])

    async def data_transfer(self, vendor_id: str, message_id: str | None,
                            data: str | None) -> tuple[str, str | None]:
        reply = await self.link.call("DataTransfer",
                                     messages.data_transfer_payload(vendor_id, message_id, data))
        return reply["status"], reply.get("data")

    def send_defaults(self, action: str, payload: dict, connector: int) -> dict:
        return send_defaults.defaults(self, action, payload, connector)

    async def send(self, intent):
        if isinstance(intent, FirmwareStatusChanged) and not intent.signed:
            if intent.status in names.FIRMWARE_STATUSES:
                await self.link.call("FirmwareStatusNotification", {"status": intent.status})
            return None
        if isinstance(intent, DiagnosticsStatusChanged):
            if intent.status in names.DIAGNOSTICS_STATUSES:
                await self.link.call("DiagnosticsStatusNotification", {"status": intent.status})
            return None
        raise TypeError(f"OCPP 1.5 has no message for {type(intent).__name__}")

    # -- transactions: the CSMS's integer ids, as in 1.6 (CsmsTransactions) --------------
    transaction_message = staticmethod(messages.transaction_message)

    # -- CSMS-initiated --------------------------------------------------------------------
    async def handle(self, action: str, payload: dict) -> dict:
        st = self.station
        st.events.emit("csms_request", action, payload=payload)
        scripted = st.take_answer(action)  # a scenario's one-shot answer replaces the model's
        if scripted is not None:
            return scripted
        if st.registration == Registration.REJECTED:
            raise OcppError(ErrorCode.GENERIC_ERROR,
                            "BootNotification was rejected; no requests until accepted")
        handler = HANDLERS.get(action)
        if handler is None:
            raise OcppError(ErrorCode.NOT_SUPPORTED, f"{action} is not supported by this station")
        return await handler(st, payload)
