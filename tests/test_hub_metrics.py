"""/metrics through prometheus-client: results by action, latency histograms, gauges read
from what the manager and event bus expose."""
from __future__ import annotations

from hub_helpers import Api, exchange, raw_station, running_hub
from hub_under_test.metrics import parse

BOOT = {"chargePointVendor": "Acme", "chargePointModel": "X"}


async def test_messages_by_result_and_cache_misses():
    async with running_hub() as hub, Api(hub) as api:
        async with raw_station(hub, "M1") as ws:
            await exchange(ws, [2, "b", "BootNotification", BOOT])
            await exchange(ws, [2, "a", "Authorize", {"idTag": "NOBODY"}])
            reply = await exchange(ws, [2, "s", "SecurityEventNotification",
                                        {"type": "X", "timestamp": "2026-13-45T99:99:99Z"}])
        m = parse((await api.get("/metrics", raw=True))[1])
        assert m['hub_messages_total{action="BootNotification",result="ok"}'] == 1
        assert reply[2] == "PropertyConstraintViolation"   # refused by the schema check
        assert m['hub_messages_total{action="SecurityEventNotification",'
                 'result="PropertyConstraintViolation"}'] == 1
        assert m['hub_tag_cache_lookups_total{result="miss"}'] >= 1
        assert m["hub_tag_cache_hit_ratio"] < 1
        assert "hub_write_behind_queue_depth" not in m and "hub_event_backlog" not in m


async def test_queue_depth_and_backlog_when_exposed():
    async with running_hub() as hub, Api(hub) as api:
        hub.manager.write_queue_depth = 7
        hub.events.backlog = lambda: 3
        m = parse((await api.get("/metrics", raw=True))[1])
        assert m["hub_write_behind_queue_depth"] == 7 and m["hub_event_backlog"] == 3
        assert m["hub_up"] == 1


async def test_queue_depth_read_from_the_store_when_the_manager_has_none():
    async with running_hub() as hub, Api(hub) as api:
        hub.store.write_queue_depth = lambda: 11
        m = parse((await api.get("/metrics", raw=True))[1])
        assert m["hub_write_behind_queue_depth"] == 11
