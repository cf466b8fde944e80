"""Per-station message-rate limit: the token bucket, and a flooding station paced while
another station's commands are all answered."""
from __future__ import annotations

import asyncio

import orjson
import pytest

from hub_helpers import charger, exchange, raw_station, running_hub
from hub_under_test import HubConfig
from hub_under_test.rate_limit import TokenBucket

BOOT = {"chargePointVendor": "Acme", "chargePointModel": "X"}


def test_bucket_allows_the_burst_then_the_rate():
    bucket = TokenBucket(rate=10, burst=3, now=100.0)
    assert [bucket.take(100.0) for _ in range(3)] == [0, 0, 0]
    assert bucket.take(100.0) == pytest.approx(0.1)     # one token due in 1/rate
    assert bucket.take(100.1) == pytest.approx(0.1)     # the next one after that
    assert bucket.take(100.35) == 0                     # caught up: half a token saved
    assert bucket.take(200.0) == 0                      # an idle spell saves at most the burst
    assert [bucket.take(200.0) for _ in range(2)] == [0, 0]
    assert bucket.take(200.0) > 0


@pytest.mark.parametrize("rate, burst", [(0, 5), (-1, 5), (5, 0)])
def test_bucket_refuses_nonsense(rate, burst):
    with pytest.raises(ValueError):
        TokenBucket(rate, burst, 0.0)


@pytest.mark.parametrize("settings, word", [({"rate_limit": -1}, "rate_limit"),
                                            ({"rate_limit": 5, "rate_burst": 0}, "rate_burst")])
def test_config_refuses_nonsense(settings, word):
    with pytest.raises(ValueError, match=word):
        HubConfig(**settings).check()


async def test_a_flooding_station_is_paced_while_another_is_served(caplog):
    rate, burst, flood = 50, 20, 2000
    async with running_hub(rate_limit=rate, rate_burst=burst) as hub:
        async with charger(hub, "VICTIM") as victim, raw_station(hub, "FLOOD") as ws:
            await exchange(ws, [2, "b", "BootNotification", BOOT])
            loop = asyncio.get_running_loop()
            started = loop.time()
            answered = 0

            async def send_flood():
                for n in range(flood):
                    await ws.send(orjson.dumps([2, f"h{n}", "Heartbeat", {}]).decode())

            async def read_flood():
                nonlocal answered
                async for _ in ws:
                    answered += 1

            sender, reader = asyncio.create_task(send_flood()), asyncio.create_task(read_flood())
            try:
                for _ in range(20):   # the other station's commands, one after the other
                    reply = await hub.send("VICTIM", "Reset", {"type": "Soft"}, timeout=10)
                    assert reply == {"status": "Accepted"}
                elapsed = loop.time() - started
                # all answered while the flood is held to the bucket: the burst + the rate
                assert answered < flood
                assert answered <= burst + rate * elapsed + 1
                assert hub.metrics.throttled.value() > 0
                assert len([c for c in victim.received if c[0] == "Reset"]) == 20
            finally:
                sender.cancel()
                reader.cancel()
                # cut the flooder off: a close frame would queue behind its unread flood
                ws.transport.abort()
                await hub_closed(hub, "FLOOD")
            paced = [r.getMessage() for r in caplog.records if "rate limit" in r.getMessage()]
            assert len(paced) == 1 and paced[0].startswith("FLOOD: over the message-rate limit")


async def hub_closed(hub, station_id: str) -> None:
    while station_id in hub.connections:
        await asyncio.sleep(0.01)


async def test_no_limit_when_off():
    async with running_hub(rate_limit=0, rate_burst=1) as hub:
        async with raw_station(hub, "FAST") as ws:
            for n in range(50):
                await ws.send(orjson.dumps([2, f"h{n}", "Heartbeat", {}]).decode())
            for _ in range(50):
                assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))[0] == 3
        assert hub.metrics.throttled.value() == 0
