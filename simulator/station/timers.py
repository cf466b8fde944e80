"""Periodic jobs (heartbeat, meter sampling; aligned.py: clock-aligned data) as one sleeping
task each.

Stopping never interrupts a job half-way: cancelling a task while it awaits a CALL's reply
would free the session's one-outstanding-call slot before the reply came, and the next CALL
would overtake it.  A busy job finishes; the loop then ends.
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable


class Periodic:
    def __init__(self, spawn: Callable[..., asyncio.Task], period: float,
                 job: Callable[..., Awaitable[bool | None]], name: str):
        """`job` runs every `period` seconds after the previous run; it returns False to
        end the loop."""
        self.period = period
        self.job = job
        self._stopped = False
        self._busy = False
        self.task = spawn(self._run(), name)

    async def _wait(self) -> tuple:
        """Sleep until the next run; return the job's arguments (subclasses: other clocks)."""
        await asyncio.sleep(self.period)
        return ()

    async def _run(self) -> None:
        while not self._stopped:
            args = await self._wait()
            if self._stopped:
                return
            self._busy = True
            try:
                if await self.job(*args) is False:
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
