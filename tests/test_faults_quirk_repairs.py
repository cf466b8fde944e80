"""Field quirks the hub used to refuse even in lenient mode: booleans sent as strings, an
out-of-spec errorCode, an empty sampledValue list, and a frame with a number JSON cannot
hold (`1e400`).  Lenient mode repairs each and reports it; strict mode answers the spec's
CALLERROR (or, for a reply, reports the invalid response with the spec's code)."""
from __future__ import annotations

import asyncio
import logging

import pytest

from simulator.protocol import LENIENT, STRICT, V16, ErrorCode, OcppError, validate
from simulator.protocol.codec import decode
from simulator.protocol.errors import ProtocolViolation
from simulator.protocol.rpc import FrameRejected, RpcCore
from tests.hub_helpers import Api, exchange, now, raw_station, running_hub

import orjson

GET_CONFIG_REPLY = {"configurationKey": [{"key": "HeartbeatInterval", "readonly": "true",
                                          "value": "300"},
                                         {"key": "MeterValueSampleInterval", "readonly": "False"}]}
FAULTED = {"connectorId": 1, "errorCode": "Error", "status": "Faulted", "timestamp": now()}
EMPTY_SAMPLES = {"connectorId": 1, "meterValue": [{"timestamp": now(), "sampledValue": []}]}


@pytest.fixture(autouse=True)
def _hub_logs_reach_caplog(monkeypatch):
    """The hub's log reaches caplog even after a driver test routed it elsewhere
    (simulator.run_options.configure_hub_log turns its propagation off for the process)."""
    monkeypatch.setattr(logging.getLogger("hub_under_test"), "propagate", True)


# -- the validator itself ----------------------------------------------------------------------

def test_boolean_strings_are_read_as_booleans_in_lenient_mode():
    payload, repairs = validate(V16, "GetConfiguration", "response", GET_CONFIG_REPLY, LENIENT)
    assert [k["readonly"] for k in payload["configurationKey"]] == [True, False]
    assert repairs == ["configurationKey[0].readonly: boolean string 'true' read as true",
                       "configurationKey[1].readonly: boolean string 'False' read as false"]
    with pytest.raises(OcppError) as err:
        validate(V16, "GetConfiguration", "response", GET_CONFIG_REPLY, STRICT)
    assert err.value.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    assert "configurationKey[0].readonly" in err.value.description


def test_a_string_that_is_no_boolean_is_not_guessed():
    reply = {"configurationKey": [{"key": "A", "readonly": "yes"}]}
    with pytest.raises(OcppError) as err:
        validate(V16, "GetConfiguration", "response", reply, LENIENT)
    assert err.value.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION


def test_out_of_spec_error_code_is_read_as_other_error_in_lenient_mode():
    payload, repairs = validate(V16, "StatusNotification", "request", FAULTED, LENIENT)
    assert payload["errorCode"] == "OtherError"
    assert repairs == ["errorCode: error code 'Error' is not in the spec, read as 'OtherError'"]
    # the case repair still wins where it applies
    assert validate(V16, "StatusNotification", "request", {**FAULTED, "errorCode": "groundfailure"},
                    LENIENT)[0]["errorCode"] == "GroundFailure"
    with pytest.raises(OcppError) as err:
        validate(V16, "StatusNotification", "request", FAULTED, STRICT)
    assert err.value.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION


def test_other_enums_are_not_mapped_to_a_catch_all():
    with pytest.raises(OcppError) as err:
        validate(V16, "StatusNotification", "request", {**FAULTED, "status": "Broken"}, LENIENT)
    assert err.value.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION


def test_an_empty_sampled_value_list_is_accepted_and_reported_in_lenient_mode():
    payload, repairs = validate(V16, "MeterValues", "request", EMPTY_SAMPLES, LENIENT)
    assert payload["meterValue"][0]["sampledValue"] == []
    assert repairs == ["meterValue[0].sampledValue: empty list accepted (a meter value with no samples)"]
    with pytest.raises(OcppError) as err:
        validate(V16, "MeterValues", "request", EMPTY_SAMPLES, STRICT)
    assert err.value.code is ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
    # only sampledValue is relaxed: no meter value at all is still refused
    with pytest.raises(OcppError) as err:
        validate(V16, "MeterValues", "request", {"connectorId": 1, "meterValue": []}, LENIENT)
    assert err.value.code is ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION


# -- a number out of range: the id is readable, so a CALLERROR goes back ----------------------

