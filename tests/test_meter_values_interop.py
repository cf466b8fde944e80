"""Meter values on the wire: our station against our hub (what the hub stores is coherent
per measurand and phase) and against the `ocpp` library's CSMS (payloads valid against the
library's own 1.6 schemas, carrying the configured measurands, units and phases; stop
transaction data; clock-aligned samples)."""
from __future__ import annotations

import asyncio
import json
import os
from collections import defaultdict
from datetime import datetime

import jsonschema
import ocpp
import pytest
from ocpp.v16 import call

from ocpp_lib_csms import csms, running  # noqa: F401  (fixture)
from simulator.station import Station, StationOptions
from simulator.dialects import make_station
from tests.hub_helpers import running_hub

SCHEMAS = os.path.join(os.path.dirname(ocpp.__file__), "v16", "schemas")
AC_SET = ("Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,"
          "Current.Offered,Power.Offered,SoC")
UNITS = {"Energy.Active.Import.Register": "Wh", "Power.Active.Import": "W", "Current.Import": "A",
         "Voltage": "V", "Current.Offered": "A", "Power.Offered": "W", "SoC": "Percent"}


def validate(action: str, payload: dict) -> None:
    with open(os.path.join(SCHEMAS, f"{action}.json")) as f:
        jsonschema.validate(payload, json.load(f))


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- our station ↔ our hub ----------------------------------------------------------------
async def test_hub_stores_coherent_values_per_measurand_and_phase():
    async with running_hub(tags={"MV-TAG": "Accepted"}) as hub:
        station = make_station("MV-1", hub.url, StationOptions(
            interval_scale=0.01, seed=1,
            config={"MeterValueSampleInterval": "10", "MeterValuesSampledData": AC_SET}))
        await station.start()
        try:
            await station.plug_in(1, soc=40)
            started = station.expect("tx_started", 1)
            assert await station.present_tag(1, "MV-TAG") == "Started"
            tx_id = (await asyncio.wait_for(started, 5)).data["transaction_id"]
            for _ in range(6):
                await asyncio.wait_for(station.expect("meter", 1), 5)
            await station.present_tag(1, "MV-TAG")
        finally:
            await station.stop()
        rows = hub.store.meter_values(tx_id)

    at: dict[str, dict] = defaultdict(dict)          # timestamp -> (measurand, phase) -> row
    for r in rows:
        at[r["timestamp"]][(r["measurand"], r["phase"])] = r
    assert len(at) >= 6
    for key, unit in UNITS.items():
        assert {r["unit"] for r in rows if r["measurand"] == key} == {unit}
    assert {r["phase"] for r in rows if r["measurand"] == "Current.Import"} == {"L1", "L2", "L3"}
    assert {r["phase"] for r in rows if r["measurand"] == "Voltage"} == {"L1-N", "L2-N", "L3-N"}
    assert {r["location"] for r in rows if r["measurand"] == "SoC"} == {"EV"}

    series = sorted(at.items())
    energy = [float(v[("Energy.Active.Import.Register", None)]["value"]) for _, v in series]
    soc = [float(v[("SoC", None)]["value"]) for _, v in series]
    assert energy == sorted(energy) and energy[-1] > energy[0]
    assert soc == sorted(soc) and soc[0] == 40
    for _, v in series:
        power = float(v[("Power.Active.Import", None)]["value"])
        ui = sum(float(v[("Voltage", f"{p}-N")]["value"]) * float(v[("Current.Import", p)]["value"])
                 for p in ("L1", "L2", "L3"))
        # U rounded to 0.1 V (×16 A), I to 0.01 A (×230 V), P to 0.1 W, per phase
        assert ui == pytest.approx(power, abs=3 * (0.05 * 16 + 0.005 * 235) + 0.1)
        assert float(v[("Power.Offered", None)]["value"]) == 11_000
        assert float(v[("Current.Offered", None)]["value"]) == pytest.approx(15.94, abs=0.01)
    # The register is the integral of the reported power: Σ P·Δt over the samples.
    times = [when(t) for t, _ in series]
    powers = [float(v[("Power.Active.Import", None)]["value"]) for _, v in series]
    integral = sum(p * (t1 - t0).total_seconds() / 3600
                   for p, t0, t1 in zip(powers, times, times[1:]))
    assert energy[-1] - energy[0] == pytest.approx(integral, rel=0.05, abs=0.3)


