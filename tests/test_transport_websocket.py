"""The station's WebSocket transport: proxy settings are looked up once per process, and a
proxy that is configured is still used."""
from __future__ import annotations

import asyncio

import pytest

from simulator.transport import websocket


@pytest.fixture
def fresh_proxy_lookup():
    websocket._proxy_setting.cache_clear()
    yield
    websocket._proxy_setting.cache_clear()


async def _first_line_server():
    lines: list[bytes] = []

    async def handle(reader, writer):
        lines.append(await reader.readline())
        writer.close()
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], lines


async def test_a_configured_proxy_is_used(monkeypatch, fresh_proxy_lookup):
    proxy, proxy_port, lines = await _first_line_server()
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ws_proxy", f"http://127.0.0.1:{proxy_port}")
    async with proxy:
        with pytest.raises(Exception):
            await websocket.connect("ws://127.0.0.1:9/ocpp/CS-PROXY", open_timeout=5)
    assert lines and lines[0].startswith(b"CONNECT 127.0.0.1:9 ")


async def test_without_proxy_settings_it_connects_directly(monkeypatch, fresh_proxy_lookup):
    import urllib.request
    monkeypatch.setattr(urllib.request, "getproxies", lambda: {})
    server, port, lines = await _first_line_server()
    async with server:
        with pytest.raises(Exception):
            await websocket.connect(f"ws://127.0.0.1:{port}/ocpp/CS-DIRECT", open_timeout=5)
    assert lines and lines[0].startswith(b"GET /ocpp/CS-DIRECT ")
    assert websocket._proxy_setting() is None
