"""Transaction hygiene: one active transaction per connector, stale ones closed on a new start
or a reboot, concurrency against really active transactions, the tag policy switches, and
impossible readings refused (strict) or stored and flagged (lenient)."""
from __future__ import annotations

import pytest
from ocpp.v16 import call

from hub_under_test.manager import STALE_NEW_START, STALE_REBOOT
from tests.hub_helpers import Api, charger, exchange, now, raw_station, running_hub

T0 = "2030-05-01T12:00:00.000Z"
T1 = "2030-05-01T13:00:00.000Z"


def boot_frame(uid="b"):
    return [2, uid, "BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "X"}]


def start_frame(uid, connector=1, tag="A", meter=100, ts=T0):
    return [2, uid, "StartTransaction", {"connectorId": connector, "idTag": tag,
                                         "meterStart": meter, "timestamp": ts}]


def stop_frame(uid, tx, meter=200, ts=T1):
    return [2, uid, "StopTransaction", {"transactionId": tx, "meterStop": meter, "timestamp": ts}]


async def test_a_charger_rebooting_mid_transaction_leaves_no_stale_one_and_starts_again():
    async with running_hub(tags={"A": "Accepted"}) as hub:
        ended = []
        hub.events.subscribe("transaction.stopped", lambda event: ended.append(event.message))
        async with charger(hub, "CS-RB") as cp:
            first = await cp.call(call.StartTransaction(connector_id=1, id_tag="A",
                                                        meter_start=100, timestamp=now()))
            await cp.call(call.MeterValues(connector_id=1, transaction_id=first.transaction_id,
                                           meter_value=[{"timestamp": now(), "sampledValue": [
                                               {"value": "1.5", "unit": "kWh"}]}]))
            # power loss: the charger boots again and starts over with the same card
            await cp.call(call.BootNotification(charge_point_model="X", charge_point_vendor="Acme"))
            again = await cp.call(call.StartTransaction(connector_id=1, id_tag="A",
                                                        meter_start=1500, timestamp=now()))
            assert again.id_tag_info["status"] == "Accepted"
        assert list(hub.manager.active) == [again.transaction_id]
        row = hub.store.get_transaction(first.transaction_id)
        assert (row["stop_reason"], row["closed_by"], row["meter_stop"]) == (
            STALE_REBOOT, "hub", 1500)   # the last energy reading seen
        assert [(m.transaction_id, m.reason, m.closed_by, m.energy_wh) for m in ended] == [
            (first.transaction_id, STALE_REBOOT, "hub", 1400)]
        assert hub.manager.counters["transactions_closed_stale"] == 1


async def test_a_new_start_on_a_busy_connector_closes_the_stale_one():
    async with running_hub(tags={"A": "Accepted", "B": "Accepted"}) as hub:
        async with raw_station(hub, "CS-BUSY") as ws:
            await exchange(ws, boot_frame())
            old = (await exchange(ws, start_frame("1", tag="A")))[2]["transactionId"]
            other = (await exchange(ws, start_frame("2", connector=2, tag="B")))[2]["transactionId"]
            new = await exchange(ws, start_frame("3", tag="A", ts=T1))
            # the tag's stale transaction no longer counts: Accepted, not ConcurrentTx
            assert new[2]["idTagInfo"]["status"] == "Accepted"
            assert sorted(hub.manager.active) == sorted([other, new[2]["transactionId"]])
            row = hub.store.get_transaction(old)
            assert (row["stop_reason"], row["closed_by"], row["meter_stop"]) == (
                STALE_NEW_START, "hub", 100)
            # the station's own late StopTransaction for it still records its figures
            reply = await exchange(ws, stop_frame("4", old, meter=180))
            assert reply[0] == 3
            row = hub.store.get_transaction(old)
            assert (row["stop_reason"], row["closed_by"], row["meter_stop"]) == (
                "Local", "station", 180)
        assert len(hub.store.list_transactions(active=True)) == 2


async def test_concurrent_tags_and_unknown_tags_by_policy():
    async with running_hub(tags={"A": "Accepted"}) as hub:
        async with raw_station(hub, "CS-P1") as ws:
            await exchange(ws, start_frame("1", tag="A"))
            second = await exchange(ws, start_frame("2", connector=2, tag="A"))
            assert second[2]["idTagInfo"]["status"] == "ConcurrentTx"
            unknown = await exchange(ws, start_frame("3", connector=3, tag="NOBODY"))
            assert unknown[2]["idTagInfo"]["status"] == "Invalid"
    async with running_hub(tags={"A": "Accepted"}, allow_concurrent_tags=True,
                           accept_unknown_tags=True) as hub:
        async with raw_station(hub, "CS-P1") as ws, raw_station(hub, "CS-P2") as ws2:
            await exchange(ws, start_frame("1", tag="A"))
            second = await exchange(ws2, start_frame("2", tag="A"))
            assert second[2]["idTagInfo"]["status"] == "Accepted"
            unknown = await exchange(ws, start_frame("3", connector=3, tag="NOBODY"))
            assert unknown[2]["idTagInfo"]["status"] == "Accepted"
            auth = await exchange(ws, [2, "4", "Authorize", {"idTag": "NOBODY"}])
            assert auth[2]["idTagInfo"]["status"] == "Accepted"


@pytest.mark.parametrize("frame, problem", [
    (start_frame("s", connector=-1), "connectorId -1 is not a connector"),
    (start_frame("s", connector=0), "connectorId 0 is not a connector"),
    ([2, "s", "MeterValues", {"connectorId": -1, "meterValue": [
        {"timestamp": T0, "sampledValue": [{"value": "1"}]}]}], "connectorId -1 is negative"),
    ([2, "s", "StatusNotification", {"connectorId": -2, "errorCode": "NoError",
                                     "status": "Available"}], "connectorId -2 is negative"),
])
async def test_impossible_messages_are_refused_in_strict_mode(frame, problem):
    async with running_hub() as hub, raw_station(hub, "CS-S") as ws:
        reply = await exchange(ws, frame)
        assert reply[:3] == [4, "s", "PropertyConstraintViolation"]
        assert problem in reply[3]
        assert hub.store.list_transactions() == [] and hub.store.meter_values() == []
        assert hub.manager.stations["CS-S"].connectors == {}


@pytest.mark.parametrize("stop, problem", [
    ({"meter": 50}, "meterStop 50 is below the transaction's meterStart 100"),
    ({"ts": "2030-05-01T11:00:00Z"}, "is before the start"),
])
async def test_impossible_stops_are_refused_in_strict_mode(stop, problem):
    async with running_hub(tags={"A": "Accepted"}) as hub, raw_station(hub, "CS-S") as ws:
        tx = (await exchange(ws, start_frame("1")))[2]["transactionId"]
        reply = await exchange(ws, stop_frame("2", tx, **stop))
        assert reply[:3] == [4, "2", "PropertyConstraintViolation"] and problem in reply[3]
        assert hub.store.get_transaction(tx)["stop_time"] is None
        assert tx in hub.manager.active


async def test_impossible_data_is_stored_and_flagged_in_lenient_mode():
    async with running_hub(tags={"A": "Accepted"}, mode="lenient") as hub, \
            raw_station(hub, "CS-L") as ws:
        odd = await exchange(ws, start_frame("1", connector=-1))
        assert odd[0] == 3
        tx = (await exchange(ws, start_frame("2", connector=1)))[2]["transactionId"]
        assert (await exchange(ws, stop_frame("3", tx, meter=50, ts="2030-05-01T11:00:00Z")))[0] == 3
        rows = {r["id"]: r for r in hub.store.list_transactions()}
        assert "connectorId -1 is not a connector" in rows[odd[2]["transactionId"]]["flags"]
        flags = rows[tx]["flags"]
        assert "meterStop 50 is below" in flags and "is before the start" in flags
        assert rows[tx]["meter_stop"] == 50
        assert hub.manager.counters["implausible"] == 3


async def test_an_over_long_id_tag_is_refused_through_the_api():
    async with running_hub() as hub, Api(hub) as api:
        status, out = await api.put("/tags/" + "X" * 21, {"status": "Accepted"})
        assert status == 400 and "1 to 20 characters" in str(out)
        status, _ = await api.put("/tags/" + "X" * 20, {"status": "Accepted"})
        assert status == 200
        status, out = await api.put("/tags/C", {"status": "Accepted", "parentIdTag": "P" * 21})
        assert status == 400
        assert [t["id_tag"] for t in hub.manager.list_tags()] == ["X" * 20]


async def test_a_stale_transaction_written_before_hygiene_is_closed_on_load(tmp_path):
    db = str(tmp_path / "hub.db")
    async with running_hub(db_path=db) as hub:
        a = hub.store.start_transaction("CS-OLD", 1, "A", "Accepted", 0, T0)
        b = hub.store.start_transaction("CS-OLD", 1, "A", "Accepted", 0, T1)
    async with running_hub(db_path=db) as hub:
        assert list(hub.manager.active) == [b]
        assert hub.store.get_transaction(a)["stop_reason"] == STALE_NEW_START


async def test_a_boot_the_hub_triggered_is_not_a_reboot():
    from ocpp.routing import on
    from ocpp.v16 import call_result
    from ocpp.v16.enums import Action

    from hub_under_test.commands import TriggerMessage
    from tests.hub_helpers import Charger

    class Triggerable(Charger):
        @on(Action.trigger_message)
        async def on_trigger(self, requested_message, **kw):
            return call_result.TriggerMessage(status="Accepted")

    async with running_hub(tags={"A": "Accepted"}) as hub, \
            charger(hub, "CS-TRIG", cls=Triggerable) as cp:
        tx = (await cp.call(call.StartTransaction(connector_id=1, id_tag="A", meter_start=0,
                                                  timestamp=now()))).transaction_id
        assert (await hub.execute("CS-TRIG", TriggerMessage("BootNotification"))).accepted
        await cp.call(call.BootNotification(charge_point_model="X", charge_point_vendor="Acme"))
        assert tx in hub.manager.active      # asked for: the station runs on
        await cp.call(call.BootNotification(charge_point_model="X", charge_point_vendor="Acme"))
        assert tx not in hub.manager.active  # not asked for: a reboot


async def test_an_energy_register_going_down_is_refused_in_strict_mode():
    def reading(uid, tx, value, unit="Wh", **extra):
        return [2, uid, "MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [
            {"timestamp": T0, "sampledValue": [{"value": value, "unit": unit, **extra}]}]}]

    async with running_hub(tags={"A": "Accepted"}) as hub, raw_station(hub, "CS-E") as ws:
        tx = (await exchange(ws, start_frame("1", meter=1000)))[2]["transactionId"]
        assert (await exchange(ws, reading("2", tx, "1.5", unit="kWh")))[0] == 3
        # a phase's register and the EV's are not the station's total: not compared
        assert (await exchange(ws, reading("3", tx, "400", phase="L1")))[0] == 3
        assert (await exchange(ws, reading("4", tx, "10", location="EV")))[0] == 3
        refused = await exchange(ws, reading("5", tx, "1400"))
        assert refused[:3] == [4, "5", "PropertyConstraintViolation"]
        assert "went down to 1400 Wh" in refused[3]
        assert hub.manager.active[tx].meter_last == 1500
        assert len(hub.store.meter_values(transaction_id=tx)) == 3


