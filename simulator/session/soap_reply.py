"""The answer to one SOAP call over HTTP, as a caller of a session sees it: the reply's
payload, or the session's errors (shared by the 1.5 station link and the SOAP replayer)."""
from __future__ import annotations

from ..protocol import ErrorCode
from ..protocol.rpc import ErrorReceived, InvalidResult, ResultReceived
from .rpc import CallErrorReceived, InvalidResponse


def soap_reply(core, call, action: str, status: int, body: bytes) -> dict:
    """Read the HTTP response `body` (status `status`) to `call` through the SoapRpcCore."""
    if not body.lstrip().startswith(b"<"):      # not an envelope: say what came
        core.withdraw(call)
        text = body[:200].decode("utf-8", "replace") or "an empty body"
        raise InvalidResponse(ErrorCode.PROTOCOL_ERROR, f"{action}: HTTP {status}: {text}")
    event = core.receive_reply(body, call=call)
    if isinstance(event, ResultReceived):
        return event.payload
    if isinstance(event, ErrorReceived):
        raise CallErrorReceived(action, event.error)
    if isinstance(event, InvalidResult):
        raise InvalidResponse(event.error.code, event.error.description)
    core.withdraw(call)
    raise InvalidResponse(ErrorCode.PROTOCOL_ERROR, f"{action}: HTTP {status}: {event.note}")
