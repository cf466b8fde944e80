"""How the station speaks each protocol version: 1.6J, 2.0.1J and 1.5 over SOAP."""
from __future__ import annotations

import dataclasses
from typing import Callable

from ..station import Station, StationOptions
from .base import BootResult, Dialect


def _ocpp16() -> type[Dialect]:
    from .ocpp16 import Ocpp16Dialect
    return Ocpp16Dialect


def _ocpp15s() -> type[Dialect]:
    from .ocpp15s import Ocpp15SoapDialect
    return Ocpp15SoapDialect


def _ocpp201() -> type[Dialect]:
    from .ocpp201 import Ocpp201Dialect
    return Ocpp201Dialect


# protocol (StationOptions.version, a template's `protocol:`, --protocol) -> its dialect
PROTOCOLS: dict[str, Callable[[], type[Dialect]]] = {
    "ocpp1.6": _ocpp16,
    "ocpp1.5": _ocpp15s,      # OCPP 1.5 over SOAP
    "ocpp2.0.1": _ocpp201,
}


def dialect_for(version: str) -> type[Dialect]:
    factory = PROTOCOLS.get(version)
    if factory is None:
        raise ValueError(f"no dialect for {version!r} (known: {', '.join(PROTOCOLS)})")
    return factory()


def setting_key(version: str, name: str) -> str:
    """The key (1.6) or variable key (2.0.1) holding the neutral setting `name` in `version`
    (drivers set options.config by it)."""
    return dialect_for(version).setting_keys[name]


def make_station(station_id: str, csms_url: str, options: StationOptions | None = None,
                 **overrides) -> Station:
    """A station speaking its options' protocol version (the drivers' constructor)."""
    opts = dataclasses.replace(options, **overrides) if options else StationOptions(**overrides)
    return Station(station_id, csms_url, opts, dialect=dialect_for(opts.version))


__all__ = ["PROTOCOLS", "BootResult", "Dialect", "dialect_for", "make_station", "setting_key"]
