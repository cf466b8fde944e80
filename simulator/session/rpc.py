"""One OCPP-J RPC session over one connection: the asyncio binding of `protocol.RpcCore`.

The RPC rules (correlation, one outstanding CALL, inbound order, late replies, CALLERRORs,
validation) live in the core; this module only connects them to asyncio:

- `call()` awaits a future the core's events resolve; a queued call awaits its turn first;
- one timer per session, armed at the core's next deadline (not one per call);
- inbound CALLs are handled by a task that exists only while CALLs are in flight: it answers
  them in order and ends when none waits, while the reader keeps reading, so a handler may
  itself `await session.call(...)` and get its reply;
- a frame tap: callables that see every frame in and out (recording, metrics, TUI, debug).
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Protocol

from ..protocol import (CallReceived, CallTimedOut, ErrorCode, ErrorReceived, FrameRejected,
                        InboundCall, InvalidResult, OcppError, OutboundCall, ResultReceived,
                        RpcCore, STRICT, UnmatchedReply)
from ..protocol.codec import CallError

log = logging.getLogger(__name__)

Handler = Callable[[str, dict], Awaitable[dict]]


class Connection(Protocol):
    """What a session needs from a transport (a websockets connection fits as is)."""

    async def send(self, message: str) -> None: ...
    async def recv(self) -> str | bytes: ...
    async def close(self, code: int = 1000, reason: str = "") -> None: ...
    def __aiter__(self): ...


@dataclass(slots=True)
class Frame:
    """One frame seen by a tap.  `note` explains frames that were not processed normally."""
    ts: float
    station: str
    direction: str  # "in" | "out"
    version: str
    raw: str
    note: str | None = None


class SessionClosed(Exception):
    """The connection closed while a call was waiting for its reply."""


class CallTimeout(Exception):
    def __init__(self, action: str, unique_id: str, timeout: float):
        super().__init__(f"{action} ({unique_id}) got no reply within {timeout:g}s")
        self.action, self.unique_id, self.timeout = action, unique_id, timeout


class CallErrorReceived(Exception):
    def __init__(self, action: str, error: CallError):
        super().__init__(f"{action} answered with CALLERROR {error.code_text}: {error.description}")
        self.action, self.error = action, error


class InvalidResponse(OcppError):
    """The peer's CALLRESULT does not match the action's response schema."""


async def _no_handler(action: str, payload: dict) -> dict:
    raise OcppError(ErrorCode.NOT_IMPLEMENTED, f"no handler for {action}")


class Session:
    __slots__ = ("connection", "handler", "name", "call_timeout", "taps", "_core", "_loop",
                 "_timer", "_server", "_after", "_background")

    def __init__(self, connection: Connection, *, version: str, role: str,
                 handler: Handler = _no_handler, name: str = "", mode: str = STRICT,
                 call_timeout: float = 30.0, validate_outbound: bool = True):
        self._core = RpcCore(version, role, mode=mode, validate_outbound=validate_outbound)
        self.connection = connection
        self.handler = handler
        self.name = name
        self.call_timeout = call_timeout
        self.taps: list[Callable[[Frame], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop it runs on, once known
        self._timer: asyncio.TimerHandle | None = None   # at the core's next deadline
        self._server: asyncio.Task | None = None         # answers inbound CALLs while any wait
        self._after: list[Callable[[], object]] | None = None  # set while a handler runs
        self._background: set[asyncio.Task] | None = None  # CALLERRORs for rejected frames

    # The core's settings, read through (one copy of each).
    version = property(lambda self: self._core.version)
    role = property(lambda self: self._core.role)
    peer_role = property(lambda self: self._core.peer_role)
    catalog = property(lambda self: self._core.catalog)
    mode = property(lambda self: self._core.mode)
    validate_outbound = property(lambda self: self._core.validate_outbound)
    closed = property(lambda self: self._core.closed)

    # -- taps ------------------------------------------------------------------------
    def _tap(self, direction: str, raw: str | bytes, note: str | None = None) -> None:
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        frame = Frame(time.time(), self.name, direction, self.version, raw, note)
        for tap in self.taps:
            try:
                tap(frame)
            except Exception:  # a broken observer must not break the session
                log.exception("frame tap %r failed", tap)

    async def send_raw(self, text: str, note: str | None = None) -> None:
        """Send any text as one frame, valid or not (fault injection)."""
        if self.taps:
            self._tap("out", text, note)
        await self.connection.send(text)

    # -- outbound --------------------------------------------------------------------
    async def call(self, action: str, payload: dict, *, timeout: float | None = None,
                   validate_payload: bool | None = None, concurrent: bool = False) -> dict:
        """Send a CALL and return the reply payload.

        Raises CallErrorReceived, CallTimeout, InvalidResponse, SessionClosed; and OcppError
        before sending if our own payload breaks the schema (unless validation is off).
        `concurrent=True` sends at once, not waiting for the one-outstanding slot: the
        field quirk of several CALLs in flight, emitted on purpose.
        """
        core = self._core
        if core.closed:
            raise SessionClosed(f"{self.name}: session is closed")
        loop = self._loop or self._bind_loop()
        out = core.call(action, payload, now=loop.time(),
                        timeout=self.call_timeout if timeout is None else timeout,
                        validate_payload=validate_payload, concurrent=concurrent)
        if out.frame is None:  # another CALL is outstanding: wait for the turn
            out.context = turn = loop.create_future()
            try:
                await turn  # SessionClosed if the connection closes first
            except asyncio.CancelledError:
                core.withdraw(out)  # gave up while waiting, or just after being let go
                self._let_next_go(loop)
                raise
            if core.closed:  # closed after this call was let go, before it woke
                raise SessionClosed(f"{self.name}: connection closed before {action} was sent")
        out.context = reply = loop.create_future()
        self._arm(loop)
        try:  # send_raw, inlined: one coroutine less per round trip
            if self.taps:
                self._tap("out", out.frame, "concurrent call (out of turn)" if concurrent else None)
            await self.connection.send(out.frame)
        except BaseException as e:
            _abandon(reply)   # the reader may have failed it already: nobody will await it
            core.withdraw(out)
            self._let_next_go(loop)
            if isinstance(e, Exception) and _is_connection_closed(e):
                raise SessionClosed(f"{self.name}: connection closed sending {action}") from e
            raise
        # Cancelled while waiting: the CALL is on the wire, so the core keeps its slot until
        # the reply (taken as this call's, not as late) or the deadline; nothing to undo.
        event = await reply
        # The call holds the future, whose result holds the call: a cycle per round trip,
        # left to the collector (whose pauses were most of a 16,000-station process's p99).
        out.context = None
        if type(event) is ResultReceived:
            if event.repairs:
                log.warning("%s: repaired %s response: %s", self.name, action,
                            "; ".join(event.repairs))
            return event.payload
        if type(event) is ErrorReceived:
            raise CallErrorReceived(action, event.error)
        e = event.error  # InvalidResult
        raise InvalidResponse(e.code, e.description, e.details)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        """Keep one timer at the core's next deadline.  A timer that would fire earlier is
        left alone (it re-arms when it fires), so a round trip arms nothing new."""
        deadline = self._core.next_deadline()
        if deadline is None:
            return
        timer = self._timer
        if timer is not None:
            if timer.when() <= deadline:
                return
            timer.cancel()
        self._timer = loop.call_at(deadline, self._on_deadline, deadline)

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        # Looked up once: asyncio.get_running_loop() costs a getpid() system call in 3.11.
        self._loop = loop = asyncio.get_running_loop()
        return loop

    def _on_deadline(self, when: float) -> None:
        self._timer = None
        loop = self._loop
        # The timer's own time: a loop clock that ticks in milliseconds may read a hair early.
        for event in self._core.expire(max(loop.time(), when)):
            call = event.call
            _resolve(call.context, exception=CallTimeout(call.action, call.unique_id, call.timeout))
        self._let_next_go(loop)
        self._arm(loop)

    def _let_next_go(self, loop: asyncio.AbstractEventLoop) -> None:
        core = self._core
        while (call := core.next_call(loop.time())) is not None:
            turn = call.context
            if not turn.done():
                turn.set_result(None)
                return
            core.withdraw(call)  # its caller was cancelled while it waited

    def after_reply(self, job: Callable[[], object]) -> None:
        """Run `job` once the reply to the inbound CALL being handled has been sent.

        For effects the spec orders after the answer (a remote start's StartTransaction
        after RemoteStartTransaction.conf).  Outside a handler, `job` runs at once.
        """
        if self._after is None:
            job()
        else:
            self._after.append(job)

    # -- inbound ---------------------------------------------------------------------
    async def run(self) -> None:
        """Read frames until the connection closes.  Pending calls then fail with SessionClosed."""
        if self._loop is None:
            self._bind_loop()
        try:
            async for raw in self.connection:
                self._on_frame(raw)
        except Exception as e:  # the transport's own close errors end the session quietly
            if not _is_connection_closed(e):
                raise
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        for call in self._core.close():
            _resolve(call.context, exception=SessionClosed(
                f"{self.name}: connection closed awaiting {call.action}"))
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_frame(self, raw: str | bytes) -> None:
        event = self._core.receive(raw)
        kind = type(event)
        if kind is ResultReceived or kind is ErrorReceived or kind is InvalidResult:
            if self.taps:
                self._tap("in", raw)
            _resolve(event.call.context, event)
            if self._core.waiting:
                self._let_next_go(self._loop)
        elif kind is CallReceived:
            if self.taps:
                self._tap("in", raw)
            if event.call.repairs:
                log.warning("%s: repaired %s request: %s", self.name, event.call.action,
                            "; ".join(event.call.repairs))
            if self._server is None:
                task = self._loop.create_task(self._serve())
                if not task.done():  # an eager task factory may have run it to the end
                    self._server = task
        elif kind is UnmatchedReply:
            if self.taps:
                self._tap("in", raw, event.note)
            log.warning("%s: reply to no outstanding call dropped: %.200r", self.name, raw)
        else:  # FrameRejected
            if self.taps:
                self._tap("in", raw, event.note)
            log.warning("%s: %s: %.200r", self.name, event.note, raw)
            if event.reply is not None:
                self._send_soon(event.reply)

    def _send_soon(self, text: str) -> None:
        """Send without holding up the reader (a CALLERROR for a rejected frame)."""
        if self._background is None:
            self._background = set()
        task = asyncio.ensure_future(self._send_quietly(text))
        self._background.add(task)  # keep a reference until sent
        task.add_done_callback(self._background.discard)

    async def _send_quietly(self, text: str) -> None:
        try:
            await self.send_raw(text)
        except Exception as e:
            if not _is_connection_closed(e):
                raise

    async def _serve(self) -> None:
        """Answer inbound CALLs in arrival order, one at a time, until none waits."""
        core = self._core
        try:
            while (call := core.next_inbound()) is not None:
                self._after = after = []
                try:
                    if call.rejection is not None:
                        frame = core.fail(call, call.rejection)
                    else:
                        try:
                            result = await self.handler(call.action, call.payload)
                        except Exception as e:
                            frame = None if core.closed else self._failure(call, e)
                        else:
                            frame = None if core.closed else self._response(call, result)
                finally:
                    self._after = None
                if frame is None:  # the connection closed meanwhile: nobody to answer
                    return
                try:
                    if self.taps:
                        self._tap("out", frame)
                    await self.connection.send(frame)
                except Exception as e:
                    if not _is_connection_closed(e):
                        raise
                for job in after:
                    try:
                        job()
                    except Exception:
                        log.exception("%s: after-reply job for %s failed", self.name, call.action)
        finally:
            self._server = None

    def _response(self, call: InboundCall, result: dict) -> str:
        try:
            return self._core.respond(call, result)
        except OcppError as e:
            log.error("%s: our own %s response is invalid: %s", self.name, call.action, e)
            return self._core.fail(call, e)

    def _failure(self, call: InboundCall, error: Exception) -> str:
        if not isinstance(error, OcppError):
            log.error("%s: handler for %s failed", self.name, call.action, exc_info=error)
        return self._core.fail(call, error)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.connection.close(code, reason)


def _abandon(future: asyncio.Future) -> None:
    """A future its caller stopped waiting for: cancel it, or mark its exception seen (no
    "Future exception was never retrieved" in the log for each call cut off mid-send)."""
    if not future.cancel() and not future.cancelled():
        future.exception()


def _resolve(future: asyncio.Future | None, result=None, *, exception=None) -> None:
    """Complete a caller's future unless it already is (cancelled, or raced)."""
    if future is None or future.done():
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)


def _is_connection_closed(exc: BaseException) -> bool:
    # Kept loose so that any transport (websockets, in-memory pipes) can end a session.
    return type(exc).__name__.startswith("ConnectionClosed") or isinstance(exc, ConnectionError)
