"""Field quirks the station emits on purpose, against our hub in strict mode (the spec's
CALLERROR) and lenient mode (repaired, logged, stored)."""
from __future__ import annotations

import asyncio
import logging

import orjson
import pytest

from simulator.dialects.quirks import QUIRKS, QuirkSet
from simulator.session import CallErrorReceived
from simulator.station import ConnectFailed, Station, StationOptions
from simulator.station.meter import Sample
from simulator.station.transaction import MeterSnapshot
from simulator.station.clock import utc_now
from simulator.dialects import make_station
from tests.hub_helpers import running_hub
from tests.ocpp_lib_csms import csms, running  # noqa: F401  (fixture)

FAST = dict(interval_scale=0.01, boot_retry_min=0.01, reconnect_min=0.05, call_timeout=5)


def quirky(station: Station, *names: str) -> None:
    """Switch quirks on after the (correct) boot, so each test sees one message misbehave."""
    station.dialect.link.quirks = QuirkSet(names)


def snapshot() -> list[MeterSnapshot]:
    return [MeterSnapshot(utc_now(), "Sample.Periodic",
                          [Sample("Energy.Active.Import.Register", "604.2", "Wh", location="Outlet")])]


class Recorder:
    def __init__(self, station: Station):
        self.out: list[list] = []
        station.taps.append(self)

    def __call__(self, frame):
        if frame.direction == "out":
            self.out.append(orjson.loads(frame.raw))

    def calls(self, action: str) -> list[dict]:
        return [f[3] for f in self.out if f[0] == 2 and f[2] == action]


async def started(hub, station_id: str, **kw) -> Station:
    station = make_station(station_id, hub.url, StationOptions(**{**FAST, **kw}))
    await station.start(timeout=5)
    return station


# -- the transforms themselves --------------------------------------------------------------

def test_unknown_quirk_is_named():
    with pytest.raises(ValueError, match="unknown quirk.*'sloppy'"):
        QuirkSet(["sloppy"])
    with pytest.raises(ValueError, match="sloppy"):
        make_station("Q", "ws://127.0.0.1:1/ocpp", StationOptions(quirks=["sloppy"]))


def test_transforms_change_the_wire_copy_only():
    payload = {"connectorId": 1, "meterValue": [{"timestamp": "2026-01-02T03:04:05.000Z",
                                                 "sampledValue": [{"value": "604.2", "unit": "Wh"}]}]}
    q = QuirkSet(["number_values", "enum_case", "timestamp_short_offset", "action_case"])
    action, wire = q.outbound("MeterValues", payload)
    assert action == "meterValues"
    assert wire["meterValue"][0] == {"timestamp": "2026-01-02T03:04:05.000+00",
                                     "sampledValue": [{"value": 604.2, "unit": "wh"}]}
    assert payload["meterValue"][0]["sampledValue"][0] == {"value": "604.2", "unit": "Wh"}
    assert QuirkSet(["action_case"]).outbound("Heartbeat", {})[0] == "HeartBeat"
    assert QuirkSet(["timestamp_plus_zero"]).outbound(
        "StatusNotification", {"timestamp": "2026-01-02T03:04:05.000Z"})[1] == {
        "timestamp": "2026-01-02T03:04:05.000+00:00"}
    assert QuirkSet(["timestamp_no_offset"]).outbound(
        "StartTransaction", {"timestamp": "2026-01-02T03:04:05.000Z"})[1] == {
        "timestamp": "2026-01-02T03:04:05.000"}
    # a serial that is not a number stays a string
    assert QuirkSet(["number_serial"]).outbound(
        "BootNotification", {"chargePointSerialNumber": "SN-1"})[1] == {"chargePointSerialNumber": "SN-1"}
    assert set(QUIRKS) >= {"concurrent_calls", "no_subprotocol", "error_code_out_of_spec",
                           "empty_sampled_value"}


# -- strict: the spec's CALLERROR; lenient: repaired and logged -------------------------------

async def send_meter_values(station: Station) -> None:
    await station.dialect.meter_values(1, None, snapshot())


async def send_status(station: Station) -> None:
    await station.dialect.status_notification(station.connectors[1])


async def send_boot(station: Station) -> None:
    await station.dialect.boot()


