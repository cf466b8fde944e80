"""The gevent side of the engine bridge: results and statistics from the engine thread
reach gevent through one async watcher (the one object gevent makes safe to signal from
another OS thread); calls go to the engine with `call_soon_threadsafe`.

Import this only in a process that runs gevent (Locust): it imports gevent.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Any, Awaitable, Callable

import gevent
import gevent.event

from .engine import Engine


class Mailbox:
    """Callables posted from any thread, run in this process's gevent hub thread."""

    def __init__(self) -> None:
        self._queue: deque = deque()
        self._wake = gevent.event.Event()
        self._watcher = gevent.get_hub().loop.async_(ref=False)
        self._watcher.start(self._wake.set)
        self._greenlet = gevent.spawn(self._drain)

    def post(self, fn: Callable, *args) -> None:   # any thread
        self._queue.append((fn, args))
        self._watcher.send()

    SLICE = 0.01   # s of callbacks before letting other greenlets in (Locust's heartbeats)

    def _drain(self) -> None:
        queue, slice_ = self._queue, self.SLICE
        clock = time.perf_counter
        while True:
            self._wake.wait()
            self._wake.clear()
            until = clock() + slice_
            while queue:
                fn, args = queue.popleft()
                try:
                    fn(*args)
                except Exception:  # an observer's bug must not stop the others
                    import logging
                    logging.getLogger(__name__).exception("bridge callback failed")
                if clock() > until:
                    # a busy engine can post faster than this drains: never hold the hub,
                    # or a distributed worker misses its heartbeats to the master.  By time,
                    # not by count: one callback may carry a whole loop turn's records
                    gevent.sleep(0)
                    until = clock() + slice_


class EngineClient:
    """Run engine coroutines from greenlets: `run()` blocks only the calling greenlet."""

    _shared: "EngineClient | None" = None

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine or Engine.shared()
        self.mailbox = Mailbox()

    @classmethod
    def shared(cls) -> "EngineClient":
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    def run(self, factory: Callable[[], Awaitable[Any]], timeout: float | None = None) -> Any:
        result = gevent.event.AsyncResult()

        def done(value, error):   # engine thread: hand over to the hub
            self.mailbox.post(_settle, result, value, error)
        self.engine.submit(factory, done)
        return result.get(timeout=timeout)

    def spawn(self, factory: Callable[[], Awaitable[Any]]) -> gevent.event.AsyncResult:
        """Start a coroutine on the engine; its outcome arrives in the returned AsyncResult."""
        result = gevent.event.AsyncResult()
        self.engine.submit(factory, lambda v, e: self.mailbox.post(_settle, result, v, e))
        return result


def _settle(result: gevent.event.AsyncResult, value, error) -> None:
    if error is not None:
        result.set_exception(error)
    else:
        result.set(value)
