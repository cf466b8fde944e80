"""Stations may connect from a chosen local address: one loopback source address reaches
about 28,000 connections to one hub address, so big swarms spread over 127.0.0.x."""
import asyncio

import pytest
import websockets

from simulator.swarm.fleet import station_options
from simulator.swarm.profiles import parse_source_addresses, profile
from simulator.transport import websocket


async def test_a_connection_comes_from_the_source_address_asked_for():
    seen = []

    async def handler(ws):
        seen.append(ws.remote_address[0])
        await ws.wait_closed()

    async with websockets.serve(handler, "127.0.0.1", 0, subprotocols=["ocpp1.6"]) as server:
        port = server.sockets[0].getsockname()[1]
        for source in ("127.0.0.5", None):
            conn = await websocket.connect(f"ws://127.0.0.1:{port}/ocpp/S", source_address=source)
            await conn.close()
        await asyncio.sleep(0)
    assert seen == ["127.0.0.5", "127.0.0.1"]


def test_source_address_lists_and_ranges():
    assert parse_source_addresses("127.0.0.1-3, 127.0.0.9") == \
        ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.9"]
    assert parse_source_addresses("127.0.0.254-127.0.1.1") == \
        ["127.0.0.254", "127.0.0.255", "127.0.1.0", "127.0.1.1"]
    with pytest.raises(ValueError, match="'localhost'"):
        parse_source_addresses("localhost")
    with pytest.raises(ValueError, match="runs backwards"):
        parse_source_addresses("127.0.0.5-2")


def test_swarm_stations_take_the_addresses_in_turn():
    p = profile("steady").replace(source_addresses=("127.0.0.1", "127.0.0.2"))
    assert [station_options(p, f"S{n}", n).source_address for n in range(4)] == \
        ["127.0.0.1", "127.0.0.2", "127.0.0.1", "127.0.0.2"]