CASES = [
    # quirk, send, strict error code, what lenient mode's log says
    ("number_values", send_meter_values, "TypeConstraintViolation", "number 604.2 given where a string"),
    ("number_serial", send_boot, "TypeConstraintViolation", "number 12345678 given where a string"),
    ("timestamp_no_offset", send_status, "PropertyConstraintViolation", "has no offset, read as UTC"),
    ("timestamp_short_offset", send_meter_values, "PropertyConstraintViolation", "short offset"),
    ("enum_case", send_status, "PropertyConstraintViolation", "'available' read as 'Available'"),
    ("enum_case", send_meter_values, "PropertyConstraintViolation", "'wh' read as 'Wh'"),
]


@pytest.mark.parametrize("quirk,send,code,_", CASES, ids=[f"{c[0]}-{c[1].__name__}" for c in CASES])
async def test_strict_hub_answers_the_specs_callerror(quirk, send, code, _):
    async with running_hub() as hub:
        station = await started(hub, "Q-STRICT", serial_number="12345678")
        try:
            quirky(station, quirk)
            with pytest.raises(CallErrorReceived) as err:
                await send(station)
            assert err.value.error.code_text == code
        finally:
            await station.stop()


@pytest.mark.parametrize("quirk,send,_,repair", CASES, ids=[f"{c[0]}-{c[1].__name__}" for c in CASES])
async def test_lenient_hub_repairs_and_logs(quirk, send, _, repair, caplog):
    async with running_hub(mode="lenient") as hub:
        station = await started(hub, "Q-LENIENT", serial_number="12345678")
        try:
            quirky(station, quirk)
            caplog.clear()
            with caplog.at_level(logging.WARNING):
                await send(station)
            assert any(repair in r.getMessage() for r in caplog.records), caplog.text
        finally:
            await station.stop()


async def test_lenient_hub_stores_the_repaired_values():
    async with running_hub(mode="lenient") as hub:
        station = await started(hub, "Q-STORE", serial_number="12345678")
        try:
            quirky(station, "number_values", "enum_case", "timestamp_no_offset", "number_serial")
            await send_meter_values(station)
            await send_status(station)
            await send_boot(station)
            rows = hub.store.meter_values(station_id="Q-STORE")
            assert [(float(r["value"]), r["unit"]) for r in rows] == [(604.2, "Wh")]
            assert hub.manager.stations["Q-STORE"].connectors[1].status == "Available"
            assert hub.store.get_station("Q-STORE")["serial"] == "12345678"
        finally:
            await station.stop()


async def test_action_name_case_strict_not_implemented_lenient_canonical():
    async with running_hub() as hub:
        station = await started(hub, "Q-ACT")
        try:
            quirky(station, "action_case")
            with pytest.raises(CallErrorReceived) as err:
                await station.dialect.heartbeat()
            assert err.value.error.code_text == "NotImplemented"
            assert "HeartBeat" in err.value.error.description
        finally:
            await station.stop()
    async with running_hub(mode="lenient") as hub:
        station = await started(hub, "Q-ACT")
        try:
            rec = Recorder(station)
            quirky(station, "action_case")
            assert await station.dialect.heartbeat() is not None   # the hub's currentTime
            assert rec.out[-1][2] == "HeartBeat"
        finally:
            await station.stop()


async def test_plus_zero_offset_is_valid_in_both_modes():
    for mode in ("strict", "lenient"):
        async with running_hub(mode=mode) as hub:
            station = await started(hub, "Q-PLUS")
            try:
                rec = Recorder(station)
                quirky(station, "timestamp_plus_zero")
                await send_status(station)
                assert rec.calls("StatusNotification")[-1]["timestamp"].endswith("+00:00")
            finally:
                await station.stop()


async def test_empty_samples_and_out_of_spec_error_code_strict_callerror():
    async with running_hub() as hub:
        station = await started(hub, "Q-BAD")
        try:
            quirky(station, "empty_sampled_value", "error_code_out_of_spec")
            with pytest.raises(CallErrorReceived) as err:
                await send_meter_values(station)
            assert err.value.error.code_text == "OccurenceConstraintViolation"  # 1.6 spelling
            station.connectors[1].error_code = "GroundFailure"
            with pytest.raises(CallErrorReceived) as err:
                await send_status(station)
            assert err.value.error.code_text == "PropertyConstraintViolation"
            assert "errorCode" in err.value.error.description
            station.connectors[1].error_code = "NoError"   # no fault: the quirk stays silent
            await send_status(station)
        finally:
            await station.stop()


