"""The meter and EV model with an injected clock and a fixed seed: every number is exact,
nothing depends on how fast the machine is."""
from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from simulator.station import Station, StationOptions
from simulator.station.aligned import boundary_time, next_boundary_ms
from simulator.station.clock import iso
from simulator.station.ev import EV, ChargingCurve
from simulator.station.meter import MEASURANDS, Meter
from simulator.dialects import make_station


class FakeClock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def by_key(samples):
    return {(s.measurand, s.phase): s for s in samples}


# -- energy register ----------------------------------------------------------------------
def test_energy_delta_is_previous_power_times_elapsed_time_and_only_grows():
    clock = FakeClock()
    meter = Meter(random.Random(5), max_power_w=22_000, clock=clock, energy_wh=500)
    meter.connect_ev(EV(80_000, 20, ac_max_w=11_000))
    meter.set_drawing(True)
    previous = meter.read()
    for step in (1, 7.5, 60, 300, 0.25):
        clock.t += step
        r = meter.read()
        assert r.energy_wh - previous.energy_wh == pytest.approx(previous.power_w * step / 3600)
        assert r.energy_wh > previous.energy_wh
        previous = r
    meter.set_drawing(False)           # contactor open: the register stands still
    clock.t += 3600
    idle = meter.read()
    assert idle.power_w == 0 and idle.energy_wh == previous.energy_wh


def test_soc_rises_with_the_energy_stored_in_the_battery():
    clock = FakeClock()
    meter = Meter(random.Random(2), clock=clock)
    ev = EV(50_000, 40)
    meter.connect_ev(ev)
    meter.set_drawing(True)
    start = meter.read()
    clock.t += 1800
    end = meter.read()
    stored = end.energy_wh - start.energy_wh
    assert end.soc - start.soc == pytest.approx(100 * stored / 50_000)
    assert end.soc > start.soc == pytest.approx(40)


# -- AC ------------------------------------------------------------------------------------
@pytest.mark.parametrize("phases", [1, 3])
def test_ac_reports_each_phase_and_power_is_sum_of_u_i_pf(phases):
    clock = FakeClock()
    meter = Meter(random.Random(1), max_power_w=7_400 if phases == 1 else 11_000, phases=phases,
                  power_factor=0.95, clock=clock)
    meter.connect_ev(EV(60_000, 50))
    meter.set_drawing(True)
    clock.t += 10
    r = meter.read()
    samples = by_key(r.samples(MEASURANDS))
    current = [k[1] for k in samples if k[0] == "Current.Import"]
    voltage = [k[1] for k in samples if k[0] == "Voltage"]
    assert current == ["L1", "L2", "L3"][:phases]
    assert voltage == ["L1-N", "L2-N", "L3-N"][:phases]
    assert sum(u * i * 0.95 for u, i in zip(r.voltage_v, r.current_a)) == pytest.approx(r.power_w)
    # voltage: small noise around nominal
    assert all(230 * 0.98 <= u <= 230 * 1.02 for u in r.voltage_v)
    assert samples[("Energy.Active.Import.Register", None)].unit == "Wh"
    assert samples[("Power.Active.Import", None)].unit == "W"
    assert samples[("SoC", None)].location == "EV"
    assert samples[("SoC", None)].unit == "Percent"
    assert samples[("Temperature", None)].unit == "Celsius"
    assert samples[("Current.Import", "L1")].location == "Outlet"


def test_ac_ev_takes_min_of_offered_and_its_onboard_charger():
    clock = FakeClock()
    meter = Meter(random.Random(3), max_power_w=22_000, phases=3, clock=clock)
    meter.connect_ev(EV(60_000, 30, ac_max_w=7_400))
    meter.set_drawing(True)
    r = meter.read()
    assert 7_400 * 0.97 <= r.power_w <= 7_400
    assert r.offered_w == 22_000
    offered = by_key(r.samples(["Power.Offered", "Current.Offered"]))
    assert offered[("Power.Offered", None)].value == "22000.0"
    assert float(offered[("Current.Offered", None)].value) == pytest.approx(22_000 / (3 * 230),
                                                                           abs=0.01)


