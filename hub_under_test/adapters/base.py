"""What every protocol adapter provides.

An adapter serves one station connection: it takes the wire protocol's inbound CALLs
(already validated against the version's schema by the session), translates them into the
abstract hub messages (`hub_under_test.messages`), lets the manager decide, and translates
the answer back.  One adapter class per wire protocol: OCPP-J 1.6 today; OCPP-J 2.0.1 and
OCPP-S 1.5 (SOAP) slot in beside it with the same shape.
"""
from __future__ import annotations

from typing import ClassVar, Protocol

from ..manager import Manager


class Adapter(Protocol):
    version: ClassVar[str]  # the OCPP-J subprotocol / version name, e.g. "ocpp1.6"
    station_id: str

    def __init__(self, station_id: str, manager: Manager) -> None: ...

    async def handle(self, action: str, payload: dict) -> dict:
        """Answer one inbound CALL; raise simulator.protocol.OcppError for a CALLERROR."""
        ...
