"""The station's background work: tasks it spawns, and work deferred until the reply to
the CSMS request being handled is on the wire (so the CSMS sees the reply first)."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Awaitable, Callable

if TYPE_CHECKING:
    from .station_face import StationFace

log = logging.getLogger("simulator.station.station")


class Tasks:
    __slots__ = ("st", "_tasks")

    def __init__(self, station: StationFace):
        self.st = station
        self._tasks: set[asyncio.Task] = set()

    @property
    def running(self) -> frozenset[asyncio.Task]:
        return frozenset(self._tasks)

    def spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.create_task(coro, name=f"{self.st.id}-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._report(task)

    def after_reply(self, job: Callable[[], Awaitable], name: str) -> None:
        """Run `job` once the reply to the CSMS request being handled is on the wire."""
        session = self.st.session
        if session is None:
            self.spawn(job(), name)
        else:
            session.after_reply(lambda: self.spawn(job(), name))


    def create(self, coro, name: str) -> asyncio.Task:
        """A task that `cancel_all` leaves alone (it is what cancels the others: a reset);
        its failure is reported like any other."""
        task = asyncio.create_task(coro, name=f"{self.st.id}-{name}")
        task.add_done_callback(self._report)
        return task

    def _report(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("%s: %s failed", self.st.id, task.get_name(), exc_info=exc)
            self.st.events.emit("error", f"{task.get_name()} failed: {type(exc).__name__}: {exc}")

    async def cancel_all(self) -> None:
        """Cancel every spawned task but the caller's, and wait for them to end."""
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
