"""Per-station message-rate limit: a token bucket in front of the session's reader.

What the hub does over the limit: it stops reading that station's socket until a token is
due (pacing).  Frames are neither dropped nor answered with a CALLERROR: OCPP has no error
code for "too many messages", a CALLERROR would still cost the hub the parse and the answer
the limit is there to save, and a station that gets no answer retries — more load.  Paused
reading is TCP back-pressure: websockets buffers up to `max_queue` frames, then stops
reading, the kernel's window fills, and the flooding station's own sends block.  Its CALLs
are answered, late; every other station's frames keep their turn on the event loop.

The wrapper also notes when each frame arrived (`last_frame`), for the idle timeout.
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable

from websockets.exceptions import ConnectionClosedOK
from websockets.protocol import State


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up.  Pure: the caller passes the time."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float, now: float):
        if rate <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate > 0 and burst >= 1, got {rate}, {burst}")
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = float(burst), now

    def take(self, now: float) -> float:
        """Take one token: 0 when one was there, else the seconds until it is due (the
        token is taken anyway, so a caller that waits that long is even again)."""
        tokens = self.tokens + (now - self.stamp) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        self.stamp = now
        self.tokens = tokens = tokens - 1
        return 0.0 if tokens >= 0 else -tokens / self.rate


class PacedConnection:
    """A websockets connection as `simulator.session.Connection` (which the session reads by
    iterating), whose inbound frames pass a token bucket (None: no limit).  `send` and
    `close` are the connection's own methods, so the outbound path costs nothing extra."""

    __slots__ = ("ws", "send", "close", "_recv", "bucket", "last_frame", "_on_throttle",
                 "_pacing")

    def __init__(self, ws, bucket: TokenBucket | None,
                 on_throttle: Callable[[bool, float], None] | None = None):
        self.ws = ws
        self.send = ws.send
        self.close = ws.close
        self._recv = ws.recv
        self.bucket = bucket
        self.last_frame = time.monotonic()
        # on_throttle(first, wait): each frame that waits; first = a pacing spell begins
        self._on_throttle = on_throttle
        self._pacing = False

    def __aiter__(self):
        return self

    async def __anext__(self) -> str | bytes:
        try:
            raw = await self._recv()
        except ConnectionClosedOK:
            raise StopAsyncIteration from None
        self.last_frame = now = time.monotonic()
        bucket = self.bucket
        if bucket is not None:
            wait = bucket.take(now)
            if wait:
                first, self._pacing = not self._pacing, True
                if self._on_throttle is not None:
                    self._on_throttle(first, wait)
                await asyncio.sleep(wait)
                if self.ws.state is not State.OPEN:
                    # Gone while the frame waited (websockets may hold many frames read in
                    # one chunk): its answer could not be sent, so it is not handled — the
                    # station retries what got no answer, as after any cut.
                    raise StopAsyncIteration
            else:
                self._pacing = False
        return raw
