"""OCPP-J 1.6: translate charge-point-initiated 1.6 payloads ⇄ abstract hub messages.

Payloads arrive already validated (and, in lenient mode, repaired) by the session against
the 1.6 schemas, so required fields are present and enums are in range.  Handled: every Core
CP-initiated message (BootNotification, Heartbeat, StatusNotification, Authorize,
StartTransaction, StopTransaction, MeterValues, DataTransfer, DiagnosticsStatusNotification,
FirmwareStatusNotification) and, of the security extensions, SecurityEventNotification,
LogStatusNotification, SignedFirmwareStatusNotification and SignCertificate (signed by
the hub's CA, pki.py).  CSMS-initiated: abstract commands (commands.py) go out as 1.6 CALLs
and the replies come back as typed results, via `ocpp16_commands`.
"""
from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import orjson

from simulator.protocol import V16, ErrorCode, OcppError

from ..commands import Command, Result
from ..manager import Manager
from ..messages import (AuthorizeRequest, CertificateSigningRequest, ConnectorStatus,
                        DataTransfer, DiagnosticsStatusChange, FirmwareStatusChange, Heartbeat,
                        MeterReading, MeterSample, SecurityEvent, StationBoot, StatusChange,
                        TransactionStart, TransactionStop, Implausible, format_time, parse_time)
from . import ocpp16_commands
from .ocpp16_commands import id_tag_info

def wire_time(value: str, where: str) -> datetime:
    """A wire timestamp; PropertyConstraintViolation naming the field if unreadable."""
    try:
        return parse_time(value)
    except ValueError:
        raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                        f"{where}: unreadable timestamp {value!r}") from None


def samples(meter_values: list[dict], where: str) -> list[MeterSample]:
    out = []
    append = out.append
    for mv in meter_values:
        ts = wire_time(mv["timestamp"], f"{where}.timestamp")
        for sv in mv["sampledValue"]:
            raw, get = sv["value"], sv.get
            fmt = get("format")
            value = None
            if fmt != "SignedData":
                try:
                    value = float(raw)
                except ValueError:
                    pass
            # positional, in MeterSample's field order (half the cost of keywords: ten a
            # MeterValues on the hub's hottest path)
            append(MeterSample(ts, raw, value, get("measurand", "Energy.Active.Import.Register"),
                               get("phase"), get("unit", "Wh"), get("context"),
                               get("location"), fmt))
    return out