def test_power_limit_hook_caps_offered_and_drawn_power_from_the_moment_it_changes():
    clock = FakeClock()
    limit = {"w": None}
    meter = Meter(random.Random(4), max_power_w=11_000, clock=clock,
                  power_limit=lambda: limit["w"])
    meter.set_drawing(True)
    first = meter.read()
    assert first.offered_w == 11_000 and first.power_w > 10_000
    clock.t += 60
    limit["w"] = 3_680
    meter.refresh()                    # energy so far booked at the old power
    booked = meter.energy_wh
    assert booked - first.energy_wh == pytest.approx(first.power_w * 60 / 3600)
    clock.t += 60
    r = meter.read()
    assert r.offered_w == 3_680 and r.power_w <= 3_680
    assert r.energy_wh - booked <= 3_680 * 60 / 3600 + 1e-9
    limit["w"] = 50_000                # a limit above the hardware changes nothing
    assert meter.offered_w == 11_000
    meter.power_limit = 0.0            # a plain number works too
    assert meter.read().power_w == 0


def test_kwh_units_scale_energy_and_power():
    clock = FakeClock()
    meter = Meter(random.Random(1), clock=clock, energy_wh=12_345, units="kWh")
    meter.set_drawing(True)
    r = by_key(meter.read().samples(["Energy.Active.Import.Register", "Power.Active.Import"]))
    assert (r[("Energy.Active.Import.Register", None)].value,
            r[("Energy.Active.Import.Register", None)].unit) == ("12.345", "kWh")
    assert r[("Power.Active.Import", None)].unit == "kW"
    assert 10.6 < float(r[("Power.Active.Import", None)].value) <= 11.0


@pytest.mark.parametrize("kwargs", [dict(current_type="XX"), dict(phases=4),
                                    dict(power_factor=0), dict(units="MWh")])
def test_bad_meter_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        Meter(random.Random(1), **kwargs)


# -- DC ------------------------------------------------------------------------------------
def test_charging_curve_is_flat_then_tapers_linearly():
    curve = ChargingCurve(taper_soc=80, taper_floor=0.1)
    assert curve.fraction(10) == curve.fraction(80) == 1.0
    assert curve.fraction(90) == pytest.approx(0.55)
    assert curve.fraction(100) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        ChargingCurve(taper_soc=100)


def test_dc_power_follows_the_taper_until_the_battery_is_full():
    clock = FakeClock()
    meter = Meter(random.Random(9), max_power_w=150_000, current_type="DC", clock=clock)
    ev = EV(40_000, 70, dc_max_w=100_000)
    meter.connect_ev(ev)
    meter.set_drawing(True)
    powers, socs = [], []
    for _ in range(400):
        r = meter.read()
        powers.append(r.power_w)
        socs.append(r.soc)
        # one DC voltage and one current, no phases; P = U·I
        assert r.frequency_hz is None
        assert len(r.voltage_v) == len(r.current_a) == 1
        if r.power_w:
            assert r.voltage_v[0] * r.current_a[0] == pytest.approx(r.power_w)
        if meter.ev_full:
            break
        clock.t += 10
    assert ev.full and powers[-1] == 0 and socs[-1] == pytest.approx(100)
    assert socs == sorted(socs)
    below = [p for p, s in zip(powers, socs) if s < 79]
    assert below and all(97_000 <= p <= 100_000 for p in below)       # EV maximum, not 150 kW
    high = [p for p, s in zip(powers, socs) if 95 <= s < 100]
    assert high and max(high) < 0.4 * 100_000                          # well into the taper
    samples = meter.read().samples(["Voltage", "Current.Import", "SoC"])
    assert [(s.measurand, s.phase) for s in samples] == [("Voltage", None),
                                                        ("Current.Import", None), ("SoC", None)]


def test_dc_voltage_is_the_pack_voltage_rising_with_soc():
    ev = EV(50_000, 10, pack_voltage_v=400)
    low = ev.pack_voltage()
    ev.charge(40_000)
    assert 360 <= low < ev.pack_voltage() <= 420


def test_ev_charge_takes_no_more_than_its_room():
    ev = EV(1000, 90)
    assert ev.charge(500) == pytest.approx(100) and ev.full and ev.accepts_w(dc=False) == 0


# -- reproducibility ----------------------------------------------------------------------
async def test_two_stations_with_same_seed_and_clock_read_the_same():
    async def run(seed):
        clock = FakeClock()
        st = make_station("SEED-A", "ws://127.0.0.1:1/ocpp",
                     StationOptions(seed=seed, connectors=2, meter_clock=clock))
        readings = []
        for cid in (1, 2):
            await st.plug_in(cid)                     # SoC drawn from the station's rng
            st.connectors[cid].meter.set_drawing(True)
        for _ in range(5):
            clock.t += 30
            for cid in (1, 2):
                readings.append(st.connectors[cid].meter.read().samples(MEASURANDS))
        return readings
    same = await run(11)
    assert same == await run(11)
    assert same != await run(12)