async def test_empty_samples_and_out_of_spec_error_code_lenient_repaired(caplog):
    # lenient mode takes an empty sampledValue list as a reading with no samples and an
    # errorCode outside the enum as the spec's catch-all 'OtherError', and says so
    async with running_hub(mode="lenient") as hub:
        station = await started(hub, "Q-BAD")
        try:
            quirky(station, "empty_sampled_value", "error_code_out_of_spec")
            with caplog.at_level(logging.WARNING):
                await send_meter_values(station)
                station.connectors[1].error_code = "GroundFailure"
                await send_status(station)
            assert "sampledValue: empty list accepted" in caplog.text
            assert "error code 'Error' is not in the spec, read as 'OtherError'" in caplog.text
        finally:
            await station.stop()


@pytest.mark.parametrize("mode", ["strict", "lenient"])
async def test_concurrent_calls_are_each_answered(mode):
    async with running_hub(mode=mode) as hub:
        station = await started(hub, "Q-CONC")
        try:
            events: list[tuple[str, int]] = []   # ("out"/"in", message type) in wire order
            station.taps.append(lambda f: events.append((f.direction, orjson.loads(f.raw)[0])))
            quirky(station, "concurrent_calls")
            results = await asyncio.gather(
                station.dialect.heartbeat(), send_status(station), send_meter_values(station),
                station.dialect.heartbeat())
            assert results[0] is not None and results[3] is not None
            # all four CALLs were on the wire before the first reply came back
            first_reply = events.index(("in", 3))
            assert events[:first_reply].count(("out", 2)) == 4
            assert events.count(("in", 3)) == 4
            # the hub got and processed each one
            assert hub.store.meter_values(station_id="Q-CONC")
        finally:
            await station.stop()


async def test_no_subprotocol_refused_unless_the_hub_has_a_fallback():
    async with running_hub() as hub:
        station = make_station("Q-NOSUB", hub.url, StationOptions(quirks=["no_subprotocol"], **FAST))
        with pytest.raises(ConnectFailed, match="400"):
            await station.start(timeout=5)
    async with running_hub(fallback_version="ocpp1.6", mode="lenient") as hub:
        station = make_station("Q-NOSUB", hub.url, StationOptions(quirks=["no_subprotocol"], **FAST))
        await station.start(timeout=5)
        try:
            assert station.session.connection.subprotocol is None
            assert hub.manager.stations["Q-NOSUB"].registration == "Accepted"
        finally:
            await station.stop()


async def test_quirky_template_station_boots_and_charges_against_a_lenient_hub(caplog):
    from simulator.templates.loader import load_template
    options = load_template("legacy-quirky", n=7)
    async with running_hub(mode="lenient", tags={"OLD-TAG": "Accepted"}) as hub:
        station = make_station("Q-LEGACY", hub.url, options, **FAST)
        rec = Recorder(station)
        with caplog.at_level(logging.WARNING):
            await station.start(timeout=5)
        try:
            boot = rec.calls("bootNotification")[0]
            assert boot["chargePointSerialNumber"] == 7                     # a number on the wire
            # ... read back as text; its leading zeros are lost, as with such chargers in the field
            assert hub.store.get_station("Q-LEGACY")["serial"] == "7"
            await station.plug_in(1)
            started_ev = station.expect("tx_started", 1)
            assert await station.present_tag(1, "OLD-TAG") == "Started"
            await asyncio.wait_for(started_ev, 5)
            start = rec.calls("startTransaction")[0]
            assert not start["timestamp"].endswith("Z")
            assert any("read as UTC" in r.getMessage() for r in caplog.records)
        finally:
            await station.stop()
    async with running_hub() as hub:   # strict: the quirky boot is refused, never accepted
        station = make_station("Q-LEGACY", hub.url, options, **FAST)
        with pytest.raises(Exception, match="not accepted"):
            await station.start(timeout=0.5)


async def test_the_ocpp_library_csms_refuses_quirks_too(csms):  # noqa: F811
    # the independent peer (the `ocpp` library's ChargePoint) judges the same payloads
    async with running(csms, "Q-LIB") as station:
        quirky(station, "number_values")
        with pytest.raises(CallErrorReceived) as err:
            await send_meter_values(station)
        assert err.value.error.code_text == "TypeConstraintViolation"
        quirky(station, "timestamp_plus_zero")
        await send_status(station)                     # valid: '+00:00' is a full offset
        assert csms.calls("StatusNotification")[-1]["timestamp"].endswith("+00:00")
