"""Smart Charging end to end, modelled on the OCA 1.6 test cases: our station against the
`ocpp` library's ChargePoint as CSMS (independent peer) and against our hub's command API.
The meter's power must obey the composite schedule: MeterValues Power.Active.Import <= limit."""
from __future__ import annotations

import asyncio
import random
from datetime import datetime, timezone

from ocpp.v16 import call

from ocpp_lib_csms import csms, running  # noqa: F401  (fixture)
from simulator.station import Meter, Station, StationOptions
from simulator.dialects import make_station
from tests.hub_helpers import Api, charger, running_hub, wait_for

POWER = "Power.Active.Import"
SAMPLING = {"MeterValueSampleInterval": "10",   # x 0.01: every 0.1 s
            "MeterValuesSampledData": f"Energy.Active.Import.Register,{POWER}"}
VOLTS_3PH = 230.0 * 3


def profile(pid, purpose="TxDefaultProfile", limit=10, unit="A", stack=0, kind="Relative",
            periods=None, **extra) -> dict:
    schedule = {"chargingRateUnit": unit,
                "chargingSchedulePeriod": periods or [{"startPeriod": 0, "limit": limit}]}
    if "startSchedule" in extra:
        schedule["startSchedule"] = extra.pop("startSchedule")
    return {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
            "chargingProfileKind": kind, **extra, "chargingSchedule": schedule}


def powers(payload: dict) -> list[float]:
    return [float(s["value"]) for mv in payload["meterValue"] for s in mv["sampledValue"]
            if s.get("measurand") == POWER]


async def set_profile(peer, connector, prof) -> str:
    return (await peer.call(call.SetChargingProfile(connector_id=connector,
                                                    cs_charging_profiles=prof))).status


async def powers_after(csms, count: int) -> list[float]:
    """Power values of the next `count` MeterValues from now on."""
    seen = len(csms.calls("MeterValues"))
    found = await csms.wait_for("MeterValues", count=seen + count)
    return [p for payload in found[seen:] for p in powers(payload)]


async def start_charging(csms, st, connector=1) -> int:
    await st.plug_in(connector)
    started = st.expect("tx_started", connector)
    assert await st.present_tag(connector, "TAG") == "Started"
    return (await asyncio.wait_for(started, 5)).data["transaction_id"]


def composite_periods(reply) -> list[tuple[int, float]]:
    return [(p["start_period"], float(p["limit"]))
            for p in reply.charging_schedule["charging_schedule_period"]]


# -- against the ocpp library's CSMS ----------------------------------------------------------
async def test_default_profile_then_tx_profile_limit_the_meter(csms):
    async with running(csms, config=SAMPLING) as st:
        peer = csms.peers["CP1"]
        keys = await peer.call(call.GetConfiguration(key=["SupportedFeatureProfiles",
                                                           "ChargeProfileMaxStackLevel"]))
        values = {k["key"]: k["value"] for k in keys.configuration_key}
        assert "SmartCharging" in values["SupportedFeatureProfiles"].split(",")
        assert values["ChargeProfileMaxStackLevel"] == "10"

        # TxDefaultProfile on connector 0: 10 A on every connector
        assert await set_profile(peer, 0, profile(1, limit=10)) == "Accepted"
        tx_id = await start_charging(csms, st)
        default_w = 10 * VOLTS_3PH
        assert all(0 < p <= default_w for p in await powers_after(csms, 3))

        reply = await peer.call(call.GetCompositeSchedule(connector_id=1, duration=300,
                                                          charging_rate_unit="W"))
        assert reply.status == "Accepted" and reply.connector_id == 1
        assert composite_periods(reply) == [(0, default_w)]

        # a TxProfile for the running transaction overrides the default: 3 kW
        assert await set_profile(peer, 1, profile(2, "TxProfile", 3000, "W",
                                                  transactionId=tx_id)) == "Accepted"
        assert all(0 < p <= 3000 for p in await powers_after(csms, 3))
        reply = await peer.call(call.GetCompositeSchedule(connector_id=1, duration=60,
                                                          charging_rate_unit="W"))
        assert composite_periods(reply) == [(0, 3000.0)]

        # another transaction's id, or none running on the connector: Rejected
        rejected = st.expect("profile_rejected")
        assert await set_profile(peer, 1, profile(3, "TxProfile", 5,
                                                  transactionId=tx_id + 1)) == "Rejected"
        assert "not the running transaction" in (await asyncio.wait_for(rejected, 5)).text

        # clear the TxProfile: back to the default's limit; clearing again is Unknown
        assert (await peer.call(call.ClearChargingProfile(id=2))).status == "Accepted"
        assert (await peer.call(call.ClearChargingProfile(id=2))).status == "Unknown"
        reply = await peer.call(call.GetCompositeSchedule(connector_id=1, duration=60,
                                                          charging_rate_unit="W"))
        assert composite_periods(reply) == [(0, default_w)]
        powers_now = await powers_after(csms, 3)
        assert max(powers_now) > 3000 and all(p <= default_w for p in powers_now)

        # the TxProfile ends with the transaction; the default stays
        await st.stop_transaction(1)
        assert await set_profile(peer, 1, profile(4, "TxProfile", 5)) == "Rejected"
        assert [p.id for p in st.smart_charging.store.profiles] == [1]


