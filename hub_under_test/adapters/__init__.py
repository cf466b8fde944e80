"""Protocol adapters, by the OCPP version name each one speaks (also its subprotocol)."""
from __future__ import annotations

from .base import Adapter
from .ocpp16j import Ocpp16Adapter
from .ocpp201 import Ocpp201Adapter

ADAPTERS: dict[str, type[Adapter]] = {Ocpp16Adapter.version: Ocpp16Adapter,
                                      Ocpp201Adapter.version: Ocpp201Adapter}
SUPPORTED_VERSIONS: tuple[str, ...] = tuple(ADAPTERS)

__all__ = ["ADAPTERS", "SUPPORTED_VERSIONS", "Adapter", "Ocpp16Adapter", "Ocpp201Adapter"]
