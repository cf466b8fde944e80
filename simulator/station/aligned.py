"""Clock-aligned meter data (ClockAlignedDataInterval): readings at whole multiples of the
interval on the wall clock — 900 s gives :00, :15, :30 and :45 of every hour (UTC, counted
from the epoch, so every station of a fleet samples at the same instants).

Exactness: boundaries are computed in integer milliseconds, the next one always strictly
after the last one fired (an event loop may wake a little early; re-reading the clock then
must not give the same boundary twice), and a sample carries its boundary as its
timestamp, not the moment the job happened to run.  Boundaries missed while a job was busy
are skipped, not fired in a burst.  Stopping never interrupts a job half-way (as timers.py).
"""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Awaitable, Callable

from .timers import Periodic


def next_boundary_ms(now_s: float, interval_s: float, after_ms: int | None = None) -> int:
    """The first whole multiple of `interval_s` (in ms since the epoch) strictly after
    `now_s` and after `after_ms`."""
    period = round(interval_s * 1000)
    if period <= 0:
        raise ValueError("the interval must be at least 1 ms")
    now_ms = int(now_s * 1000)
    if after_ms is not None:
        now_ms = max(now_ms, after_ms)
    return (now_ms // period + 1) * period


def boundary_time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


class AlignedTimer(Periodic):
    def __init__(self, spawn: Callable[..., asyncio.Task], period: float,
                 job: Callable[[datetime], Awaitable[bool | None]], name: str,
                 wall_clock: Callable[[], float] = time.time):
        """`job(boundary)` runs at each boundary; it returns False to end the loop."""
        self.wall_clock = wall_clock
        self.last_ms: int | None = None
        super().__init__(spawn, period, job, name)

    def _next(self) -> tuple[float, tuple]:
        due = next_boundary_ms(self.wall_clock(), self.period, self.last_ms)
        return max(0.0, due / 1000 - self.wall_clock()), (due,)

    def _due(self, args: tuple) -> tuple | None:
        (due,) = args
        rest = due / 1000 - self.wall_clock()
        if rest > 0:             # the loop woke before the wall clock: wait the rest
            self._arm(rest, args)
            return None
        self.last_ms = due
        return (boundary_time(due),)
