"""Connection limits: handshake timeout, idle timeout, connections per source address,
frame size — each configurable (HubConfig and the command line)."""
from __future__ import annotations

import asyncio

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from hub_helpers import exchange, raw_station, running_hub, wait_for
from hub_under_test import HubConfig
from hub_under_test.__main__ import parse_args

BOOT = {"chargePointVendor": "Acme", "chargePointModel": "X"}


async def test_a_silent_tcp_client_is_dropped_after_the_handshake_timeout():
    async with running_hub(handshake_timeout=0.2) as hub:
        reader, writer = await asyncio.open_connection("127.0.0.1", hub.port)
        try:   # never sends the HTTP upgrade: the hub hangs up
            assert await asyncio.wait_for(reader.read(), 10) == b""
        finally:
            writer.close()


async def test_an_idle_station_is_closed_and_a_talking_one_kept():
    async with running_hub(idle_timeout=0.4) as hub:
        async with raw_station(hub, "IDLE") as idle, raw_station(hub, "TALK") as talk:
            await exchange(idle, [2, "b", "BootNotification", BOOT])
            await exchange(talk, [2, "b", "BootNotification", BOOT])
            n = 0
            while "IDLE" in hub.connections:   # TALK keeps sending, IDLE says nothing
                n += 1
                await exchange(talk, [2, f"h{n}", "Heartbeat", {}])
                await asyncio.sleep(0.05)
            assert "TALK" in hub.connections
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(idle.recv(), 10)
            assert closed.value.rcvd.code == 1000 and "idle timeout" in closed.value.rcvd.reason


def test_idle_timeout_defaults_to_three_heartbeat_intervals():
    assert HubConfig(heartbeat_interval=300).effective_idle_timeout == 900
    assert HubConfig(idle_timeout=0).effective_idle_timeout is None
    assert HubConfig(idle_timeout=42).effective_idle_timeout == 42


async def test_connections_per_source_are_limited():
    async with running_hub(max_connections_per_source=2, source_limit_exempt=()) as hub:
        async with raw_station(hub, "A"), raw_station(hub, "B") as b:
            with pytest.raises(InvalidStatus) as refused:
                async with raw_station(hub, "C"):
                    pass
            assert refused.value.response.status_code == 429
            assert b"too many connections from 127.0.0.1" in refused.value.response.body
            assert hub.metrics.refused.value(reason="per_source") == 1
            await b.close()
            await wait_for(lambda: "B" not in hub.connections)
            async with raw_station(hub, "C") as c:   # a place is free again
                await exchange(c, [2, "b", "BootNotification", BOOT])


async def test_loopback_is_exempt_by_default():
    async with running_hub(max_connections_per_source=1) as hub:
        async with raw_station(hub, "A"), raw_station(hub, "B") as b:
            await exchange(b, [2, "b", "BootNotification", BOOT])


def test_limits_from_the_command_line():
    config, _ = parse_args(["--max-frame", "1024", "--handshake-timeout", "3",
                            "--idle-timeout", "0", "--max-connections-per-source", "7",
                            "--rate-limit", "5", "--rate-burst", "9"])
    assert (config.max_frame, config.handshake_timeout, config.idle_timeout,
            config.max_connections_per_source, config.rate_limit, config.rate_burst) == (
        1024, 3, 0, 7, 5, 9)
    config.check()


@pytest.mark.parametrize("settings, word", [
    ({"max_frame": 0}, "max_frame"), ({"handshake_timeout": 0}, "handshake_timeout"),
    ({"idle_timeout": -1}, "idle_timeout"), ({"max_connections_per_source": -1}, "per_source"),
    ({"source_limit_exempt": ("not-a-net",)}, "source_limit_exempt"),
])
def test_config_refuses_nonsense(settings, word):
    with pytest.raises(ValueError, match=word):
        HubConfig(**settings).check()
