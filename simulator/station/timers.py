"""Periodic jobs (heartbeat, meter sampling; aligned.py: clock-aligned data) on the event
loop's timer heap: between runs a job is one `call_later` handle, not a sleeping task (an
idle station holds no task for its timers).  Each run is a short task, spawned when due.

A series keeps the phase it started with: each run is due a whole number of periods after
the first (`next_due`), not a period after the previous run ended.  One process runs
thousands of stations on one event loop; were each next run timed from the end of the last,
any pause of that loop (a burst of replies, a collection) would shift every station it
delayed by the same amount, they would stay bunched from then on, and the bunch would grow
at each pause (measured: 16,000 stations at a 3 s heartbeat answered in ≈ 1 s at the
median; timed from the schedule, as a fleet of separate chargers is, they stay spread).

Stopping never interrupts a job half-way: cancelling a task while it awaits a CALL's reply
would free the session's one-outstanding-call slot before the reply came, and the next CALL
would overtake it.  A busy job finishes; no next run is armed.
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable


def next_due(last_due: float, period: float, now: float) -> float:
    """The run after the one due at `last_due`: a period later, or, when a run outlasted
    its period, the first slot of the schedule after `now` (missed slots are skipped, not
    fired in a burst)."""
    due = last_due + period
    if due <= now:
        due += ((now - due) // period + 1) * period
    return due


class Periodic:
    def __init__(self, spawn: Callable[..., asyncio.Task], period: float,
                 job: Callable[..., Awaitable[bool | None]], name: str):
        """`job` runs every `period` seconds from now on; it returns False to end the
        series."""
        self.period = period
        self.job = job
        self.name = name
        self.due_at: float | None = None   # loop time the next run is due (AlignedTimer: unused)
        self._spawn = spawn
        self._stopped = False
        self._handle: asyncio.TimerHandle | None = None
        self._arm()

    def _next(self) -> tuple[float, tuple]:
        """(seconds until the next run, its arguments) (subclasses: other clocks)."""
        now = asyncio.get_running_loop().time()
        self.due_at = now + self.period if self.due_at is None else \
            next_due(self.due_at, self.period, now)
        return self.due_at - now, ()

    def _due(self, args: tuple) -> tuple | None:
        """The job's arguments if the run is due now, else None (re-armed by the hook)."""
        return args

    def _arm(self, delay: float | None = None, args: tuple = ()) -> None:
        if delay is None:
            delay, args = self._next()
        self._handle = asyncio.get_running_loop().call_later(delay, self._fire, args)

    def _fire(self, args: tuple) -> None:
        self._handle = None
        if self._stopped:
            return
        job_args = self._due(args)
        if job_args is not None:
            self._spawn(self._run(job_args), self.name)

    async def _run(self, args: tuple) -> None:
        again = False
        try:
            again = await self.job(*args) is not False
        finally:
            if not again:
                self._stopped = True
            elif not self._stopped:
                self._arm()

    def stop(self) -> None:
        self._stopped = True
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    @property
    def running(self) -> bool:
        return not self._stopped
