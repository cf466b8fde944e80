"""Periodic jobs (heartbeat, meter sampling, clock-aligned data) as one sleeping task each.

Stopping never interrupts a job half-way: cancelling a task while it awaits a CALL's reply
would free the session's one-outstanding-call slot before the reply came, and the next CALL
would overtake it.  A busy job finishes; the loop then ends.
"""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable


class Periodic:
    def __init__(self, spawn: Callable[..., asyncio.Task], period: float,
                 job: Callable[[], Awaitable[bool | None]], name: str, aligned: bool = False):
        """`job` returns False to end the loop.  `aligned`: run at whole multiples of
        `period` on the wall clock (e.g. :00, :15, :30, :45) instead of `period` after the
        previous run."""
        self.period = period
        self.job = job
        self.aligned = aligned
        self._stopped = False
        self._busy = False
        self.task = spawn(self._run(), name)

    async def _run(self) -> None:
        while not self._stopped:
            delay = self.period - (time.time() % self.period) if self.aligned else self.period
            await asyncio.sleep(delay)
            if self._stopped:
                return
            self._busy = True
            try:
                if await self.job() is False:
                    return
            finally:
                self._busy = False

    def stop(self) -> None:
        self._stopped = True
        if not self._busy:
            self.task.cancel()

    @property
    def running(self) -> bool:
        return not self._stopped and not self.task.done()
