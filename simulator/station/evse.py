"""Hardware: Station -> EVSE -> Connector.

An EVSE is one charging point that delivers energy to one EV at a time; it owns one or
more connectors (the plugs), and a transaction runs on one of them.  EVSE 0 stands for the
station itself and owns connector 0 (no plug: its status is the whole station's).

The station numbers its connectors 0..n across EVSEs (`Connector.id`, what drivers pass
to plug_in / present_tag); each also knows its EVSE (`Connector.evse_id`) and its number
on that EVSE (`Connector.number`, from 1).  Today every EVSE has one connector — the
shape 1.6 knows, where a connectorId names an EVSE with its one plug (the 1.6 dialect
maps connectorId <-> (EVSE, connector): dialects/ocpp16/connectors.py).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from .connector import Connector
    from .transaction import Transaction


class Evse:
    __slots__ = ("id", "connectors")

    def __init__(self, evse_id: int, connectors: tuple[Connector, ...]):
        if not connectors:
            raise ValueError(f"EVSE {evse_id} needs at least one connector")
        self.id = evse_id
        self.connectors = connectors
        for number, c in enumerate(connectors, 1):
            c.evse_id, c.number = evse_id, number

    def connector(self, number: int = 1) -> Connector:
        """The EVSE's connector `number` (from 1)."""
        if not 1 <= number <= len(self.connectors):
            raise ValueError(f"EVSE {self.id} has no connector {number} "
                             f"(1..{len(self.connectors)})")
        return self.connectors[number - 1]

    @property
    def transaction(self) -> Transaction | None:
        """The transaction running on one of its connectors (one at a time)."""
        return next((c.transaction for c in self.connectors if c.transaction is not None), None)

    def __iter__(self) -> Iterator[Connector]:
        return iter(self.connectors)

    def __repr__(self) -> str:
        return f"<Evse {self.id} connectors={[c.id for c in self.connectors]}>"


def build(connectors: list[Connector]) -> list[Evse]:
    """One EVSE per connector (connector 0: EVSE 0, the station)."""
    return [Evse(c.id, (c,)) for c in connectors]
