"""A charger without its CSMS (1.6): reconnect backoff, the persistent queue of transaction
messages, provisional transaction ids, power loss and process restart — against the `ocpp`
library's ChargePoint as CSMS (which records the order of what it receives) and our hub."""
from __future__ import annotations

import asyncio
import json
import random

import pytest
from ocpp.routing import on

from simulator.station import Station
from simulator.station.link import Backoff
from simulator.station.offline_queue import OfflineQueue, TransactionRefs
from simulator.dialects import make_station
from tests.hub_helpers import running_hub, wait_for
from tests.ocpp_lib_csms import FAST, Peer, csms, running  # noqa: F401  (fixture)

SAMPLING = {"MeterValueSampleInterval": "5"}          # 0.05 s with FAST's interval scale
OFFLINE_UNKNOWN = {**SAMPLING, "AllowOfflineTxForUnknownId": "true"}


async def meters(st: Station, n: int, connector: int = 1) -> None:
    for _ in range(n):
        await asyncio.wait_for(st.expect("meter", connector), 5)


async def held_sent(st: Station, action: str, timeout: float = 5) -> None:
    await asyncio.wait_for(st.expect("sent_held", where=lambda e: e.data["action"] == action),
                           timeout)


def after(csms, index: int) -> list[tuple[str, dict]]:
    return [(r.action, r.payload) for r in csms.received[index:]]


# -- the reconnect policy ---------------------------------------------------------------------
def test_backoff_grows_is_jittered_capped_and_resets():
    b = Backoff(random.Random(7), 1.0, 30.0)
    delays = [b.next() for _ in range(8)]
    bases = [1, 2, 4, 8, 16, 30, 30, 30]
    for d, base in zip(delays, bases):
        assert base / 2 <= d <= base
    assert delays[:5] == sorted(delays[:5])              # grows until the cap
    assert len({round(d, 9) for d in delays[5:]}) == 3   # at the cap: still jittered
    assert [Backoff(random.Random(7), 1.0, 30.0).next() for _ in range(1)] == delays[:1]
    assert Backoff(random.Random(8), 1.0, 30.0).next() != delays[0]
    b.reset()
    assert 0.5 <= b.next() <= 1.0
    with pytest.raises(ValueError):
        Backoff(random.Random(1), 0, 10)
    with pytest.raises(ValueError):
        Backoff(random.Random(1), 5, 1)


def test_station_backoff_is_seeded_from_the_station():
    a = [make_station("CP-B", "ws://x", seed=3).backoff.next() for _ in range(2)]
    assert a[0] == a[1]
    assert make_station("CP-B", "ws://x", seed=4).backoff.next() != a[0]


# -- the queue and its journal --------------------------------------------------------------
def test_queue_journal_replays_refs_and_compacts(tmp_path):
    # The queue holds neutral transaction intents as JSON records (station/intents.py),
    # naming the station's transaction id; the dialect's notes on it ride along as refs.
    q = OfflineQueue(tmp_path / "CP.offline.jsonl")
    refs = TransactionRefs(q)
    q.put("transaction_started", TX_START)
    q.put("transaction_updated", {"transaction": "tx1", "connector_id": 1, "evse_id": 1,
                                  "snapshots": []})
    q.put("transaction_ended", {**TX_END})
    refs.set("tx1", {"provisional": -1})
    with pytest.raises(ValueError, match="not a transaction message"):
        q.put("heartbeat", {})
    q.close()
    with (tmp_path / "CP.offline.jsonl").open("a") as f:
        f.write('{"op": "put", "seq": 97, "action": "StartTransaction", "payload": {}}\n')
        f.write('{"op": "put", "seq": 98, "action": "meter_sample", '     # an older journal's
                '"payload": {"connector_id": 1, "transaction_id": -1, "snapshots": []}}\n')
        f.write('{"op": "put", "seq": 99, "acti')          # torn by a power cut
    q = OfflineQueue(tmp_path / "CP.offline.jsonl")
    refs = TransactionRefs(q)
    assert [e.action for e in q.entries] == ["transaction_started", "transaction_updated",
                                             "transaction_ended"]
    assert refs.get("tx1") == {"provisional": -1} and q.waits_for("tx1")
    q.done(q.head())
    refs.set("tx1", {"provisional": -1, "csms": 4711})
    assert q.entries[0].payload["transaction"] == "tx1"  # stored as queued: no CSMS id
    q.close()
    q = OfflineQueue(tmp_path / "CP.offline.jsonl")          # a restart after the Start went
    assert [e.action for e in q.entries] == ["transaction_updated", "transaction_ended"]
    assert TransactionRefs(q).get("tx1") == {"provisional": -1, "csms": 4711}
    q.done(q.head())
    q.done(q.head())
    TransactionRefs(q).drop("tx1")
    q.close()
    q = OfflineQueue(tmp_path / "CP.offline.jsonl")
    assert not q and q.refs == {}
    lines = [json.loads(x) for x in (tmp_path / "CP.offline.jsonl").read_text().splitlines()]
    assert lines == []                                        # compacted once empty


