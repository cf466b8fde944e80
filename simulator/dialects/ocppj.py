"""The OCPP-J link of a station: one websocket, one RPC session, shared by the J dialects."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Callable

from ..protocol import CHARGE_POINT
from ..session import Handler, Session, SessionClosed
from ..transport import faults, websocket
from .quirks import QuirkSet

if TYPE_CHECKING:
    from ..station.station import Station

log = logging.getLogger(__name__)


class OcppJLink:
    def __init__(self, station: Station, version: str, handler: Handler):
        self.station = station
        self.version = version
        self.handler = handler
        self.session: Session | None = None
        self.quirks = QuirkSet(station.options.quirks)   # field quirks emitted on purpose
        self._task: asyncio.Task | None = None
        self.keepalive: websocket.Keepalive | None = None
        self._closing = False

    async def open(self, on_lost: Callable[[], None], ping_interval: int) -> None:
        st = self.station
        conn = await websocket.connect(st.url, version=self.version,
                                       **st.security.connect_args(),  # Basic auth / TLS
                                       source_address=st.options.source_address,
                                       subprotocol=None if self.quirks.no_subprotocol else "default")
        conn = faults.wrap(conn, st.options.faults, st.id)   # injected faults, if any
        session = Session(conn, version=self.version, role=CHARGE_POINT, handler=self.handler,
                          name=st.id, mode=st.options.mode, call_timeout=st.options.call_timeout)
        # The station's tap list itself, not a copy: taps added via station.session or
        # station.taps survive reconnects.
        session.taps = st.taps
        self.session, self._closing = session, False
        # An in-memory test pipe has no pings.
        self.keepalive = websocket.Keepalive(conn, ping_interval) if hasattr(conn, "ping") else None
        self._task = asyncio.create_task(session.run(), name=f"{st.id}-session")
        self._task.add_done_callback(lambda task: self._ended(task, on_lost))

    def _ended(self, task: asyncio.Task, on_lost: Callable[[], None]) -> None:
        if self.keepalive is not None:
            self.keepalive.stop()
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: session ended with an error", self.station.id, exc_info=task.exception())
        if not self._closing:
            on_lost()

    async def close(self) -> None:
        self._closing = True
        session, task = self.session, self._task
        if session is None or task is None:
            return
        try:
            await asyncio.wait_for(session.close(), 5)
        except Exception:  # already gone, or the peer does not answer the close
            pass
        if not task.done():
            try:
                await asyncio.wait_for(task, 5)
            except (asyncio.TimeoutError, asyncio.CancelledError, Exception):
                task.cancel()

    def abort(self, notify: bool) -> None:
        """Cut the link without a close frame (network or power gone); `notify`: report it
        as lost (the station reconnects) or not (the station is off)."""
        if not notify:
            self._closing = True
        conn = self.session.connection if self.session else None
        transport = getattr(conn, "transport", None)
        if transport is not None:
            transport.abort()

    async def call(self, action: str, payload: dict) -> dict:
        session = self.session
        if session is None or session.closed:
            raise SessionClosed(f"{self.station.id}: not connected")
        if self.quirks:
            return await self.quirks.call(session, action, payload)
        return await session.call(action, payload)

    def set_ping_interval(self, seconds: int) -> None:
        """A new interval applies from now; 0 stops the pings."""
        if self.keepalive is not None:
            self.keepalive.set_interval(seconds)
