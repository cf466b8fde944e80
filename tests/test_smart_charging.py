"""Smart Charging's pure part (simulator/station/smart_charging.py): profile checks, the
store's replace / clear rules and the composite schedule, all with a fixed `now`; profiles
are written as 1.6 csChargingProfiles and read by the 1.6 dialect's parser."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from simulator.dialects.ocpp16.smart_charging import parse_profile, schedule_payload
from simulator.dialects.ocpp16.config_keys import SETTING_KEYS
from simulator.station.smart_charging import (TX_DEFAULT, Hardware, Limits, ProfileError, ProfileStore,
                                              PowerDemand, TxInfo, allocate, composite_schedule,
                                              next_change, water_level)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
HW = Hardware(voltage_v=230.0, phases=3, max_power_w=22_080.0, connectors=2)  # 32 A x 3 x 230 V


def tx_of(csms_id: int) -> str:
    """The station's transaction the CSMS calls `csms_id` (the dialect's mapping)."""
    return f"tx{csms_id}"


def profile(pid=1, purpose="TxDefaultProfile", stack=0, kind="Absolute", unit="A",
            periods=((0, 16),), start=NOW, **extra) -> dict:
    schedule = {"chargingRateUnit": unit,
                "chargingSchedulePeriod": [{"startPeriod": s, "limit": lim, **(
                    {"numberPhases": ph[0]} if ph else {})} for s, lim, *ph in periods]}
    if start is not None:
        schedule["startSchedule"] = start.isoformat()
    for key in ("duration", "minChargingRate"):
        if key in extra:
            schedule[key] = extra.pop(key)
    return {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
            "chargingProfileKind": kind, "chargingSchedule": schedule, **extra}


KEYED = Limits(key=SETTING_KEYS.__getitem__)   # refusals name the 1.6 keys


def store(*specs, limits=KEYED) -> ProfileStore:
    s = ProfileStore(limits=limits, connectors=2)
    for spec in specs:
        connector = spec.pop("_connector", 1)
        s.install(parse_profile(connector, spec, NOW, tx_of))
    return s


def periods(s: ProfileStore, duration=3600, unit="A", connector=1, now=NOW, tx=None):
    sched = composite_schedule(s.profiles, connector, now, duration, unit, HW, tx)
    return list(sched.periods)


def test_no_profile_is_the_hardware_maximum():
    assert periods(store()) == [(0, 32.0)]
    assert periods(store(), unit="W") == [(0, 22080.0)]
    # connector 0: the whole station
    assert periods(store(), unit="W", connector=0) == [(0, 44160.0)]


def test_highest_stack_level_wins_while_it_is_in_force():
    s = store(profile(1, stack=0, periods=((0, 16),)),
              profile(2, stack=1, periods=((0, 10), (600, 6)), duration=1200))
    # stack 1 rules for its 20 minutes, then stack 0 takes over again
    assert periods(s) == [(0, 10.0), (600, 6.0), (1200, 16.0)]


def test_connector_profile_beats_connector_zero_at_the_same_stack_level():
    s = store({**profile(1, periods=((0, 20),)), "_connector": 0}, profile(2, periods=((0, 8),)))
    assert periods(s, connector=1) == [(0, 8.0)]
    assert periods(s, connector=2) == [(0, 20.0)]   # connector 0's default applies to all


def test_validity_window():
    s = store(profile(1, periods=((0, 16),)),
              profile(2, stack=3, periods=((0, 6),), validFrom=(NOW + timedelta(minutes=10))
                      .isoformat(), validTo=(NOW + timedelta(minutes=20)).isoformat()))
    assert periods(s) == [(0, 16.0), (600, 6.0), (1200, 16.0)]


def test_absolute_schedule_not_started_yet_falls_back():
    s = store(profile(1, periods=((0, 16),)),
              profile(2, stack=1, periods=((0, 4),), start=NOW + timedelta(seconds=900)))
    assert periods(s) == [(0, 16.0), (900, 4.0)]


def test_recurring_daily_crosses_midnight():
    night = datetime(2026, 3, 9, 22, 0, tzinfo=timezone.utc)   # 22:00 yesterday
    # 22:00-02:00 6 A, 02:00-22:00 16 A, every day
    s = store(profile(1, kind="Recurring", recurrencyKind="Daily", start=night,
                      periods=((0, 6), (4 * 3600, 16))))
    at_2330 = datetime(2026, 3, 10, 23, 30, tzinfo=timezone.utc)
    # from 23:30 for 4 h: 6 A until 02:00 the next day, then 16 A
    assert periods(s, duration=4 * 3600, now=at_2330) == [(0, 6.0), (9000, 16.0)]
    # at noon: 16 A until 22:00
    assert periods(s, duration=12 * 3600) == [(0, 16.0), (10 * 3600, 6.0)]


def test_recurring_weekly():
    monday = datetime(2026, 3, 9, 0, 0, tzinfo=timezone.utc)
    s = store(profile(1, kind="Recurring", recurrencyKind="Weekly", start=monday,
                      periods=((0, 10), (86_400, 20))))
    # Tuesday noon (NOW) is past the first day: 20 A until next Monday 00:00, 10 A that Monday
    monday_next = 5 * 86_400 + 12 * 3600
    assert periods(s, duration=7 * 86_400) == [(0, 20.0), (monday_next, 10.0),
                                               (monday_next + 86_400, 20.0)]


def test_relative_profile_counts_from_the_transaction_start():
    tx = TxInfo("tx7", NOW - timedelta(seconds=300))
    s = store(profile(1, purpose="TxProfile", kind="Relative", start=None,
                      periods=((0, 10), (600, 16)), transactionId=7))
    assert periods(s, tx=tx) == [(0, 10.0), (300, 16.0)]
    # without a transaction the TxProfile does not apply
    assert periods(s) == [(0, 32.0)]
    # a relative default profile without transaction counts from `now`
    d = store(profile(1, kind="Relative", start=None, periods=((0, 10), (600, 16))))
    assert periods(d) == [(0, 10.0), (600, 16.0)]


def test_tx_profile_overrides_tx_default_only_for_its_transaction():
    s = store(profile(1, stack=5, periods=((0, 6),)),
              profile(2, purpose="TxProfile", periods=((0, 20),), transactionId=7))
    assert periods(s, tx=TxInfo("tx7", NOW)) == [(0, 20.0)]        # even at a lower stack level
    assert periods(s, tx=TxInfo("tx8", NOW)) == [(0, 6.0)]


def test_amps_and_watts_convert_with_voltage_and_phases():
    s = store(profile(1, unit="W", periods=((0, 6900),)))
    assert periods(s, unit="A") == [(0, 10.0)]                   # 6900 W / (3 x 230 V)
    one_phase = store(profile(1, periods=((0, 16, 1),)))         # numberPhases 1
    assert periods(one_phase, unit="W") == [(0, 3680.0)]          # 16 A x 1 x 230 V
    assert periods(one_phase, unit="A") == [(0, 5.3)]             # as 3-phase amps


def test_charge_point_max_profile_caps_everything():
    s = store({**profile(1, purpose="ChargePointMaxProfile", periods=((0, 20), (600, 8))),
               "_connector": 0},
              profile(2, purpose="TxProfile", periods=((0, 32),), transactionId=7))
    assert periods(s, tx=TxInfo("tx7", NOW)) == [(0, 20.0), (600, 8.0)]
    assert periods(s, connector=0) == [(0, 20.0), (600, 8.0)]


def test_sub_second_boundaries_round_up_on_the_wire_and_stay_exact_for_the_meter():
    now = NOW + timedelta(milliseconds=300)
    s = store(profile(1, periods=((0, 16), (1, 10), (60, 6))))
    assert periods(s, now=now) == [(0, 16.0), (1, 10.0), (60, 6.0)]
    assert next_change(s.profiles, 1, now, HW, None) == NOW + timedelta(seconds=1)
    assert next_change(store().profiles, 1, now, HW, None) is None


def test_min_charging_rate_is_reported_in_the_requested_unit():
    s = store(profile(1, periods=((0, 16),), minChargingRate=6))
    sched = schedule_payload(composite_schedule(s.profiles, 1, NOW, 60, "W", HW))  # 1.6 wire
    assert sched["minChargingRate"] == 4140.0 and sched["chargingRateUnit"] == "W"
    assert sched["startSchedule"] == "2026-03-10T12:00:00.000Z" and sched["duration"] == 60


# -- sharing the ChargePointMaxProfile among connectors -----------------------------------
def max_profile(watts, pid=9, **extra):
    return {**profile(pid, purpose="ChargePointMaxProfile", unit="W", periods=((0, watts),),
                      **extra), "_connector": 0}


def sessions(*ids, ev_w=float("inf")):
    # connector 1 started first, then 2
    return [PowerDemand(i, TxInfo(f"tx{i}", NOW - timedelta(minutes=10 - i)), ev_w) for i in ids]


def test_water_level():
    assert water_level(10_000, [8000, 8000]) == 5000
    assert water_level(10_000, [2000, 9000]) == 8000       # 2000 met, the rest to the other
    assert water_level(10_000, [2000, 3000]) == float("inf")
    assert water_level(0, [2000, 3000]) == 0
    assert water_level(10_000, []) == float("inf")


def test_charge_point_max_is_shared_equally_among_the_charging_connectors():
    s = store(max_profile(10_000))
    # one connector charging: it may take the whole station limit
    assert allocate(s.profiles, sessions(1), NOW, HW) == {1: 10_000}
    # two: equal shares, never more than 10 kW together
    granted = allocate(s.profiles, sessions(1, 2), NOW, HW)
    assert granted == {1: 5000, 2: 5000} and sum(granted.values()) <= 10_000
    # the composite of one connector still shows the whole station limit (it does not know
    # the other connector's use); connector 0 shows the station-wide schedule
    assert periods(s, unit="W", connector=1) == [(0, 10_000.0)]
    assert periods(s, unit="W", connector=0) == [(0, 10_000.0)]


def test_a_connector_below_its_share_leaves_the_rest_to_the_other():
    s = store(max_profile(10_000), profile(1, unit="W", periods=((0, 2000),)))
    assert allocate(s.profiles, sessions(1, 2), NOW, HW) == {1: 2000, 2: 8000}
    # the EV's own rating counts as well: a 3.7 kW car leaves 6.3 kW
    granted = allocate(store(max_profile(10_000)).profiles, [
        PowerDemand(1, TxInfo("tx1", NOW), 3700.0), PowerDemand(2, TxInfo("tx2", NOW))], NOW, HW)
    assert min(granted[1], 3700.0) + granted[2] <= 10_000 and granted[2] == 6300
    # no ChargePointMaxProfile: each connector its hardware maximum
    assert allocate(store().profiles, sessions(1, 2), NOW, HW) == {1: 22_080.0, 2: 22_080.0}


def test_shares_change_at_a_period_boundary():
    s = store(max_profile(10_000),
              {**profile(1, unit="W", periods=((0, 2000), (600, 9000))), "_connector": 1})
    assert allocate(s.profiles, sessions(1, 2), NOW, HW) == {1: 2000, 2: 8000}
    later = NOW + timedelta(seconds=600)
    assert allocate(s.profiles, sessions(1, 2), later, HW) == {1: 5000, 2: 5000}


def test_a_limit_of_zero_suspends():
    tx_zero = profile(1, purpose="TxProfile", unit="W", periods=((0, 0),), transactionId=1)
    s = store(tx_zero)
    assert allocate(s.profiles, sessions(1, 2), NOW, HW) == {1: 0.0, 2: 22_080.0}
    # a ChargePointMaxProfile of 0 suspends every connector
    assert allocate(store(max_profile(0)).profiles, sessions(1, 2), NOW, HW) == {1: 0, 2: 0}
    # a zero period then a real one: suspended, then charging again
    s = store(profile(1, unit="W", periods=((0, 0), (300, 4000))))
    assert allocate(s.profiles, sessions(1), NOW, HW) == {1: 0}
    assert allocate(s.profiles, sessions(1), NOW + timedelta(seconds=300), HW) == {1: 4000}


def test_below_min_charging_rate_delivers_zero():
    # 6 A limit, but the EV needs at least 8 A: nothing rather than an unusable rate
    s = store(profile(1, periods=((0, 6), (600, 10)), minChargingRate=8))
    assert allocate(s.profiles, sessions(1), NOW, HW) == {1: 0}
    assert allocate(s.profiles, sessions(1), NOW + timedelta(seconds=600), HW) == {
        1: 10 * 690.0}
    # at exactly the minimum the EV charges
    s = store(profile(1, periods=((0, 8),), minChargingRate=8))
    assert allocate(s.profiles, sessions(1), NOW, HW) == {1: 8 * 690.0}


def test_a_share_below_min_charging_rate_suspends_the_latest_session():
    # 8 kW for the station, each EV needs 5 kW: two equal shares of 4 kW are useless, so
    # the connector that started last is suspended and the first takes the whole 8 kW
    s = store(max_profile(8000), {**profile(1, unit="W", periods=((0, 11_000),),
                                            minChargingRate=5000), "_connector": 0})
    assert allocate(s.profiles, sessions(1, 2), NOW, HW) == {1: 8000, 2: 0}
    # enough for both: both charge
    s2 = store(max_profile(12_000), {**profile(1, unit="W", periods=((0, 11_000),),
                                             minChargingRate=5000), "_connector": 0})
    assert allocate(s2.profiles, sessions(1, 2), NOW, HW) == {1: 6000, 2: 6000}


# -- installing, replacing, clearing -----------------------------------------------------
def test_same_id_or_same_purpose_and_stack_level_replaces():
    s = store(profile(1, stack=0, periods=((0, 16),)))
    s.install(parse_profile(1, profile(1, stack=2, periods=((0, 10),)), NOW, tx_of))
    assert [(p.id, p.stack_level) for p in s.profiles] == [(1, 2)]
    s.install(parse_profile(1, profile(5, stack=2, periods=((0, 8),)), NOW, tx_of))
    assert [(p.id, p.stack_level) for p in s.profiles] == [(5, 2)]
    s.install(parse_profile(2, profile(6, stack=2, periods=((0, 8),)), NOW, tx_of))  # other connector
    assert sorted(p.id for p in s.profiles) == [5, 6]


def test_clear_by_id_or_by_criteria():
    s = store(profile(1, stack=0), profile(2, stack=1), {**profile(3, stack=0), "_connector": 2},
              {**profile(4, purpose="ChargePointMaxProfile"), "_connector": 0})
    assert [p.id for p in s.clear(profile_id=2, connector_id=2)] == [2]   # id: criteria ignored
    assert s.clear(profile_id=99) == []
    assert [p.id for p in s.clear(purpose=TX_DEFAULT, stack_level=0)] == [1, 3]
    assert s.clear(connector_id=1) == []
    assert [p.id for p in s.clear()] == [4]


BAD = [
    ("ChargePointMaxProfile on connector 1", dict(purpose="ChargePointMaxProfile"), 1, "connector 0"),
    ("TxProfile on connector 0", dict(purpose="TxProfile"), 0, "connector > 0"),
    ("no such connector", {}, 3, "does not exist"),
    ("first period not at 0", dict(periods=((10, 16),)), 1, "start at 0"),
    ("periods not ascending", dict(periods=((0, 16), (600, 10), (600, 8))), 1, "ascend"),
    ("too many periods", dict(periods=tuple((i * 60, 10) for i in range(25))), 1,
     "ChargingScheduleMaxPeriods"),
    ("stack level too high", dict(stack=11), 1, "ChargeProfileMaxStackLevel"),
    ("recurring without kind", dict(kind="Recurring"), 1, "Daily/Weekly recurrency"),
    ("validTo before validFrom", dict(validFrom=NOW.isoformat(), validTo=NOW.isoformat()), 1,
     "valid to a time not after"),
    ("negative limit", dict(periods=((0, -1),)), 1, "negative"),
]


@pytest.mark.parametrize("what,change,connector,reason", BAD, ids=[b[0] for b in BAD])
def test_impossible_profiles_are_refused_with_a_reason(what, change, connector, reason):
    s = store()
    with pytest.raises(ProfileError, match=reason):
        s.install(parse_profile(connector, profile(**change), NOW, tx_of))
    assert s.profiles == []


def test_unit_not_allowed_and_too_many_profiles():
    s = store(limits=Limits(allowed_units=("Current",), max_installed=2,
                            key=SETTING_KEYS.__getitem__))
    with pytest.raises(ProfileError, match="ChargingScheduleAllowedChargingRateUnit"):
        s.install(parse_profile(1, profile(unit="W"), NOW, tx_of))
    s.install(parse_profile(1, profile(1, stack=0), NOW, tx_of))
    s.install(parse_profile(1, profile(2, stack=1), NOW, tx_of))
    with pytest.raises(ProfileError, match="MaxChargingProfilesInstalled"):
        s.install(parse_profile(1, profile(3, stack=2), NOW, tx_of))
    s.install(parse_profile(1, profile(2, stack=3), NOW, tx_of))   # a replacement still fits
    assert sorted(p.id for p in s.profiles) == [1, 2]
