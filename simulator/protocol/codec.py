"""OCPP-J frames: CALL [2, id, action, payload], CALLRESULT [3, id, payload],
CALLERROR [4, id, code, description, details].  Pure functions, no I/O."""
from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, field

import orjson

from .errors import ErrorCode, ProtocolViolation, parse_error_code, spell_error_code

CALL, CALLRESULT, CALLERROR = 2, 3, 4

# OCPP limits the unique id to 36 characters (a UUID).
MAX_UNIQUE_ID_LENGTH = 36


@dataclass(slots=True)
class Call:
    unique_id: str
    action: str
    payload: dict
    repairs: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CallResult:
    unique_id: str
    payload: dict
    repairs: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CallError:
    unique_id: str
    code: ErrorCode | None  # None: a code outside the spec; `code_text` keeps what was sent
    code_text: str
    description: str = ""
    details: dict = field(default_factory=dict)


Message = Call | CallResult | CallError


_ID_PREFIX = os.urandom(4).hex()
_id_counter = itertools.count(1)


def new_unique_id() -> str:
    """Unique per sender, which is all OCPP asks: a random per-process prefix and a counter
    (uuid4 costs ~20x more, once per CALL on the hot path)."""
    return f"{_ID_PREFIX}-{next(_id_counter)}"


def _dumps(obj) -> str:
    return orjson.dumps(obj).decode()


def encode_call(unique_id: str, action: str, payload: dict) -> str:
    return _dumps([CALL, unique_id, action, payload])


def encode_result(unique_id: str, payload: dict) -> str:
    return _dumps([CALLRESULT, unique_id, payload])


def encode_error(unique_id: str, code: ErrorCode, description: str, details: dict | None,
                 version: str) -> str:
    return _dumps([CALLERROR, unique_id, spell_error_code(code, version), description, details or {}])


_JSON_TYPE = {dict: "an object", str: "a string", int: "a number", float: "a number",
              bool: "a boolean", type(None): "null"}


def _readable_call_id(raw: str | bytes) -> str | None:
    """The unique id of a frame orjson refused that is still recognisably a CALL: a number
    out of the double range (`1e400`) or a NaN/Infinity literal.  The sender can then be
    told with a CALLERROR instead of waiting for its timeout.  Only on the error path."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray, memoryview)) else raw
        if not isinstance(text, str):
            return None
        frame = json.loads(text)
    except (ValueError, RecursionError, UnicodeError, TypeError):
        return None
    if (isinstance(frame, list) and len(frame) >= 2 and frame[0] == CALL
            and type(frame[0]) is int and isinstance(frame[1], str)
            and 0 < len(frame[1]) <= MAX_UNIQUE_ID_LENGTH):
        return frame[1]
    return None


def decode(raw: str | bytes) -> Message:
    """Take one frame apart; raise ProtocolViolation naming what is wrong with it."""
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise ProtocolViolation(ErrorCode.FORMAT_VIOLATION, f"frame is not valid JSON: {e}",
                                _readable_call_id(raw)) from None
    if not isinstance(frame, list):
        raise ProtocolViolation(ErrorCode.FORMAT_VIOLATION,
                                f"frame must be a JSON array [type, uniqueId, ...], "
                                f"got {_JSON_TYPE.get(type(frame), type(frame).__name__)}")
    if len(frame) < 3:
        raise ProtocolViolation(ErrorCode.FORMAT_VIOLATION,
                                f"frame has {len(frame)} element(s); a JSON array "
                                f"[type, uniqueId, ...] of at least 3 is due")
    type_id, unique_id = frame[0], frame[1]
    if not isinstance(unique_id, str) or not unique_id:
        raise ProtocolViolation(ErrorCode.FORMAT_VIOLATION, "uniqueId must be a non-empty string")
    if len(unique_id) > MAX_UNIQUE_ID_LENGTH:
        raise ProtocolViolation(ErrorCode.FORMAT_VIOLATION,
                                f"uniqueId longer than {MAX_UNIQUE_ID_LENGTH} characters",
                                unique_id if type_id == CALL else None)
    if type_id == CALL:
        if len(frame) != 4:
            raise ProtocolViolation(ErrorCode.FORMAT_VIOLATION,
                                    f"CALL must have 4 elements, got {len(frame)}", unique_id)
        action, payload = frame[2], frame[3]
        if not isinstance(action, str) or not action:
            raise ProtocolViolation(ErrorCode.FORMAT_VIOLATION, "CALL action must be a string", unique_id)
        if not isinstance(payload, dict):
            raise ProtocolViolation(ErrorCode.FORMAT_VIOLATION, "CALL payload must be a JSON object",
                                    unique_id)
        return Call(unique_id, action, payload)
    if type_id == CALLRESULT:
        if len(frame) != 3 or not isinstance(frame[2], dict):
            raise ProtocolViolation(ErrorCode.FORMAT_VIOLATION,
                                    "CALLRESULT must be [3, uniqueId, {payload}]")
        return CallResult(unique_id, frame[2])
    if type_id == CALLERROR:
        if len(frame) not in (4, 5) or not isinstance(frame[2], str):
            raise ProtocolViolation(ErrorCode.FORMAT_VIOLATION,
                                    "CALLERROR must be [4, uniqueId, code, description, {details}]")
        description = frame[3] if isinstance(frame[3], str) else str(frame[3])
        details = frame[4] if len(frame) == 5 and isinstance(frame[4], dict) else {}
        return CallError(unique_id, parse_error_code(frame[2]), frame[2], description, details)
    # The unique id is readable, so the sender can be told (2.0.1: MessageTypeNotSupported).
    raise ProtocolViolation(ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED,
                            f"unknown message type id {type_id!r} (expected 2, 3 or 4)", unique_id)
