"""MessageID / RelatesTo correlation for OCPP 1.5 over SOAP, with no I/O.

The same sans-I/O idea as `simulator.protocol.rpc.RpcCore`, and its event and call types:
the caller passes the time in, sends the bytes it is given (an HTTP POST body, or the body
of the HTTP response it owes) and arms one timer at `next_deadline()`.  What differs from
OCPP-J is the correlation key — a WS-Addressing MessageID per request, matched by the
reply's RelatesTo — and the absence of a single slot: over HTTP every exchange is its own
request/response, so several calls may be pending at once.

- Outbound: `call()` gives an `OutboundCall` whose `unique_id` is its MessageID and whose
  `frame` is the request envelope; `receive_reply()` matches the answer by RelatesTo (or by
  the HTTP exchange it came on, when the peer left RelatesTo out) and reports a
  `ResultReceived`, `InvalidResult`, `ErrorReceived` (a SOAP fault, as a `CallError`) or
  `UnmatchedReply` (late: its call timed out; or unknown).
- Inbound: `receive_request()` gives `CallReceived` (answer it with `respond()` or `fail()`)
  or `FrameRejected` with the SOAP fault to send back at once.
"""
from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Callable

from ..catalog import CHARGE_POINT, CSMS
from ..codec import CallError
from ..errors import ErrorCode, OcppError
from ..rpc import (CallReceived, CallTimedOut, ErrorReceived, FrameRejected, InboundCall,
                   InvalidResult, OutboundCall, ResultReceived, UnmatchedReply)
from ..validation import STRICT
from .envelope import (FaultCode, Headers, Message, SoapFault, build_fault, build_request,
                       build_response, parse)
from .schema import service_hosted_by

__all__ = ["SoapRpcCore", "new_message_id", "FAULT_TO_ERROR"]

# How a SOAP fault reads as an OCPP error, for layers that speak OcppError / CallError.
FAULT_TO_ERROR = {
    FaultCode.MALFORMED: ErrorCode.PROTOCOL_ERROR,
    FaultCode.UNKNOWN_OPERATION: ErrorCode.NOT_IMPLEMENTED,
    FaultCode.SCHEMA_VIOLATION: ErrorCode.FORMAT_VIOLATION,
    FaultCode.MISSING_HEADER: ErrorCode.PROTOCOL_ERROR,
    FaultCode.INVALID_HEADER: ErrorCode.PROTOCOL_ERROR,
    FaultCode.INTERNAL_ERROR: ErrorCode.INTERNAL_ERROR,
}
_ERROR_TO_FAULT = {
    ErrorCode.NOT_IMPLEMENTED: FaultCode.UNKNOWN_OPERATION,
    ErrorCode.NOT_SUPPORTED: FaultCode.UNKNOWN_OPERATION,
    ErrorCode.PROTOCOL_ERROR: FaultCode.MALFORMED,
    ErrorCode.FORMAT_VIOLATION: FaultCode.SCHEMA_VIOLATION,
    ErrorCode.PROPERTY_CONSTRAINT_VIOLATION: FaultCode.SCHEMA_VIOLATION,
    ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION: FaultCode.SCHEMA_VIOLATION,
    ErrorCode.TYPE_CONSTRAINT_VIOLATION: FaultCode.SCHEMA_VIOLATION,
}
_LATE_MEMORY = 256     # how many timed-out MessageIDs we remember, to call a reply "late"


def new_message_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