async def test_station_options_reach_meter_and_ev():
    st = make_station("OPT-1", "ws://127.0.0.1:1/ocpp",
                 StationOptions(current_type="DC", max_power_w=50_000, ev_dc_max_w=40_000,
                                ev_initial_soc=85, ev_capacity_wh=30_000, meter_units="kWh",
                                ev_taper_soc=70, ev_taper_floor=0.2, power_factor=0.9))
    meter = st.connectors[1].meter
    assert (meter.current_type, meter.max_power_w, meter.units, meter.power_factor) \
        == ("DC", 50_000, "kWh", 0.9)
    await st.plug_in(1)
    ev = meter.ev
    assert (ev.capacity_wh, ev.soc, ev.dc_max_w) == (30_000, pytest.approx(85), 40_000)
    assert (ev.curve.taper_soc, ev.curve.taper_floor) == (70, 0.2)
    assert ev.accepts_w(dc=True) == pytest.approx(40_000 * (1 - 15 / 30 * 0.8))


async def test_initial_soc_option_is_used_at_plug_in():
    st = make_station("OPT-2", "ws://127.0.0.1:1/ocpp", StationOptions(ev_initial_soc=85))
    await st.plug_in(1)
    assert st.connectors[1].meter.ev.soc == pytest.approx(85)
    await st.unplug(1)
    await st.plug_in(1, soc=20)                        # an explicit SoC wins
    assert st.connectors[1].meter.ev.soc == pytest.approx(20)


# -- clock-aligned boundaries --------------------------------------------------------------
def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("now, expected", [
    ("2026-01-01T12:07:31", "2026-01-01T12:15:00.000Z"),
    ("2026-01-01T12:14:59.999", "2026-01-01T12:15:00.000Z"),
    ("2026-01-01T12:15:00", "2026-01-01T12:30:00.000Z"),    # strictly after now
    ("2026-01-01T23:59:00", "2026-01-02T00:00:00.000Z"),
])
def test_next_aligned_boundary_for_quarter_hours(now, expected):
    assert iso(boundary_time(next_boundary_ms(ts(now), 900))) == expected


def test_aligned_boundary_never_repeats_the_last_one_after_an_early_wake():
    last = next_boundary_ms(ts("2026-01-01T12:07:31"), 900)
    early = last / 1000 - 0.002                        # the loop woke 2 ms early
    assert next_boundary_ms(early, 900, after_ms=last) == last + 900_000
    # sub-second periods (interval_scale) stay exact to the millisecond
    assert iso(boundary_time(next_boundary_ms(ts("2026-01-01T00:00:00.05"), 0.1))) \
        == "2026-01-01T00:00:00.100Z"
    with pytest.raises(ValueError):
        next_boundary_ms(0, 0)


def test_invalid_measurand_is_rejected_and_the_old_value_stays():
    st = make_station("CFG-1", "ws://127.0.0.1:1/ocpp")
    before = st.config.text("MeterValuesSampledData")
    for key in ("MeterValuesSampledData", "StopTxnSampledData", "MeterValuesAlignedData",
                "StopTxnAlignedData"):
        assert st.change_configuration(key, "Energy.Active.Import.Register,Bogus.Thing") \
            == "Rejected"
        assert st.change_configuration(key, "Voltage,,SoC") == "Rejected"
    assert st.config.text("MeterValuesSampledData") == before
    assert st.change_configuration("MeterValuesSampledData", "Voltage, Current.Import") \
        == "Accepted"
    assert st.config["MeterValuesSampledData"] == ["Voltage", "Current.Import"]


async def test_aligned_timer_fires_each_boundary_once_even_when_the_loop_runs_ahead():
    import asyncio
    import time

    from simulator.station.aligned import AlignedTimer

    skew = 0.004                           # the wall clock lags the loop's clock by 4 ms
    wall = lambda: time.time() - skew      # noqa: E731
    fired: list[tuple[datetime, float]] = []
    done = asyncio.Event()

    async def job(boundary):
        fired.append((boundary, wall()))
        if len(fired) == 4:
            done.set()
            return False
    tasks = []
    timer = AlignedTimer(lambda coro, name: tasks.append(asyncio.create_task(coro)) or tasks[-1],
                         0.05, job, "t", wall_clock=wall)
    await asyncio.wait_for(done.wait(), 5)
    assert not timer.running
    boundaries = [b.timestamp() for b, _ in fired]
    assert len(set(boundaries)) == 4 and boundaries == sorted(boundaries)
    assert all(round(b * 1000) % 50 == 0 for b in boundaries)
    assert all(now >= b.timestamp() - 1e-6 for b, now in fired)   # never before its boundary
