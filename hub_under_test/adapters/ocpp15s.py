"""OCPP-S 1.5 (SOAP): translate charge-point-initiated 1.5 payloads ⇄ abstract hub messages.

The third adapter beside OCPP-J 1.6 (ocpp16j.py) and 2.0.1 (ocpp201.py), with the same
shape: `handle()` answers one request of the CentralSystemService, `execute()` /
`send_raw()` send the CSMS-initiated ones (ChargePointService) through the attached session.
Payloads arrive as the SOAP codec's dicts, already checked (and in lenient mode repaired)
against the 1.5 schema by the endpoint (ocpp15s_server.py), so required fields are present
and enumerations in range.

Where 1.5 differs from 1.6 on the way in:
- BootNotification answers `heartbeatInterval`, and knows no Pending: a station the hub
  would keep pending is answered Rejected (it boots again later, as 1.5 asks);
- a meter value is `{"timestamp", "value": [{"value", "unit", "measurand", ...}]}`, the
  MeterValues list is `values` and StopTransaction's `transactionData` is a list of
  `{"values": [...]}`; StopTransaction has no reason (the hub records "Local");
- StatusNotification's `Occupied` is the abstract OCCUPIED (as in 2.0.1).
"""
from __future__ import annotations

from typing import ClassVar

import orjson

from simulator.protocol import ErrorCode, OcppError

from ..commands import Command, Result
from ..manager import Manager
from ..messages import (AuthorizeRequest, ConnectorStatus, DataTransfer, DiagnosticsStatusChange,
                        FirmwareStatusChange, Heartbeat, Implausible, MeterReading, MeterSample,
                        RegistrationStatus, StationBoot, StatusChange, TransactionStart,
                        TransactionStop, format_time)
from . import ocpp15s_commands as wire
from .ocpp16_commands import id_tag_info
from .ocpp16j import _time

V15 = "ocpp1.5"


def samples(meter_values: list[dict], where: str) -> list[MeterSample]:
    """Abstract samples from 1.5 MeterValue dicts (text plus attributes)."""
    out = []
    for i, mv in enumerate(meter_values):
        ts = _time(mv["timestamp"], f"{where}[{i}].timestamp")
        for sv in mv.get("value", []):
            raw = sv["value"]
            value = None
            if sv.get("format") != "SignedData":
                try:
                    value = float(raw)
                except ValueError:
                    pass
            out.append(MeterSample(
                timestamp=ts, raw_value=raw, value=value,
                measurand=sv.get("measurand", "Energy.Active.Import.Register"), phase=None,
                unit=sv.get("unit", "Wh"), context=sv.get("context"),
                location=sv.get("location"), format=sv.get("format")))
    return out


