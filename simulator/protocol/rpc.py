"""The OCPP-J RPC rules as a state machine with no I/O: frames in, events and frames out.

Like the `websockets` library's protocol objects, `RpcCore` neither reads a clock nor
touches a socket: the caller passes the time in, sends the frames it is given and arms one
timer at `next_deadline()`.  So the same rules serve an asyncio session, a thread bridge or
a virtual-time test.

- Outbound: every CALL gets a fresh unique id; one outstanding CALL at a time, the others
  wait their turn FIFO (`call()` says whether it may go now, `next_call()` hands out the next
  one once the slot is free); replies are matched by id, never by arrival order; a reply
  that finds no pending call (late, after its call timed out, or unknown) is reported as
  `UnmatchedReply` and dropped.  A call's deadline counts from when it may go.
- Inbound: CALLs are answered in arrival order, one handled at a time (`next_inbound()`,
  then `respond()` or `fail()`), also when the peer sends several at once (against the
  rule, seen in the field).  A CALL whose unique id is still in use gets ProtocolError at
  once; an unknown action, an action the peer may not initiate and an invalid payload are
  answered with the spec's CALLERROR in their turn (`InboundCall.rejection`); a frame that
  cannot be taken apart is answered when it was recognisably a CALL.
- Every payload is validated both ways with the compiled validators (strict or lenient).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

from .catalog import CHARGE_POINT, CSMS, catalog
from .codec import (Call, CallError, CallResult, decode, encode_call, encode_error,
                    encode_result, new_unique_id)
from .errors import ErrorCode, OcppError, ProtocolViolation
from .validation import STRICT, validate

# -- the calls ------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class OutboundCall:
    """A CALL we make.  `frame` is set once it may go on the wire: send exactly that."""
    action: str
    payload: dict
    timeout: float
    check_response: bool          # the action is known: its reply is validated
    concurrent: bool = False      # sent out of turn (a field quirk emitted on purpose)
    unique_id: str | None = None
    frame: str | None = None
    deadline: float | None = None
    context: object = None        # the binding's own (e.g. the future its caller awaits)


@dataclass(slots=True, eq=False)
class InboundCall:
    """A CALL from the peer, in the catalog's spelling, its payload validated (repaired in
    lenient mode).  With `rejection` set it is answered with that CALLERROR, no handler."""
    unique_id: str
    action: str
    payload: dict
    repairs: list[str]
    rejection: OcppError | None = None


# -- events: what a frame or the passing of time meant ------------------------------------
# Each has a `note` (None for a frame processed normally) for frame taps and logs.


@dataclass(slots=True)
class CallReceived:
    """An inbound CALL was queued; `next_inbound()` hands it out in its turn."""
    call: InboundCall
    note: ClassVar[None] = None


@dataclass(slots=True)
class ResultReceived:
    call: OutboundCall
    payload: dict
    repairs: list[str]
    note: ClassVar[None] = None


@dataclass(slots=True)
class InvalidResult:
    """The CALLRESULT for `call` breaks the action's response schema."""
    call: OutboundCall
    error: OcppError
    note: ClassVar[None] = None


@dataclass(slots=True)
class ErrorReceived:
    call: OutboundCall
    error: CallError
    note: ClassVar[None] = None


@dataclass(slots=True)
class CallTimedOut:
    call: OutboundCall
    note: ClassVar[None] = None


@dataclass(slots=True)
class UnmatchedReply:
    """A CALLRESULT or CALLERROR for no pending call (late or unknown id): dropped."""
    message: CallResult | CallError
    note: str = "dropped: reply to no outstanding call (late or unknown id)"


@dataclass(slots=True)
class FrameRejected:
    """A frame not processed: undecodable, or a CALL whose unique id is in use.
    `reply` is the CALLERROR to send at once (None when the frame had no readable id)."""
    note: str
    reply: str | None


Event = (CallReceived | ResultReceived | InvalidResult | ErrorReceived | CallTimedOut
         | UnmatchedReply | FrameRejected)


