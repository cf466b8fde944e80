"""Charging sessions driven from the station side: cable, card, meter, suspension, faults."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from ocpp_lib_csms import csms, running  # noqa: F401  (fixture)
from simulator.station import StationError, StopReason


def statuses(csms, connector=1):
    return [s["status"] for s in csms.calls("StatusNotification",
                                            where=lambda p: p["connectorId"] == connector)]


async def test_plug_in_first_session(csms):
    async with running(csms) as st:
        await st.plug_in(1)
        assert st.connectors[1].status == "preparing"
        assert await st.present_tag(1, "TAG1") == "Started"
        tx = st.connectors[1].transaction
        assert (tx.transaction_id, tx.id_tag, tx.meter_start) == (100, "TAG1", 0)
        assert tx.start_time.tzinfo is not None
        assert csms.calls("Authorize") == [{"idTag": "TAG1"}]
        [start] = csms.calls("StartTransaction")
        assert start["connectorId"] == 1 and start["idTag"] == "TAG1"
        assert start["meterStart"] == 0 and start["timestamp"].endswith("Z")
        assert st.connectors[1].status == "charging"
        await asyncio.sleep(0.05)
        assert await st.present_tag(1, "TAG1") == "Stopped"
        [stop] = csms.calls("StopTransaction")
        assert stop["transactionId"] == 100 and stop["reason"] == "Local"
        assert stop["idTag"] == "TAG1" and stop["meterStop"] >= 0
        assert st.connectors[1].transaction is None
        assert st.connectors[1].last_transaction is tx and tx.stop_reason == "local"
        await st.unplug(1)
        assert statuses(csms) == ["Available", "Preparing", "Charging", "Finishing", "Available"]
        # order on the wire: StartTransaction before Charging, StopTransaction before Finishing
        actions = csms.actions()
        assert actions.index("StartTransaction") < actions.index("StopTransaction")


async def test_identification_first_session(csms):
    async with running(csms) as st:
        assert await st.present_tag(1, "TAG2") == "Authorized"
        assert st.connectors[1].status == "preparing"
        assert csms.calls("StartTransaction") == []
        await st.plug_in(1)
        assert st.connectors[1].status == "charging"
        assert csms.calls("StartTransaction")[0]["idTag"] == "TAG2"
        assert statuses(csms) == ["Available", "Preparing", "Charging"]


async def test_identification_first_times_out_without_cable(csms):
    async with running(csms, config={"ConnectionTimeOut": "10"}) as st:  # 0.1 s
        timed_out = st.expect("start_timeout", 1)
        assert await st.present_tag(1, "TAG3") == "Authorized"
        await asyncio.wait_for(timed_out, 2)
        await csms.wait_for("StatusNotification", 4)
        assert statuses(csms) == ["Available", "Preparing", "Available"]
        await st.plug_in(1)
        assert csms.calls("StartTransaction") == []


async def test_same_card_again_before_the_cable_cancels(csms):
    async with running(csms) as st:
        assert await st.present_tag(1, "TAG4") == "Authorized"
        assert await st.present_tag(1, "TAG4") == "Cancelled"
        assert st.connectors[1].status == "available"
        await st.plug_in(1)
        assert csms.calls("StartTransaction") == []


@pytest.mark.parametrize("status", ["Invalid", "Blocked", "Expired"])
async def test_rejected_tag_starts_nothing(csms, status):
    csms.tags = {"BAD": {"status": status}}
    async with running(csms) as st:
        await st.plug_in(1)
        assert await st.present_tag(1, "BAD") == "Rejected"
        assert csms.calls("StartTransaction") == []
        assert st.connectors[1].status == "preparing" and st.connectors[1].transaction is None
        assert st.auth_cache.lookup("BAD").status == status


async def test_start_answered_invalid_stops_with_deauthorized(csms):
    csms.start_answers = {"TAG": {"status": "Invalid"}}
    async with running(csms) as st:
        await st.plug_in(1)
        await st.present_tag(1, "TAG")
        [stop] = csms.calls("StopTransaction")
        assert stop["reason"] == "DeAuthorized" and stop["transactionId"] == 100
        assert st.connectors[1].status == "finishing"
        assert st.auth_cache.lookup("TAG").status == "Accepted"  # the StopTransaction's answer


async def test_start_answered_invalid_without_stop_key_suspends(csms):
    csms.start_answers = {"TAG": {"status": "Blocked"}}
    async with running(csms, config={"StopTransactionOnInvalidId": "false"}) as st:
        await st.plug_in(1)
        await st.present_tag(1, "TAG")
        assert csms.calls("StopTransaction") == []
        assert st.connectors[1].transaction.transaction_id == 100
        assert st.connectors[1].status == "suspended_evse"
        assert st.connectors[1].meter.power_w == 0


async def test_other_card_stops_only_with_the_same_parent(csms):
    csms.tags = {"A": {"status": "Accepted", "parentIdTag": "FLEET"},
                 "B": {"status": "Accepted", "parentIdTag": "FLEET"},
                 "C": {"status": "Accepted", "parentIdTag": "OTHER"},
                 "D": {"status": "Accepted"}}
    async with running(csms) as st:
        await st.plug_in(1)
        await st.present_tag(1, "A")
        assert st.connectors[1].transaction.group_id == "FLEET"
        assert await st.present_tag(1, "C") == "NotAllowed"
        assert await st.present_tag(1, "D") == "NotAllowed"
        assert st.connectors[1].transaction is not None
        assert await st.present_tag(1, "B") == "Stopped"
        [stop] = csms.calls("StopTransaction")
        assert stop["idTag"] == "B" and stop["reason"] == "Local"


async def test_unplug_stops_with_ev_disconnected(csms):
    async with running(csms) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        await st.unplug(1)
        [stop] = csms.calls("StopTransaction")
        assert stop["reason"] == "EVDisconnected"
        assert statuses(csms)[-2:] == ["Charging", "Available"]


async def test_unplug_without_stop_key_suspends_until_replugged(csms):
    async with running(csms, config={"StopTransactionOnEVSideDisconnect": "false"}) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        await st.unplug(1)
        assert csms.calls("StopTransaction") == []
        assert st.connectors[1].status == "suspended_ev"
        await st.plug_in(1)
        assert st.connectors[1].status == "charging"
        assert statuses(csms)[-3:] == ["Charging", "SuspendedEV", "Charging"]


async def test_stop_transaction_api_with_reason(csms):
    async with running(csms) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        tx = await st.stop_transaction(1, StopReason.EMERGENCY_STOP)
        assert csms.calls("StopTransaction")[0]["reason"] == "EmergencyStop"
        assert tx.meter_stop >= tx.meter_start
        with pytest.raises(StationError, match="no transaction"):
            await st.stop_transaction(1)
        with pytest.raises(StationError, match="unknown stop reason"):
            await st.stop_transaction(1, "Bored")
        with pytest.raises(StationError, match="no connector 3"):
            await st.plug_in(3)
        with pytest.raises(StationError, match="already plugged"):
            await st.plug_in(1)


async def test_meter_values_are_periodic_coherent_and_monotonic(csms):
    measurands = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC"
    async with running(csms, meter_start_wh=5000, config={
            "MeterValueSampleInterval": "10", "MeterValuesSampledData": measurands,
            "StopTxnSampledData": "Energy.Active.Import.Register"}) as st:
        await st.plug_in(1, soc=40)
        await st.present_tag(1, "T")
        batches = await csms.wait_for("MeterValues", 4)
        await st.present_tag(1, "T")
    energies = []
    for mv in batches:
        assert mv["connectorId"] == 1 and mv["transactionId"] == 100
        [value] = mv["meterValue"]
        assert value["timestamp"].endswith("Z")
        by = {}
        for sv in value["sampledValue"]:
            assert sv["context"] == "Sample.Periodic"
            by.setdefault(sv["measurand"], []).append(sv)
        assert set(by) == set(measurands.split(","))
        assert {sv["unit"] for sv in by["Energy.Active.Import.Register"]} == {"Wh"}
        assert {sv["unit"] for sv in by["Power.Active.Import"]} == {"W"}
        assert {sv["unit"] for sv in by["Current.Import"]} == {"A"}
        assert {sv["phase"] for sv in by["Current.Import"]} == {"L1", "L2", "L3"}
        assert {sv["unit"] for sv in by["Voltage"]} == {"V"}
        assert by["SoC"][0]["unit"] == "Percent" and float(by["SoC"][0]["value"]) >= 40
        assert 9000 < float(by["Power.Active.Import"][0]["value"]) <= 11_000
        energies.append(float(by["Energy.Active.Import.Register"][0]["value"]))
    start = csms.calls("StartTransaction")[0]["meterStart"]
    [stop] = csms.calls("StopTransaction")
    assert start == 5000
    assert energies == sorted(energies) and energies[-1] > energies[0] >= start
    assert stop["meterStop"] >= int(energies[-1])
    contexts = [v["sampledValue"][0]["context"] for v in stop["transactionData"]]
    assert contexts[0] == "Transaction.Begin" and contexts[-1] == "Transaction.End"
    assert "Sample.Periodic" in contexts


async def test_clock_aligned_meter_values_for_every_connector(csms):
    async with running(csms, connectors=2, config={
            "ClockAlignedDataInterval": "10",                      # 0.1 s
            "MeterValuesAlignedData": "Energy.Active.Import.Register,Voltage",
            "StopTxnAlignedData": "Energy.Active.Import.Register"}) as st:
        await st.plug_in(2)
        await st.present_tag(2, "T")
        await csms.wait_for("MeterValues", 4, where=lambda p: p["connectorId"] == 2)
        idle = await csms.wait_for("MeterValues", 2, where=lambda p: p["connectorId"] == 1)
        await st.present_tag(2, "T")
    assert all("transactionId" not in mv for mv in idle)       # no transaction on 1
    charging = csms.calls("MeterValues", where=lambda p: p["connectorId"] == 2
                          and "transactionId" in p)
    assert charging and all(mv["transactionId"] == 100 for mv in charging)
    for mv in idle + charging:
        values = mv["meterValue"][0]["sampledValue"]
        assert {v["context"] for v in values} == {"Sample.Clock"}
        assert {v["measurand"] for v in values} == {"Energy.Active.Import.Register", "Voltage"}
    [stop] = csms.calls("StopTransaction")
    assert "Sample.Clock" in [v["sampledValue"][0]["context"] for v in stop["transactionData"]]


async def test_full_battery_turns_charging_into_suspended_ev(csms):
    async with running(csms, ev_capacity_wh=1,
                       config={"MeterValueSampleInterval": "5"}) as st:  # 0.5 Wh of room
        suspended = st.expect("status", 1, where=lambda e: e.text == "suspended_ev")
        await st.plug_in(1, soc=50)
        await st.present_tag(1, "T")
        await asyncio.wait_for(suspended, 3)
        assert st.connectors[1].meter.ev.soc == pytest.approx(100)


async def test_ev_and_evse_suspension(csms):
    async with running(csms) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        await st.ev_suspend(1)
        assert st.connectors[1].meter.power_w == 0
        await st.evse_suspend(1)
        await st.evse_resume(1)
        await st.ev_resume(1)
        assert st.connectors[1].meter.power_w > 0
        assert statuses(csms)[-5:] == ["Charging", "SuspendedEV", "SuspendedEVSE", "SuspendedEV",
                                       "Charging"]


async def test_fault_and_clear(csms):
    async with running(csms, connectors=2) as st:
        await st.fault(2, "GroundFailure", info="RCD tripped")
        [faulted] = csms.calls("StatusNotification", where=lambda p: p["status"] == "Faulted")
        assert faulted["connectorId"] == 2 and faulted["errorCode"] == "GroundFailure"
        assert faulted["info"] == "RCD tripped"
        with pytest.raises(StationError):
            await st.fault(2, "NoError")
        assert await st.present_tag(2, "T") == "Unavailable"
        await st.clear_fault(2)
        assert statuses(csms, 2)[-1] == "Available"
        assert csms.calls("StatusNotification")[-1]["errorCode"] == "NoError"


async def test_local_pre_authorize_uses_the_cache(csms):
    async with running(csms, config={"LocalPreAuthorize": "true"}) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        await st.present_tag(1, "T")
        await st.unplug(1)
        await st.plug_in(1)
        assert await st.present_tag(1, "T") == "Started"
        assert len(csms.calls("Authorize")) == 1        # second start from the cache
        assert len(csms.calls("StartTransaction")) == 2


async def test_expired_cache_entry_is_not_used(csms):
    past = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    csms.tags = {"T": {"status": "Accepted", "expiryDate": past}}
    async with running(csms, config={"LocalPreAuthorize": "true"}) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        assert st.auth_cache.lookup("T").status == "Expired"
        await st.present_tag(1, "T")
        await st.unplug(1)
        await st.plug_in(1)
        await st.present_tag(1, "T")
        assert len(csms.calls("Authorize")) == 2        # expired: asked again


async def test_no_cache_when_disabled(csms):
    async with running(csms, config={"LocalPreAuthorize": "true",
                                     "AuthorizationCacheEnabled": "false"}) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        assert len(st.auth_cache) == 0


async def test_station_data_transfer(csms):
    async with running(csms) as st:
        assert await st.data_transfer("com.example", "ping", "x") == ("Accepted", "echo:x")
        assert csms.calls("DataTransfer") == [{"vendorId": "com.example", "messageId": "ping",
                                               "data": "x"}]