@pytest.mark.parametrize("journal", [False, True])
async def test_a_simulated_station_losing_power_mid_transaction_starts_again(tmp_path, journal):
    """The simulator's own station: without a journal the transaction dies with the power and
    the hub closes it at the next boot; with one the station's queued PowerLoss stop arrives
    after that boot and its figures replace the hub's."""
    import asyncio

    from simulator.dialects import make_station
    from tests.hub_helpers import wait_for
    from tests.ocpp_lib_csms import FAST

    async with running_hub(tags={"T": "Accepted"}) as hub:
        options = dict(FAST, config={"MeterValueSampleInterval": "5"})
        if journal:
            options["state_dir"] = str(tmp_path)
        st = make_station("SIM-PL", hub.url, **options)
        await st.start(timeout=5)
        try:
            await st.plug_in(1)
            assert await st.present_tag(1, "T") == "Started"
            first = st.connectors[1].transaction.transaction_id
            await asyncio.wait_for(st.expect("meter", 1), 5)
            await st.power_loss()
            booted = st.expect("boot", where=lambda e: e.data["status"] == "accepted")
            await st.power_up()
            await asyncio.wait_for(booted, 5)
            await wait_for(lambda: first not in hub.manager.active, 5)
            if journal:   # the station's own stop, delivered after the boot
                await wait_for(lambda: hub.store.get_transaction(first)["closed_by"] == "station", 5)
                assert hub.store.get_transaction(first)["stop_reason"] == "PowerLoss"
            else:
                row = hub.store.get_transaction(first)
                assert (row["closed_by"], row["stop_reason"]) == ("hub", STALE_REBOOT)
            await st.unplug(1)   # the driver starts over
            await st.plug_in(1)
            assert await st.present_tag(1, "T") == "Started"   # not ConcurrentTx
            second = st.connectors[1].transaction.transaction_id
            assert second != first and list(hub.manager.active) == [second]
        finally:
            await st.stop()


def test_the_policy_switches_on_the_command_line():
    from hub_under_test.__main__ import parse_args
    config, _ = parse_args(["--allow-concurrent-tags", "--accept-unknown-tags",
                            "--write-delay", "0.02", "--db", "postgresql://h/db"])
    assert (config.allow_concurrent_tags, config.accept_unknown_tags, config.write_delay,
            config.db_path) == (True, True, 0.02, "postgresql://h/db")
    config, _ = parse_args([])
    assert (config.allow_concurrent_tags, config.accept_unknown_tags) == (False, False)
