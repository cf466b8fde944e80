"""Property-based fuzzing of the hub's OCPP 2.0.1 side, in process, as tests/test_fuzz_hub.py
does for 1.6: random frames (schema-valid CS-initiated CALLs, the same broken field by
field, odd action names, garbage bytes, replies to nothing, duplicate ids) go through the
hub's own session, 2.0.1 adapter and manager over an in-memory connection.

For every input: each CALL with a readable id gets exactly one answer with that id; a frame
without a readable id gets none; a reply to nothing gets none; no answer is InternalError;
and a second 2.0.1 station on the same hub is unaffected (answered, its state unchanged).
"""
from __future__ import annotations

import asyncio

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub_under_test import Hub, HubConfig
from hub_under_test.adapters.ocpp201 import Ocpp201Adapter
from simulator.protocol import V201
from simulator.protocol.catalog import CHARGE_POINT, CSMS, catalog
from simulator.protocol.errors import ErrorCode, spell_error_code
from simulator.session import Session
from simulator.transport.memory import pipe

from tests import test_fuzz_hub as base
from tests.fuzz_strategies import count, mutated, raw_bytes, valid_payload

CS_ACTIONS = sorted(a for a, spec in catalog(V201).actions.items()
                    if CHARGE_POINT in spec.initiators)
CODES_201 = {spell_error_code(c, V201) for c in ErrorCode}
IDS = base.IDS
NOW = "2026-01-01T00:00:00.000Z"

call_frames = st.builds(
    lambda ap, uid: orjson.dumps([2, uid, ap[0], ap[1]]),
    st.sampled_from(CS_ACTIONS).flatmap(
        lambda a: st.tuples(st.just(a), mutated(valid_payload(V201, a)) | valid_payload(V201, a))),
    st.sampled_from(IDS))
odd_calls = st.builds(
    lambda action, payload, uid: orjson.dumps([2, uid, action, payload]),
    st.sampled_from(["heartbeat", "HeartBeat", "RequestStartTransaction", "StartTransaction",
                     "Nope", "", "bootNotification", "TransactionEvent"]),
    st.sampled_from([{}, {"reason": "PowerUp"}, {"x": 1}]), st.sampled_from(IDS))
frames = st.lists(call_frames | odd_calls | base.replies | raw_bytes(), min_size=1, max_size=8)


class _Hub201Harness(base._HubHarness):
    """The 1.6 harness with 2.0.1 stations: the same hub, session and checks."""

    def _start_hub(self) -> None:
        self.hub = Hub(HubConfig(port=0, api_port=None, ping_interval=None, mode=self.mode,
                                 frames_kept=0))
        self.loop.run_until_complete(self.hub.start())
        self.calm = self.loop.run_until_complete(self._connect("CALM"))
        answers = self.loop.run_until_complete(self._exchange(self.calm, [
            orjson.dumps([2, "boot", "BootNotification", {
                "reason": "PowerUp", "chargingStation": {"vendorName": "V", "model": "M"}}]),
            orjson.dumps([2, "st", "StatusNotification", {
                "timestamp": NOW, "connectorStatus": "Available", "evseId": 1,
                "connectorId": 1}])]))
        assert [a[:2] for a in answers] == [[3, "boot"], [3, "st"]], answers
        self.calm_state = repr(self.hub.manager.stations["CALM"].connectors)

    async def _connect(self, station_id: str):
        hub_end, station_end = pipe()
        adapter = Ocpp201Adapter(station_id, self.hub.manager)
        session = Session(hub_end, version=V201, role=CSMS, handler=adapter.handle,
                          name=station_id, mode=self.hub.config.mode, call_timeout=2)
        adapter.attach(session)
        self.hub.manager.connected(station_id, V201, "in-process")
        task = asyncio.get_running_loop().create_task(session.run())
        return station_end, task

    def bystander_ok(self) -> None:
        answers = self.loop.run_until_complete(self._exchange(self.calm, [
            orjson.dumps([2, "hb", "Heartbeat", {}])]))
        assert [a[:2] for a in answers] == [[3, "hb"]]
        assert repr(self.hub.manager.stations["CALM"].connectors) == self.calm_state


_HARNESS: dict[str, _Hub201Harness] = {}


def check_hub(mode: str, raws: list[bytes]) -> None:
    if mode not in _HARNESS:
        _HARNESS[mode] = _Hub201Harness(mode)
    h = _HARNESS[mode]
    answers = h.run(raws)
    got: dict[str, int] = {}
    for answer in answers:
        assert answer[0] in (3, 4), answer
        got[answer[1]] = got.get(answer[1], 0) + 1
        if answer[0] == 4:
            assert answer[2] in CODES_201, answer
            assert answer[2] != "InternalError", answer     # an unhandled exception in the hub
    assert got == base.expected_answers(raws), answers
    h.bystander_ok()


@pytest.mark.parametrize("mode", ["strict", "lenient"])
@given(frames)
def test_fuzz_hub_201_frames(mode, raws):
    count(f"hub 2.0.1 ({mode}): frame batches")
    count(f"hub 2.0.1 ({mode}): frames", len(raws))
    check_hub(mode, raws)


def teardown_module():
    for h in _HARNESS.values():
        h.loop.run_until_complete(h.calm[0].close())
        h.loop.run_until_complete(h.hub.stop())
        h.loop.close()
    _HARNESS.clear()


def test_a_meter_value_out_of_range_is_a_constraint_violation_not_a_crash():
    # found by the property above: multiplier 309 overflowed a float (InternalError before)
    raw = orjson.dumps([2, "a", "MeterValues", {"evseId": 1, "meterValue": [{
        "timestamp": NOW, "sampledValue": [{"value": 1.0, "unitOfMeasure": {"multiplier": 309}}]}]}])
    check_hub("strict", [raw])
    [answer] = _HARNESS["strict"].run([raw])
    assert answer[:3] == [4, "a", "PropertyConstraintViolation"] and "out of range" in answer[3]
