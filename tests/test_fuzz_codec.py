"""Property-based fuzzing of the OCPP-J codec: any bytes or text in, a Message or a
ProtocolViolation naming the problem out; never another exception.  A CALLERROR id is
offered only for a recognisable CALL; frames we encode decode to what was encoded."""
from __future__ import annotations

import json

import orjson
from hypothesis import given
from hypothesis import strategies as st

from simulator.protocol import V16
from simulator.protocol.codec import (CALL, Call, CallError, CallResult, MAX_UNIQUE_ID_LENGTH,
                                      decode, encode_call, encode_error, encode_result)
from simulator.protocol.errors import ErrorCode, ProtocolViolation, parse_error_code, spell_error_code

from tests.fuzz_strategies import any_ids, count, json_objects, json_values, raw_bytes, unique_ids


def _decode_checked(raw) -> object:
    try:
        message = decode(raw)
    except ProtocolViolation as e:
        assert isinstance(e.code, ErrorCode)
        assert e.description   # names the problem
        if e.unique_id is not None:
            assert isinstance(e.unique_id, str) and 0 < len(e.unique_id) <= MAX_UNIQUE_ID_LENGTH
        return e
    assert isinstance(message, (Call, CallResult, CallError))
    assert isinstance(message.unique_id, str) and 0 < len(message.unique_id) <= MAX_UNIQUE_ID_LENGTH
    return message


@given(raw_bytes())
def test_codec_any_bytes(raw):
    count("codec: bytes")
    _decode_checked(raw)
    text = raw.decode("utf-8", "surrogateescape")
    _decode_checked(text)


@given(st.text(max_size=300))
def test_codec_any_text(text):
    count("codec: text")
    _decode_checked(text)


frames = st.lists(json_values, max_size=6) | st.tuples(
    st.sampled_from([2, 3, 4, 5, 0, -1, "2", 2.0, True, None]), any_ids,
    st.one_of(st.text(max_size=20), json_values), st.one_of(json_objects, json_values),
    st.one_of(json_objects, json_values)).flatmap(
        lambda t: st.integers(1, 5).map(lambda n: list(t)[:n]))


@given(frames)
def test_codec_frames_of_any_shape(frame):
    count("codec: shapes")
    # the standard library writes what orjson will not (integers past 64 bits): real input too
    result = _decode_checked(json.dumps(frame).encode())
    if isinstance(result, ProtocolViolation) and result.unique_id is not None:
        # an id is offered only when the frame was recognisably a CALL (or an unknown type)
        assert frame[1] == result.unique_id
        assert frame[0] == CALL or frame[0] not in (3, 4)
    if isinstance(result, Call):
        assert frame[0] == CALL
        assert (result.action, result.payload) == (frame[2], frame[3])


@given(unique_ids, st.text(min_size=1, max_size=40), json_objects)
def test_codec_round_trip(uid, action, payload):
    count("codec: round trip")
    call = decode(encode_call(uid, action, payload))
    assert (call.unique_id, call.action, call.payload) == (uid, action, payload)
    result = decode(encode_result(uid, payload))
    assert (result.unique_id, result.payload) == (uid, payload)
    for code in ErrorCode:
        error = decode(encode_error(uid, code, action, payload, V16))
        assert error.unique_id == uid
        assert error.code is parse_error_code(spell_error_code(code, V16))
        assert (error.description, error.details) == (action, payload)


@given(unique_ids, st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1e309"]),
       st.integers(0, 30))
def test_codec_unrepresentable_numbers_keep_the_call_id(uid, number, depth):
    count("codec: 1e400")
    frame = f'[2,{orjson.dumps(uid).decode()},"Heartbeat",{{"x":{"[" * depth}{number}{"]" * depth}}}]'
    result = _decode_checked(frame)
    assert isinstance(result, ProtocolViolation)
    assert result.unique_id == uid and result.code is ErrorCode.FORMAT_VIOLATION
