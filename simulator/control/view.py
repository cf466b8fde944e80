"""A station's public view as JSON (GET /stations/{id}, the TUI's tables)."""
from __future__ import annotations

from ..station import Station
from ..station.view import ConnectorView
from .fleet import Watch


def connector_json(c: ConnectorView, watch: Watch | None = None) -> dict:
    out = {"id": c.id, "status": c.status, "error_code": c.error_code, "plugged": c.plugged,
           "operative": c.operative, "transaction_id": c.transaction_id,
           "energy_wh": None if c.energy_wh is None else round(c.energy_wh, 1)}
    if c.id and watch is not None:
        out["power_w"] = round(watch.power_w.get(c.id, 0.0), 1)
        if c.id in watch.soc:
            out["ev_soc"] = watch.soc[c.id]
    return out


def station_json(station: Station, watch: Watch | None = None, *, config: bool = False) -> dict:
    v = station.view
    out = {"id": v.id, "protocol": station.options.version, "url": v.url, "state": str(v.state),
           "registration": None if v.registration is None else str(v.registration),
           "online": v.online,
           "connectors": [connector_json(c, watch) for c in v.connectors]}
    if config:
        out["config"] = v.config
    return out
