"""Property-based fuzzing of the hub's OCPP 1.6 side, in process: random frames (schema-valid
CP-initiated CALLs, the same broken field by field, garbage bytes, replies to nothing,
duplicate ids) go through the hub's own session, adapter and manager over an in-memory
connection (the server's handshake and websocket layer are tested elsewhere).

For every input: each CALL with a readable id gets exactly one answer with that id (a
duplicate id in use gets ProtocolError); a frame without a readable id gets none; a reply to
nothing gets none; no answer is InternalError (an unhandled exception in the hub); and a
second station on the same hub is unaffected (its messages answered, its state unchanged).
"""
from __future__ import annotations

import asyncio

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub_under_test import Hub, HubConfig
from hub_under_test.adapters.ocpp16j import Ocpp16Adapter
from simulator.protocol import V16, validate
from simulator.protocol.catalog import CHARGE_POINT, CSMS, catalog
from simulator.protocol.codec import Call, decode
from simulator.protocol.errors import ErrorCode, ProtocolViolation, spell_error_code
from simulator.session import Session
from simulator.transport.memory import pipe

from tests.fuzz_strategies import count, mutated, raw_bytes, valid_payload

CP_ACTIONS = sorted(a for a, spec in catalog(V16).actions.items() if CHARGE_POINT in spec.initiators)
CODES_16 = {spell_error_code(c, V16) for c in ErrorCode}
IDS = ["a", "b", "c", "d"]
RECYCLE = 2000   # runs per hub
NOW = "2026-01-01T00:00:00.000Z"


def _frame(action_and_payload, uid):
    action, payload = action_and_payload
    return orjson.dumps([2, uid, action, payload])


call_frames = st.builds(
    _frame,
    st.sampled_from(CP_ACTIONS).flatmap(
        lambda a: st.tuples(st.just(a), mutated(valid_payload(V16, a)) | valid_payload(V16, a))),
    st.sampled_from(IDS))
odd_calls = st.builds(
    lambda action, payload, uid: orjson.dumps([2, uid, action, payload]),
    st.sampled_from(["heartbeat", "HeartBeat", "Reset", "RemoteStartTransaction", "Nope", "",
                     "bootNotification"]),
    st.sampled_from([{}, {"type": "Soft"}, {"x": 1}]), st.sampled_from(IDS))
replies = st.builds(lambda uid, kind: orjson.dumps([kind, uid, {}] if kind == 3 else
                                                   [4, uid, "GenericError", "", {}]),
                    st.sampled_from(IDS + ["zz"]), st.sampled_from([3, 4]))
frames = st.lists(call_frames | odd_calls | replies | raw_bytes(), min_size=1, max_size=8)