class SoapRpcCore:
    """One peer relation for `role` (CHARGE_POINT or CSMS) as `charge_box_identity`.
    `own_url` is our callback address, sent as `From` (a charge point's ChargePointService
    URL); `peer_url` the peer's service URL, sent as `To`."""

    def __init__(self, role: str, *, charge_box_identity: str, peer_url: str,
                 own_url: str | None = None, mode: str = STRICT,
                 validate_outbound: bool = True, new_id: Callable[[], str] = new_message_id):
        if role not in (CHARGE_POINT, CSMS):
            raise ValueError(f"role must be {CHARGE_POINT!r} or {CSMS!r}, got {role!r}")
        self.role = role
        self.peer_role = CSMS if role == CHARGE_POINT else CHARGE_POINT
        self.hosted = service_hosted_by(role)          # what we serve
        self.remote = service_hosted_by(self.peer_role)  # what we call
        self.charge_box_identity = charge_box_identity
        self.peer_url = peer_url
        self.own_url = own_url
        self.mode = mode
        self.validate_outbound = validate_outbound
        self.closed = False
        self._new_id = new_id
        self._pending: dict[str, OutboundCall] = {}
        self._expired: OrderedDict[str, str] = OrderedDict()   # MessageID -> operation
        # InboundCall is unhashable (a dataclass with eq): keyed by id, the call kept with its
        # headers so a recycled id can never be mistaken for it.
        self._inbound: dict[int, tuple[InboundCall, Message]] = {}

    # -- outbound ----------------------------------------------------------------------
    def call(self, operation: str, payload: dict, *, now: float, timeout: float) -> OutboundCall:
        """A request to send now: its `frame` (the envelope) and `deadline` are set.  Raises
        OcppError when the operation is not ours to initiate or the payload breaks the
        schema (with validation on); RuntimeError once closed."""
        if self.closed:
            raise RuntimeError(f"{operation}: the SOAP session is closed")
        if operation not in self.remote.operations:
            raise OcppError(ErrorCode.NOT_SUPPORTED, f"{operation} is not an operation the "
                            f"{self.role} initiates in OCPP 1.5 ({self.remote.name})")
        mid = self._new_id()
        try:
            frame = build_request(self.remote.name, operation, payload,
                                  charge_box_identity=self.charge_box_identity, message_id=mid,
                                  to=self.peer_url, from_url=self.own_url,
                                  validate=self.validate_outbound)
        except ValueError as e:
            raise OcppError(ErrorCode.FORMAT_VIOLATION, str(e)) from None
        call = OutboundCall(operation, payload, timeout, True, concurrent=True, unique_id=mid,
                            frame=frame.decode("utf-8"), deadline=now + timeout)
        self._pending[mid] = call
        return call

    def pending(self) -> list[OutboundCall]:
        return list(self._pending.values())

    def withdraw(self, call: OutboundCall) -> None:
        """Forget a call whose request could not be sent."""
        if self._pending.get(call.unique_id) is call:
            del self._pending[call.unique_id]

    def next_deadline(self) -> float | None:
        return min((c.deadline for c in self._pending.values()), default=None)

    def expire(self, now: float) -> list[CallTimedOut]:
        expired = [c for c in self._pending.values() if c.deadline <= now]
        for c in expired:
            del self._pending[c.unique_id]
            self._expired[c.unique_id] = c.action
            if len(self._expired) > _LATE_MEMORY:
                self._expired.popitem(last=False)
        return [CallTimedOut(c) for c in expired]

    def receive_reply(self, raw: bytes | str, *, call: OutboundCall | None = None
                      ) -> ResultReceived | InvalidResult | ErrorReceived | UnmatchedReply | FrameRejected:
        """Take in a response or fault.  `call`: the request whose HTTP exchange carried it,
        if known; RelatesTo still wins when present (it must name a pending call)."""
        try:
            msg = parse(raw, mode=self.mode)
        except SoapFault as e:
            relates = e.headers.relates_to if e.headers is not None else None
            target = self._pending.get(relates) if relates else call
            if target is not None and self._pending.get(target.unique_id) is target:
                del self._pending[target.unique_id]
                return InvalidResult(target, OcppError(FAULT_TO_ERROR[e.fault.kind], e.fault.reason))
            return FrameRejected(f"rejected: {e.fault.reason}", None)
        if msg.kind == "request":
            return FrameRejected("rejected: a request where a response was due", None)
        relates = msg.headers.relates_to or (call.unique_id if call is not None else None)
        target = self._pending.pop(relates, None) if relates else None
        if target is None:
            late = self._expired.pop(relates, None) if relates else None
            note = (f"dropped: late reply to {late} {relates} (it had timed out)" if late
                    else f"dropped: reply to no pending call (RelatesTo {relates!r})")
            return UnmatchedReply(msg, note)
        if msg.kind == "fault":
            f = msg.fault
            code = FAULT_TO_ERROR.get(f.kind)
            return ErrorReceived(target, CallError(target.unique_id, code, f.subcode or f.code,
                                                   f.reason, {"soapCode": f.code}))
        if msg.operation.name != target.action:
            self._pending[target.unique_id] = target     # not its answer: keep waiting
            return UnmatchedReply(msg, f"dropped: a {msg.operation.name} response relates to "
                                       f"{target.action} {target.unique_id}")
        return ResultReceived(target, msg.payload, msg.repairs)

    # -- inbound -----------------------------------------------------------------------
    def receive_request(self, raw: bytes | str | Message) -> CallReceived | FrameRejected:
        """Take in a request from the peer: a CallReceived to answer, or FrameRejected whose
        `reply` is the fault envelope to send back (as `str`).  A hub serving many charge
        points on one endpoint may `parse()` first, route on `chargeBoxIdentity` and pass
        the parsed Message (parsed in this core's mode) to that charge point's core."""
        if isinstance(raw, Message):
            msg = raw
        else:
            try:
                msg = parse(raw, mode=self.mode)
            except SoapFault as e:
                return self._reject(e.fault.kind, e.fault.reason, e.relates_to)
        mid = msg.headers.message_id
        if msg.kind != "request":
            return self._reject(FaultCode.MALFORMED, f"expected a request, got a {msg.kind}", mid)
        if msg.operation.service != self.hosted.name:
            return self._reject(FaultCode.UNKNOWN_OPERATION,
                                f"{msg.operation.name} is an operation of the {msg.operation.service}; "
                                f"this endpoint serves the {self.hosted.name}", mid)
        identity = msg.headers.charge_box_identity
        if identity is not None and identity != self.charge_box_identity:
            text = (f"chargeBoxIdentity {identity!r} is not {self.charge_box_identity!r}, "
                    "the charge point of this session")
            if self.mode == STRICT:
                return self._reject(FaultCode.INVALID_HEADER, text, mid)
            msg.notes.append(text)
        call = InboundCall(mid or "", msg.operation.name, msg.payload, msg.repairs)
        self._inbound[id(call)] = (call, msg)
        return CallReceived(call)

    def _reject(self, kind: FaultCode, reason: str, relates_to: str | None) -> FrameRejected:
        return FrameRejected(f"rejected: {reason}", self._fault(kind, reason, relates_to))

    def message(self, call: InboundCall) -> Message:
        """The parsed envelope of an unanswered inbound call: its headers (From,
        chargeBoxIdentity, ReplyTo...) and `notes` (what was missing but not fatal)."""
        entry = self._inbound.get(id(call))
        if entry is not None and entry[0] is call:
            return entry[1]
        raise ValueError(f"{call.action} ({call.unique_id}) is not an unanswered inbound call")

    def headers(self, call: InboundCall) -> Headers:
        return self.message(call).headers

    def respond(self, call: InboundCall, result: dict) -> str:
        """The response envelope for `call`.  Raises OcppError (InternalError) when our own
        response breaks the schema: then answer with `fail()`."""
        self.headers(call)      # raises unless `call` is unanswered
        try:
            frame = build_response(self.hosted.name, call.action, result,
                                   relates_to=call.unique_id or None, message_id=self._new_id(),
                                   validate=self.validate_outbound)
        except ValueError as e:
            raise OcppError(ErrorCode.INTERNAL_ERROR, f"invalid response produced: {e}") from None
        del self._inbound[id(call)]
        return frame.decode("utf-8")

    def fail(self, call: InboundCall, error: BaseException) -> str:
        """The fault envelope answering `call`: an OcppError maps to the nearest fault."""
        self.headers(call)
        del self._inbound[id(call)]
        if isinstance(error, OcppError):
            kind = _ERROR_TO_FAULT.get(error.code, FaultCode.INTERNAL_ERROR)
            reason = error.description or error.code.value
        else:
            kind, reason = FaultCode.INTERNAL_ERROR, f"{type(error).__name__}: {error}"
        return self._fault(kind, reason, call.unique_id or None)

    def _fault(self, kind: FaultCode, reason: str, relates_to: str | None) -> str:
        return build_fault(kind, reason, message_id=self._new_id(),
                           relates_to=relates_to).decode("utf-8")

    # -- end ---------------------------------------------------------------------------
    def close(self) -> list[OutboundCall]:
        """Every pending call, for the caller to fail; nothing is matched afterwards."""
        self.closed = True
        calls = list(self._pending.values())
        self._pending.clear()
        self._inbound.clear()
        return calls
