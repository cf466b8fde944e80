"""Property-based fuzzing of the sans-I/O RPC core (simulator/protocol/rpc.py): random
interleavings of our CALLs, the peer's CALLs, replies (matching, late, unknown, invalid),
duplicate and out-of-order ids, garbage frames and the passing of time, checked against a
small model of the OCPP-J rules:

- each CALL we make is settled exactly once (reply, CALLERROR, invalid reply, timeout or
  close), and CALLs go on the wire one at a time in the order they were made;
- a reply is matched by id only; any other reply is reported unmatched and changes nothing;
- each peer CALL with a fresh id is answered exactly once, in arrival order; one whose id is
  in use gets ProtocolError at once; garbage never raises.
"""
from __future__ import annotations

import itertools

import orjson
from hypothesis import given
from hypothesis import strategies as st

from simulator.protocol import V16
from simulator.protocol.catalog import CSMS
from simulator.protocol.codec import decode
from simulator.protocol.rpc import (CallReceived, CallTimedOut, ErrorReceived, FrameRejected,
                                    InvalidResult, ResultReceived, RpcCore, UnmatchedReply)
from simulator.protocol.errors import OcppError, ErrorCode

from tests.fuzz_strategies import count, raw_bytes

PEER_IDS = ["p1", "p2", "p3", "our-1", "our-2"]   # a small pool: collisions are the point
PEER_CALLS = [("Heartbeat", {}), ("StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                                          "status": "Available"}),
              ("Heartbeat", {"extra": 1}), ("Frobnicate", {}), ("Reset", {"type": "Soft"})]
OUR_CALLS = [("Reset", {"type": "Soft"}), ("GetConfiguration", {}),
             ("ClearCache", {})]
REPLIES = {"Reset": {"status": "Accepted"}, "GetConfiguration": {"configurationKey": []},
           "ClearCache": {"status": "Accepted"}}
INVALID = {"Reset": {"status": 7}, "GetConfiguration": {"configurationKey": 7},
           "ClearCache": {"status": "Nope"}}

ops = st.lists(st.one_of(
    st.tuples(st.just("peer_call"), st.sampled_from(PEER_IDS), st.integers(0, len(PEER_CALLS) - 1)),
    st.tuples(st.just("handle"), st.booleans()),
    st.tuples(st.just("our_call"), st.integers(0, len(OUR_CALLS) - 1), st.booleans()),
    st.tuples(st.just("next_call")),
    st.tuples(st.just("reply"), st.sampled_from(["match", "stale", "unknown", "peer"]),
              st.sampled_from(["result", "invalid", "error"])),
    st.tuples(st.just("tick"), st.floats(0, 12)),
    st.tuples(st.just("garbage"), raw_bytes()),
), max_size=40)


@given(ops, st.booleans())
def test_rpc_core_random_interleavings(steps, lenient):
    count("rpc: interleavings")
    count("rpc: steps", len(steps))
    ids = itertools.count(1)
    core = RpcCore(V16, CSMS, mode="lenient" if lenient else "strict",
                   new_id=lambda: f"our-{next(ids)}")
    now = 0.0
    made, sent_order, settled = [], [], {}          # our calls
    inbound, answered = [], []                       # peer CALL ids accepted / answered
    wire_ids: list[str] = []                         # every id of ours that went out

    def went_out(call):
        if call is not None and call.frame is not None and call.unique_id not in wire_ids:
            wire_ids.append(call.unique_id)
            sent_order.append(call)

    def settle(call, how):
        assert call not in settled, f"{call.action} settled twice"
        settled[call] = how

    for op in steps:
        kind = op[0]
        if kind == "peer_call":
            uid, (action, payload) = op[1], PEER_CALLS[op[2]]
            outstanding = {c.unique_id for c in made if c.frame and c not in settled}
            event = core.receive(orjson.dumps([2, uid, action, payload]))
            if uid in inbound or uid in outstanding:
                assert type(event) is FrameRejected
                assert orjson.loads(event.reply)[:3] == [4, uid, "ProtocolError"]
            else:
                assert type(event) is CallReceived and event.call.unique_id == uid
                inbound.append(uid)
        elif kind == "handle":
            call = core.next_inbound()
            if call is None:
                assert not inbound
                continue
            assert call.unique_id == inbound[0], "inbound CALLs are answered in arrival order"
            if op[1] and call.rejection is None and call.action in ("Heartbeat",):
                frame = core.respond(call, {"currentTime": "2026-01-01T00:00:00.000Z"})
                assert orjson.loads(frame)[:2] == [3, call.unique_id]
            else:
                frame = core.fail(call, call.rejection or RuntimeError("handler failed"))
                reply = orjson.loads(frame)
                assert reply[:2] == [4, call.unique_id]
                if call.rejection is None:
                    assert reply[2] == "InternalError"
            answered.append(inbound.pop(0))
        elif kind == "our_call":
            action, payload = OUR_CALLS[op[1]]
            call = core.call(action, payload, now=now, timeout=10, concurrent=op[2])
            made.append(call)
            went_out(call)
        elif kind == "next_call":
            went_out(core.next_call(now))
        elif kind == "reply":
            target, how = op[1], op[2]
            live = [c for c in made if c.frame and c not in settled]
            if target == "match" and live:
                uid = live[-1].unique_id
            elif target == "stale" and settled:
                uid = next(iter(settled)).unique_id
            elif target == "peer":
                uid = PEER_IDS[0]
            else:
                uid = "nobody"
            matched = next((c for c in live if c.unique_id == uid), None)
            if how == "error":
                frame = [4, uid, "GenericError", "no", {}]
            else:
                action = matched.action if matched else "Reset"
                frame = [3, uid, (REPLIES if how == "result" else INVALID)[action]]
            event = core.receive(orjson.dumps(frame))
            if matched is None:
                assert type(event) is UnmatchedReply
            else:
                expected = {"result": ResultReceived, "invalid": InvalidResult,
                            "error": ErrorReceived}[how]
                assert type(event) is expected and event.call is matched
                settle(matched, how)
        elif kind == "tick":
            now += op[1]
            for event in core.expire(now):
                assert type(event) is CallTimedOut and event.call.deadline <= now
                settle(event.call, "timeout")
        elif kind == "garbage":
            event = core.receive(op[1])
            assert type(event) in (FrameRejected, CallReceived, UnmatchedReply, ResultReceived,
                                   InvalidResult, ErrorReceived)
            if type(event) is CallReceived:         # garbage that happened to be a CALL
                inbound.append(event.call.unique_id)
            elif type(event) in (ResultReceived, InvalidResult, ErrorReceived):
                settle(event.call, "garbage reply")
            elif type(event) is FrameRejected and event.reply is not None:
                assert decode(event.reply).code is not None
        # invariants after every step
        in_flight = [c for c in made if c.frame and c not in settled and not c.concurrent]
        assert len(in_flight) <= 1, "one outstanding CALL at a time"
        ordinary = [c for c in sent_order if not c.concurrent]
        assert ordinary == [c for c in made if not c.concurrent and c.frame], "FIFO on the wire"

    for call in core.close():
        settle(call, "closed")
    assert set(settled) == set(made), "every CALL we made is settled exactly once"
    try:
        core.call("Reset", {"type": "Soft"}, now=now, timeout=1)
        raise AssertionError("a closed core takes no call")
    except RuntimeError:
        pass
    assert core.next_inbound() is None


@given(st.sampled_from(["Reset", "BootNotification", "Nope"]), st.dictionaries(
    st.sampled_from(["type", "x", "chargePointVendor"]), st.integers() | st.text(max_size=5)))
def test_rpc_core_our_own_bad_calls_are_refused_with_the_specs_code(action, payload):
    count("rpc: outbound validation")
    core = RpcCore(V16, CSMS)
    try:
        call = core.call(action, payload, now=0, timeout=1)
    except OcppError as e:
        assert e.code in (ErrorCode.NOT_IMPLEMENTED, ErrorCode.NOT_SUPPORTED,
                          ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION, ErrorCode.TYPE_CONSTRAINT_VIOLATION,
                          ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, ErrorCode.FORMAT_VIOLATION)
        assert core.next_deadline() is None
    else:
        assert action == "Reset" and call.frame is not None