class RpcCore:
    """One RPC session's rules for one `version`, seen from `role`."""

    __slots__ = ("version", "role", "peer_role", "catalog", "mode", "validate_outbound",
                 "closed", "waiting", "_new_id", "_outstanding", "_concurrent", "_inbound",
                 "_handling")

    def __init__(self, version: str, role: str, *, mode: str = STRICT,
                 validate_outbound: bool = True, new_id: Callable[[], str] = new_unique_id):
        if role not in (CHARGE_POINT, CSMS):
            raise ValueError(f"role must be {CHARGE_POINT!r} or {CSMS!r}, got {role!r}")
        self.version = version
        self.catalog = catalog(version)
        self.role = role
        self.peer_role = CSMS if role == CHARGE_POINT else CHARGE_POINT
        self.mode = mode
        self.validate_outbound = validate_outbound
        self.closed = False
        self._new_id = new_id
        # Lists and a lazily made dict: an idle session holds no deque or set.
        self.waiting: list[OutboundCall] = []          # for the slot, FIFO (read only)
        self._outstanding: OutboundCall | None = None  # the one CALL on the wire
        self._concurrent: dict[str, OutboundCall] | None = None  # out-of-turn CALLs
        self._inbound: list[InboundCall] = []          # arrival order; head in hand if _handling
        self._handling = False

    # -- outbound ----------------------------------------------------------------------
    def call(self, action: str, payload: dict, *, now: float, timeout: float,
             validate_payload: bool | None = None, concurrent: bool = False) -> OutboundCall:
        """Queue a CALL; if it may go now, its `frame` is set.  Raises OcppError (our own
        payload breaks the schema, the action is unknown or not ours to initiate) unless
        validation is off; RuntimeError once closed.  `concurrent` sends it out of turn,
        ignoring the slot."""
        if self.closed:
            raise RuntimeError(f"{action}: the RPC session is closed")
        spec = self.catalog.actions.get(action)
        if self.validate_outbound if validate_payload is None else validate_payload:
            if spec is None:
                raise OcppError(ErrorCode.NOT_IMPLEMENTED, f"{action} is not an {self.version} action")
            if self.role not in spec.initiators:
                raise OcppError(ErrorCode.NOT_SUPPORTED,
                                f"{action} is not initiated by the {self.role} in {self.version}")
            payload = validate(self.version, action, "request", payload)[0]
        call = OutboundCall(action, payload, timeout, spec is not None, concurrent)
        if concurrent:
            if self._concurrent is None:
                self._concurrent = {}
            self._start(call, now)
            self._concurrent[call.unique_id] = call
        elif self._outstanding is None and not self.waiting:
            self._start(call, now)
            self._outstanding = call
        else:
            self.waiting.append(call)
        return call

    def _start(self, call: OutboundCall, now: float) -> None:
        call.unique_id = uid = self._new_id()
        call.frame = encode_call(uid, call.action, call.payload)
        call.deadline = now + call.timeout

    def next_call(self, now: float) -> OutboundCall | None:
        """The queued call that may go now (the slot is free), its frame and deadline set."""
        if self._outstanding is not None or not self.waiting or self.closed:
            return None
        call = self.waiting.pop(0)
        self._start(call, now)
        self._outstanding = call
        return call

    def withdraw(self, call: OutboundCall) -> None:
        """Forget a call that will get no reply: its caller gave up before its turn, or its
        frame could not be sent.  Frees the slot if it held it.  (A caller that gives up on a
        call already on the wire should not withdraw it: the slot stays taken until its
        reply or deadline, so the next CALL cannot overtake it.)"""
        if call is self._outstanding:
            self._outstanding = None
        elif call in self.waiting:
            self.waiting.remove(call)
        elif self._concurrent and self._concurrent.get(call.unique_id) is call:
            del self._concurrent[call.unique_id]

    def next_deadline(self) -> float | None:
        """When the earliest outstanding call times out (None: nothing outstanding)."""
        deadline = self._outstanding.deadline if self._outstanding is not None else None
        if self._concurrent:
            soonest = min(c.deadline for c in self._concurrent.values())
            deadline = soonest if deadline is None else min(deadline, soonest)
        return deadline

    def expire(self, now: float) -> list[CallTimedOut]:
        """The calls whose deadline has passed at `now`; their replies, if any come, will be
        unmatched."""
        expired = []
        call = self._outstanding
        if call is not None and call.deadline <= now:
            self._outstanding = None
            expired.append(CallTimedOut(call))
        if self._concurrent:
            for uid, call in list(self._concurrent.items()):
                if call.deadline <= now:
                    del self._concurrent[uid]
                    expired.append(CallTimedOut(call))
        return expired

    # -- inbound -----------------------------------------------------------------------
    def receive(self, raw: str | bytes) -> Event:
        """Take in one frame from the peer."""
        try:
            message = decode(raw)
        except ProtocolViolation as e:
            reply = None
            if e.unique_id is not None:
                reply = encode_error(e.unique_id, e.code, e.description, None, self.version)
            return FrameRejected(f"rejected: {e.description}", reply)
        if type(message) is Call:
            return self._receive_call(message)
        uid = message.unique_id
        call = self._outstanding
        if call is not None and call.unique_id == uid:
            self._outstanding = None
        elif not self._concurrent or (call := self._concurrent.pop(uid, None)) is None:
            return UnmatchedReply(message)
        if type(message) is CallError:
            return ErrorReceived(call, message)
        if not call.check_response:
            return ResultReceived(call, message.payload, [])
        try:
            payload, repairs = validate(self.version, call.action, "response", message.payload,
                                        self.mode)
        except OcppError as e:
            return InvalidResult(call, e)
        return ResultReceived(call, payload, repairs)

    def _receive_call(self, message: Call) -> Event:
        uid = message.unique_id
        if ((self._inbound and any(c.unique_id == uid for c in self._inbound))
                or (self._outstanding is not None and self._outstanding.unique_id == uid)
                or (self._concurrent and uid in self._concurrent)):
            return FrameRejected("rejected: duplicate unique id", encode_error(
                uid, ErrorCode.PROTOCOL_ERROR, f"unique id {uid} is already in use", None,
                self.version))
        call = self._check(message)
        self._inbound.append(call)
        return CallReceived(call)

    def _check(self, message: Call) -> InboundCall:
        action, repairs = message.action, []
        try:
            spec = self.catalog.actions.get(action)
            if spec is None:
                canonical = self.catalog.canonical_name(action) if self.mode != STRICT else None
                if canonical is None:
                    raise OcppError(ErrorCode.NOT_IMPLEMENTED,
                                    f"unknown action {action!r} for {self.version}")
                repairs.append(f"action {action!r} read as {canonical!r}")
                action, spec = canonical, self.catalog[canonical]
            if self.peer_role not in spec.initiators:
                raise OcppError(ErrorCode.NOT_SUPPORTED,
                                f"{action} is not initiated by the {self.peer_role} in {self.version}")
            payload, fixes = validate(self.version, action, "request", message.payload, self.mode)
        except OcppError as e:
            return InboundCall(message.unique_id, action, message.payload, repairs, e)
        return InboundCall(message.unique_id, action, payload,
                           (repairs + fixes) if repairs else fixes)

    def next_inbound(self) -> InboundCall | None:
        """The inbound CALL to answer now: the earliest unanswered one, once the one before
        it was answered (None: nothing waits, or one is still in hand)."""
        if self._handling or not self._inbound or self.closed:
            return None
        self._handling = True
        return self._inbound[0]

    def respond(self, call: InboundCall, result: dict) -> str:
        """The CALLRESULT frame answering `call` (the one in hand).  Raises OcppError
        (InternalError) if our own response breaks the schema: then answer with `fail()`."""
        self._check_in_hand(call)
        if self.validate_outbound:
            try:
                result = validate(self.version, call.action, "response", result)[0]
            except OcppError as e:
                raise OcppError(ErrorCode.INTERNAL_ERROR,
                                f"invalid response produced: {e}") from None
        del self._inbound[0]
        self._handling = False
        return encode_result(call.unique_id, result)

    def fail(self, call: InboundCall, error: BaseException) -> str:
        """The CALLERROR frame answering `call` (the one in hand): an OcppError's own code,
        InternalError for anything else."""
        self._check_in_hand(call)
        del self._inbound[0]
        self._handling = False
        if isinstance(error, OcppError):
            return encode_error(call.unique_id, error.code, error.description, error.details,
                                self.version)
        return encode_error(call.unique_id, ErrorCode.INTERNAL_ERROR,
                            f"{type(error).__name__}: {error}", None, self.version)

    def _check_in_hand(self, call: InboundCall) -> None:
        if not (self._handling and self._inbound[0] is call):
            raise ValueError(f"{call.action} ({call.unique_id}) is not the inbound CALL in hand")

    # -- end ---------------------------------------------------------------------------
    def close(self) -> list[OutboundCall]:
        """The connection is gone: every call that will now get no reply (on the wire or
        waiting its turn), for the caller to fail.  Inbound CALLs are no longer answered."""
        self.closed = True
        calls = [self._outstanding] if self._outstanding is not None else []
        calls += self._concurrent.values() if self._concurrent else ()
        calls += self.waiting
        self._outstanding, self._concurrent, self.waiting = None, None, []
        self._inbound.clear()
        self._handling = False
        return calls