class _HubHarness:
    """One hub per mode on a loop of its own, and a bystander station connected to it."""

    def __init__(self, mode: str):
        self.loop = asyncio.new_event_loop()
        self.n = 0
        self.mode, self.runs = mode, 0
        self._start_hub()

    def _start_hub(self) -> None:
        self.hub = Hub(HubConfig(port=0, api_port=None, ping_interval=None, mode=self.mode,
                                 frames_kept=0))
        self.loop.run_until_complete(self.hub.start())
        self.calm = self.loop.run_until_complete(self._connect("CALM"))
        self.loop.run_until_complete(self._exchange(self.calm, [
            orjson.dumps([2, "boot", "BootNotification", {"chargePointVendor": "V",
                                                          "chargePointModel": "M"}]),
            orjson.dumps([2, "st", "StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                                          "status": "Available"}])]))

    async def _connect(self, station_id: str):
        hub_end, station_end = pipe()
        adapter = Ocpp16Adapter(station_id, self.hub.manager)
        session = Session(hub_end, version=V16, role=CSMS, handler=adapter.handle,
                          name=station_id, mode=self.hub.config.mode, call_timeout=2)
        adapter.attach(session)
        self.hub.manager.connected(station_id, V16, "in-process")
        task = asyncio.get_running_loop().create_task(session.run())
        return station_end, task

    async def _exchange(self, station, raws: list[bytes]) -> list[list]:
        end, task = station
        self.n += 1
        sentinel = f"sentinel-{self.n}"
        for raw in raws:
            await end.send(raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes)
                           and not _is_utf8(raw) else raw.decode() if isinstance(raw, bytes) else raw)
        await end.send(orjson.dumps([2, sentinel, "Heartbeat", {}]).decode())
        answers = []
        while True:
            frame = orjson.loads(await asyncio.wait_for(end.recv(), 10))
            answers.append(frame)
            if frame[1] == sentinel:
                break
        for _ in range(5):   # CALLERRORs for rejected frames go out from small tasks
            await asyncio.sleep(0)
        while not end._inbox.empty():
            answers.append(orjson.loads(end._inbox.get_nowait()))
        assert not task.done(), "the hub's session for this station ended"
        return [a for a in answers if a[1] != sentinel]

    def run(self, raws: list[bytes]) -> list[list]:
        self.runs += 1
        if self.runs % RECYCLE == 0:   # a long run: a fresh hub, so its store does not grow
            self.recycle()
        station = self.loop.run_until_complete(self._connect("FUZZ"))
        try:
            return self.loop.run_until_complete(self._exchange(station, raws))
        finally:
            self.loop.run_until_complete(station[0].close())
            self.loop.run_until_complete(station[1])

    def recycle(self) -> None:
        self.loop.run_until_complete(self.calm[0].close())
        self.loop.run_until_complete(self.hub.stop())
        self._start_hub()

    def bystander_ok(self) -> None:
        answers = self.loop.run_until_complete(self._exchange(self.calm, [
            orjson.dumps([2, "hb", "Heartbeat", {}])]))
        assert [a[:2] for a in answers] == [[3, "hb"]]
        st_ = self.hub.manager.stations["CALM"]
        assert st_.connectors[1].status == "Available"


_HARNESS: dict[str, _HubHarness] = {}


def harness(mode: str) -> _HubHarness:
    if mode not in _HARNESS:
        _HARNESS[mode] = _HubHarness(mode)
    return _HARNESS[mode]


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
        return True
    except UnicodeDecodeError:
        return False


def expected_answers(raws: list[bytes]) -> dict[str, int]:
    """How many answers each unique id must get."""
    want: dict[str, int] = {}
    for raw in raws:
        text = raw.decode("utf-8", "surrogateescape") if not _is_utf8(raw) else raw.decode()
        try:
            message = decode(text)
        except ProtocolViolation as e:
            if e.unique_id is not None:
                want[e.unique_id] = want.get(e.unique_id, 0) + 1
            continue
        if type(message) is Call:
            want[message.unique_id] = want.get(message.unique_id, 0) + 1
    return want


def check_hub(mode: str, raws: list[bytes]) -> None:
    h = harness(mode)
    answers = h.run(raws)
    got: dict[str, int] = {}
    for answer in answers:
        assert answer[0] in (3, 4), answer
        got[answer[1]] = got.get(answer[1], 0) + 1
        if answer[0] == 4:
            assert answer[2] in CODES_16, answer
            assert answer[2] != "InternalError", answer     # an unhandled exception in the hub
    assert got == expected_answers(raws), answers
    h.bystander_ok()


@pytest.mark.parametrize("mode", ["strict", "lenient"])
@given(frames)
def test_fuzz_hub_16_frames(mode, raws):
    count(f"hub 1.6 ({mode}): frame batches")
    count(f"hub 1.6 ({mode}): frames", len(raws))
    check_hub(mode, raws)


def teardown_module():
    for h in _HARNESS.values():
        h.loop.run_until_complete(h.calm[0].close())
        h.loop.run_until_complete(h.hub.stop())
        h.loop.close()
    _HARNESS.clear()