async def test_hub_stores_clock_aligned_and_stop_transaction_data_with_their_contexts():
    async with running_hub(tags={"MV-TAG": "Accepted"}) as hub:
        station = make_station("MV-2", hub.url, StationOptions(interval_scale=0.01, config={
            "ClockAlignedDataInterval": "10", "MeterValueSampleInterval": "0",
            "MeterValuesAlignedData": "Energy.Active.Import.Register",
            "StopTxnSampledData": "Energy.Active.Import.Register",
            "StopTxnAlignedData": "Energy.Active.Import.Register"}))
        await station.start()
        try:
            await station.plug_in(1)
            started = station.expect("tx_started", 1)
            await station.present_tag(1, "MV-TAG")
            tx_id = (await asyncio.wait_for(started, 5)).data["transaction_id"]
            for _ in range(3):
                await asyncio.wait_for(station.expect(
                    "meter", 1, where=lambda e: e.data["context"] == "Sample.Clock"), 5)
            assert await station.present_tag(1, "MV-TAG") == "Stopped"  # once answered
        finally:
            await station.stop()
        rows = hub.store.meter_values(tx_id)
        tx = hub.store.get_transaction(tx_id)
    contexts = {r["context"] for r in rows}
    assert {"Sample.Clock", "Transaction.Begin", "Transaction.End"} <= contexts
    clock = [when(r["timestamp"]) for r in rows if r["context"] == "Sample.Clock"]
    assert clock and all(t.microsecond % 100_000 == 0 for t in clock)
    [end] = [r for r in rows if r["context"] == "Transaction.End"]
    assert int(float(end["value"])) == tx["meter_stop"]


# -- our station ↔ the ocpp library's CSMS ------------------------------------------------
async def test_configured_measurands_units_and_phases_in_valid_meter_values(csms):
    async with running(csms, config={"MeterValueSampleInterval": "10"}) as st:
        peer = csms.peers["CP1"]
        bad = await peer.call(call.ChangeConfiguration(key="MeterValuesSampledData",
                                                        value="Voltage,Power.Bogus"))
        assert bad.status == "Rejected"
        ok = await peer.call(call.ChangeConfiguration(key="MeterValuesSampledData",
                                                       value=AC_SET + ",Temperature"))
        assert ok.status == "Accepted"
        await st.plug_in(1, soc=30)
        await st.present_tag(1, "T")
        sent = await csms.wait_for("MeterValues", 3)
    for payload in sent:
        validate("MeterValues", payload)
        values = payload["meterValue"][0]["sampledValue"]
        assert {v["context"] for v in values} == {"Sample.Periodic"}
        keys = [(v["measurand"], v.get("phase")) for v in values]
        assert keys == [("Energy.Active.Import.Register", None), ("Power.Active.Import", None),
                        ("Current.Import", "L1"), ("Current.Import", "L2"),
                        ("Current.Import", "L3"), ("Voltage", "L1-N"), ("Voltage", "L2-N"),
                        ("Voltage", "L3-N"), ("Current.Offered", None), ("Power.Offered", None),
                        ("SoC", None), ("Temperature", None)]
        for v in values:
            assert v["unit"] == {**UNITS, "Temperature": "Celsius"}[v["measurand"]]
        soc = next(v for v in values if v["measurand"] == "SoC")
        assert soc["location"] == "EV"


