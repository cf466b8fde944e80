"""A read-only window on a station, for drivers (TUI, replay, swarms, scenarios).

Drivers read this and subscribe to events; they never touch the station's private members.
Each property reads the live station; the snapshots (`ConnectorView`, `config`) are plain
values a driver may keep.  EVSEs as a 1.6 station has them: EVSE n holds connector n, and
connector 0 is the station itself (evse.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .events import Event
from .lifecycle import State

if TYPE_CHECKING:
    import asyncio

    from .station_face import StationFace


@dataclass(frozen=True, slots=True)
class ConnectorView:
    id: int                          # 0: the station
    evse_id: int                     # the EVSE it belongs to (0: the station)
    status: str
    error_code: str
    plugged: bool
    operative: bool
    transaction_id: str | None       # opaque to drivers (the dialect's id, as text)
    energy_wh: float | None          # the register (None for the station)


class StationView:
    __slots__ = ("_station",)

    def __init__(self, station: StationFace):
        self._station = station

    @property
    def id(self) -> str:
        return self._station.id

    @property
    def url(self) -> str:
        return self._station.url

    @property
    def state(self) -> State:
        return self._station.lifecycle.state

    @property
    def registration(self) -> str | None:
        return self._station.registration

    @property
    def online(self) -> bool:
        return self._station.online

    @property
    def connectors(self) -> tuple[ConnectorView, ...]:
        return tuple(self.connector(i) for i in range(len(self._station.connectors)))

    def connector(self, connector_id: int) -> ConnectorView:
        c = self._station.connectors[connector_id]
        tx = c.transaction
        tx_id = tx.transaction_id if tx is not None else None
        return ConnectorView(c.id, c.evse_id, str(c.status), c.error_code, c.plugged, c.operative,
                             None if tx_id is None else str(tx_id),
                             c.meter.energy_wh if c.meter is not None else None)

    @property
    def evses(self) -> tuple[tuple[int, tuple[int, ...]], ...]:
        """(EVSE id, the ids of its connectors) for every EVSE (0: the station)."""
        return tuple((e.id, tuple(c.id for c in e.connectors)) for e in self._station.evses)

    @property
    def config(self) -> dict[str, str]:
        """The configuration as the CSMS sees it (write-only values left out)."""
        store = self._station.config
        known, _ = store.entries()
        return {k: v for k, v, _ in known if not store.specs[k].write_only}

    @property
    def recent_events(self) -> tuple[Event, ...]:
        return tuple(self._station.events.recent)

    def subscribe(self, subscriber: Callable[[Event], None]) -> Callable[[], None]:
        """Hear every event from now on; returns the unsubscribe."""
        return self._station.events.subscribe(subscriber)

    def expect(self, kind: str, connector: int | None = None, where=None) -> asyncio.Future:
        return self._station.events.expect(kind, connector, where)

    async def until(self, state: State) -> None:
        await self._station.lifecycle.reached(state)

    def __repr__(self) -> str:
        return f"<StationView {self.id} {self.state}>"