def test_queue_journal_keeps_retry_counts_across_restarts(tmp_path):
    # A restart must not give a held message its attempts afresh: the count is journalled.
    path = tmp_path / "CP.offline.jsonl"
    q = OfflineQueue(path)
    first = q.put("transaction_started", TX_START)
    q.put("transaction_ended", {**TX_END})
    assert q.tried(first) == 1 and q.tried(first) == 2
    q.close()
    q = OfflineQueue(path)                                    # replayed, then compacted
    assert [e.attempts for e in q.entries] == [2, 0]
    assert q.tried(q.head()) == 3
    q.close()
    q = OfflineQueue(path)
    assert [e.attempts for e in q.entries] == [3, 0]
    q.done(q.head())                                          # given up / delivered
    q.close()
    q = OfflineQueue(path)
    assert [(e.action, e.attempts) for e in q.entries] == [("transaction_ended", 0)]


TX_START = {"transaction": "tx1", "connector_id": 1, "evse_id": 1, "id_token": "T",
            "token_type": "ISO14443", "meter_start": 0, "timestamp": "2026-01-01T00:00:00Z",
            "trigger": "authorized"}
TX_END = {"transaction": "tx1", "connector_id": 1, "evse_id": 1, "meter_stop": 5,
          "timestamp": "2026-01-01T01:00:00Z", "reason": "local", "trigger": "stop_authorized"}


async def test_connection_loss_during_transaction(csms):
    async with running(csms, config=SAMPLING) as st:
        await st.plug_in(1)
        assert await st.present_tag(1, "T") == "Started"
        tx_id = st.connectors[1].transaction.transaction_id
        await csms.wait_for("MeterValues")
        retried = st.expect("error", where=lambda e: "network down" in e.text)
        st.go_offline()
        mark = len(csms.received)
        await asyncio.wait_for(retried, 5)   # reconnect attempts go on, with backoff
        assert st.backoff.attempt >= 1
        await st.ev_suspend(1)         # status changes while offline are not replayed ...
        await meters(st, 3)            # ... meter values of the transaction are queued
        assert len(st.offline.queue) >= 3 and st.connectors[1].transaction is not None
        assert not st.online and len(csms.received) == mark
        await st.ev_resume(1)
        queued = len(st.offline.queue)
        st.come_online()
        await asyncio.wait_for(st.expect("connected"), 5)
        await csms.wait_for("MeterValues", count=len(csms.calls("MeterValues")) + queued)
        got = after(csms, mark)
        assert "BootNotification" not in [a for a, _ in got]   # a reconnect, not a reboot
        assert st.backoff.attempt == 0                           # reset once back
        statuses = [p["status"] for a, p in got if a == "StatusNotification" and p["connectorId"] == 1]
        assert statuses[0] == "Charging" and "SuspendedEV" not in statuses  # only the current one
        mv = [p for a, p in got if a == "MeterValues"][:queued]
        assert all(p["transactionId"] == tx_id for p in mv)
        stamps = [p["meterValue"][0]["timestamp"] for p in mv]
        assert stamps == sorted(stamps)                          # in the order taken
        assert await st.present_tag(1, "T") == "Stopped"
        [stop] = await csms.wait_for("StopTransaction")
        assert stop["transactionId"] == tx_id and not st.offline.queue