async def test_stop_transaction_carries_stop_txn_sampled_data(csms):
    async with running(csms, config={"MeterValueSampleInterval": "10",
                                     "StopTxnSampledData": "Energy.Active.Import.Register,SoC",
                                     "MeterValuesSampledData": "Power.Active.Import"}) as st:
        await st.plug_in(1, soc=50)
        await st.present_tag(1, "T")
        await csms.wait_for("MeterValues", 2)
        await st.present_tag(1, "T")
        [stop] = await csms.wait_for("StopTransaction")
    validate("StopTransaction", stop)
    data = stop["transactionData"]
    contexts = [mv["sampledValue"][0]["context"] for mv in data]
    assert contexts[0] == "Transaction.Begin" and contexts[-1] == "Transaction.End"
    assert contexts.count("Sample.Periodic") >= 2
    for mv in data:   # the stop set, not the periodic MeterValues set
        assert [v["measurand"] for v in mv["sampledValue"]] == ["Energy.Active.Import.Register",
                                                                "SoC"]
    energy = [float(mv["sampledValue"][0]["value"]) for mv in data]
    assert energy == sorted(energy) and stop["meterStop"] == int(energy[-1])
    # the periodic MeterValues carried their own set
    assert {v["measurand"] for mv in csms.calls("MeterValues")
            for v in mv["meterValue"][0]["sampledValue"]} == {"Power.Active.Import"}


async def test_clock_aligned_values_fall_on_the_boundaries(csms):
    async with running(csms, config={"ClockAlignedDataInterval": "10",   # 0.1 s here
                                     "MeterValuesAlignedData": "Energy.Active.Import.Register",
                                     "StopTxnAlignedData": "Energy.Active.Import.Register",
                                     "MeterValueSampleInterval": "0"}) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        await csms.wait_for("MeterValues", 4, where=lambda p: "transactionId" in p)
        await st.present_tag(1, "T")
        [stop] = await csms.wait_for("StopTransaction")
    sent = csms.calls("MeterValues")
    stamps = []
    for payload in sent:
        validate("MeterValues", payload)
        [mv] = payload["meterValue"]
        assert mv["sampledValue"][0]["context"] == "Sample.Clock"
        stamps.append(when(mv["timestamp"]))
    # each on a whole multiple of 100 ms, each boundary once, in order
    assert all(t.microsecond % 100_000 == 0 for t in stamps), stamps
    assert stamps == sorted(set(stamps))
    clock_data = [mv for mv in stop["transactionData"]
                  if mv["sampledValue"][0]["context"] == "Sample.Clock"]
    assert clock_data and all(when(mv["timestamp"]).microsecond % 100_000 == 0
                              for mv in clock_data)


async def test_dc_station_reports_pack_values_without_phases(csms):
    async with running(csms, current_type="DC", max_power_w=50_000, ev_dc_max_w=50_000,
                       ev_capacity_wh=40_000,
                       config={"MeterValueSampleInterval": "10",
                               "MeterValuesSampledData":
                                   "Power.Active.Import,Current.Import,Voltage,SoC"}) as st:
        await st.plug_in(1, soc=85)
        await st.present_tag(1, "T")
        sent = await csms.wait_for("MeterValues", 2)
    for payload in sent:
        validate("MeterValues", payload)
        values = {v["measurand"]: v for v in payload["meterValue"][0]["sampledValue"]}
        assert all("phase" not in v for v in values.values())
        volts, amps = float(values["Voltage"]["value"]), float(values["Current.Import"]["value"])
        power = float(values["Power.Active.Import"]["value"])
        assert 360 <= volts <= 420
        # U is rounded to 0.1 V, I to 0.01 A, P to 0.1 W
        assert volts * amps == pytest.approx(power, abs=0.05 * amps + 0.005 * volts + 0.1)
        # above 80 % SoC the EV asks for less than the 50 kW on offer
        assert power < 50_000 * 0.8
        assert values["SoC"]["location"] == "EV"
