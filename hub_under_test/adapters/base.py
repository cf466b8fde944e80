"""What every protocol adapter provides.

An adapter serves one station connection: it takes the wire protocol's inbound CALLs
(already validated against the version's schema by the session), translates them into the
abstract hub messages (`hub_under_test.messages`), lets the manager decide, and translates
the answer back.  One adapter class per wire protocol: OCPP-J 1.6 (ocpp16j.py) and 2.0.1
(ocpp201.py); OCPP-S 1.5 (SOAP) slots in beside them with the same shape.

The other direction goes through it too: the hub's abstract commands (`commands.py`) are
encoded into the wire protocol's CALLs and the replies decoded into typed results; a raw
request in the adapter's own protocol (the HTTP command API) is sent as given and read into
its abstract command and result, so the manager records it the same way.
"""
from __future__ import annotations

from typing import ClassVar, Protocol

from ..commands import Command, Result
from ..manager import Manager


class Adapter(Protocol):
    version: ClassVar[str]  # the OCPP-J subprotocol / version name, e.g. "ocpp1.6"
    station_id: str

    def __init__(self, station_id: str, manager: Manager) -> None: ...

    async def handle(self, action: str, payload: dict) -> dict:
        """Answer one inbound CALL; raise simulator.protocol.OcppError for a CALLERROR."""
        ...

    def attach(self, session) -> None:
        """The connection's RPC session (simulator.session.Session), for commands."""
        ...

    def parse_command(self, action: str, payload) -> Command:
        """The abstract command a raw request of this protocol means (RawCommand if none)."""
        ...

    def action_of(self, command: Command) -> str:
        """The wire protocol's name for the request that carries `command`."""
        ...

    async def execute(self, command: Command, timeout: float | None = None) -> Result:
        """Send an abstract command; the station's reply as the command's result."""
        ...

    async def send_raw(self, action: str, payload: dict, timeout: float | None = None
                       ) -> tuple[Command, Result, dict]:
        """Send a raw request as given: (its abstract command, the result, the raw reply)."""
        ...
