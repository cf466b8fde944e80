"""1.5 payloads the station sends: registration, status, transactions and meter values.

Payload dicts use the 1.5 schema's names (simulator/protocol/soap/schema.py); the codec
puts them into schema order.  A reading 1.5 has no word for (a measurand, unit, phase) is
left out rather than mislabelled; a meter value with nothing left is not sent.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...station.clock import now_iso
from ...station.intents import (MeterSample, TransactionEnded, TransactionStarted,
                                TransactionUpdated)
from ..ocpp16.connectors import wire_id      # 1.5 numbers connectors as 1.6 does
from . import names

if TYPE_CHECKING:
    from ...station.connector import Connector
    from ...station.options import StationOptions

MAX_SERIAL = 25


def boot_payload(opts: StationOptions) -> dict:
    payload = {"chargePointVendor": opts.vendor, "chargePointModel": opts.model,
               "firmwareVersion": opts.firmware_version}
    if opts.serial_number:
        payload["chargePointSerialNumber"] = opts.serial_number[:MAX_SERIAL]
    return payload


def status_payload(connector: Connector) -> dict:
    code = connector.error_code if connector.error_code in names.ERROR_CODES else "OtherError"
    payload = {"connectorId": wire_id(connector), "status": names.STATUS[connector.status],
               "errorCode": code, "timestamp": now_iso()}
    info = connector.info
    if code != connector.error_code:      # say what 1.5 had no code for
        info = f"{connector.error_code}: {info}" if info else connector.error_code
    if info:
        payload["info"] = info
    return payload


def data_transfer_payload(vendor_id: str, message_id: str | None, data: str | None) -> dict:
    payload = {"vendorId": vendor_id}
    if message_id is not None:
        payload["messageId"] = message_id
    if data is not None:
        payload["data"] = data
    return payload


def _sampled(sample: dict, context: str) -> dict | None:
    measurand = sample.get("measurand") or "Energy.Active.Import.Register"
    unit = sample.get("unit")
    if (measurand not in names.MEASURANDS or sample.get("phase")
            or (unit is not None and unit not in names.UNITS)):
        return None
    out = {"value": str(sample["value"]), "measurand": measurand}
    if context in names.CONTEXTS:
        out["context"] = context
    if unit is not None:
        out["unit"] = names.UNITS[unit]
    if sample.get("location") in names.LOCATIONS:
        out["location"] = sample["location"]
    return out


def meter_value(record: dict) -> dict | None:
    """A 1.5 MeterValue of one snapshot record (station/intents.py), None when 1.5 can say
    none of its readings."""
    values = [v for v in (_sampled(s, record["context"]) for s in record["samples"]) if v]
    return {"timestamp": record["timestamp"], "value": values} if values else None


def _meter_values(records) -> list[dict]:
    return [mv for mv in (meter_value(r) for r in records) if mv is not None]


def transaction_message(intent, csms_id: int | None) -> tuple[str, dict | None]:
    """(1.5 operation, payload) of a transaction intent, its transaction named `csms_id`;
    None: nothing to send."""
    if isinstance(intent, TransactionStarted):
        payload = {"connectorId": intent.evse_id, "idTag": intent.id_token,
                   "timestamp": intent.timestamp, "meterStart": intent.meter_start}
        if intent.reservation_id is not None:
            payload["reservationId"] = intent.reservation_id
        return "StartTransaction", payload
    if isinstance(intent, TransactionEnded):      # 1.5 has no stop reason
        payload = {"transactionId": csms_id, "timestamp": intent.timestamp,
                   "meterStop": intent.meter_stop}
        if intent.id_token:
            payload["idTag"] = intent.id_token
        values = _meter_values(intent.data or ())
        if values:
            payload["transactionData"] = [{"values": values}]
        return "StopTransaction", payload
    if not isinstance(intent, (TransactionUpdated, MeterSample)):
        raise TypeError(f"{type(intent).__name__} is not a transaction intent")
    values = _meter_values(intent.snapshots)
    if not values:
        return "MeterValues", None
    payload = {"connectorId": intent.evse_id, "values": values}
    if csms_id is not None:
        payload["transactionId"] = csms_id
    return "MeterValues", payload
