"""The progress of a `chargesim run` while it runs.

On a terminal: one live line, redrawn in place (event lines printed meanwhile go above it).
Otherwise (CI logs, pipes): a plain line every `interval` seconds.
"""
from __future__ import annotations

import asyncio
import sys
import time

from .run_summary import RunStats


class Progress:
    def __init__(self, stats: RunStats, stream=None, *, interval: float | None = None,
                 live: bool | None = None):
        self.stats = stats
        self.stream = stream if stream is not None else sys.stdout
        if live is None:
            isatty = getattr(self.stream, "isatty", None)
            live = bool(isatty and isatty())
        self.live = live
        # a live line is cheap to redraw; plain lines should not flood a log
        self.interval = interval if interval is not None else (0.5 if live else 10.0)
        self._started = time.monotonic()
        self._task: asyncio.Task | None = None
        self._drawn = False

    def print(self, *args) -> None:
        """print() for event lines: they go above the live line."""
        self._clear()
        print(*args, file=self.stream, flush=True)
        self._draw()

    def line(self) -> str:
        return self.stats.progress_line(time.monotonic() - self._started)

    def _clear(self) -> None:
        if self.live and self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False

    def _draw(self) -> None:
        if self.live and self._task is not None:
            self.stream.write("\r\x1b[K" + self.line())
            self.stream.flush()
            self._drawn = True

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.live:
                self._draw()
            else:
                print(f"progress: {self.line()}", file=self.stream, flush=True)

    def start(self) -> None:
        if self.interval > 0:
            self._task = asyncio.get_running_loop().create_task(self._loop())
            self._draw()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._clear()
            self._task = None