@pytest.mark.parametrize("frame", [
    '[2,"big-1","MeterValues",{"connectorId":1e400,"meterValue":[]}]',
    '[2,"big-1","Heartbeat",{"x":-1e400}]',
    '[2,"big-1","Heartbeat",{"x":NaN}]',
    b'[2,"big-1","Heartbeat",{"x":Infinity}]',
])
def test_an_unrepresentable_number_gets_a_callerror_when_the_id_is_readable(frame):
    with pytest.raises(ProtocolViolation) as err:
        decode(frame)
    assert err.value.unique_id == "big-1"
    event = RpcCore(V16, "CSMS").receive(frame)
    assert type(event) is FrameRejected
    reply = orjson.loads(event.reply)
    assert reply[:3] == [4, "big-1", "FormationViolation"]
    assert "not valid JSON" in reply[3]


@pytest.mark.parametrize("frame", [
    '[3,"big-1",{"x":1e400}]',            # a reply cannot be answered
    '[2,7,"Heartbeat",{"x":1e400}]',      # no readable id
    '{"x":1e400}',
    '[2,"' + "i" * 37 + '","Heartbeat",{"x":1e400}]',
    '[' * 5000 + ']' * 5000,
])
def test_no_callerror_without_a_readable_call_id(frame):
    event = RpcCore(V16, "CSMS").receive(frame)
    assert type(event) is FrameRejected and event.reply is None


# -- through the hub ---------------------------------------------------------------------------

async def _boot(ws) -> None:
    reply = await exchange(ws, [2, "boot", "BootNotification",
                                {"chargePointVendor": "Acme", "chargePointModel": "Q"}])
    assert reply[2]["status"] == "Accepted"


async def _get_configuration(hub, station_id: str, ws) -> tuple[int, dict]:
    """Ask the hub's command API for GetConfiguration; answer it with readonly as strings."""
    async with Api(hub) as api:
        request = asyncio.create_task(api.post(f"/stations/{station_id}/commands/GetConfiguration",
                                               {}))
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert frame[2] == "GetConfiguration"
        await ws.send(orjson.dumps([3, frame[1], GET_CONFIG_REPLY]).decode())
        return await asyncio.wait_for(request, 5)


async def test_lenient_hub_command_api_reads_boolean_strings(caplog):
    async with running_hub(mode="lenient") as hub:
        async with raw_station(hub, "Q-BOOL") as ws:
            await _boot(ws)
            with caplog.at_level(logging.WARNING):
                status, body = await _get_configuration(hub, "Q-BOOL", ws)
            assert status == 200, body
            assert [k["readonly"] for k in body["response"]["configurationKey"]] == [True, False]
            assert "boolean string 'true' read as true" in caplog.text


async def test_strict_hub_command_api_names_the_invalid_boolean():
    async with running_hub() as hub:
        async with raw_station(hub, "Q-BOOL") as ws:
            await _boot(ws)
            status, body = await _get_configuration(hub, "Q-BOOL", ws)
            assert status == 502
            assert body["status"] == "invalid_response"
            assert body["code"] == "TypeConstraintViolation"
            assert "readonly" in body["description"]


@pytest.mark.parametrize("mode", ["strict", "lenient"])
async def test_hub_answers_a_frame_with_1e400(mode):
    async with running_hub(mode=mode) as hub:
        async with raw_station(hub, "Q-BIG") as ws:
            await _boot(ws)
            reply = await exchange(ws, '[2,"hb-1","Heartbeat",{"x":1e400}]')
            assert reply[:3] == [4, "hb-1", "FormationViolation"]
            # the connection is still good
            assert (await exchange(ws, [2, "hb-2", "Heartbeat", {}]))[:2] == [3, "hb-2"]


async def test_lenient_hub_stores_the_repaired_status_and_meter_values(caplog):
    async with running_hub(mode="lenient") as hub:
        async with raw_station(hub, "Q-REP") as ws:
            await _boot(ws)
            with caplog.at_level(logging.WARNING):
                assert (await exchange(ws, [2, "s1", "StatusNotification", FAULTED]))[0] == 3
                assert (await exchange(ws, [2, "m1", "MeterValues", EMPTY_SAMPLES]))[0] == 3
            assert hub.manager.stations["Q-REP"].connectors[1].status == "Faulted"
            assert "read as 'OtherError'" in caplog.text
            assert "sampledValue: empty list accepted" in caplog.text
            async with Api(hub) as api:
                _, frames = await api.get("/stations/Q-REP/frames")
            repaired = [f for f in (frames if isinstance(frames, list) else frames["frames"])
                        if f.get("repairs")]
            assert len(repaired) == 2, repaired


async def test_strict_hub_answers_the_specs_callerror_for_each_quirk():
    async with running_hub() as hub:
        async with raw_station(hub, "Q-STR") as ws:
            await _boot(ws)
            assert (await exchange(ws, [2, "s1", "StatusNotification", FAULTED]))[:3] == \
                [4, "s1", "PropertyConstraintViolation"]
            assert (await exchange(ws, [2, "m1", "MeterValues", EMPTY_SAMPLES]))[:3] == \
                [4, "m1", "OccurenceConstraintViolation"]