class Ocpp16Adapter:
    version: ClassVar[str] = V16
    wire: ClassVar = ocpp16_commands   # abstract commands <-> this version's requests
    handlers: ClassVar[dict] = {}      # action -> method (set below the class)
    # One adapter per connection: slots and a class-level handler table keep it small.
    __slots__ = ("station_id", "manager", "session")

    def __init__(self, station_id: str, manager: Manager):
        self.station_id = station_id
        self.manager = manager
        self.session = None   # attach(): the connection's RPC session, for commands

    def attach(self, session) -> None:
        self.session = session

    async def handle(self, action: str, payload: dict) -> dict:
        self.manager.seen(self.station_id)
        handler = self.handlers.get(action)
        if handler is None:
            raise OcppError(ErrorCode.NOT_SUPPORTED, f"{action} is not supported by this hub")
        try:
            return await handler(self, payload)
        except Implausible as e:   # well-formed, but it cannot be true (strict mode)
            raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, str(e)) from None

    # -- CSMS-initiated: abstract commands ⇄ 1.6 CALLs ----------------------------------
    def parse_command(self, action: str, payload) -> Command:
        """The abstract command a raw 1.6 request means (RawCommand if none)."""
        return self.wire.parse(action, payload)

    def action_of(self, command: Command) -> str:
        """The 1.6 action that carries `command` (for metrics and messages)."""
        return self.wire.encode(command)[0]

    async def execute(self, command: Command, timeout: float | None = None) -> Result:
        """Send an abstract command as its 1.6 CALL; the station's reply as its result."""
        action, payload = self.wire.encode(command)
        reply = await self.session.call(action, payload, timeout=timeout)
        return self.wire.decode(command, reply)

    async def send_raw(self, action: str, payload: dict, timeout: float | None = None
                       ) -> tuple[Command, Result, dict]:
        """Send a raw 1.6 request exactly as given (the HTTP command API): its abstract
        command, the reply's abstract result and the reply itself."""
        command = self.wire.parse(action, payload)
        reply = await self.session.call(action, payload, timeout=timeout)
        return command, self.wire.decode(command, reply), reply

    # -- Core -------------------------------------------------------------------------
    async def boot_notification(self, p: dict) -> dict:
        result = await self.boot(p)
        return {"status": result.status.value, "currentTime": format_time(result.current_time),
                "interval": result.interval}

    async def boot(self, p: dict):
        """The manager's answer to the boot a BootNotification means (1.5 has the same
        fields, and answers in its own words)."""
        return await self.manager.boot(StationBoot(
            station_id=self.station_id, vendor=p["chargePointVendor"], model=p["chargePointModel"],
            serial_number=p.get("chargePointSerialNumber") or p.get("chargeBoxSerialNumber"),
            firmware_version=p.get("firmwareVersion"), iccid=p.get("iccid"), imsi=p.get("imsi"),
            meter_type=p.get("meterType"), meter_serial_number=p.get("meterSerialNumber")))

    async def heartbeat(self, p: dict) -> dict:
        result = await self.manager.heartbeat(Heartbeat(self.station_id))
        return {"currentTime": format_time(result.current_time)}

    async def status_notification(self, p: dict) -> dict:
        await self.manager.status_change(StatusChange(
            station_id=self.station_id, connector_id=p["connectorId"],
            status=ConnectorStatus(p["status"]), error_code=p["errorCode"], info=p.get("info"),
            vendor_id=p.get("vendorId"), vendor_error_code=p.get("vendorErrorCode"),
            timestamp=wire_time(p["timestamp"], "timestamp") if "timestamp" in p else None))
        return {}

    async def authorize(self, p: dict) -> dict:
        info = await self.manager.authorize(AuthorizeRequest(self.station_id, p["idTag"]))
        return {"idTagInfo": id_tag_info(info)}

    async def start_transaction(self, p: dict) -> dict:
        result = await self.manager.start_transaction(TransactionStart(
            station_id=self.station_id, connector_id=p["connectorId"], id_token=p["idTag"],
            meter_start=p["meterStart"], timestamp=wire_time(p["timestamp"], "timestamp"),
            reservation_id=p.get("reservationId")))
        return {"transactionId": result.transaction_id, "idTagInfo": id_tag_info(result.id_token_info)}

    async def stop_transaction(self, p: dict) -> dict:
        result = await self.manager.stop_transaction(TransactionStop(
            station_id=self.station_id, transaction_id=p["transactionId"], meter_stop=p["meterStop"],
            timestamp=wire_time(p["timestamp"], "timestamp"), reason=p.get("reason", "Local"),
            id_token=p.get("idTag"), samples=samples(p.get("transactionData", []), "transactionData")))
        if result.id_token_info is None:
            return {}
        return {"idTagInfo": id_tag_info(result.id_token_info)}

    async def meter_values(self, p: dict) -> dict:
        await self.manager.meter_reading(MeterReading(
            station_id=self.station_id, connector_id=p["connectorId"],
            transaction_id=p.get("transactionId"), samples=samples(p["meterValue"], "meterValue")))
        return {}

    async def data_transfer(self, p: dict) -> dict:
        result = await self.manager.data_transfer(DataTransfer(
            self.station_id, p["vendorId"], p.get("messageId"), p.get("data")))
        out = {"status": result.status.value}
        if result.data is not None:
            out["data"] = (result.data if isinstance(result.data, str)
                           else orjson.dumps(result.data).decode())
        return out

    async def diagnostics_status_notification(self, p: dict) -> dict:
        await self.manager.diagnostics_status(DiagnosticsStatusChange(self.station_id, p["status"]))
        return {}

    async def firmware_status_notification(self, p: dict) -> dict:
        await self.manager.firmware_status(FirmwareStatusChange(self.station_id, p["status"]))
        return {}

    # -- Security extensions ----------------------------------------------------------
    async def security_event_notification(self, p: dict) -> dict:
        await self.manager.security_event(SecurityEvent(
            self.station_id, p["type"], wire_time(p["timestamp"], "timestamp"), p.get("techInfo")))
        return {}

    async def sign_certificate(self, p: dict) -> dict:
        request = CertificateSigningRequest(self.station_id, p["csr"])
        result = await self.manager.sign_certificate(request)
        if result is None:
            raise OcppError(ErrorCode.NOT_SUPPORTED, "this hub has no certificate authority")
        if result.accepted:   # CertificateSigned follows once the answer is on the wire
            self.session.after_reply(lambda: self.manager.deliver_certificate(request, result))
        return {"status": "Accepted" if result.accepted else "Rejected"}

    async def log_status_notification(self, p: dict) -> dict:
        await self.manager.diagnostics_status(DiagnosticsStatusChange(
            self.station_id, p["status"], p.get("requestId")))
        return {}

    async def signed_firmware_status_notification(self, p: dict) -> dict:
        await self.manager.firmware_status(FirmwareStatusChange(
            self.station_id, p["status"], p.get("requestId")))
        return {}


Ocpp16Adapter.handlers = {
    "BootNotification": Ocpp16Adapter.boot_notification,
    "Heartbeat": Ocpp16Adapter.heartbeat,
    "StatusNotification": Ocpp16Adapter.status_notification,
    "Authorize": Ocpp16Adapter.authorize,
    "StartTransaction": Ocpp16Adapter.start_transaction,
    "StopTransaction": Ocpp16Adapter.stop_transaction,
    "MeterValues": Ocpp16Adapter.meter_values,
    "DataTransfer": Ocpp16Adapter.data_transfer,
    "DiagnosticsStatusNotification": Ocpp16Adapter.diagnostics_status_notification,
    "FirmwareStatusNotification": Ocpp16Adapter.firmware_status_notification,
    "SecurityEventNotification": Ocpp16Adapter.security_event_notification,
    "LogStatusNotification": Ocpp16Adapter.log_status_notification,
    "SignedFirmwareStatusNotification": Ocpp16Adapter.signed_firmware_status_notification,
    "SignCertificate": Ocpp16Adapter.sign_certificate,
}