async def test_remote_start_installs_its_tx_profile(csms):
    async with running(csms, config=SAMPLING) as st:
        peer = csms.peers["CP1"]
        await st.plug_in(1)
        # not a TxProfile: the remote start is refused, and the station says why
        rejected = st.expect("profile_rejected")
        reply = await peer.call(call.RemoteStartTransaction(
            id_tag="R", connector_id=1, charging_profile=profile(9, "TxDefaultProfile", 6)))
        assert reply.status == "Rejected"
        assert "TxProfile only" in (await asyncio.wait_for(rejected, 5)).text
        assert csms.calls("StartTransaction") == []

        started = st.expect("tx_started", 1)
        reply = await peer.call(call.RemoteStartTransaction(
            id_tag="R", connector_id=1, charging_profile=profile(
                7, "TxProfile", unit="W", periods=[{"startPeriod": 0, "limit": 2000},
                                                   {"startPeriod": 3600, "limit": 5000}])))
        assert reply.status == "Accepted"
        await asyncio.wait_for(started, 5)
        assert all(0 < p <= 2000 for p in await powers_after(csms, 3))
        reply = await peer.call(call.GetCompositeSchedule(connector_id=1, duration=7200,
                                                          charging_rate_unit="W"))
        # relative to the transaction start: 2 kW for its first hour, then 5 kW
        [(s0, l0), (s1, l1)] = composite_periods(reply)
        assert (s0, l0, l1) == (0, 2000.0, 5000.0) and 3590 <= s1 <= 3600
        tx = st.connectors[1].transaction
        # bound to the station's own transaction id (the CSMS's integer is the dialect's)
        assert [(p.id, p.transaction) for p in st.smart_charging.store.profiles] == [(7, tx.id)]


