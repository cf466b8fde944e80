"""Pure OCPP protocol layer (no I/O): catalog, codec, validation, error codes, and the
RPC rules as a state machine (`RpcCore`).

Shared by the simulator and the bundled hub; nothing here imports either of them.
"""
from .catalog import CHARGE_POINT, CSMS, V16, V201, VERSIONS, ActionSpec, Catalog, catalog
from .codec import (CALL, CALLERROR, CALLRESULT, Call, CallError, CallResult, Message, decode,
                    encode_call, encode_error, encode_result, new_unique_id)
from .errors import ErrorCode, OcppError, ProtocolViolation, parse_error_code, spell_error_code
from .rpc import (CallReceived, CallTimedOut, ErrorReceived, Event, FrameRejected, InboundCall,
                  InvalidResult, OutboundCall, ResultReceived, RpcCore, UnmatchedReply)
from .validation import LENIENT, STRICT, validate

__all__ = [
    "CHARGE_POINT", "CSMS", "V16", "V201", "VERSIONS", "ActionSpec", "Catalog", "catalog",
    "CALL", "CALLERROR", "CALLRESULT", "Call", "CallError", "CallResult", "Message", "decode",
    "encode_call", "encode_error", "encode_result", "new_unique_id",
    "ErrorCode", "OcppError", "ProtocolViolation", "parse_error_code", "spell_error_code",
    "LENIENT", "STRICT", "validate",
    "CallReceived", "CallTimedOut", "ErrorReceived", "Event", "FrameRejected", "InboundCall",
    "InvalidResult", "OutboundCall", "ResultReceived", "RpcCore", "UnmatchedReply",
]
