"""An in-memory connection pair with the websockets surface a Session uses (for tests)."""
from __future__ import annotations

import asyncio


class MemoryConnectionClosed(ConnectionError):
    pass


class MemoryConnection:
    def __init__(self):
        self._inbox: asyncio.Queue = asyncio.Queue()
        self.peer: MemoryConnection | None = None
        self.closed = False
        self.sent: list[str] = []

    async def send(self, message: str) -> None:
        if self.closed:
            raise MemoryConnectionClosed("connection closed")
        self.sent.append(message)
        self.peer._inbox.put_nowait(message)

    async def recv(self) -> str:
        item = await self._inbox.get()
        if item is None:
            raise MemoryConnectionClosed("connection closed")
        return item

    def __aiter__(self):
        return self

    async def __anext__(self) -> str:
        item = await self._inbox.get()
        if item is None:
            raise StopAsyncIteration
        return item

    async def close(self, code: int = 1000, reason: str = "") -> None:
        for side in (self, self.peer):
            if not side.closed:
                side.closed = True
                side._inbox.put_nowait(None)


def pipe() -> tuple[MemoryConnection, MemoryConnection]:
    a, b = MemoryConnection(), MemoryConnection()
    a.peer, b.peer = b, a
    return a, b