class Ocpp15SoapAdapter:
    version: ClassVar[str] = V15
    __slots__ = ("station_id", "manager", "session")

    def __init__(self, station_id: str, manager: Manager):
        self.station_id = station_id
        self.manager = manager
        self.session = None   # attach(): the station's SoapSession (ocpp15s_server.py)

    def attach(self, session) -> None:
        self.session = session

    async def handle(self, action: str, payload: dict) -> dict:
        self.manager.seen(self.station_id)
        handler = _HANDLERS.get(action)
        if handler is None:
            raise OcppError(ErrorCode.NOT_SUPPORTED, f"{action} is not supported by this hub")
        try:
            return await handler(self, payload)
        except Implausible as e:
            raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, str(e)) from None

    # -- CSMS-initiated: abstract commands ⇄ ChargePointService requests -----------------
    def parse_command(self, action: str, payload) -> Command:
        return wire.parse(action, payload)

    def action_of(self, command: Command) -> str:
        return wire.encode(command)[0]

    async def execute(self, command: Command, timeout: float | None = None) -> Result:
        action, payload = wire.encode(command)
        reply = await self.session.call(action, payload, timeout=timeout)
        return wire.decode(command, reply)

    async def send_raw(self, action: str, payload: dict, timeout: float | None = None
                       ) -> tuple[Command, Result, dict]:
        command = wire.parse(action, payload)
        reply = await self.session.call(action, payload, timeout=timeout)
        return command, wire.decode(command, reply), reply

    # -- CentralSystemService ---------------------------------------------------------
    async def boot_notification(self, p: dict) -> dict:
        result = await self.manager.boot(StationBoot(
            station_id=self.station_id, vendor=p["chargePointVendor"], model=p["chargePointModel"],
            serial_number=p.get("chargePointSerialNumber") or p.get("chargeBoxSerialNumber"),
            firmware_version=p.get("firmwareVersion"), iccid=p.get("iccid"), imsi=p.get("imsi"),
            meter_type=p.get("meterType"), meter_serial_number=p.get("meterSerialNumber")))
        status = "Accepted" if result.status is RegistrationStatus.ACCEPTED else "Rejected"
        return {"status": status, "currentTime": format_time(result.current_time),
                "heartbeatInterval": result.interval}

    async def heartbeat(self, p: dict) -> dict:
        result = await self.manager.heartbeat(Heartbeat(self.station_id))
        return {"currentTime": format_time(result.current_time)}

    async def status_notification(self, p: dict) -> dict:
        await self.manager.status_change(StatusChange(
            station_id=self.station_id, connector_id=p["connectorId"],
            status=ConnectorStatus(p["status"]), error_code=p["errorCode"], info=p.get("info"),
            vendor_id=p.get("vendorId"), vendor_error_code=p.get("vendorErrorCode"),
            timestamp=_time(p["timestamp"], "timestamp") if "timestamp" in p else None))
        return {}

    async def authorize(self, p: dict) -> dict:
        info = await self.manager.authorize(AuthorizeRequest(self.station_id, p["idTag"]))
        return {"idTagInfo": id_tag_info(info)}

    async def start_transaction(self, p: dict) -> dict:
        result = await self.manager.start_transaction(TransactionStart(
            station_id=self.station_id, connector_id=p["connectorId"], id_token=p["idTag"],
            meter_start=p["meterStart"], timestamp=_time(p["timestamp"], "timestamp"),
            reservation_id=p.get("reservationId")))
        return {"transactionId": result.transaction_id,
                "idTagInfo": id_tag_info(result.id_token_info)}

    async def stop_transaction(self, p: dict) -> dict:
        values = [mv for data in p.get("transactionData", []) for mv in data.get("values", [])]
        result = await self.manager.stop_transaction(TransactionStop(
            station_id=self.station_id, transaction_id=p["transactionId"], meter_stop=p["meterStop"],
            timestamp=_time(p["timestamp"], "timestamp"), reason="Local",
            id_token=p.get("idTag"), samples=samples(values, "transactionData.values")))
        if result.id_token_info is None:
            return {}
        return {"idTagInfo": id_tag_info(result.id_token_info)}

    async def meter_values(self, p: dict) -> dict:
        await self.manager.meter_reading(MeterReading(
            station_id=self.station_id, connector_id=p["connectorId"],
            transaction_id=p.get("transactionId"), samples=samples(p.get("values", []), "values")))
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


_HANDLERS = {
    "BootNotification": Ocpp15SoapAdapter.boot_notification,
    "Heartbeat": Ocpp15SoapAdapter.heartbeat,
    "StatusNotification": Ocpp15SoapAdapter.status_notification,
    "Authorize": Ocpp15SoapAdapter.authorize,
    "StartTransaction": Ocpp15SoapAdapter.start_transaction,
    "StopTransaction": Ocpp15SoapAdapter.stop_transaction,
    "MeterValues": Ocpp15SoapAdapter.meter_values,
    "DataTransfer": Ocpp15SoapAdapter.data_transfer,
    "DiagnosticsStatusNotification": Ocpp15SoapAdapter.diagnostics_status_notification,
    "FirmwareStatusNotification": Ocpp15SoapAdapter.firmware_status_notification,
}
