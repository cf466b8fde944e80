"""OCPP-J RPC error codes, per protocol version.

1.6 and 2.0.1 spell two codes differently ("FormationViolation" vs "FormatViolation",
"OccurenceConstraintViolation" vs "OccurrenceConstraintViolation").  Both spellings are
accepted on input and mapped to one canonical `ErrorCode`; on output each version gets its
own spelling.
"""
from __future__ import annotations

import enum


class ErrorCode(enum.Enum):
    NOT_IMPLEMENTED = "NotImplemented"
    NOT_SUPPORTED = "NotSupported"
    INTERNAL_ERROR = "InternalError"
    PROTOCOL_ERROR = "ProtocolError"
    SECURITY_ERROR = "SecurityError"
    FORMAT_VIOLATION = "FormatViolation"
    PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
    OCCURRENCE_CONSTRAINT_VIOLATION = "OccurrenceConstraintViolation"
    TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"
    GENERIC_ERROR = "GenericError"
    # 2.0.1 only
    MESSAGE_TYPE_NOT_SUPPORTED = "MessageTypeNotSupported"
    RPC_FRAMEWORK_ERROR = "RpcFrameworkError"


_ALIASES = {
    "FormationViolation": ErrorCode.FORMAT_VIOLATION,
    "OccurenceConstraintViolation": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
}

_V16_SPELLING = {
    ErrorCode.FORMAT_VIOLATION: "FormationViolation",
    ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION: "OccurenceConstraintViolation",
    # 1.6 has no such codes; the closest 1.6 code carries the meaning.
    ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED: "ProtocolError",
    ErrorCode.RPC_FRAMEWORK_ERROR: "ProtocolError",
}


def parse_error_code(text: str) -> ErrorCode | None:
    """The canonical code for any spelling seen in the field, or None if unknown."""
    try:
        return ErrorCode(text)
    except ValueError:
        return _ALIASES.get(text)


def spell_error_code(code: ErrorCode, version: str) -> str:
    """How `version` writes `code` on the wire."""
    if version == "ocpp1.6":
        return _V16_SPELLING.get(code, code.value)
    return code.value


class OcppError(Exception):
    """Raised by a handler (or the protocol layer) to answer a CALL with a CALLERROR."""

    def __init__(self, code: ErrorCode, description: str = "", details: dict | None = None):
        super().__init__(f"{code.value}: {description}" if description else code.value)
        self.code = code
        self.description = description
        self.details = details or {}


class ProtocolViolation(Exception):
    """A frame that cannot be taken apart (bad JSON, wrong shape, unknown type id).

    `unique_id` is set when the frame was recognisably a CALL, so that a CALLERROR can be
    sent back; otherwise the session logs the frame and drops it.
    """

    def __init__(self, code: ErrorCode, description: str, unique_id: str | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.unique_id = unique_id