async def test_offline_start_with_a_valid_tag_gets_its_id_remapped(csms):
    async with running(csms, config=SAMPLING) as st:
        assert await st.present_tag(1, "GOOD") == "Authorized"   # the answer is cached
        assert await st.present_tag(1, "GOOD") == "Cancelled"
        st.go_offline()
        await st.plug_in(1)
        mark = len(csms.received)
        assert await st.present_tag(1, "GOOD") == "Started"
        provisional = st.connectors[1].transaction.transaction_id
        assert provisional < 0 and st.connectors[1].status == "charging"
        await meters(st, 2)
        remapped = st.expect("tx_remapped")
        st.come_online()
        event = await asyncio.wait_for(remapped, 5)
        real = event.data["transaction_id"]
        assert event.data["provisional"] == provisional and real >= 100
        assert st.connectors[1].transaction.transaction_id == real   # the running tx too
        assert await st.present_tag(1, "GOOD") == "Stopped"
        [stop] = await csms.wait_for("StopTransaction")
        tx_msgs = [(a, p) for a, p in after(csms, mark)
                   if a in ("StartTransaction", "MeterValues", "StopTransaction")]
        assert tx_msgs[0][0] == "StartTransaction" and tx_msgs[-1][0] == "StopTransaction"
        assert len(tx_msgs) >= 4
        assert all(p["transactionId"] == real for _, p in tx_msgs[1:])   # never the provisional
        assert stop["meterStop"] >= tx_msgs[0][1]["meterStart"]


async def test_offline_start_with_an_invalid_tag(csms):
    csms.start_answers["BAD"] = {"status": "Invalid"}
    async with running(csms, config=SAMPLING) as st:
        st.go_offline()
        await st.plug_in(1)
        assert await st.present_tag(1, "BAD") == "Rejected"    # unknown offline: not allowed
        st.change_configuration("AllowOfflineTxForUnknownId", "true")
        assert await st.present_tag(1, "BAD") == "Started"
        stopped = st.expect("tx_stopped", 1)
        st.come_online()
        event = await asyncio.wait_for(stopped, 5)             # StopTransactionOnInvalidId
        assert event.data["reason"] == "deauthorized"
        [start] = await csms.wait_for("StartTransaction")
        [stop] = await csms.wait_for("StopTransaction")
        assert stop["reason"] == "DeAuthorized" and stop["transactionId"] >= 100
        assert csms.actions().index("StartTransaction") < csms.actions().index("StopTransaction")
        assert st.connectors[1].transaction is None


async def test_power_failure_during_transaction(csms, tmp_path):
    async with running(csms, config=SAMPLING, state_dir=str(tmp_path)) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        tx_id = st.connectors[1].transaction.transaction_id
        await meters(st, 2)
        cut = st.expect("power_loss")
        await st.power_loss()
        cut_at = (await cut).data["at"]
        assert not st.online and st.registration is None
        energy = st.connectors[1].meter.energy_wh
        with pytest.raises(Exception, match="already without power"):
            await st.power_loss()
        booted = st.expect("boot", where=lambda e: e.data["status"] == "accepted")
        await st.power_up()
        await asyncio.wait_for(booted, 5)
        [stop] = await csms.wait_for("StopTransaction")
        assert stop["reason"] == "PowerLoss" and stop["transactionId"] == tx_id
        assert stop["meterStop"] == int(energy)               # nothing drawn without power
        assert stop["timestamp"] == cut_at                    # it ended when the power went
        actions = csms.actions()
        assert actions.count("BootNotification") == 2
        assert actions.index("StopTransaction") > [i for i, a in enumerate(actions)
                                                   if a == "BootNotification"][1]
        assert st.connectors[1].status == "finishing"          # the cable is still in


async def test_queue_survives_a_process_restart(csms, tmp_path):
    opts = dict(FAST, config=OFFLINE_UNKNOWN, state_dir=str(tmp_path))
    first = make_station("CP-R", csms.url, **opts)
    await first.start(timeout=5)
    first.go_offline()
    await first.plug_in(1)
    assert await first.present_tag(1, "ANY") == "Started"
    await meters(first, 3)
    cut = first.expect("power_loss")
    await first.power_loss()                    # the process dies here
    cut_at = (await cut).data["at"]
    energy = first.connectors[1].meter.energy_wh
    first.offline.queue.close()
    assert (tmp_path / "CP-R.offline.jsonl").exists()

    second = make_station("CP-R", csms.url, **opts)  # same id and state_dir: a restart
    assert second.connectors[1].meter.energy_wh >= int(energy)   # the register survived
    queued = len(second.offline.queue)
    assert queued >= 5                          # Start, 3+ MeterValues, Stop (PowerLoss)
    await second.start(timeout=5)
    try:
        await csms.wait_for("StopTransaction")
        tx = [(r.action, r.payload) for r in csms.received
              if r.action in ("StartTransaction", "MeterValues", "StopTransaction")]
        assert [a for a, _ in tx][0] == "StartTransaction" and tx[-1][0] == "StopTransaction"
        assert len(tx) == queued
        real = tx[1][1]["transactionId"]
        assert real >= 100 and all(p["transactionId"] == real for _, p in tx[1:])
        assert tx[-1][1]["reason"] == "PowerLoss"
        assert tx[-1][1]["meterStop"] == int(energy) >= tx[0][1]["meterStart"]
        assert tx[-1][1]["timestamp"] == cut_at   # the last moment the station knew of
        assert not second.offline.queue
    finally:
        await second.stop()
    third = make_station("CP-R", csms.url, **opts)   # nothing left to deliver
    assert not third.offline.queue and not third.offline.queue.open_tx


