"""A `send` step's 2.0.1 payload with the required fields it left out taken from the
station; the step's `connector` is the EVSE (each of ours has one connector, id 1); what
the step gives wins."""
from __future__ import annotations

from ...station.clock import now_iso
from ..payload_defaults import connector_for, meter_wh
from . import names


def defaults(dialect, action: str, payload: dict, connector: int) -> dict:
    station = dialect.station
    c = connector_for(station, payload.get("evseId"), connector)
    opts = station.options
    if action == "BootNotification":
        d = {"chargingStation": {"model": opts.model, "vendorName": opts.vendor,
                                 "firmwareVersion": opts.firmware_version},
             "reason": "PowerUp"}
    elif action == "StatusNotification":
        d = {"timestamp": now_iso(), "connectorStatus": names.STATUS[c.status],
             "evseId": c.id, "connectorId": 1}
    elif action == "MeterValues":
        d = {"evseId": c.id, "meterValue": [{"timestamp": now_iso(), "sampledValue": [
            {"value": meter_wh(c), "measurand": "Energy.Active.Import.Register",
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
