"""A `send` step's 1.5 payload with the required fields it left out taken from the station:
boot, status and meter values in 1.5's names (MeterValues carries `values`), the rest as in
1.6, which says them the same; what the step gives wins."""
from __future__ import annotations

from ..ocpp16 import send_defaults as defaults16
from ..payload_defaults import connector_for
from . import messages


def defaults(dialect, action: str, payload: dict, connector: int) -> dict:
    station = dialect.station
    c = connector_for(station, payload.get("connectorId"), connector)
    if action == "BootNotification":
        d = messages.boot_payload(station.options)
    elif action == "StatusNotification":
        d = messages.status_payload(c)
    elif action == "MeterValues":   # 1.6's, under 1.5's names for the two lists
        d = defaults16.defaults(dialect, action, {"connectorId": c.id}, connector)
        d["values"] = [{"timestamp": v["timestamp"], "value": v["sampledValue"]}
                       for v in d.pop("meterValue")]
    else:
        return defaults16.defaults(dialect, action, payload, connector)
    return {**d, **payload}
