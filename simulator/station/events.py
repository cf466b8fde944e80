"""What happened at a station, for drivers to print, assert on or wait for.

Bounded (a load test runs thousands of stations), with one optional callback and one-shot
waiters (`expect`) so a scenario can wait for "transaction started" without polling.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger("simulator.station")


@dataclass(slots=True)
class Event:
    ts: float
    station: str
    kind: str               # connected, boot, status, tx_started, tx_stopped, csms_request, ...
    connector: int | None
    text: str
    data: dict = field(default_factory=dict)

    def __str__(self) -> str:
        where = f"#{self.connector} " if self.connector is not None else ""
        return f"{self.station} {where}{self.kind}: {self.text}"


class EventLog:
    def __init__(self, station: str, size: int = 200):
        self.station = station
        self.recent: deque[Event] = deque(maxlen=size)
        self.callback: Callable[[Event], None] | None = None
        self._waiters: list[tuple[Callable[[Event], bool], asyncio.Future]] = []

    def emit(self, kind: str, text: str, connector: int | None = None, **data) -> Event:
        event = Event(time.time(), self.station, kind, connector, text, data)
        self.recent.append(event)
        log.debug("%s", event)
        if self.callback is not None:
            try:
                self.callback(event)
            except Exception:  # a broken observer must not break the station
                log.exception("event callback failed")
        if self._waiters:
            still = []
            for match, future in self._waiters:
                if future.done():
                    continue
                if match(event):
                    future.set_result(event)
                else:
                    still.append((match, future))
            self._waiters = still
        return event

    def expect(self, kind: str, connector: int | None = None,
               where: Callable[[Event], bool] | None = None) -> asyncio.Future:
        """A future for the next event of `kind` (optionally on `connector`, matching `where`).
        Ask before causing the event; await it with a timeout."""
        def match(e: Event) -> bool:
            return (e.kind == kind and (connector is None or e.connector == connector)
                    and (where is None or where(e)))
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((match, future))
        return future
