"""How the station speaks each protocol version (1.6J and 2.0.1J; 1.5S slots in here)."""
from __future__ import annotations

import dataclasses

from ..station import Station, StationOptions
from .base import BootResult, Dialect


def dialect_for(version: str) -> type[Dialect]:
    if version == "ocpp1.6":
        from .ocpp16 import Ocpp16Dialect
        return Ocpp16Dialect
    if version == "ocpp2.0.1":
        from .ocpp201 import Ocpp201Dialect
        return Ocpp201Dialect
    raise ValueError(f"no dialect for {version!r} yet (known: ocpp1.6, ocpp2.0.1)")


def setting_key(version: str, name: str) -> str:
    """The key (1.6) or variable key (2.0.1) holding the neutral setting `name` in `version`
    (drivers set options.config by it)."""
    return dialect_for(version).setting_keys[name]


def make_station(station_id: str, csms_url: str, options: StationOptions | None = None,
                 **overrides) -> Station:
    """A station speaking its options' protocol version (the drivers' constructor)."""
    opts = dataclasses.replace(options, **overrides) if options else StationOptions(**overrides)
    return Station(station_id, csms_url, opts, dialect=dialect_for(opts.version))


__all__ = ["BootResult", "Dialect", "dialect_for", "make_station", "setting_key"]
