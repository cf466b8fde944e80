"""`--auto-plug`: an EV that follows the CSMS, for unattended runs.

After an accepted RemoteStartTransaction the EV's cable goes in a moment later (within the
station's ConnectionTimeOut, so the transaction starts); after a transaction the CSMS
stopped remotely the EV leaves a moment later.  A subscriber to the station's events, as a
driver at the charger would be: it calls only the station's public plug_in / unplug.
"""
from __future__ import annotations

import asyncio
import logging

from ..station import Event, Station, StationError, StopReason

log = logging.getLogger(__name__)


class AutoPlug:
    def __init__(self, station: Station, delay: float = 1.0):
        self.station = station
        self.delay = delay
        self._tasks: dict[int, asyncio.Task] = {}
        self._unsubscribe = station.view.subscribe(self._on_event)

    def _on_event(self, e: Event) -> None:
        c = e.connector
        if c is None:
            return
        if e.kind == "remote_start":
            self._later(c, self._plug, c)
        elif e.kind in ("tag_rejected", "start_timeout"):
            self._cancel(c)   # the start is off: no car for it
        elif e.kind == "tx_stopped" and str(e.data.get("reason")) == StopReason.REMOTE:
            self._later(c, self._unplug, c)

    def _later(self, c: int, job, *args) -> None:
        self._cancel(c)
        task = asyncio.get_running_loop().create_task(self._after_delay(job, *args),
                                                      name=f"{self.station.id}-autoplug-{c}")
        self._tasks[c] = task
        task.add_done_callback(lambda t, c=c: self._tasks.get(c) is t and self._tasks.pop(c))

    def _cancel(self, c: int) -> None:
        task = self._tasks.pop(c, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _after_delay(self, job, *args) -> None:
        await asyncio.sleep(self.delay)
        try:
            await job(*args)
        except StationError as e:  # the situation changed meanwhile (already plugged, ...)
            log.info("auto-plug: %s", e)

    async def _plug(self, c: int) -> None:
        if not self.station.view.connector(c).plugged:
            await self.station.plug_in(c)

    async def _unplug(self, c: int) -> None:
        if self.station.view.connector(c).plugged:
            await self.station.unplug(c)

    def close(self) -> None:
        self._unsubscribe()
        for task in list(self._tasks.values()):
            task.cancel()
        self._tasks.clear()
