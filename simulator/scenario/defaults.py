"""Payload defaults for `send` steps, taken from the station model (1.6 or 2.0.1 names).

A scenario writes only the fields it cares about; required fields it leaves out are filled
from the station's current state (its identity, the connector's status, the meter, the
running transaction).  What the scenario gives always wins, so a test can send a wrong value
on purpose.  The message goes out as given: sending StartTransaction by hand does not start
a transaction in the model (use `start_charging` for that).
"""
from __future__ import annotations

from ..dialects.ocpp16 import names as names16
from ..dialects.ocpp201 import names as names201
from ..station.clock import now_iso


def _connector(station, payload: dict, connector: int):
    cid = payload.get("connectorId", connector)
    if isinstance(cid, int) and 0 <= cid < len(station.connectors):
        return station.connectors[cid]
    return station.connectors[min(1, len(station.connectors) - 1)]


def _meter_wh(c) -> int:
    return int(c.meter.read().energy_wh) if c.meter is not None else 0


def _transaction_id(c):
    tx = c.transaction or c.last_transaction
    return tx.transaction_id if tx is not None else None


def defaults_16(station, action: str, payload: dict, connector: int) -> dict:
    c = _connector(station, payload, connector)
    opts = station.options
    if action == "BootNotification":
        d = {"chargePointVendor": opts.vendor, "chargePointModel": opts.model,
             "firmwareVersion": opts.firmware_version}
    elif action == "StatusNotification":
        d = {"connectorId": c.id, "errorCode": c.error_code, "status": names16.STATUS[c.status],
             "timestamp": now_iso()}
    elif action == "MeterValues":
        d = {"connectorId": c.id, "meterValue": [{"timestamp": now_iso(), "sampledValue": [
            {"value": str(_meter_wh(c)), "measurand": "Energy.Active.Import.Register",
             "unit": "Wh", "context": "Sample.Periodic"}]}]}
        if c.transaction is not None and c.transaction.transaction_id is not None:
            d["transactionId"] = c.transaction.transaction_id
    elif action == "StartTransaction":
        d = {"connectorId": c.id, "meterStart": _meter_wh(c), "timestamp": now_iso()}
    elif action == "StopTransaction":
        d = {"meterStop": _meter_wh(c), "timestamp": now_iso()}
        tx_id = _transaction_id(c)
        if tx_id is not None:
            d["transactionId"] = tx_id
    elif action == "DiagnosticsStatusNotification":
        d = {"status": station.diagnostics_status}
    elif action == "FirmwareStatusNotification":
        d = {"status": station.firmware_status}
    elif action == "DataTransfer":
        d = {"vendorId": opts.vendor}
    else:
        d = {}
    return {**d, **payload}


def defaults_15(station, action: str, payload: dict, connector: int) -> dict:
    """The same for an OCPP 1.5 (SOAP) station, in 1.5's names (the dialect's payloads)."""
    from ..dialects.ocpp15s import messages as messages15
    c = _connector(station, payload, connector)
    if action == "BootNotification":
        d = messages15.boot_payload(station.options)
    elif action == "StatusNotification":
        d = messages15.status_payload(c)
    elif action == "MeterValues":
        d = {"connectorId": c.id, "values": [{"timestamp": now_iso(), "value": [
            {"value": str(_meter_wh(c)), "measurand": "Energy.Active.Import.Register",
             "unit": "Wh", "context": "Sample.Periodic"}]}]}
        if c.transaction is not None and c.transaction.transaction_id is not None:
            d["transactionId"] = c.transaction.transaction_id
    elif action == "StartTransaction":
        d = {"connectorId": c.id, "meterStart": _meter_wh(c), "timestamp": now_iso()}
    elif action == "StopTransaction":
        d = {"meterStop": _meter_wh(c), "timestamp": now_iso()}
        tx_id = _transaction_id(c)
        if tx_id is not None:
            d["transactionId"] = tx_id
    elif action == "DataTransfer":
        d = {"vendorId": station.options.vendor}
    else:
        d = {}
    return {**d, **payload}


def defaults_201(station, action: str, payload: dict, connector: int) -> dict:
    """2.0.1: `connector` is the EVSE (each of ours has one connector, id 1)."""
    evse = payload.get("evseId", connector)
    c = _connector(station, {"connectorId": evse}, connector)
    opts = station.options
    if action == "BootNotification":
        d = {"chargingStation": {"model": opts.model, "vendorName": opts.vendor,
                                 "firmwareVersion": opts.firmware_version},
             "reason": "PowerUp"}
    elif action == "StatusNotification":
        d = {"timestamp": now_iso(), "connectorStatus": names201.STATUS[c.status],
             "evseId": c.id, "connectorId": 1}
    elif action == "MeterValues":
        d = {"evseId": c.id, "meterValue": [{"timestamp": now_iso(), "sampledValue": [
            {"value": _meter_wh(c), "measurand": "Energy.Active.Import.Register",
             "context": "Sample.Periodic", "unitOfMeasure": {"unit": "Wh"}}]}]}
    elif action == "FirmwareStatusNotification":
        d = {"status": station.firmware_status}
    elif action == "DataTransfer":
        d = {"vendorId": opts.vendor}
    elif action in ("TransactionEvent", "SecurityEventNotification", "NotifyEvent"):
        d = {"timestamp": now_iso()}
    elif action == "NotifyReport":
        d = {"generatedAt": now_iso()}
    else:
        d = {}
    return {**d, **payload}


def fill(station, action: str, payload: dict, connector: int = 1) -> dict:
    if station.options.version == "ocpp1.6":
        return defaults_16(station, action, payload, connector)
    if station.options.version == "ocpp1.5":
        return defaults_15(station, action, payload, connector)
    if station.options.version == "ocpp2.0.1":
        return defaults_201(station, action, payload, connector)
    return dict(payload)