async def test_charge_point_max_profile_caps_and_bad_profiles_are_rejected(csms):
    async with running(csms, connectors=2) as st:
        peer = csms.peers["CP1"]
        assert await set_profile(peer, 0, profile(1, "ChargePointMaxProfile", 4000, "W",
                                                  kind="Absolute")) == "Accepted"
        assert await set_profile(peer, 2, profile(2, limit=12)) == "Accepted"
        reply = await peer.call(call.GetCompositeSchedule(connector_id=2, duration=60,
                                                          charging_rate_unit="A"))
        assert composite_periods(reply) == [(0, round(4000 / VOLTS_3PH, 1))]
        # without a unit: amps (the first allowed unit)
        reply = await peer.call(call.GetCompositeSchedule(connector_id=1, duration=60))
        assert reply.charging_schedule["charging_rate_unit"] == "A"
        reply = await peer.call(call.GetCompositeSchedule(connector_id=3, duration=60))
        assert reply.status == "Rejected"

        bad = [
            (1, profile(10, "ChargePointMaxProfile", 10), "connector 0 only"),
            (1, profile(11, "TxProfile", 10), "no transaction on connector 1"),
            (1, profile(12, periods=[{"startPeriod": 5, "limit": 10}]), "start at 0"),
            (1, profile(13, periods=[{"startPeriod": 0, "limit": 10},
                                     {"startPeriod": 0, "limit": 8}]), "ascend"),
            (1, profile(14, stack=11), "ChargeProfileMaxStackLevel"),
            (1, profile(15, periods=[{"startPeriod": i, "limit": 10} for i in range(25)]),
             "ChargingScheduleMaxPeriods"),
            (1, profile(16, kind="Recurring"), "Daily/Weekly recurrency"),
        ]
        for connector, prof, reason in bad:
            rejected = st.expect("profile_rejected")
            assert await set_profile(peer, connector, prof) == "Rejected", reason
            assert reason in (await asyncio.wait_for(rejected, 5)).text
        assert sorted(p.id for p in st.smart_charging.store.profiles) == [1, 2]
        # clear by purpose: the max profile goes, connector 2's default stays
        reply = await peer.call(call.ClearChargingProfile(
            charging_profile_purpose="ChargePointMaxProfile"))
        assert reply.status == "Accepted"
        reply = await peer.call(call.GetCompositeSchedule(connector_id=2, duration=60,
                                                          charging_rate_unit="A"))
        assert composite_periods(reply) == [(0, 12.0)]
        # connector 1 has no profile left: its hardware maximum, 11 kW
        reply = await peer.call(call.GetCompositeSchedule(connector_id=1, duration=60,
                                                          charging_rate_unit="W"))
        assert composite_periods(reply) == [(0, 11000.0)]


async def test_the_meter_follows_the_schedule_across_a_period_boundary(csms):
    async with running(csms, config=SAMPLING) as st:
        peer = csms.peers["CP1"]
        await start_charging(csms, st)
        start = datetime.now(timezone.utc).isoformat()
        boundary = st.expect("power_limit", 1)
        assert await set_profile(peer, 1, profile(
            1, unit="W", kind="Absolute", startSchedule=start,
            periods=[{"startPeriod": 0, "limit": 5000}, {"startPeriod": 1, "limit": 1500}])
        ) == "Accepted"
        event = await asyncio.wait_for(boundary, 5)   # the timer at the period's start
        assert event.data["limit_w"] == 1500
        assert all(0 < p <= 1500 for p in await powers_after(csms, 3))


async def start_on(st, connector: int, tag: str) -> int:
    await st.plug_in(connector)
    started = st.expect("tx_started", connector)
    assert await st.present_tag(connector, tag) == "Started"
    return (await asyncio.wait_for(started, 5)).data["transaction_id"]


async def connector_powers(csms, connector: int, count: int) -> list[float]:
    """Power values of the next `count` MeterValues of `connector`, skipping the first one
    (it may have been sampled before the change under test)."""
    def mine(p):
        return p["connectorId"] == connector
    seen = len(csms.calls("MeterValues", mine))
    found = await csms.wait_for("MeterValues", count=seen + count + 1, where=mine)
    return [p for payload in found[seen + 1:] for p in powers(payload)]


def statuses(csms, connector: int) -> list[str]:
    return [p["status"] for p in csms.calls("StatusNotification")
            if p["connectorId"] == connector]


async def wait_status(csms, connector: int, status: str, count: int = 1) -> None:
    await csms.wait_for("StatusNotification", count=count, where=lambda p: (
        p["connectorId"] == connector and p["status"] == status))


