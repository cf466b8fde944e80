"""The sans-I/O RPC core: plain function calls, no event loop, time passed in by hand.

One core plays our side; the peer is played by writing its frames out as JSON.
"""
from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest

from simulator.protocol import (CHARGE_POINT, CSMS, LENIENT, V16, V201, CallReceived,
                                CallTimedOut, ErrorCode, ErrorReceived, FrameRejected,
                                InvalidResult, OcppError, ResultReceived, RpcCore,
                                UnmatchedReply)

TS = "2024-05-01T12:00:00Z"
BOOT = {"chargePointVendor": "Acme", "chargePointModel": "One"}
HB_REPLY = {"currentTime": TS}


def core(role=CHARGE_POINT, version=V16, **kw) -> RpcCore:
    ids = itertools.count(1)
    return RpcCore(version, role, new_id=lambda: f"id{next(ids)}", **kw)


def frame(*parts) -> str:
    return json.dumps(list(parts))


def heartbeat(c: RpcCore, now=0.0, timeout=30.0, **kw):
    return c.call("Heartbeat", {}, now=now, timeout=timeout, **kw)


def test_the_core_needs_no_event_loop():
    code = "import sys, simulator.protocol.rpc; sys.exit('asyncio' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# -- outbound: correlation, one outstanding CALL, deadlines ---------------------------------

def test_a_call_goes_at_once_and_its_reply_is_matched_by_id():
    c = core()
    call = c.call("BootNotification", BOOT, now=100.0, timeout=30.0)
    assert json.loads(call.frame) == [2, "id1", "BootNotification", BOOT]
    assert (call.unique_id, call.deadline) == ("id1", 130.0)
    reply = {"status": "Accepted", "currentTime": TS, "interval": 300}
    event = c.receive(frame(3, "id1", reply))
    assert isinstance(event, ResultReceived) and event.note is None
    assert (event.call, event.payload, event.repairs) == (call, reply, [])
    assert c.next_deadline() is None


def test_each_call_gets_a_fresh_unique_id():
    c = RpcCore(V16, CHARGE_POINT)
    ids = set()
    for _ in range(3):
        call = heartbeat(c)
        ids.add(call.unique_id)
        c.receive(frame(3, call.unique_id, HB_REPLY))
    assert len(ids) == 3


def test_further_calls_wait_their_turn_fifo():
    c = core()
    first = heartbeat(c)
    second = c.call("DataTransfer", {"vendorId": "two"}, now=1.0, timeout=5.0)
    third = c.call("DataTransfer", {"vendorId": "three"}, now=2.0, timeout=5.0)
    assert first.frame and second.frame is None and third.frame is None
    assert c.waiting == [second, third]
    assert c.next_call(3.0) is None  # the slot is taken
    c.receive(frame(3, first.unique_id, HB_REPLY))
    assert c.next_call(10.0) is second
    assert json.loads(second.frame)[2:] == ["DataTransfer", {"vendorId": "two"}]
    assert second.deadline == 15.0  # the timeout counts from when it may go, not from queueing
    assert c.next_call(10.0) is None
    c.receive(frame(3, second.unique_id, {"status": "Accepted"}))
    assert c.next_call(11.0) is third and c.waiting == []


def test_a_reply_with_another_id_does_not_answer_the_outstanding_call():
    c = core()
    call = heartbeat(c)
    event = c.receive(frame(3, "not-the-id", HB_REPLY))
    assert isinstance(event, UnmatchedReply) and "dropped" in event.note
    assert event.message.unique_id == "not-the-id"
    assert isinstance(c.receive(frame(3, call.unique_id, HB_REPLY)), ResultReceived)


def test_concurrent_calls_go_out_of_turn_and_replies_match_in_any_order():
    c = core()
    normal = heartbeat(c)
    a = heartbeat(c, concurrent=True)
    b = heartbeat(c, concurrent=True)
    assert normal.frame and a.frame and b.frame
    assert len({normal.unique_id, a.unique_id, b.unique_id}) == 3
    replies = {x.unique_id: {"currentTime": f"2024-05-0{i}T00:00:00Z"}
               for i, x in enumerate((normal, a, b), 1)}
    for x in (b, normal, a):
        event = c.receive(frame(3, x.unique_id, replies[x.unique_id]))
        assert isinstance(event, ResultReceived)
        assert event.call is x and event.payload == replies[x.unique_id]
    assert c.next_deadline() is None


