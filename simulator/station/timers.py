"""Periodic jobs (heartbeat, meter sampling; aligned.py: clock-aligned data) on the event
loop's timer heap: between runs a job is one `call_later` handle, not a sleeping task (an
idle station holds no task for its timers).  Each run is a short task, spawned when due.

Stopping never interrupts a job half-way: cancelling a task while it awaits a CALL's reply
would free the session's one-outstanding-call slot before the reply came, and the next CALL
would overtake it.  A busy job finishes; no next run is armed.
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable


class Periodic:
    def __init__(self, spawn: Callable[..., asyncio.Task], period: float,
                 job: Callable[..., Awaitable[bool | None]], name: str):
        """`job` runs every `period` seconds after the previous run; it returns False to
        end the series."""
        self.period = period
        self.job = job
        self.name = name
        self._spawn = spawn
        self._stopped = False
        self._handle: asyncio.TimerHandle | None = None
        self._arm()

    def _next(self) -> tuple[float, tuple]:
        """(seconds until the next run, its arguments) (subclasses: other clocks)."""
        return self.period, ()

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
