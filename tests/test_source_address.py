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


@pytest.mark.skipif(not hasattr(__import__("socket"), "IP_BIND_ADDRESS_NO_PORT"),
                    reason="Linux only")
async def test_the_local_port_is_chosen_at_connect_not_at_bind():
    """bind() to port 0 would search for a port free towards every destination, slower with
    each connection already open from that address; the socket defers it to connect()."""
    import socket

    async def handler(ws):
        await ws.wait_closed()
    async with websockets.serve(handler, "127.0.0.1", 0, subprotocols=["ocpp1.6"]) as server:
        port = server.sockets[0].getsockname()[1]
        conn = await websocket.connect(f"ws://127.0.0.1:{port}/ocpp/S", source_address="127.0.0.6")
        sock = conn.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_BIND_ADDRESS_NO_PORT) == 1
        assert sock.getsockname()[0] == "127.0.0.6" and sock.getsockname()[1] != 0
        await conn.close()


async def test_a_refused_connection_from_a_source_address_says_so():
    import socket
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()                                  # nobody listens there
    with pytest.raises(ConnectionRefusedError):
        await websocket.connect(f"ws://127.0.0.1:{port}/ocpp/S", source_address="127.0.0.7",
                                open_timeout=5)


def test_the_socket_from_a_source_address_is_not_gevents_in_a_locust_process():
    """Locust patches `socket`; the engine thread is plain asyncio, so the socket it opens
    from a source address must be the standard library's (a gevent one starts a gevent
    hub in the engine thread and goes through gevent on every call)."""
    import subprocess
    import sys
    code = """
import gevent.monkey; gevent.monkey.patch_all()
import asyncio, socket
from simulator.transport import websocket
async def main():
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sock = await websocket._bound_socket(f"ws://127.0.0.1:{port}/x", "127.0.0.1", 5)
    print(type(sock).__module__, sock.getpeername()[1] == port)
    sock.close(); server.close()
asyncio.run(main())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["socket", "True"]
