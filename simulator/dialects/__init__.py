"""How the station speaks each protocol version (1.6J today; 2.0.1J and 1.5S slot in here)."""
from __future__ import annotations

from .base import BootResult, Dialect


def dialect_for(version: str) -> type[Dialect]:
    if version == "ocpp1.6":
        from .ocpp16 import Ocpp16Dialect
        return Ocpp16Dialect
    raise ValueError(f"no dialect for {version!r} yet (known: ocpp1.6)")


__all__ = ["BootResult", "Dialect", "dialect_for"]
