"""Scenario station specs → engine `Station`s, and the high-level actions the engine does
not have as one call (yet): going offline and back, power loss.  No second charger here:
everything goes through `simulator.station.Station`."""
from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from ..station import Station, StationOptions
from ..station.errors import StationError
from ..station.lifecycle import State
from .model import StationSpec
from ..dialects import make_station


def load_template_options(name_or_path: str, station_id: str, n: int, relative_to: Path | None):
    """StationOptions of a bundled template name or a template file (relative to the
    scenario's folder).  Raises the template module's StationTemplateError (file:line)."""
    from ..templates import loader as templates
    path = Path(name_or_path)
    if relative_to is not None and path.suffix in templates.SUFFIXES and not path.is_absolute():
        name_or_path = str(relative_to / path)
    return templates.load_template(name_or_path, station_id=station_id, n=n)


def build_station(spec: StationSpec, csms_url: str, scenario_options: dict) -> Station:
    base = (load_template_options(spec.template, spec.id, spec.n, spec.relative_to)
            if spec.template else StationOptions())
    overrides = dict(spec.options)
    if "config" in overrides:
        overrides["config"] = {**base.config, **overrides["config"]}
    if spec.protocol:
        overrides["version"] = spec.protocol
    overrides["interval_scale"] = scenario_options.get("interval_scale", 0.05)
    for key in ("call_timeout", "mode"):
        if key in scenario_options:
            overrides[key] = scenario_options[key]
    # a quick reboot, and reconnects that do not wait seconds, at scenario speed
    overrides.setdefault("reconnect_min", 0.1)
    overrides.setdefault("boot_retry_min", 0.2)
    if spec.password:
        overrides["basic_auth"] = (spec.id, spec.password)
    options = dataclasses.replace(base, **overrides)
    return make_station(spec.id, csms_url, options)


async def go_offline(station: Station) -> None:
    """The network goes away (no close frame): transactions go on, their messages wait."""
    if not station.online:
        raise StationError(f"{station.id}: already offline")
    station.go_offline()


async def come_online(station: Station, timeout: float) -> None:
    """The network is back: wait until the station is connected and registered again."""
    if station.online:
        raise StationError(f"{station.id}: already online")
    connected = station.expect("connected")
    station.come_online()
    await asyncio.wait_for(connected, timeout)
    await asyncio.wait_for(station.lifecycle.reached(State.ACCEPTED), timeout)


async def power_loss(station: Station, duration: float, timeout: float) -> None:
    """Power goes for `duration` seconds; back up, running transactions end with PowerLoss
    and the station boots; returns once it is accepted again."""
    await station.power_loss()
    await asyncio.sleep(duration)
    await station.power_up()
    await asyncio.wait_for(station.lifecycle.reached(State.ACCEPTED), timeout)