def test_deadlines_are_handed_out_and_expire_only_when_due():
    c = core()
    call = heartbeat(c, now=0.0, timeout=10.0)
    quirk = heartbeat(c, now=1.0, timeout=3.0, concurrent=True)
    assert c.next_deadline() == 4.0
    assert c.expire(3.9) == []
    assert c.expire(4.0) == [CallTimedOut(quirk)]
    assert c.next_deadline() == 10.0
    assert c.expire(10.0) == [CallTimedOut(call)]
    assert c.next_deadline() is None and c.expire(99.0) == []


@pytest.mark.parametrize("late", [[3, None, {"currentTime": "2001-01-01T00:00:00Z"}],
                                  [4, None, "InternalError", "too late", {}]])
def test_a_late_reply_after_expiry_is_unmatched_and_never_taken_for_a_later_call(late):
    c = core()
    first = heartbeat(c, now=0.0, timeout=1.0)
    second = heartbeat(c, now=0.5)
    assert [e.call for e in c.expire(1.0)] == [first]
    assert c.next_call(1.0) is second  # the slot was freed by the timeout
    late[1] = first.unique_id
    event = c.receive(frame(*late))
    assert isinstance(event, UnmatchedReply) and event.note.startswith("dropped")
    event = c.receive(frame(3, second.unique_id, HB_REPLY))
    assert isinstance(event, ResultReceived) and event.call is second


def test_a_callerror_reply_is_reported_for_its_call():
    c = core()
    call = heartbeat(c)
    event = c.receive(frame(4, call.unique_id, "OccurenceConstraintViolation", "no", {"a": 1}))
    assert isinstance(event, ErrorReceived) and event.call is call
    assert event.error.code is ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
    assert (event.error.code_text, event.error.description, event.error.details) == (
        "OccurenceConstraintViolation", "no", {"a": 1})
    assert c.next_deadline() is None


def test_withdraw_frees_the_slot_or_drops_a_queued_call():
    c = core()
    first, second, third = heartbeat(c), heartbeat(c), heartbeat(c)
    c.withdraw(second)  # gave up while waiting: it never goes
    assert c.waiting == [third]
    c.withdraw(first)  # its frame could not be sent: the slot is free again
    assert c.next_call(5.0) is third
    c.withdraw(first)  # twice is harmless
    assert c.next_deadline() == 35.0


def test_close_hands_back_every_call_that_will_get_no_reply():
    c = core(role=CSMS)
    sent = c.call("Reset", {"type": "Soft"}, now=0.0, timeout=5.0)
    quirk = c.call("Reset", {"type": "Hard"}, now=0.0, timeout=5.0, concurrent=True)
    queued = c.call("Reset", {"type": "Hard"}, now=0.0, timeout=5.0)
    c.receive(frame(2, "in1", "Heartbeat", {}))
    assert set(c.close()) == {sent, quirk, queued}
    assert c.closed and c.next_inbound() is None and c.next_call(1.0) is None
    assert c.next_deadline() is None and c.close() == []
    with pytest.raises(RuntimeError, match="closed"):
        heartbeat(c)


# -- outbound validation ---------------------------------------------------------------------

