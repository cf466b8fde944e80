"""The engine's asyncio loop in a real OS thread, for drivers that live on another loop.

Locust runs on gevent and monkey-patches `threading`: a `threading.Thread` there is a
greenlet, and a gevent lock taken from another OS thread is undefined.  So the thread is
started with the unpatched `_thread.start_new_thread`, the loop is uvloop when available
(libuv, untouched by gevent's patched `select` / `socket`), and nothing here uses a
`threading` primitive after start-up: work goes in with `call_soon_threadsafe`, results go
out through a callback the caller supplies (the gevent side posts them to its own hub with
an async watcher, simulator/swarm/gevent_bridge.py).

One engine per process (`Engine.shared()`): every station of that process runs on it.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from ..transport.unpatched import original

log = logging.getLogger(__name__)

Done = Callable[[Any, BaseException | None], None]


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class Engine:
    """An asyncio loop running in its own OS thread until `stop()`."""

    _shared: "Engine | None" = None

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread_id: int | None = None
        self._stopping: asyncio.Event | None = None

    @classmethod
    def shared(cls) -> "Engine":
        """The process's engine, started on first use."""
        if cls._shared is None or not cls._shared.running:
            cls._shared = engine = cls()
            engine.start()
        return cls._shared

    @property
    def running(self) -> bool:
        return self.loop is not None and self.loop.is_running()

    def start(self) -> None:
        if self.loop is not None:
            raise RuntimeError("engine already started")
        allocate_lock = original("_thread", "allocate_lock")
        start_new_thread = original("_thread", "start_new_thread")
        ready = allocate_lock()   # a real lock: the caller waits for the loop to run
        ready.acquire()
        start_new_thread(self._main, (ready,))
        ready.acquire()           # released by the thread once the loop runs
        if self.loop is None:
            raise RuntimeError("the engine thread failed to start (see the log)")

    def _main(self, ready) -> None:
        get_ident = original("_thread", "get_ident")
        self.thread_id = get_ident()
        try:
            loop = new_loop()
            asyncio.set_event_loop(loop)
        except BaseException:
            log.exception("engine loop could not be created")
            ready.release()
            raise
        self.loop = loop

        async def main() -> None:
            self._stopping = asyncio.Event()
            ready.release()
            await self._stopping.wait()

        try:
            loop.run_until_complete(main())
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        finally:
            loop.close()

    # -- from any thread -----------------------------------------------------------------
    def submit(self, factory: Callable[[], Awaitable[Any]], done: Done | None = None) -> None:
        """Run the coroutine `factory()` on the engine; `done(result, error)` is called on the
        engine thread when it ends (the caller hands the result to its own world)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            raise RuntimeError("the engine is not running")
        loop.call_soon_threadsafe(self._spawn, factory, done)

    def call(self, fn: Callable[..., Any], *args) -> None:
        """Call a plain function on the engine thread."""
        self.loop.call_soon_threadsafe(fn, *args)

    def _spawn(self, factory, done) -> None:
        try:
            task = asyncio.ensure_future(factory())
        except BaseException as e:
            if done is not None:
                done(None, e)
            return
        if done is not None:
            task.add_done_callback(lambda t: done(*_outcome(t)))

    def stop(self) -> None:
        loop, stopping = self.loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)


def _outcome(task: asyncio.Task) -> tuple[Any, BaseException | None]:
    if task.cancelled():
        return None, asyncio.CancelledError()
    e = task.exception()
    return (None, e) if e is not None else (task.result(), None)
