"""Retried transaction messages (a charger whose reply was lost, or its offline queue
delivering again after a hub restart) reach the store once: the same transaction id for a
repeated StartTransaction, one stop for a repeated StopTransaction, one row per reading for a
repeated MeterValues -- in memory and, after a restart, from the store."""
from __future__ import annotations

from tests.hub_helpers import exchange, raw_station, running_hub

T0 = "2030-05-01T12:00:00.000Z"
T1 = "2030-05-01T12:05:00.000Z"
T2 = "2030-05-01T13:00:00.000Z"


def boot(uid="b"):
    return [2, uid, "BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "X"}]


def start(uid):
    return [2, uid, "StartTransaction", {"connectorId": 1, "idTag": "A", "meterStart": 100,
                                         "timestamp": T0}]


def meter(uid, tx, ts=T1, wh="150"):
    return [2, uid, "MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [
        {"timestamp": ts, "sampledValue": [{"value": wh, "measurand":
                                            "Energy.Active.Import.Register", "unit": "Wh"},
                                           {"value": "7.2", "measurand": "Power.Active.Import",
                                            "unit": "kW"}]}]}]


def stop(uid, tx, wh=200):
    return [2, uid, "StopTransaction", {"transactionId": tx, "meterStop": wh, "timestamp": T2,
                                        "transactionData": [{"timestamp": T2, "sampledValue": [
                                            {"value": str(wh), "unit": "Wh"}]}]}]


def counts(hub, tx):
    return (len(hub.store.list_transactions("CS-R")),
            len(hub.store.meter_values(transaction_id=tx)))


async def test_retries_reach_the_store_once():
    async with running_hub(tags={"A": "Accepted"}) as hub:
        stopped = []
        hub.events.subscribe("transaction.stopped", lambda e: stopped.append(e.message))
        async with raw_station(hub, "CS-R") as ws:
            await exchange(ws, boot())
            tx = (await exchange(ws, start("1")))[2]["transactionId"]
            again = await exchange(ws, start("2"))
            assert again[2] == {"transactionId": tx, "idTagInfo": {"status": "Accepted"}}
            await exchange(ws, meter("3", tx))
            await exchange(ws, meter("4", tx))                 # the same reading again
            await exchange(ws, meter("5", tx, ts=T2, wh="180"))  # a new one
            assert counts(hub, tx) == (1, 4)
            first = await exchange(ws, stop("6", tx))
            repeat = await exchange(ws, stop("7", tx))
            assert repeat[2] == first[2]
        assert counts(hub, tx) == (1, 5)                         # the stop's sample once
        assert [m.transaction_id for m in stopped] == [tx]
        assert hub.store.get_transaction(tx)["meter_stop"] == 200
        assert hub.manager.counters["transactions_started"] == 1
        assert hub.manager.counters["transactions_stopped"] == 1
        assert hub.manager.counters["repeats_ignored"] == 2


async def test_a_stop_with_other_figures_is_not_taken_for_a_repeat():
    async with running_hub(tags={"A": "Accepted"}) as hub:
        stopped = []
        hub.events.subscribe("transaction.stopped", lambda e: stopped.append(e.message))
        async with raw_station(hub, "CS-R") as ws:
            await exchange(ws, boot())
            tx = (await exchange(ws, start("1")))[2]["transactionId"]
            await exchange(ws, stop("2", tx))
            await exchange(ws, stop("3", tx, wh=250))
        assert len(stopped) == 2   # not silently swallowed: a second, conflicting stop
        assert hub.manager.counters["repeats_ignored"] == 0


async def test_retries_after_a_hub_restart_are_found_in_the_store(tmp_path):
    db = str(tmp_path / "hub.db")
    async with running_hub(db_path=db, tags={"A": "Accepted"}) as hub:
        async with raw_station(hub, "CS-R") as ws:
            await exchange(ws, boot())
            tx = (await exchange(ws, start("1")))[2]["transactionId"]
            await exchange(ws, meter("2", tx))
    # the write-behind queue was written on stop; the new hub reads what it holds
    async with running_hub(db_path=db, tags={"A": "Accepted"}) as hub:
        async with raw_station(hub, "CS-R") as ws:
            assert (await exchange(ws, start("3")))[2]["transactionId"] == tx
            await exchange(ws, meter("4", tx))
            assert counts(hub, tx) == (1, 2)
            first = await exchange(ws, stop("5", tx))
    async with running_hub(db_path=db, tags={"A": "Accepted"}) as hub:
        async with raw_station(hub, "CS-R") as ws:
            assert (await exchange(ws, start("6")))[2]["transactionId"] == tx  # stopped since
            assert (await exchange(ws, stop("7", tx)))[2] == first[2]
        assert counts(hub, tx) == (1, 3)
        assert hub.store.get_transaction(tx)["meter_stop"] == 200
        assert hub.manager.counters["transactions_stopped"] == 0