@pytest.mark.parametrize("role, action, payload, code", [
    (CHARGE_POINT, "BootNotification", {"chargePointVendor": "Acme"},
     ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
    (CHARGE_POINT, "NoSuchAction", {}, ErrorCode.NOT_IMPLEMENTED),
    (CHARGE_POINT, "Reset", {"type": "Soft"}, ErrorCode.NOT_SUPPORTED),
    (CSMS, "Heartbeat", {}, ErrorCode.NOT_SUPPORTED),
])
def test_our_own_invalid_request_is_refused_before_it_is_queued(role, action, payload, code):
    c = core(role=role)
    with pytest.raises(OcppError) as info:
        c.call(action, payload, now=0.0, timeout=1.0)
    assert info.value.code is code
    assert c.waiting == [] and c.next_deadline() is None
    assert c.call("DataTransfer", {"vendorId": "v"}, now=0.0, timeout=1.0).frame  # slot free


def test_validation_off_sends_anything_and_takes_the_reply_unchecked():
    c = core()
    call = c.call("VendorThing", {"x": 1}, now=0.0, timeout=1.0, validate_payload=False)
    assert json.loads(call.frame)[2:] == ["VendorThing", {"x": 1}]
    event = c.receive(frame(3, call.unique_id, {"anything": [1, 2]}))
    assert isinstance(event, ResultReceived) and event.payload == {"anything": [1, 2]}


def test_a_known_action_sent_unvalidated_still_has_its_reply_checked():
    c = core(validate_outbound=False)
    call = c.call("Heartbeat", {"bogus": 1}, now=0.0, timeout=1.0)
    assert json.loads(call.frame)[3] == {"bogus": 1}
    assert isinstance(c.receive(frame(3, call.unique_id, {})), InvalidResult)


@pytest.mark.parametrize("payload, code", [
    ({}, ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
    ({"currentTime": "2024-05-01T12:00:00"}, ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    ({"currentTime": TS, "extra": 1}, ErrorCode.FORMAT_VIOLATION),
    ({"currentTime": 5}, ErrorCode.TYPE_CONSTRAINT_VIOLATION),
])
def test_an_invalid_result_is_reported_for_its_call(payload, code):
    c = core()
    call = heartbeat(c)
    event = c.receive(frame(3, call.unique_id, payload))
    assert isinstance(event, InvalidResult) and event.call is call
    assert event.error.code is code
    assert event.error.description.startswith("Heartbeat response:")
    assert c.next_deadline() is None  # answered, even if badly: the slot is free


def test_lenient_mode_repairs_a_result_and_says_so():
    c = core(mode=LENIENT)
    call = c.call("BootNotification", BOOT, now=0.0, timeout=1.0)
    event = c.receive(frame(3, call.unique_id, {"status": "accepted", "currentTime": TS,
                                                "interval": "300"}))
    assert isinstance(event, ResultReceived)
    assert event.payload == {"status": "Accepted", "currentTime": TS, "interval": 300}
    assert len(event.repairs) == 2


# -- inbound: order, duplicates, CALLERRORs ----------------------------------------------

def test_inbound_calls_are_handed_out_one_at_a_time_in_arrival_order():
    c = core()
    events = [c.receive(frame(2, f"c{i}", "DataTransfer", {"vendorId": "v", "data": f"d{i}"}))
              for i in (1, 2, 3)]
    assert all(isinstance(e, CallReceived) and e.note is None for e in events)
    replies = []
    while (call := c.next_inbound()) is not None:
        assert c.next_inbound() is None  # the next one waits for this one's answer
        replies.append(c.respond(call, {"status": "Accepted", "data": call.payload["data"]}))
    assert [json.loads(r) for r in replies] == [
        [3, f"c{i}", {"status": "Accepted", "data": f"d{i}"}] for i in (1, 2, 3)]


def test_only_the_call_in_hand_can_be_answered():
    c = core()
    c.receive(frame(2, "c1", "DataTransfer", {"vendorId": "v"}))
    c.receive(frame(2, "c2", "DataTransfer", {"vendorId": "v"}))
    first = c.next_inbound()
    later = c.receive(frame(2, "c3", "DataTransfer", {"vendorId": "v"})).call
    with pytest.raises(ValueError, match="c3"):
        c.respond(later, {"status": "Accepted"})
    assert json.loads(c.respond(first, {"status": "Accepted"}))[1] == "c1"


def test_a_unique_id_still_in_use_is_a_protocol_error_at_once():
    c = core()
    c.receive(frame(2, "dup", "DataTransfer", {"vendorId": "first"}))
    event = c.receive(frame(2, "dup", "DataTransfer", {"vendorId": "second"}))
    assert isinstance(event, FrameRejected) and "duplicate" in event.note
    reply = json.loads(event.reply)
    assert reply[:3] == [4, "dup", "ProtocolError"] and "dup" in reply[3]
    call = c.next_inbound()
    assert call.payload == {"vendorId": "first"}
    c.respond(call, {"status": "Accepted"})
    # answered: the id may be used again
    assert isinstance(c.receive(frame(2, "dup", "DataTransfer", {"vendorId": "v"})), CallReceived)


def test_an_inbound_call_with_the_id_of_our_outstanding_call_is_rejected():
    c = core()
    ours = heartbeat(c)
    event = c.receive(frame(2, ours.unique_id, "DataTransfer", {"vendorId": "v"}))
    assert isinstance(event, FrameRejected)
    assert json.loads(event.reply)[:3] == [4, ours.unique_id, "ProtocolError"]


def _rejection(c: RpcCore, *parts):
    event = c.receive(frame(*parts))
    assert isinstance(event, CallReceived)
    call = c.next_inbound()
    assert call is event.call and call.rejection is not None
    return json.loads(c.fail(call, call.rejection))


def test_an_unknown_action_is_not_implemented():
    reply = _rejection(core(), 2, "u1", "FooBar", {})
    assert reply[:3] == [4, "u1", "NotImplemented"] and "FooBar" in reply[3]


@pytest.mark.parametrize("role, action, payload", [
    (CHARGE_POINT, "BootNotification", BOOT),
    (CSMS, "RemoteStartTransaction", {"idTag": "T"}),
])
def test_an_action_the_peer_may_not_initiate_is_not_supported(role, action, payload):
    reply = _rejection(core(role=role), 2, "n1", action, payload)
    assert reply[:3] == [4, "n1", "NotSupported"] and action in reply[3]


@pytest.mark.parametrize("version, payload, code", [
    (V16, {"connectorId": 1}, "OccurenceConstraintViolation"),
    (V16, {"connectorId": 1, "type": "Operative", "extra": 1}, "FormationViolation"),
    (V16, {"connectorId": "one", "type": "Operative"}, "TypeConstraintViolation"),
    (V16, {"connectorId": 1, "type": "Sideways"}, "PropertyConstraintViolation"),
    (V201, {}, "OccurrenceConstraintViolation"),
    (V201, {"operationalStatus": "Operative", "extra": 1}, "FormatViolation"),
])
def test_an_invalid_inbound_payload_gets_its_code_in_the_version_spelling(version, payload, code):
    reply = _rejection(core(version=version), 2, "p1", "ChangeAvailability", payload)
    assert reply[:3] == [4, "p1", code]
    assert reply[3].startswith("ChangeAvailability request:")


def test_a_rejected_call_waits_its_turn_behind_the_one_in_hand():
    c = core()
    c.receive(frame(2, "ok", "DataTransfer", {"vendorId": "v"}))
    c.receive(frame(2, "bad", "FooBar", {}))
    first = c.next_inbound()
    assert c.next_inbound() is None
    c.respond(first, {"status": "Accepted"})
    assert c.next_inbound().rejection.code is ErrorCode.NOT_IMPLEMENTED


def test_fail_answers_with_the_error_code_or_internal_error():
    c = core()
    c.receive(frame(2, "h1", "DataTransfer", {"vendorId": "v"}))
    c.receive(frame(2, "h2", "DataTransfer", {"vendorId": "v"}))
    refused = c.fail(c.next_inbound(), OcppError(ErrorCode.SECURITY_ERROR, "no", {"why": "x"}))
    assert json.loads(refused) == [4, "h1", "SecurityError", "no", {"why": "x"}]
    crashed = json.loads(c.fail(c.next_inbound(), RuntimeError("boom")))
    assert crashed[:3] == [4, "h2", "InternalError"] and "RuntimeError: boom" in crashed[3]


def test_our_own_invalid_response_is_refused_then_answered_as_internal_error():
    c = core()
    c.receive(frame(2, "h1", "DataTransfer", {"vendorId": "v"}))
    call = c.next_inbound()
    with pytest.raises(OcppError) as info:
        c.respond(call, {"status": "Maybe"})
    assert info.value.code is ErrorCode.INTERNAL_ERROR
    assert json.loads(c.fail(call, info.value))[:3] == [4, "h1", "InternalError"]
    assert c.next_inbound() is None


def test_without_outbound_validation_our_response_goes_as_given():
    c = core(validate_outbound=False)
    c.receive(frame(2, "h1", "DataTransfer", {"vendorId": "v"}))
    assert json.loads(c.respond(c.next_inbound(), {"status": "Maybe"})) == [
        3, "h1", {"status": "Maybe"}]


# -- malformed frames --------------------------------------------------------------------

@pytest.mark.parametrize("raw, note", [
    ('[2, "a", "Heartbeat", {},]', "JSON"),
    ("not json at all", "JSON"),
    ('{"a": 1}', "JSON array"),
    ("[3]", "at least 3"),
    ('[3, "x", "oops"]', "CALLRESULT"),
    ('[2, 5, "Heartbeat", {}]', "uniqueId"),
])
def test_a_frame_without_a_readable_id_is_rejected_unanswered(raw, note):
    c = core()
    event = c.receive(raw)
    assert isinstance(event, FrameRejected) and event.reply is None
    assert event.note.startswith("rejected:") and note in event.note


@pytest.mark.parametrize("version, raw, code", [
    (V16, '[9, "x", "Heartbeat", {}]', "ProtocolError"),
    (V201, '[9, "x", "Heartbeat", {}]', "MessageTypeNotSupported"),
    (V16, '[2, "x", "Heartbeat", []]', "FormationViolation"),
    (V201, '[2, "x", "Heartbeat", "text"]', "FormatViolation"),
    (V16, '[2, "x", "Heartbeat"]', "FormationViolation"),
])
def test_a_recognisable_call_that_cannot_be_taken_apart_is_answered(version, raw, code):
    event = core(version=version).receive(raw)
    assert isinstance(event, FrameRejected)
    assert json.loads(event.reply)[:3] == [4, "x", code]


def test_bytes_frames_are_read_too():
    c = core()
    assert isinstance(c.receive(b'[2, "b1", "DataTransfer", {"vendorId": "v"}]'), CallReceived)


# -- lenient repairs of inbound CALLs ----------------------------------------------------

def test_lenient_mode_repairs_an_inbound_request_and_lists_the_repairs():
    c = core(role=CSMS, mode=LENIENT)
    event = c.receive(frame(2, "s1", "StatusNotification", {
        "connectorId": "1", "errorCode": "noError", "status": " available",
        "timestamp": "2024-05-01T14:00:00+02", "vendorExtra": True}))
    call = event.call
    assert call.rejection is None
    assert call.payload == {"connectorId": 1, "errorCode": "NoError", "status": "Available",
                            "timestamp": "2024-05-01T14:00:00+02:00"}
    assert {r.split(":")[0] for r in call.repairs} == {
        "connectorId", "errorCode", "status", "timestamp", "vendorExtra"}


def test_strict_mode_rejects_the_same_request():
    c = core(role=CSMS)
    call = c.receive(frame(2, "s1", "StatusNotification", {
        "connectorId": "1", "errorCode": "NoError", "status": "Available"})).call
    assert call.rejection.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    assert call.rejection.details == {"path": "connectorId", "rule": "type"}


@pytest.mark.parametrize("mode", ["strict", LENIENT])
def test_an_action_name_in_the_wrong_case(mode):
    call = core(role=CSMS, mode=mode).receive(frame(2, "hb", "HeartBeat", {})).call
    if mode == LENIENT:
        assert call.rejection is None and call.action == "Heartbeat"
        assert call.repairs == ["action 'HeartBeat' read as 'Heartbeat'"]
    else:
        assert call.rejection.code is ErrorCode.NOT_IMPLEMENTED


def test_a_wrong_case_name_still_has_its_initiator_checked():
    call = core(mode=LENIENT).receive(frame(2, "b1", "bootnotification", BOOT)).call
    assert call.rejection.code is ErrorCode.NOT_SUPPORTED


def test_an_unknown_role_is_refused():
    with pytest.raises(ValueError, match="role"):
        RpcCore(V16, "Charger")
