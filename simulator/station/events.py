"""What happened at a station, for drivers to print, assert on or wait for.

Bounded (a load test runs thousands of stations).  Any number of subscribers
(`subscribe` / `unsubscribe`; `callback` is one more, kept for `Station.on_event`) and
one-shot waiters (`expect`), so a scenario can wait for "transaction started" without
polling.  An event keeps its data; its text is formatted only when someone reads it
(`Text` templates), so a meter sample nobody watches costs no string work.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger("simulator.station")


class Text:
    """A text template formatted with the event's data when read: Text("{energy_wh:.1f} Wh")."""
    __slots__ = ("template",)

    def __init__(self, template: str):
        self.template = template


@dataclass(slots=True)
class Event:
    ts: float
    station: str
    kind: str               # connected, boot, status, tx_started, tx_stopped, csms_request, ...
    connector: int | None
    message: str | Text
    data: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        m = self.message
        return m.template.format(**self.data) if isinstance(m, Text) else m

    def __str__(self) -> str:
        where = f"#{self.connector} " if self.connector is not None else ""
        return f"{self.station} {where}{self.kind}: {self.text}"


Subscriber = Callable[[Event], None]


class EventLog:
    def __init__(self, station: str, size: int = 200):
        self.station = station
        self.recent: deque[Event] = deque(maxlen=size)
        self.callback: Subscriber | None = None
        self._subscribers: tuple[Subscriber, ...] = ()
        self._waiters: list[tuple[Callable[[Event], bool], asyncio.Future]] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber(event)` for every event from now on; returns its unsubscribe."""
        self._subscribers = (*self._subscribers, subscriber)
        return lambda: self.unsubscribe(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers = tuple(s for s in self._subscribers if s is not subscriber)

    def emit(self, kind: str, text: str | Text, connector: int | None = None, **data) -> Event:
        event = Event(time.time(), self.station, kind, connector, text, data)
        self.recent.append(event)
        log.debug("%s", event)
        for subscriber in (self.callback, *self._subscribers) if self._subscribers else (
                self.callback,):
            if subscriber is None:
                continue
            try:
                subscriber(event)
            except Exception:  # a broken observer must not break the station
                log.exception("event subscriber failed")
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
