"""Keepalive pings on loop timers (simulator/transport/websocket.py), against a real
websockets server on loopback."""
import asyncio

import pytest
import websockets

from simulator.transport import websocket


@pytest.fixture
async def server():
    async def echo(ws):
        async for _ in ws:
            pass
    async with websockets.serve(echo, "127.0.0.1", 0, ping_interval=None) as srv:
        yield f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}/CP1"


async def until(check, seconds=5.0):
    for _ in range(int(seconds / 0.01)):
        if check():
            return True
        await asyncio.sleep(0.01)
    return False


async def test_pings_go_out_on_a_timer_and_pongs_come_back(server):
    conn = await websocket.connect(server)
    assert conn.keepalive_task is None          # websockets' own keepalive task is off
    keepalive = websocket.Keepalive(conn, 0.02)
    assert await until(lambda: conn.latency > 0), "no pong came back: no ping was sent"
    keepalive.stop()
    await conn.close()


async def test_interval_zero_stops_pinging_and_holds_nothing(server):
    conn = await websocket.connect(server)
    keepalive = websocket.Keepalive(conn, 30)
    keepalive.set_interval(0)
    assert keepalive.interval is None
    assert keepalive._timer is None and keepalive._task is None
    keepalive.set_interval(0.02)
    assert await until(lambda: conn.latency > 0)
    await conn.close()


async def test_no_pong_closes_the_connection():
    # A peer that completes the handshake and then reads nothing answers no ping.
    async def silent(reader, writer):
        request = await reader.readuntil(b"\r\n\r\n")
        key = [line.split(b": ", 1)[1] for line in request.split(b"\r\n")
               if line.lower().startswith(b"sec-websocket-key")][0]
        from websockets.utils import accept_key
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                     + accept_key(key.decode()).encode() + b"\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(10)
    srv = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    conn = await websocket.connect(f"ws://127.0.0.1:{port}/CP1", subprotocol=None)
    conn.close_timeout = 0.1
    websocket.Keepalive(conn, 0.02, timeout=0.05)
    assert await until(lambda: conn.state.name == "CLOSED"), "a dead peer kept the connection"
    assert conn.protocol.close_sent.code == 1011   # "keepalive ping timeout"
    srv.close()
