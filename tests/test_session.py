"""The RPC session: correlation, timeouts, ordering, inbound dispatch, CALLERRORs, taps.

Two Sessions are joined by an in-memory pipe, or one Session faces a raw MemoryConnection
through which the test plays the peer frame by frame.
"""
from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from simulator.protocol import (CHARGE_POINT, CSMS, LENIENT, STRICT, V16, V201, ErrorCode,
                                OcppError)
from simulator.session import (CallErrorReceived, CallTimeout, Frame, InvalidResponse, Session,
                               SessionClosed)
from simulator.transport.memory import MemoryConnection, pipe

pytestmark = pytest.mark.timeout(10)

TS = "2024-05-01T12:00:00Z"
BOOT = {"chargePointVendor": "Acme", "chargePointModel": "One"}
BOOT_REPLY = {"status": "Accepted", "currentTime": TS, "interval": 300}


async def settle(rounds: int = 50) -> None:
    """Let every runnable task run (the memory pipe never waits on I/O)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class Peer:
    """The far end of a pipe, played by hand."""

    def __init__(self, conn: MemoryConnection):
        self.conn = conn

    async def recv(self, timeout: float = 2.0):
        return json.loads(await asyncio.wait_for(self.conn.recv(), timeout))

    async def send(self, frame) -> None:
        await self.conn.send(frame if isinstance(frame, str) else json.dumps(frame))

    def pending(self) -> int:
        """Frames sent to us that we have not read yet."""
        return self.conn._inbox.qsize()


class Recorder:
    def __init__(self):
        self.frames: list[Frame] = []

    def __call__(self, frame: Frame) -> None:
        self.frames.append(frame)

    def notes(self) -> list[str]:
        return [f.note for f in self.frames if f.note]


@contextlib.asynccontextmanager
async def running(*sessions: Session):
    tasks = [asyncio.create_task(s.run()) for s in sessions]
    try:
        yield tasks
    finally:
        for s in sessions:
            await s.connection.close()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 2)
        for result in results:
            if isinstance(result, BaseException):
                raise result


def make_pair(cp_handler=None, csms_handler=None, version=V16, **kw):
    a, b = pipe()
    cp = Session(a, version=version, role=CHARGE_POINT, name="CP1", **kw,
                 **({"handler": cp_handler} if cp_handler else {}))
    csms = Session(b, version=version, role=CSMS, name="hub", **kw,
                   **({"handler": csms_handler} if csms_handler else {}))
    return cp, csms


def make_raw(role=CHARGE_POINT, version=V16, handler=None, **kw) -> tuple[Session, Peer]:
    a, b = pipe()
    session = Session(a, version=version, role=role, name="S1", **kw,
                      **({"handler": handler} if handler else {}))
    return session, Peer(b)


# ---------------------------------------------------------------------------------------
# Outbound calls: correlation, timeouts, late replies, one outstanding CALL
# ---------------------------------------------------------------------------------------

async def test_call_and_response_between_two_sessions():
    seen = []

    async def hub(action, payload):
        seen.append((action, payload))
        return BOOT_REPLY

    async def charger(action, payload):
        seen.append((action, payload))
        return {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False,
                                      "value": "60"}]}

    cp, csms = make_pair(charger, hub)
    async with running(cp, csms):
        assert await cp.call("BootNotification", BOOT) == BOOT_REPLY
        reply = await csms.call("GetConfiguration", {"key": ["HeartbeatInterval"]})
    assert reply["configurationKey"][0]["value"] == "60"
    assert seen == [("BootNotification", BOOT), ("GetConfiguration", {"key": ["HeartbeatInterval"]})]


async def test_a_round_trip_leaves_nothing_for_the_collector():
    """Each call held its future, whose result held the call: a cycle per round trip that
    only the collector could free (a 16,000-station process paused for it)."""
    import gc
    from simulator.protocol import OutboundCall, ResultReceived

    async def hub(action, payload):
        return {"currentTime": TS}

    cp, csms = make_pair(csms_handler=hub)
    async with running(cp, csms):
        await cp.call("Heartbeat", {})
        gc.collect()
        gc.disable()
        try:
            for _ in range(50):
                await cp.call("Heartbeat", {})
            gc.set_debug(gc.DEBUG_SAVEALL)
            gc.collect()
            cyclic = [o for o in gc.garbage if isinstance(o, (OutboundCall, ResultReceived))]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    assert cyclic == []


async def test_reply_is_matched_by_unique_id_not_by_arrival():
    session, peer = make_raw()
    tap = Recorder()
    session.taps.append(tap)
    async with running(session):
        call = asyncio.create_task(session.call("Heartbeat", {}))
        frame = await peer.recv()
        assert frame[0] == 2 and frame[2:] == ["Heartbeat", {}]
        assert isinstance(frame[1], str) and 0 < len(frame[1]) <= 36
        await peer.send([3, "not-the-id", {"currentTime": "1999-01-01T00:00:00Z"}])
        await settle()
        assert not call.done()
        await peer.send([3, frame[1], {"currentTime": TS}])
        assert await call == {"currentTime": TS}
    dropped = [f for f in tap.frames if "not-the-id" in f.raw]
    assert len(dropped) == 1 and dropped[0].direction == "in"
    assert "dropped" in dropped[0].note


async def test_each_call_gets_a_fresh_unique_id():
    session, peer = make_raw()
    async with running(session):
        ids = []
        for _ in range(3):
            call = asyncio.create_task(session.call("Heartbeat", {}))
            frame = await peer.recv()
            ids.append(frame[1])
            await peer.send([3, frame[1], {"currentTime": TS}])
            await call
    assert len(set(ids)) == 3


async def test_session_call_timeout_raises_call_timeout():
    session, peer = make_raw(call_timeout=0.05)
    async with running(session):
        call = asyncio.create_task(session.call("Heartbeat", {}))
        frame = await peer.recv()
        with pytest.raises(CallTimeout) as info:
            await call
    assert info.value.action == "Heartbeat"
    assert info.value.unique_id == frame[1]
    assert info.value.timeout == 0.05
    assert "Heartbeat" in str(info.value)


async def test_per_call_timeout_overrides_the_session_default():
    session, peer = make_raw(call_timeout=30)
    async with running(session):
        with pytest.raises(CallTimeout) as info:
            await session.call("Heartbeat", {}, timeout=0.05)
        assert info.value.timeout == 0.05
        # the session is still usable afterwards
        call = asyncio.create_task(session.call("Heartbeat", {}))
        await peer.recv()  # the timed-out CALL
        frame = await peer.recv()
        await peer.send([3, frame[1], {"currentTime": TS}])
        assert await call == {"currentTime": TS}


@pytest.mark.parametrize("late_first", [True, False])
async def test_late_reply_after_timeout_is_dropped_and_does_not_shift_replies(late_first):
    session, peer = make_raw()
    tap = Recorder()
    session.taps.append(tap)
    late = {"currentTime": "2001-01-01T00:00:00Z"}
    async with running(session):
        first = asyncio.create_task(session.call("Heartbeat", {}, timeout=0.05))
        frame1 = await peer.recv()
        with pytest.raises(CallTimeout):
            await first

        second = asyncio.create_task(session.call("Heartbeat", {}))
        frame2 = await peer.recv()
        assert frame2[1] != frame1[1]
        own = {"currentTime": "2002-02-02T00:00:00Z"}
        if late_first:  # the late reply to the earlier id arrives before the current one's
            await peer.send([3, frame1[1], late])
            await peer.send([3, frame2[1], own])
        else:
            await peer.send([3, frame2[1], own])
            await peer.send([3, frame1[1], late])
        assert await second == own

        third = asyncio.create_task(session.call("Heartbeat", {}))
        frame3 = await peer.recv()
        await peer.send([3, frame3[1], {"currentTime": TS}])
        assert await third == {"currentTime": TS}

    late_frames = [f for f in tap.frames if f.direction == "in" and frame1[1] in f.raw]
    assert len(late_frames) == 1
    assert late_frames[0].note and "dropped" in late_frames[0].note
    normal = [f for f in tap.frames if f.direction == "in" and frame1[1] not in f.raw]
    assert len(normal) == 2 and all(f.note is None for f in normal)


async def test_late_callerror_after_timeout_is_dropped_too():
    session, peer = make_raw()
    async with running(session):
        first = asyncio.create_task(session.call("Heartbeat", {}, timeout=0.05))
        frame1 = await peer.recv()
        with pytest.raises(CallTimeout):
            await first
        second = asyncio.create_task(session.call("Heartbeat", {}))
        frame2 = await peer.recv()
        await peer.send([4, frame1[1], "InternalError", "too late", {}])
        await peer.send([3, frame2[1], {"currentTime": TS}])
        assert await second == {"currentTime": TS}


async def test_at_most_one_outstanding_call():
    session, peer = make_raw()
    async with running(session):
        calls = [asyncio.create_task(session.call("DataTransfer", {"vendorId": f"v{i}"}))
                 for i in range(3)]
        for i in range(3):
            frame = await peer.recv()
            assert frame[2:] == ["DataTransfer", {"vendorId": f"v{i}"}]  # FIFO
            await settle()
            assert peer.pending() == 0, "a second CALL was sent before the first was answered"
            assert len(session.connection.sent) == i + 1
            assert not calls[i].done()
            await peer.send([3, frame[1], {"status": "Accepted", "data": f"r{i}"}])
        results = await asyncio.gather(*calls)
    assert [r["data"] for r in results] == ["r0", "r1", "r2"]


async def test_a_timed_out_call_lets_the_next_one_go():
    session, peer = make_raw()
    async with running(session):
        first = asyncio.create_task(session.call("Heartbeat", {}, timeout=0.05))
        second = asyncio.create_task(session.call("DataTransfer", {"vendorId": "next"}))
        frame1 = await peer.recv()
        assert frame1[2] == "Heartbeat"
        frame2 = await peer.recv()  # only sent once the first timed out
        assert first.done()
        assert isinstance(first.exception(), CallTimeout)
        assert frame2[2:] == ["DataTransfer", {"vendorId": "next"}]
        await peer.send([3, frame2[1], {"status": "Accepted"}])
        assert await second == {"status": "Accepted"}


# ---------------------------------------------------------------------------------------
# Inbound calls
# ---------------------------------------------------------------------------------------

async def test_handler_may_call_the_peer_without_deadlock():
    cp_holder = {}

    async def hub(action, payload):
        assert action == "BootNotification"
        config = await csms.call("GetConfiguration", {"key": ["HeartbeatInterval"]})
        interval = int(config["configurationKey"][0]["value"])
        return {**BOOT_REPLY, "interval": interval}

    async def charger(action, payload):
        cp_holder.setdefault("calls", []).append(action)
        return {"configurationKey": [{"key": "HeartbeatInterval", "readonly": True, "value": "42"}]}

    cp, csms = make_pair(charger, hub, call_timeout=2)
    async with running(cp, csms):
        reply = await cp.call("BootNotification", BOOT)
    assert reply["interval"] == 42
    assert cp_holder["calls"] == ["GetConfiguration"]


async def test_slow_handler_does_not_stall_the_reader():
    release = asyncio.Event()
    entered = asyncio.Event()

    async def charger(action, payload):
        entered.set()
        await release.wait()
        return {"status": "Accepted"}

    session, peer = make_raw(handler=charger)
    async with running(session):
        await peer.send([2, "in-1", "Reset", {"type": "Soft"}])
        await asyncio.wait_for(entered.wait(), 2)
        call = asyncio.create_task(session.call("Heartbeat", {}))
        frame = await peer.recv()
        assert frame[2] == "Heartbeat"
        await peer.send([3, frame[1], {"currentTime": TS}])
        assert await call == {"currentTime": TS}  # answered while the handler still waits
        assert peer.pending() == 0
        release.set()
        assert await peer.recv() == [3, "in-1", {"status": "Accepted"}]


async def test_several_inbound_calls_in_flight_are_each_answered_in_order():
    order = []

    async def charger(action, payload):
        order.append(payload["data"])
        await asyncio.sleep(0.03 if payload["data"] == "d1" else 0)  # first is slowest
        return {"status": "Accepted", "data": payload["data"].upper()}

    session, peer = make_raw(handler=charger)
    async with running(session):
        for i in (1, 2, 3):
            await peer.send([2, f"c{i}", "DataTransfer", {"vendorId": "x", "data": f"d{i}"}])
        replies = [await peer.recv() for _ in range(3)]
    assert replies == [[3, f"c{i}", {"status": "Accepted", "data": f"D{i}"}] for i in (1, 2, 3)]
    assert order == ["d1", "d2", "d3"]


# ---------------------------------------------------------------------------------------
# CALLERROR paths
# ---------------------------------------------------------------------------------------

async def _answer_to(session: Session, peer: Peer, frame) -> list:
    async with running(session):
        await peer.send(frame)
        return await peer.recv()


async def test_unknown_action_is_not_implemented():
    called = []

    async def charger(action, payload):
        called.append(action)
        return {}

    session, peer = make_raw(handler=charger)
    reply = await _answer_to(session, peer, [2, "u1", "FooBar", {}])
    assert reply[:3] == [4, "u1", "NotImplemented"]
    assert "FooBar" in reply[3]
    assert called == []


@pytest.mark.parametrize("role, action, payload", [
    (CHARGE_POINT, "BootNotification", BOOT),
    (CHARGE_POINT, "Heartbeat", {}),
    (CSMS, "RemoteStartTransaction", {"idTag": "T"}),
    (CSMS, "Reset", {"type": "Hard"}),
])
async def test_action_the_peer_may_not_initiate_is_not_supported(role, action, payload):
    session, peer = make_raw(role=role)
    reply = await _answer_to(session, peer, [2, "n1", action, payload])
    assert reply[:3] == [4, "n1", "NotSupported"]
    assert action in reply[3]


@pytest.mark.parametrize("version, payload, code", [
    (V16, {"connectorId": 1}, "OccurenceConstraintViolation"),
    (V16, {"connectorId": 1, "type": "Operative", "extra": 1}, "FormationViolation"),
    (V16, {"connectorId": "one", "type": "Operative"}, "TypeConstraintViolation"),
    (V16, {"connectorId": 1, "type": "Sideways"}, "PropertyConstraintViolation"),
    (V201, {}, "OccurrenceConstraintViolation"),
    (V201, {"operationalStatus": "Operative", "extra": 1}, "FormatViolation"),
    (V201, {"operationalStatus": 1}, "TypeConstraintViolation"),
])
async def test_invalid_inbound_payload_gets_the_right_code_in_the_version_spelling(
        version, payload, code):
    called = []

    async def charger(action, p):
        called.append(action)
        return {"status": "Accepted"}

    session, peer = make_raw(version=version, handler=charger)
    reply = await _answer_to(session, peer, [2, "p1", "ChangeAvailability", payload])
    assert reply[:3] == [4, "p1", code]
    assert reply[3].startswith("ChangeAvailability request:")
    assert called == []


@pytest.mark.parametrize("version, code, wire", [
    (V16, ErrorCode.SECURITY_ERROR, "SecurityError"),
    (V16, ErrorCode.FORMAT_VIOLATION, "FormationViolation"),
    (V201, ErrorCode.FORMAT_VIOLATION, "FormatViolation"),
    (V16, ErrorCode.GENERIC_ERROR, "GenericError"),
])
async def test_handler_raising_ocpp_error_answers_with_that_code(version, code, wire):
    async def charger(action, payload):
        raise OcppError(code, "refused", {"why": "testing"})

    session, peer = make_raw(version=version, handler=charger)
    reply = await _answer_to(session, peer, [2, "h1", "DataTransfer", {"vendorId": "v"}])
    assert reply == [4, "h1", wire, "refused", {"why": "testing"}]


async def test_handler_raising_any_other_exception_answers_internal_error():
    async def charger(action, payload):
        raise RuntimeError("boom")

    session, peer = make_raw(handler=charger)
    async with running(session):
        await peer.send([2, "h1", "DataTransfer", {"vendorId": "v"}])
        reply = await peer.recv()
        assert reply[:3] == [4, "h1", "InternalError"]
        assert "boom" in reply[3]
        # the worker survives: the next call is handled too
        await peer.send([2, "h2", "DataTransfer", {"vendorId": "v"}])
        assert (await peer.recv())[:3] == [4, "h2", "InternalError"]


async def test_handler_returning_an_invalid_response_answers_internal_error():
    async def charger(action, payload):
        return {"status": "Maybe"}

    session, peer = make_raw(handler=charger)
    reply = await _answer_to(session, peer, [2, "h1", "DataTransfer", {"vendorId": "v"}])
    assert reply[:3] == [4, "h1", "InternalError"]


async def test_default_handler_answers_not_implemented():
    session, peer = make_raw()
    reply = await _answer_to(session, peer, [2, "d1", "Reset", {"type": "Soft"}])
    assert reply[:3] == [4, "d1", "NotImplemented"]


@pytest.mark.parametrize("wire, code", [
    ("OccurenceConstraintViolation", ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
    ("FormatViolation", ErrorCode.FORMAT_VIOLATION),
    ("NotSupported", ErrorCode.NOT_SUPPORTED),
    ("Weird", None),
])
async def test_received_callerror_raises_call_error_received(wire, code):
    session, peer = make_raw()
    async with running(session):
        call = asyncio.create_task(session.call("Heartbeat", {}))
        frame = await peer.recv()
        await peer.send([4, frame[1], wire, "no thanks", {"a": 1}])
        with pytest.raises(CallErrorReceived) as info:
            await call
    error = info.value.error
    assert info.value.action == "Heartbeat"
    assert error.unique_id == frame[1]
    assert error.code is code
    assert error.code_text == wire
    assert (error.description, error.details) == ("no thanks", {"a": 1})
    assert wire in str(info.value)


async def test_callerror_between_two_sessions_carries_the_code():
    async def hub(action, payload):
        raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "vendor unknown")

    cp, csms = make_pair(csms_handler=hub)
    async with running(cp, csms):
        with pytest.raises(CallErrorReceived) as info:
            await cp.call("DataTransfer", {"vendorId": "x"})
    assert info.value.error.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    assert info.value.error.description == "vendor unknown"


async def test_duplicate_unique_id_while_in_progress_is_a_protocol_error():
    release = asyncio.Event()
    calls = []

    async def charger(action, payload):
        calls.append(payload)
        await release.wait()
        return {"status": "Accepted"}

    session, peer = make_raw(handler=charger)
    tap = Recorder()
    session.taps.append(tap)
    async with running(session):
        await peer.send([2, "dup", "DataTransfer", {"vendorId": "first"}])
        await peer.send([2, "dup", "DataTransfer", {"vendorId": "second"}])
        reply = await peer.recv()
        assert reply[:3] == [4, "dup", "ProtocolError"]
        assert "dup" in reply[3]
        release.set()
        assert await peer.recv() == [3, "dup", {"status": "Accepted"}]
    assert calls == [{"vendorId": "first"}]
    assert any("duplicate" in n for n in tap.notes())


# ---------------------------------------------------------------------------------------
# Malformed frames, invalid responses, lenient mode
# ---------------------------------------------------------------------------------------

async def test_malformed_frames_are_tapped_and_do_not_kill_the_session():
    async def charger(action, payload):
        return {"status": "Accepted"}

    session, peer = make_raw(handler=charger)
    tap = Recorder()
    session.taps.append(tap)
    bad = ['[2, "a", "Heartbeat", {},]', "not json at all", '[9, "x", "Heartbeat", {}]',
           '{"a": 1}', "[3]", '[3, "x", "oops"]']
    async with running(session) as tasks:
        for raw in bad:
            await peer.send(raw)
        await settle()
        # only the frame whose unique id is readable can be answered: the unknown type id
        assert session.connection.sent == ['[4,"x","ProtocolError","unknown message type id 9 (expected 2, 3 or 4)",{}]']
        assert (await peer.recv())[:3] == [4, "x", "ProtocolError"]
        inbound = [f for f in tap.frames if f.direction == "in"]
        notes = [f.note for f in inbound]
        assert len(notes) == len(bad)
        assert all(n and n.startswith("rejected:") for n in notes)
        assert "JSON" in notes[0] and "message type" in notes[2]
        assert [f.raw for f in inbound] == bad
        # a CALL with a non-object payload is answered, its unique id kept
        await peer.send([2, "bad1", "Heartbeat", []])
        assert (await peer.recv())[:3] == [4, "bad1", "FormationViolation"]
        # the session still works both ways
        call = asyncio.create_task(session.call("Heartbeat", {}))
        frame = await peer.recv()
        await peer.send([3, frame[1], {"currentTime": TS}])
        assert await call == {"currentTime": TS}
        await peer.send([2, "ok1", "ChangeAvailability", {"connectorId": 0, "type": "Operative"}])
        assert await peer.recv() == [3, "ok1", {"status": "Accepted"}]
        assert not tasks[0].done() and not session.closed


async def test_malformed_frame_in_201_answers_in_201_spelling():
    session, peer = make_raw(version=V201)
    reply = await _answer_to(session, peer, [2, "bad1", "Heartbeat", "text"])
    assert reply[:3] == [4, "bad1", "FormatViolation"]


@pytest.mark.parametrize("payload, code", [
    ({}, ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
    ({"currentTime": "2024-05-01T12:00:00"}, ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    ({"currentTime": TS, "extra": 1}, ErrorCode.FORMAT_VIOLATION),
    ({"currentTime": 5}, ErrorCode.TYPE_CONSTRAINT_VIOLATION),
])
async def test_response_schema_violation_raises_invalid_response(payload, code):
    session, peer = make_raw()
    async with running(session):
        call = asyncio.create_task(session.call("Heartbeat", {}))
        frame = await peer.recv()
        await peer.send([3, frame[1], payload])
        with pytest.raises(InvalidResponse) as info:
            await call
    assert isinstance(info.value, OcppError)
    assert info.value.code is code
    assert info.value.description.startswith("Heartbeat response:")


async def test_lenient_session_repairs_a_response():
    session, peer = make_raw(mode=LENIENT)
    async with running(session):
        call = asyncio.create_task(session.call("BootNotification", BOOT))
        frame = await peer.recv()
        await peer.send([3, frame[1], {"status": "accepted", "currentTime": "2024-05-01T12:00:00",
                                       "interval": "300", "vendorThing": 1}])
        assert await call == BOOT_REPLY


async def test_lenient_session_repairs_an_inbound_request():
    seen = []

    async def hub(action, payload):
        seen.append((action, payload))
        return {}

    session, peer = make_raw(role=CSMS, handler=hub, mode=LENIENT)
    reply = await _answer_to(session, peer, [2, "s1", "StatusNotification", {
        "connectorId": "1", "errorCode": "noError", "status": " available",
        "timestamp": "2024-05-01T14:00:00+02", "vendorExtra": True}])
    assert reply == [3, "s1", {}]
    assert seen == [("StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                            "status": "Available",
                                            "timestamp": "2024-05-01T14:00:00+02:00"})]


async def test_strict_session_rejects_the_same_request():
    session, peer = make_raw(role=CSMS, mode=STRICT)
    reply = await _answer_to(session, peer, [2, "s1", "StatusNotification", {
        "connectorId": "1", "errorCode": "noError", "status": " available",
        "timestamp": "2024-05-01T14:00:00+02", "vendorExtra": True}])
    assert reply[:3] == [4, "s1", "TypeConstraintViolation"]
    assert "connectorId" in reply[3]
    assert reply[4] == {"path": "connectorId", "rule": "type"}


@pytest.mark.parametrize("mode", [STRICT, LENIENT])
async def test_action_name_in_the_wrong_case(mode):
    seen = []

    async def hub(action, payload):
        seen.append(action)
        return {"currentTime": TS}

    session, peer = make_raw(role=CSMS, handler=hub, mode=mode)
    reply = await _answer_to(session, peer, [2, "hb", "HeartBeat", {}])
    if mode == LENIENT:
        assert reply == [3, "hb", {"currentTime": TS}]
        assert seen == ["Heartbeat"]
    else:
        assert reply[:3] == [4, "hb", "NotImplemented"]
        assert seen == []


async def test_lenient_wrong_case_name_still_checks_the_initiator():
    session, peer = make_raw(role=CHARGE_POINT, mode=LENIENT)
    reply = await _answer_to(session, peer, [2, "b1", "bootnotification", BOOT])
    assert reply[:3] == [4, "b1", "NotSupported"]


# ---------------------------------------------------------------------------------------
# Outbound validation
# ---------------------------------------------------------------------------------------

async def test_outbound_payload_is_validated_before_sending():
    session, peer = make_raw()
    async with running(session):
        with pytest.raises(OcppError) as info:
            await session.call("BootNotification", {"chargePointVendor": "Acme"})
        assert info.value.code is ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
        with pytest.raises(OcppError) as info:
            await session.call("NoSuchAction", {})
        assert info.value.code is ErrorCode.NOT_IMPLEMENTED
        await settle()
        assert session.connection.sent == []


async def test_validation_off_sends_anything_and_returns_the_raw_reply():
    session, peer = make_raw()
    async with running(session):
        call = asyncio.create_task(session.call("VendorThing", {"x": 1}, validate_payload=False))
        frame = await peer.recv()
        assert frame[2:] == ["VendorThing", {"x": 1}]
        await peer.send([3, frame[1], {"anything": [1, 2]}])
        assert await call == {"anything": [1, 2]}


# ---------------------------------------------------------------------------------------
# Closing
# ---------------------------------------------------------------------------------------

async def test_closing_the_connection_fails_pending_and_queued_calls():
    session, peer = make_raw()
    task = asyncio.create_task(session.run())
    calls = [asyncio.create_task(session.call("Heartbeat", {})) for _ in range(3)]
    await peer.recv()  # the first CALL is out, two wait their turn
    await peer.conn.close()
    results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 2)
    assert [type(r) for r in results] == [SessionClosed] * 3
    await asyncio.wait_for(task, 2)  # run() ends quietly
    assert session.closed
    with pytest.raises(SessionClosed):
        await session.call("Heartbeat", {})


async def test_closing_our_own_session_ends_run_and_the_peer():
    entered, release = asyncio.Event(), asyncio.Event()

    async def hub(action, payload):  # never answers before the close
        entered.set()
        await release.wait()
        return {"status": "Accepted"}

    cp, csms = make_pair(csms_handler=hub)
    tasks = [asyncio.create_task(s.run()) for s in (cp, csms)]
    pending = asyncio.create_task(cp.call("DataTransfer", {"vendorId": "v"}))
    await asyncio.wait_for(entered.wait(), 2)
    await cp.close()
    await asyncio.wait_for(asyncio.gather(*tasks), 2)
    with pytest.raises(SessionClosed):
        await pending
    assert cp.closed and csms.closed
    release.set()
    await settle()
    assert len(csms.connection.sent) == 0  # no reply written to a closed connection


# ---------------------------------------------------------------------------------------
# Frame taps
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [V16, V201])
async def test_taps_see_every_frame_in_and_out(version):
    async def hub(action, payload):
        return {"currentTime": TS}

    async def charger(action, payload):
        return {"status": "Accepted"}

    cp, csms = make_pair(charger, hub, version=version)
    cp_tap, csms_tap = Recorder(), Recorder()
    cp.taps.append(cp_tap)
    csms.taps.append(csms_tap)
    async with running(cp, csms):
        await cp.call("Heartbeat", {})
        await csms.call("DataTransfer", {"vendorId": "v"})

    assert [(f.direction, json.loads(f.raw)[0]) for f in cp_tap.frames] == [
        ("out", 2), ("in", 3), ("in", 2), ("out", 3)]
    assert [(f.direction, json.loads(f.raw)[0]) for f in csms_tap.frames] == [
        ("in", 2), ("out", 3), ("out", 2), ("in", 3)]
    assert {f.station for f in cp_tap.frames} == {"CP1"}
    assert {f.station for f in csms_tap.frames} == {"hub"}
    assert {f.version for f in cp_tap.frames + csms_tap.frames} == {version}
    assert all(f.note is None and isinstance(f.ts, float) for f in cp_tap.frames)
    # the tapped text is exactly what went over the wire, both ways
    assert [f.raw for f in cp_tap.frames if f.direction == "out"] == cp.connection.sent
    assert [f.raw for f in csms_tap.frames if f.direction == "in"] == cp.connection.sent
    assert [f.raw for f in cp_tap.frames if f.direction == "in"] == csms.connection.sent


async def test_a_tap_that_raises_does_not_break_the_session():
    def broken(frame):
        raise RuntimeError("observer bug")

    async def hub(action, payload):
        return BOOT_REPLY

    cp, csms = make_pair(csms_handler=hub)
    good = Recorder()
    cp.taps.extend([broken, good])
    csms.taps.append(broken)
    async with running(cp, csms):
        assert await cp.call("BootNotification", BOOT) == BOOT_REPLY
        assert await cp.call("BootNotification", BOOT) == BOOT_REPLY
    assert [f.direction for f in good.frames] == ["out", "in", "out", "in"]


async def test_send_raw_taps_with_a_note():
    session, peer = make_raw()
    tap = Recorder()
    session.taps.append(tap)
    async with running(session):
        await session.send_raw("[2, broken", note="fault injection")
        assert await peer.conn.recv() == "[2, broken"
    assert [(f.direction, f.raw, f.note) for f in tap.frames] == [
        ("out", "[2, broken", "fault injection")]


async def test_a_cancelled_call_keeps_the_slot_until_its_reply():
    # The CALL is on the wire: the next CALL must not overtake it, and its reply, when it
    # comes, is taken as that call's (not dropped as late), freeing the slot.
    session, peer = make_raw()
    tap = Recorder()
    session.taps.append(tap)
    async with running(session):
        first = asyncio.create_task(session.call("Heartbeat", {}))
        frame1 = await peer.recv()
        first.cancel()
        second = asyncio.create_task(session.call("Heartbeat", {}))
        await settle()
        assert peer.pending() == 0 and not second.done()  # still waiting for frame1's reply
        await peer.send([3, frame1[1], {"currentTime": TS}])
        frame2 = await peer.recv()
        assert frame2[1] != frame1[1]
        await peer.send([3, frame2[1], {"currentTime": TS}])
        assert await second == {"currentTime": TS}
        with pytest.raises(asyncio.CancelledError):
            await first
        assert not any("dropped" in (n or "") for n in tap.notes())


async def test_a_cancelled_call_frees_the_slot_at_its_timeout():
    session, peer = make_raw()
    async with running(session):
        first = asyncio.create_task(session.call("Heartbeat", {}, timeout=0.1))
        await peer.recv()
        first.cancel()
        second = asyncio.create_task(session.call("Heartbeat", {}))
        frame2 = await peer.recv()  # sent once the first call's timeout passed
        await peer.send([3, frame2[1], {"currentTime": TS}])
        assert await second == {"currentTime": TS}


async def test_after_reply_jobs_run_once_the_reply_is_sent():
    order = []

    async def charger(action, payload):
        session.after_reply(lambda: order.append(("job", list(session.connection.sent))))
        return {"status": "Accepted"}

    session, peer = make_raw(handler=charger)
    async with running(session):
        await peer.send([2, "r1", "ChangeAvailability", {"connectorId": 0, "type": "Operative"}])
        assert await peer.recv() == [3, "r1", {"status": "Accepted"}]
        await settle()
        assert len(order) == 1
        sent_before_job = order[0][1]
        assert sent_before_job and json.loads(sent_before_job[-1])[1] == "r1"
    # outside a handler the job runs at once
    ran = []
    session.after_reply(lambda: ran.append(1))
    assert ran == [1]


# ---------------------------------------------------------------------------------------
# Idle cost, concurrent calls
# ---------------------------------------------------------------------------------------

def _other_tasks() -> set[asyncio.Task]:
    return asyncio.all_tasks() - {asyncio.current_task()}


async def test_an_idle_session_runs_no_task_but_its_reader():
    release = asyncio.Event()

    async def charger(action, payload):
        await release.wait()
        return {"status": "Accepted"}

    session, peer = make_raw(handler=charger)
    async with running(session) as tasks:
        await settle()
        assert _other_tasks() == set(tasks)
        await peer.send([2, "c1", "DataTransfer", {"vendorId": "v"}])
        await settle()
        assert len(_other_tasks() - set(tasks)) == 1  # answering, while the CALL is in flight
        release.set()
        assert await peer.recv() == [3, "c1", {"status": "Accepted"}]
        await settle()
        assert _other_tasks() == set(tasks)  # and gone once nothing waits


async def test_concurrent_calls_go_out_of_turn_and_find_their_replies():
    session, peer = make_raw()
    tap = Recorder()
    session.taps.append(tap)
    async with running(session):
        normal = asyncio.create_task(session.call("Heartbeat", {}))
        quirk = asyncio.create_task(session.call("Heartbeat", {}, concurrent=True))
        frames = [await peer.recv(), await peer.recv()]  # both out before any reply
        for i, f in reversed(list(enumerate(frames))):
            await peer.send([3, f[1], {"currentTime": f"2024-05-0{i + 1}T00:00:00Z"}])
        assert await normal == {"currentTime": "2024-05-01T00:00:00Z"}
        assert await quirk == {"currentTime": "2024-05-02T00:00:00Z"}
    assert "concurrent call (out of turn)" in tap.notes()



async def test_a_call_cut_off_while_sending_leaves_no_unretrieved_exception():
    """The reader closes (failing the pending reply) while the CALL is still being sent: the
    caller gets SessionClosed from the send, and asyncio logs nothing about the reply future
    nobody awaits (a swarm's mass disconnect used to log one traceback per station)."""
    import gc

    from simulator.transport.memory import MemoryConnectionClosed

    class SlowSend(MemoryConnection):
        async def send(self, message: str) -> None:
            await asyncio.sleep(0.05)     # the connection closes meanwhile
            raise MemoryConnectionClosed("connection closed")

    conn, peer = SlowSend(), MemoryConnection()
    conn.peer, peer.peer = peer, conn
    session = Session(conn, version=V16, role=CHARGE_POINT, name="CS-CUT")
    reader = asyncio.create_task(session.run())
    problems = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: problems.append(context["message"]))
    try:
        call = asyncio.create_task(session.call("BootNotification", BOOT))
        await settle()
        await peer.close()                # the reader ends: the pending reply fails
        with pytest.raises(SessionClosed, match="sending BootNotification"):
            await call
        await reader
        del call
        gc.collect()
        await settle()
        assert problems == []
    finally:
        loop.set_exception_handler(None)