async def test_the_journal_holds_neutral_intents_the_dialect_serialises_on_delivery(
        csms, tmp_path):
    opts = dict(FAST, config=OFFLINE_UNKNOWN, state_dir=str(tmp_path))
    st = make_station("CP-J", csms.url, **opts)
    await st.start(timeout=5)
    try:
        st.go_offline()
        await st.plug_in(1)
        assert await st.present_tag(1, "TAG-J") == "Started"
        await meters(st, 1)
        puts = [json.loads(x) for x in (tmp_path / "CP-J.offline.jsonl").read_text().splitlines()]
        puts = [r for r in puts if r["op"] == "put"]
        assert puts[0]["action"] == "transaction_started"
        assert puts[0]["payload"]["id_token"] == "TAG-J" and "idTag" not in puts[0]["payload"]
        assert puts[1]["action"] == "transaction_updated"
        # the station's own id in both; the 1.6 provisional id is the dialect's note
        tx = puts[0]["payload"]["transaction"]
        assert puts[1]["payload"]["transaction"] == tx and "transactionId" not in puts[1]["payload"]
        refs = [r for r in (json.loads(x) for x in
                            (tmp_path / "CP-J.offline.jsonl").read_text().splitlines())
                if r["op"] == "ref"]
        assert refs == [{"op": "ref", "tx": tx, "ref": {"provisional": -1}}]
        sent = held_sent(st, "transaction_updated")
        st.come_online()
        await sent
        [start] = csms.calls("StartTransaction")
        assert start["idTag"] == "TAG-J" and start["connectorId"] == 1
        mv = csms.calls("MeterValues")[0]
        assert mv["transactionId"] >= 100                   # remapped to the CSMS's id
    finally:
        await st.stop()


async def test_energy_register_does_not_go_back_after_a_restart(csms, tmp_path):
    # No sampling: the stop reading is the only register value the journal ever sees.
    opts = dict(FAST, config={"MeterValueSampleInterval": "0"}, state_dir=str(tmp_path))
    first = make_station("CP-E", csms.url, **opts)
    await first.start(timeout=5)
    try:
        await first.plug_in(1)
        assert await first.present_tag(1, "T1") == "Started"
        first.connectors[1].meter.energy_wh += 5000      # it charged 5 kWh
        await first.stop_transaction(1)
        await csms.wait_for("StopTransaction")
    finally:
        await first.stop()
    meter_stop = [r.payload for r in csms.received if r.action == "StopTransaction"][-1]["meterStop"]
    assert meter_stop >= 5000
    first.offline.queue.close()

    second = make_station("CP-E", csms.url, **opts)          # the process restarts
    assert second.connectors[1].meter.energy_wh >= meter_stop
    await second.start(timeout=5)
    try:
        await second.plug_in(1)
        assert await second.present_tag(1, "T1") == "Started"
        await csms.wait_for("StartTransaction", count=2)
        starts = [r.payload for r in csms.received if r.action == "StartTransaction"]
        assert starts[-1]["meterStart"] >= meter_stop
    finally:
        await second.stop()