async def test_charge_point_max_profile_is_shared_by_the_charging_connectors(csms):
    async with running(csms, connectors=2, config=SAMPLING) as st:
        peer = csms.peers["CP1"]
        assert await set_profile(peer, 0, profile(1, "ChargePointMaxProfile", 6000, "W",
                                                  kind="Absolute")) == "Accepted"
        m1, m2 = st.connectors[1].meter, st.connectors[2].meter
        await start_on(st, 1, "TAG1")
        alone = await connector_powers(csms, 1, 3)
        assert all(0 < p <= 6000 for p in alone) and max(alone) > 3000   # the whole 6 kW
        await start_on(st, 2, "TAG2")
        assert 0 < m1.power_w + m2.power_w <= 6000
        both = {1: await connector_powers(csms, 1, 3), 2: await connector_powers(csms, 2, 3)}
        assert all(0 < p <= 3000 for ps in both.values() for p in ps)   # equal shares
        assert max(both[1]) + max(both[2]) <= 6000
        assert m1.power_w + m2.power_w <= 6000 and m1.offered_w == m2.offered_w == 3000
        # connector 1 stops drawing: connector 2 may take the whole limit again
        await st.stop_transaction(1)
        again = await connector_powers(csms, 2, 3)
        assert all(0 < p <= 6000 for p in again) and max(again) > 3000
        # the composite of connector 0: the station-wide limit
        reply = await peer.call(call.GetCompositeSchedule(connector_id=0, duration=60,
                                                          charging_rate_unit="W"))
        assert composite_periods(reply) == [(0, 6000.0)]


async def test_tx_profile_of_zero_suspends_and_clearing_it_resumes(csms):
    async with running(csms, config=SAMPLING) as st:
        peer = csms.peers["CP1"]
        tx_id = await start_charging(csms, st)
        await wait_status(csms, 1, "Charging")
        assert await set_profile(peer, 1, profile(2, "TxProfile", 0, "W",
                                                  transactionId=tx_id)) == "Accepted"
        await wait_status(csms, 1, "SuspendedEVSE")
        c = st.connectors[1]
        assert c.status == "suspended_evse" and c.meter.power_w == 0
        assert all(p == 0 for p in await connector_powers(csms, 1, 2))
        assert (await peer.call(call.ClearChargingProfile(id=2))).status == "Accepted"
        await wait_status(csms, 1, "Charging", count=2)
        assert statuses(csms, 1)[-3:] == ["Charging", "SuspendedEVSE", "Charging"]
        assert all(p > 0 for p in await connector_powers(csms, 1, 2))


async def test_a_limit_below_min_charging_rate_suspends_until_it_rises(csms):
    async with running(csms, config=SAMPLING) as st:
        peer = csms.peers["CP1"]
        low = profile(1, limit=6)                       # 6 A ...
        low["chargingSchedule"]["minChargingRate"] = 8  # ... but the EV needs 8 A
        assert await set_profile(peer, 0, low) == "Accepted"
        tx_id = await start_charging(csms, st)
        await wait_status(csms, 1, "SuspendedEVSE")
        assert "Charging" not in statuses(csms, 1)      # Preparing -> SuspendedEVSE directly
        assert st.connectors[1].meter.power_w == 0
        assert all(p == 0 for p in await connector_powers(csms, 1, 2))
        # a TxProfile of 10 A (still needing 8 A): charging, within 10 A
        high = profile(2, "TxProfile", 10, transactionId=tx_id)
        high["chargingSchedule"]["minChargingRate"] = 8
        assert await set_profile(peer, 1, high) == "Accepted"
        await wait_status(csms, 1, "Charging")
        assert all(0 < p <= 10 * VOLTS_3PH for p in await connector_powers(csms, 1, 2))


def test_meter_energy_is_the_integral_of_the_limited_power():
    t = [0.0]
    meter = Meter(random.Random(1), max_power_w=11_000, clock=lambda: t[0])
    limit = [3000.0]
    meter.power_limit = lambda: limit[0]
    meter.set_drawing(True)
    assert 0.97 * 3000 <= meter.power_w <= 3000
    t[0] = 3600.0
    first = meter.read().energy_wh
    assert 0.97 * 3000 <= first <= 3000           # one hour at <= 3 kW
    limit[0] = 1000.0
    meter.refresh()                               # what the boundary timer does
    t[0] = 7200.0
    reading = meter.read()
    assert 0.97 * 1000 <= reading.energy_wh - first <= 1000
    assert reading.offered_w == 1000.0 and reading.power_w <= 1000


