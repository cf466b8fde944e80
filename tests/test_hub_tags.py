"""Id tags: Accepted / Blocked / Expired / Invalid, parents, ConcurrentTx — over the wire."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ocpp.v16 import call

from hub_helpers import charger, now, running_hub

PAST = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
FUTURE = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()

TAGS = {
    "OK": "Accepted",
    "BLOCKED": "Blocked",
    "EXPIRED": "Expired",
    "INVALID": "Invalid",
    "LAPSED": {"status": "Accepted", "expiryDate": PAST},
    "VALID-UNTIL": {"status": "Accepted", "expiryDate": FUTURE},
    "FLEET": "Accepted",
    "DRIVER-1": {"status": "Accepted", "parentIdTag": "FLEET"},
    "DRIVER-2": {"status": "Accepted", "parentIdTag": "FLEET"},
    "BLOCKED-FLEET": "Blocked",
    "DRIVER-3": {"status": "Accepted", "parentIdTag": "BLOCKED-FLEET"},
}


async def test_authorize_answers_each_tag_status():
    async with running_hub(tags=TAGS) as hub:
        async with charger(hub, "CS-T") as cp:
            async def status(tag):
                return (await cp.call(call.Authorize(id_tag=tag))).id_tag_info

            assert (await status("OK"))["status"] == "Accepted"
            assert (await status("BLOCKED"))["status"] == "Blocked"
            assert (await status("EXPIRED"))["status"] == "Expired"
            assert (await status("INVALID"))["status"] == "Invalid"
            assert (await status("NEVER-SEEN"))["status"] == "Invalid"  # unknown → Invalid in 1.6
            lapsed = await status("LAPSED")
            assert lapsed["status"] == "Expired" and lapsed["expiry_date"].endswith("Z")
            valid = await status("VALID-UNTIL")
            assert valid["status"] == "Accepted"
            assert valid["expiry_date"][:16] == FUTURE[:16]
            driver = await status("DRIVER-1")
            assert driver == {"status": "Accepted", "parent_id_tag": "FLEET"}
            # a child of a blocked parent is blocked too
            assert (await status("DRIVER-3"))["status"] == "Blocked"


async def test_known_tags_are_answered_from_the_cache_and_new_tags_are_found():
    async with running_hub(tags={"OK": "Accepted"}) as hub:
        async with charger(hub, "CS-T") as cp:
            reads = []
            hub.store.db.set_trace_callback(reads.append)
            for _ in range(5):
                assert (await cp.call(call.Authorize(id_tag="OK"))).id_tag_info["status"] == "Accepted"
            assert reads == []
            hub.store.db.set_trace_callback(None)
            # a tag written to SQLite behind the manager's back is still found (cache miss → store)
            hub.store.put_tag("LATE", "Accepted")
            assert (await cp.call(call.Authorize(id_tag="LATE"))).id_tag_info["status"] == "Accepted"
            # updating a tag through the manager takes effect at once
            hub.put_tag("OK", "Blocked")
            assert (await cp.call(call.Authorize(id_tag="OK"))).id_tag_info["status"] == "Blocked"


async def test_start_transaction_statuses_and_concurrent_tx():
    async with running_hub(tags=TAGS) as hub:
        async with charger(hub, "CS-T") as cp:
            async def start(tag, connector=1, meter=0):
                return await cp.call(call.StartTransaction(connector_id=connector, id_tag=tag,
                                                           meter_start=meter, timestamp=now()))

            blocked = await start("BLOCKED")
            assert blocked.id_tag_info["status"] == "Blocked"
            assert isinstance(blocked.transaction_id, int)  # 1.6: a transaction id regardless
            assert (await start("NEVER-SEEN")).id_tag_info["status"] == "Invalid"
            assert (await start("LAPSED")).id_tag_info["status"] == "Expired"

            first = await start("DRIVER-1", connector=1)
            assert first.id_tag_info == {"status": "Accepted", "parent_id_tag": "FLEET"}
            second = await start("DRIVER-1", connector=2)
            assert second.id_tag_info["status"] == "ConcurrentTx"
            assert second.transaction_id != first.transaction_id
            # same parent, different tag: not concurrent
            assert (await start("DRIVER-2", connector=3)).id_tag_info["status"] == "Accepted"
            # Authorize is never refused for a running tag (the card may be shown to stop)
            auth = await cp.call(call.Authorize(id_tag="DRIVER-1"))
            assert auth.id_tag_info["status"] == "Accepted"

            # stopping with a sibling card of the same parent: the hub reports the parent
            stop = await cp.call(call.StopTransaction(meter_stop=500, timestamp=now(),
                                                      transaction_id=first.transaction_id,
                                                      id_tag="DRIVER-2"))
            assert stop.id_tag_info == {"status": "Accepted", "parent_id_tag": "FLEET"}
            # once stopped, the tag may start again
            assert (await start("DRIVER-1", connector=1)).id_tag_info["status"] == "Accepted"

        rows = {r["id"]: r for r in hub.store.list_transactions()}
        assert rows[blocked.transaction_id]["id_tag_status"] == "Blocked"
        assert rows[second.transaction_id]["id_tag_status"] == "ConcurrentTx"


async def test_repeated_start_transaction_gets_the_same_id():
    async with running_hub(tags={"OK": "Accepted"}) as hub:
        async with charger(hub, "CS-R") as cp:
            ts = now()
            a = await cp.call(call.StartTransaction(connector_id=1, id_tag="OK", meter_start=7,
                                                    timestamp=ts))
            b = await cp.call(call.StartTransaction(connector_id=1, id_tag="OK", meter_start=7,
                                                    timestamp=ts))
            assert a.transaction_id == b.transaction_id
            assert b.id_tag_info["status"] == "Accepted"
        assert len(hub.store.list_transactions()) == 1


async def test_stop_of_unknown_or_stopped_transaction_is_answered():
    async with running_hub(tags={"OK": "Accepted"}) as hub:
        async with charger(hub, "CS-U") as cp:
            r = await cp.call(call.StopTransaction(meter_stop=1, timestamp=now(), transaction_id=999))
            assert r.id_tag_info is None
            start = await cp.call(call.StartTransaction(connector_id=1, id_tag="OK", meter_start=0,
                                                        timestamp=now()))
            for _ in range(2):  # the second one is a charger retrying from its offline queue
                r = await cp.call(call.StopTransaction(meter_stop=5, timestamp=now(), id_tag="OK",
                                                       transaction_id=start.transaction_id))
                assert r.id_tag_info["status"] == "Accepted"
        assert hub.store.get_transaction(start.transaction_id)["meter_stop"] == 5


async def test_put_tag_validation():
    async with running_hub() as hub:
        import pytest
        with pytest.raises(ValueError):
            hub.put_tag("X", "Sometimes")
        with pytest.raises(ValueError):
            hub.put_tag("X", "Accepted", "next tuesday")
        row = hub.put_tag("X", "Accepted", "2030-01-01T00:00:00+02:00", "P")
        assert row == {"id_tag": "X", "status": "Accepted", "expiry_date": "2029-12-31T22:00:00.000Z",
                       "parent_id_tag": "P"}
