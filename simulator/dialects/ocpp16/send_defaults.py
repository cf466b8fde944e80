"""A `send` step's 1.6 payload with the required fields it left out taken from the station
(its identity, the connector's status, the meter, the running transaction); what the step
gives wins, so a test can send a wrong value on purpose."""
from __future__ import annotations

from ...station.clock import now_iso
from ..payload_defaults import connector_for, meter_wh, transaction_name
from . import names


def defaults(dialect, action: str, payload: dict, connector: int) -> dict:
    station = dialect.station
    c = connector_for(station, payload.get("connectorId"), connector)
    opts = station.options
    if action == "BootNotification":
        d = {"chargePointVendor": opts.vendor, "chargePointModel": opts.model,
             "firmwareVersion": opts.firmware_version}
    elif action == "StatusNotification":
        d = {"connectorId": c.id, "errorCode": c.error_code, "status": names.STATUS[c.status],
             "timestamp": now_iso()}
    elif action == "MeterValues":
        d = {"connectorId": c.id, "meterValue": [{"timestamp": now_iso(), "sampledValue": [
            {"value": str(meter_wh(c)), "measurand": "Energy.Active.Import.Register",
             "unit": "Wh", "context": "Sample.Periodic"}]}]}
        tx_id = transaction_name(dialect, c, running_only=True)
        if tx_id is not None:
            d["transactionId"] = tx_id
    elif action == "StartTransaction":
        d = {"connectorId": c.id, "meterStart": meter_wh(c), "timestamp": now_iso()}
    elif action == "StopTransaction":
        d = {"meterStop": meter_wh(c), "timestamp": now_iso()}
        tx_id = transaction_name(dialect, c)
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