# -- against our hub -----------------------------------------------------------------------
async def test_hub_records_profiles_and_the_station_obeys_them():
    async with running_hub(tags={"TAG": "Accepted"}) as hub, Api(hub) as api:
        events = hub.events.subscribe("chargingprofile.*")
        station = make_station("SC-1", hub.url, StationOptions(interval_scale=0.01, config=SAMPLING))
        await station.start()
        try:
            cmd = "/stations/SC-1/commands/"
            status, body = await api.post(cmd + "SetChargingProfile", {
                "connectorId": 0, "csChargingProfiles": profile(1, limit=8)})
            assert status == 200 and body["response"] == {"status": "Accepted"}
            ev = await events.get(timeout=5)
            assert ev.topic == "chargingprofile.set" and ev.message.profile_id == 1
            # a refused profile is not recorded
            status, body = await api.post(cmd + "SetChargingProfile", {
                "connectorId": 1, "csChargingProfiles": profile(2, "ChargePointMaxProfile", 8)})
            assert body["response"] == {"status": "Rejected"}

            await station.plug_in(1)
            started = station.expect("tx_started", 1)
            assert await station.present_tag(1, "TAG") == "Started"
            tx_id = (await asyncio.wait_for(started, 5)).data["transaction_id"]
            status, body = await api.post(cmd + "SetChargingProfile", {
                "connectorId": 1, "csChargingProfiles": profile(
                    3, "TxProfile", 2500, "W", transactionId=tx_id)})
            assert body["response"] == {"status": "Accepted"}
            status, listed = await api.get("/stations/SC-1/charging-profiles")
            assert status == 200
            assert [(p["connectorId"], p["chargingProfile"]["chargingProfileId"]) for p in listed
                    ] == [(0, 1), (1, 3)]

            def hub_powers():
                return [r["value"] for r in hub.store.meter_values(tx_id)
                        if r["measurand"] == POWER]
            already = len(hub_powers())
            await wait_for(lambda: len(hub_powers()) >= already + 3, timeout=5)
            assert all(0 < p <= 2500 for p in hub_powers()[already + 1:])

            status, body = await api.post(cmd + "ClearChargingProfile", {"id": 3})
            assert body["response"] == {"status": "Accepted"}
            status, body = await api.post(cmd + "ClearChargingProfile", {"id": 3})
            assert body["response"] == {"status": "Unknown"}
            _, listed = await api.get("/stations/SC-1/charging-profiles")
            assert [p["chargingProfile"]["chargingProfileId"] for p in listed] == [1]
            status, body = await api.post(cmd + "GetCompositeSchedule", {
                "connectorId": 1, "duration": 60, "chargingRateUnit": "A"})
            assert body["response"]["status"] == "Accepted"
            assert body["response"]["chargingSchedule"]["chargingSchedulePeriod"] == [
                {"startPeriod": 0, "limit": 8.0}]
            topics = []
            while True:
                try:
                    topics.append((await events.get(timeout=0.5)).topic)
                except asyncio.TimeoutError:
                    break
            assert topics == ["chargingprofile.set", "chargingprofile.cleared"]
        finally:
            await station.stop()


async def test_hub_records_only_what_an_ocpp_library_charger_accepted():
    async with running_hub() as hub, Api(hub) as api, charger(hub, "LIB-1") as cp:
        cmd = "/stations/LIB-1/commands/"
        # this charger does not implement SetChargingProfile: a CALLERROR, nothing recorded
        status, body = await api.post(cmd + "SetChargingProfile", {
            "connectorId": 1, "csChargingProfiles": profile(1)})
        assert status == 502 and body["status"] == "callerror"
        # it accepts remote starts: the start's TxProfile is recorded
        tx_profile = profile(5, "TxProfile", 16)
        status, body = await api.post(cmd + "RemoteStartTransaction", {
            "idTag": "T", "connectorId": 2, "chargingProfile": tx_profile})
        assert body["response"] == {"status": "Accepted"}
        assert cp.received[-1][1]["charging_profile"]["charging_profile_id"] == 5
        _, listed = await api.get("/stations/LIB-1/charging-profiles")
        assert [(p["connectorId"], p["source"], p["chargingProfile"]) for p in listed] == [
            (2, "RemoteStartTransaction", tx_profile)]
        _, other = await api.get("/stations/NOBODY/charging-profiles")
        assert other == []
