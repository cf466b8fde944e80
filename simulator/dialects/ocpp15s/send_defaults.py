"""A `send` step's 1.5 payload with the required fields it left out taken from the station,
in 1.5's names (MeterValues carries `values`); what the step gives wins."""
from __future__ import annotations

from ...station.clock import now_iso
from ..payload_defaults import connector_for, meter_wh, transaction_name
from . import messages


def defaults(dialect, action: str, payload: dict, connector: int) -> dict:
    station = dialect.station
    c = connector_for(station, payload.get("connectorId"), connector)
    if action == "BootNotification":
        d = messages.boot_payload(station.options)
    elif action == "StatusNotification":
        d = messages.status_payload(c)
    elif action == "MeterValues":
        d = {"connectorId": c.id, "values": [{"timestamp": now_iso(), "value": [
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
    elif action == "DataTransfer":
        d = {"vendorId": station.options.vendor}
    else:
        d = {}
    return {**d, **payload}
