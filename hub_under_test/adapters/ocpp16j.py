"""OCPP-J 1.6: translate charge-point-initiated 1.6 payloads ⇄ abstract hub messages.

Payloads arrive already validated (and, in lenient mode, repaired) by the session against
the 1.6 schemas, so required fields are present and enums are in range.  Handled: every Core
CP-initiated message (BootNotification, Heartbeat, StatusNotification, Authorize,
StartTransaction, StopTransaction, MeterValues, DataTransfer, DiagnosticsStatusNotification,
FirmwareStatusNotification) and, of the security extensions, SecurityEventNotification,
LogStatusNotification, SignedFirmwareStatusNotification and SignCertificate (signed by
the hub's CA, pki.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import orjson

from simulator.protocol import V16, ErrorCode, OcppError

from ..manager import Manager
from ..messages import (AuthorizationStatus, AuthorizeRequest, ConnectorStatus, DataTransfer,
                        DiagnosticsStatusChange, FirmwareStatusChange, Heartbeat, IdTokenInfo,
                        MeterReading, MeterSample, SecurityEvent, StationBoot, StatusChange,
                        TransactionStart, TransactionStop, format_time, parse_time)

# Abstract statuses 1.6 cannot say, and what it says instead.
_AUTH_16 = {AuthorizationStatus.UNKNOWN: "Invalid"}


def _time(value: str, where: str) -> datetime:
    try:
        return parse_time(value)
    except ValueError:
        raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                        f"{where}: unreadable timestamp {value!r}") from None


def id_tag_info(info: IdTokenInfo) -> dict:
    out = {"status": _AUTH_16.get(info.status, info.status.value)}
    if info.expiry_date is not None:
        out["expiryDate"] = format_time(info.expiry_date)
    if info.parent_id_token:
        out["parentIdTag"] = info.parent_id_token
    return out


def samples(meter_values: list[dict], where: str) -> list[MeterSample]:
    out = []
    for mv in meter_values:
        ts = _time(mv["timestamp"], f"{where}.timestamp")
        for sv in mv["sampledValue"]:
            raw = sv["value"]
            value = None
            if sv.get("format") != "SignedData":
                try:
                    value = float(raw)
                except ValueError:
                    pass
            out.append(MeterSample(
                timestamp=ts, raw_value=raw, value=value,
                measurand=sv.get("measurand", "Energy.Active.Import.Register"),
                phase=sv.get("phase"), unit=sv.get("unit", "Wh"), context=sv.get("context"),
                location=sv.get("location"), format=sv.get("format")))
    return out


class Ocpp16Adapter:
    version: ClassVar[str] = V16

    def __init__(self, station_id: str, manager: Manager):
        self.station_id = station_id
        self.manager = manager
        self._handlers = {
            "BootNotification": self.boot_notification,
            "Heartbeat": self.heartbeat,
            "StatusNotification": self.status_notification,
            "Authorize": self.authorize,
            "StartTransaction": self.start_transaction,
            "StopTransaction": self.stop_transaction,
            "MeterValues": self.meter_values,
            "DataTransfer": self.data_transfer,
            "DiagnosticsStatusNotification": self.diagnostics_status_notification,
            "FirmwareStatusNotification": self.firmware_status_notification,
            "SecurityEventNotification": self.security_event_notification,
            "LogStatusNotification": self.log_status_notification,
            "SignedFirmwareStatusNotification": self.signed_firmware_status_notification,
            "SignCertificate": self.sign_certificate,
        }

    async def handle(self, action: str, payload: dict) -> dict:
        self.manager.seen(self.station_id)
        handler = self._handlers.get(action)
        if handler is None:
            raise OcppError(ErrorCode.NOT_SUPPORTED, f"{action} is not supported by this hub")
        return await handler(payload)

    # -- Core -------------------------------------------------------------------------
    async def boot_notification(self, p: dict) -> dict:
        result = await self.manager.boot(StationBoot(
            station_id=self.station_id, vendor=p["chargePointVendor"], model=p["chargePointModel"],
            serial_number=p.get("chargePointSerialNumber") or p.get("chargeBoxSerialNumber"),
            firmware_version=p.get("firmwareVersion"), iccid=p.get("iccid"), imsi=p.get("imsi"),
            meter_type=p.get("meterType"), meter_serial_number=p.get("meterSerialNumber")))
        return {"status": result.status.value, "currentTime": format_time(result.current_time),
                "interval": result.interval}

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
        return {"transactionId": result.transaction_id, "idTagInfo": id_tag_info(result.id_token_info)}

    async def stop_transaction(self, p: dict) -> dict:
        result = await self.manager.stop_transaction(TransactionStop(
            station_id=self.station_id, transaction_id=p["transactionId"], meter_stop=p["meterStop"],
            timestamp=_time(p["timestamp"], "timestamp"), reason=p.get("reason", "Local"),
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
            self.station_id, p["type"], _time(p["timestamp"], "timestamp"), p.get("techInfo")))
        return {}

    async def sign_certificate(self, p: dict) -> dict:
        pki = getattr(self.manager, "pki", None)   # the hub's CA (pki.py)
        if pki is None:
            raise OcppError(ErrorCode.NOT_SUPPORTED, "this hub has no certificate authority")
        return await pki.sign_certificate(self.station_id, p)

    async def log_status_notification(self, p: dict) -> dict:
        await self.manager.diagnostics_status(DiagnosticsStatusChange(
            self.station_id, p["status"], p.get("requestId")))
        return {}

    async def signed_firmware_status_notification(self, p: dict) -> dict:
        await self.manager.firmware_status(FirmwareStatusChange(
            self.station_id, p["status"], p.get("requestId")))
        return {}