# -- against our hub ----------------------------------------------------------------------------
async def test_offline_session_is_stored_by_the_hub_after_delivery():
    async with running_hub(tags={"HUB-TAG": "Accepted"}, flush_interval=0.1) as hub:
        st = make_station("OFF-1", hub.url, **{**FAST, "max_power_w": 350_000}, config=SAMPLING)
        await st.start(timeout=5)
        try:
            await st.plug_in(1)
            assert await st.present_tag(1, "HUB-TAG") == "Started"   # online: cached
            tx_id = st.connectors[1].transaction.transaction_id
            assert await st.present_tag(1, "HUB-TAG") == "Stopped"
            await st.unplug(1)
            st.go_offline()
            await st.plug_in(1)
            assert await st.present_tag(1, "HUB-TAG") == "Started"   # offline, from the cache
            assert st.connectors[1].transaction.transaction_id < 0
            await meters(st, 3)
            assert await st.present_tag(1, "HUB-TAG") == "Stopped"
            delivered = held_sent(st, "transaction_ended")
            st.come_online()
            await delivered
        finally:
            await st.stop()
        [tx] = [t for t in hub.store.list_transactions("OFF-1") if t["id"] != tx_id]
        assert tx["stop_reason"] == "Local" and tx["meter_stop"] > tx["meter_start"]
        offline_id = tx["id"]
        await wait_for(lambda: len(hub.store.meter_values(offline_id)) >= 3, timeout=5)
        energy = [float(r["value"]) for r in hub.store.meter_values(offline_id)
                  if r["measurand"] == "Energy.Active.Import.Register"]
        assert len(energy) >= 3 and energy == sorted(energy)


def fail(monkeypatch, action: str, handler_name: str) -> list[dict]:
    """Make the CSMS's peers answer `action` with a CALLERROR (InternalError) from the next
    connection on; returns the payloads they were offered."""
    offered: list[dict] = []

    def handler(self, **kw):
        offered.append(kw)
        raise RuntimeError(f"{action} refused by the test")
    monkeypatch.setattr(Peer, handler_name, on(action)(handler))
    return offered


async def test_queued_messages_honour_transaction_message_attempts(csms, monkeypatch):
    config = {**SAMPLING, "TransactionMessageAttempts": "2",
              "TransactionMessageRetryInterval": "1"}
    async with running(csms, config=config) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        st.go_offline()
        await meters(st, 2)
        assert await st.present_tag(1, "T") == "Stopped"
        queued = [e.action for e in st.offline.queue.entries]
        assert queued[-1] == "transaction_ended" and queued.count("transaction_updated") >= 2
        offered = fail(monkeypatch, "MeterValues", "on_meter_values")  # the next connection
        delivered = held_sent(st, "transaction_ended")
        st.come_online()
        await delivered
        # every queued MeterValues was tried twice, then given up; the Stop still went
        assert len(offered) == 2 * queued.count("transaction_updated")
        assert offered[0] == offered[1] and offered[0] != offered[2]
        mark = csms.actions().index("StopTransaction")
        assert "MeterValues" not in csms.actions()[mark:]
        assert not st.offline.queue


async def test_direct_stop_transaction_is_retried_then_reported(csms, monkeypatch):
    config = {"TransactionMessageAttempts": "3", "TransactionMessageRetryInterval": "1"}
    offered = fail(monkeypatch, "StopTransaction", "on_stop")
    async with running(csms, config=config) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        error = st.expect("error", where=lambda e: "after 3 attempt" in e.text)
        assert await st.present_tag(1, "T") == "Stopped"
        await asyncio.wait_for(error, 5)
        assert len(offered) == 3 and not st.offline.queue


async def test_power_loss_restart_delivers_to_the_hub(tmp_path):
    async with running_hub(tags={"HUB-TAG": "Accepted"}, flush_interval=0.1) as hub:
        opts = dict(FAST, max_power_w=350_000, config=SAMPLING, state_dir=str(tmp_path))
        first = make_station("OFF-2", hub.url, **opts)
        await first.start(timeout=5)
        await first.plug_in(1)
        assert await first.present_tag(1, "HUB-TAG") == "Started"
        tx_id = first.connectors[1].transaction.transaction_id
        first.go_offline()
        await meters(first, 3)
        await first.power_loss()
        first.offline.queue.close()
        second = make_station("OFF-2", hub.url, **opts)     # restart: Stop(PowerLoss) queued
        await second.start(timeout=5)
        try:
            await wait_for(lambda: hub.store.get_transaction(tx_id)["stop_reason"] is not None,
                           timeout=5)
        finally:
            await second.stop()
        tx = hub.store.get_transaction(tx_id)
        assert tx["stop_reason"] == "PowerLoss" and tx["meter_stop"] > tx["meter_start"]
        await wait_for(lambda: len(hub.store.meter_values(tx_id)) >= 3, timeout=5)
        energy = [float(r["value"]) for r in hub.store.meter_values(tx_id)
                  if r["measurand"] == "Energy.Active.Import.Register"]
        assert energy == sorted(energy) and energy[-1] <= tx["meter_stop"] + 1
