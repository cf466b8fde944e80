"""One OCPP-J RPC session over one connection.

- every CALL gets a fresh unique id; replies are matched by id, never by arrival order,
  so a late reply after a timeout is dropped (and tapped) instead of shifting later replies;
- at most one outstanding outbound CALL (later calls wait their turn, FIFO);
- inbound CALLs are queued to one worker task and answered in arrival order, while the
  reader keeps reading: a handler may itself `await session.call(...)` and get its reply;
- unknown actions, actions the peer may not initiate and invalid payloads are answered with
  the spec's CALLERROR; frames that cannot even be taken apart are logged and answered when
  they were recognisably a CALL;
- a frame tap: callables that see every frame in and out (recording, metrics, TUI, debug).
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Protocol

from ..protocol import (CHARGE_POINT, CSMS, STRICT, Call, CallError, ErrorCode,
                        OcppError, ProtocolViolation, catalog, decode, encode_call, encode_error,
                        encode_result, new_unique_id, validate)

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
    def __init__(self, connection: Connection, *, version: str, role: str,
                 handler: Handler = _no_handler, name: str = "", mode: str = STRICT,
                 call_timeout: float = 30.0, validate_outbound: bool = True):
        if role not in (CHARGE_POINT, CSMS):
            raise ValueError(f"role must be {CHARGE_POINT!r} or {CSMS!r}")
        self.connection = connection
        self.version = version
        self.catalog = catalog(version)
        self.role = role
        self.peer_role = CSMS if role == CHARGE_POINT else CHARGE_POINT
        self.handler = handler
        self.name = name
        self.mode = mode
        self.call_timeout = call_timeout
        self.validate_outbound = validate_outbound
        self.taps: list[Callable[[Frame], None]] = []
        self.closed = False
        self._call_lock = asyncio.Lock()
        self._pending: dict[str, tuple[str, asyncio.Future]] = {}
        self._inbound: asyncio.Queue[Call | None] = asyncio.Queue()
        self._inbound_ids: set[str] = set()
        self._worker: asyncio.Task | None = None
        self._background: set[asyncio.Task] = set()
        self._after: list[Callable[[], object]] | None = None  # set while a handler runs

    # -- taps ------------------------------------------------------------------------
    def _tap(self, direction: str, raw: str | bytes, note: str | None = None) -> None:
        if not self.taps:
            return
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
        self._tap("out", text, note)
        await self.connection.send(text)

    # -- outbound --------------------------------------------------------------------
    async def call(self, action: str, payload: dict, *, timeout: float | None = None,
                   validate_payload: bool | None = None) -> dict:
        """Send a CALL and return the reply payload.

        Raises CallErrorReceived, CallTimeout, InvalidResponse, SessionClosed; and OcppError
        before sending if our own payload breaks the schema (unless validation is off).
        """
        if self.closed:
            raise SessionClosed(f"{self.name}: session is closed")
        spec = self.catalog.get(action)
        check = self.validate_outbound if validate_payload is None else validate_payload
        if check:
            if spec is None:
                raise OcppError(ErrorCode.NOT_IMPLEMENTED, f"{action} is not an {self.version} action")
            if not spec.initiated_by(self.role):
                raise OcppError(ErrorCode.NOT_SUPPORTED,
                                f"{action} is not initiated by the {self.role} in {self.version}")
            payload, _ = validate(self.version, action, "request", payload)
        timeout = self.call_timeout if timeout is None else timeout
        await self._call_lock.acquire()
        handed_over = False
        try:
            if self.closed:  # the connection closed while this call waited for its turn
                raise SessionClosed(f"{self.name}: connection closed before {action} was sent")
            unique_id = new_unique_id()
            future = asyncio.get_running_loop().create_future()
            self._pending[unique_id] = (action, future)
            # A plain timer instead of asyncio.wait_for: one less task switch per round trip.
            loop = future.get_loop()
            deadline = loop.time() + timeout
            timer = loop.call_later(
                timeout, lambda: future.done() or future.set_exception(
                    CallTimeout(action, unique_id, timeout)))
            try:
                try:
                    await self.send_raw(encode_call(unique_id, action, payload))
                except Exception as e:
                    if _is_connection_closed(e):
                        raise SessionClosed(f"{self.name}: connection closed sending {action}") from e
                    raise
                try:
                    reply = await future
                except asyncio.CancelledError:
                    # The caller gave up, but the CALL is on the wire: keep the one-outstanding
                    # slot until its reply (or timeout) arrives, so the next CALL cannot
                    # overtake it and its reply is not mistaken for a late one.
                    if not self.closed:
                        handed_over = True
                        self._hold_slot(action, unique_id, timer, deadline)
                    raise
            finally:
                if not handed_over:
                    timer.cancel()
                    self._pending.pop(unique_id, None)
                # If the send itself failed (or the caller was cancelled) after _shutdown
                # had already failed the future, nobody awaits it: read its exception so
                # asyncio does not log "Future exception was never retrieved".
                if future.done() and not future.cancelled():
                    future.exception()
        finally:
            if not handed_over:
                self._call_lock.release()
        if isinstance(reply, CallError):
            raise CallErrorReceived(action, reply)
        if spec is None:
            return reply.payload
        try:
            result, repairs = validate(self.version, action, "response", reply.payload, self.mode)
        except OcppError as e:
            raise InvalidResponse(e.code, e.description, e.details) from None
        if repairs:
            log.warning("%s: repaired %s response: %s", self.name, action, "; ".join(repairs))
        return result

    def _hold_slot(self, action: str, unique_id: str, timer: asyncio.TimerHandle,
                   deadline: float) -> None:
        """Keep the slot of a cancelled call: a placeholder future whose completion (its
        reply, the timeout, or the session closing) releases the lock."""
        timer.cancel()
        loop = asyncio.get_running_loop()
        placeholder = loop.create_future()
        self._pending[unique_id] = (action, placeholder)
        timer = loop.call_at(deadline, lambda: placeholder.done() or placeholder.set_result(None))

        def release(_):
            timer.cancel()
            self._pending.pop(unique_id, None)
            if not placeholder.cancelled():
                placeholder.exception()  # read, so asyncio does not log it as never retrieved
            self._call_lock.release()
        placeholder.add_done_callback(release)

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
        self._worker = asyncio.create_task(self._answer_calls(), name=f"{self.name}-inbound")
        try:
            async for raw in self.connection:
                self._on_frame(raw)
        except Exception as e:  # the transport's own close errors end the session quietly
            if not _is_connection_closed(e):
                raise
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        self.closed = True
        for action, future in self._pending.values():
            if not future.done():
                future.set_exception(SessionClosed(f"{self.name}: connection closed awaiting {action}"))
        self._inbound.put_nowait(None)

    def _on_frame(self, raw: str | bytes) -> None:
        try:
            message = decode(raw)
        except ProtocolViolation as e:
            self._tap("in", raw, f"rejected: {e.description}")
            log.warning("%s: bad frame (%s): %.200r", self.name, e.description, raw)
            if e.unique_id is not None:
                self._reply_error(e.unique_id, e.code, e.description)
            return
        if isinstance(message, Call):
            if message.unique_id in self._inbound_ids or message.unique_id in self._pending:
                self._tap("in", raw, "rejected: duplicate unique id")
                self._reply_error(message.unique_id, ErrorCode.PROTOCOL_ERROR,
                                  f"unique id {message.unique_id} is already in use")
                return
            self._tap("in", raw)
            self._inbound_ids.add(message.unique_id)
            self._inbound.put_nowait(message)
            return
        entry = self._pending.get(message.unique_id)
        if entry is None or entry[1].done():
            self._tap("in", raw, "dropped: reply to no outstanding call (late or unknown id)")
            log.warning("%s: reply to no outstanding call dropped: %.200r", self.name, raw)
            return
        self._tap("in", raw)
        entry[1].set_result(message)

    def _reply_error(self, unique_id: str, code: ErrorCode, description: str,
                     details: dict | None = None) -> None:
        text = encode_error(unique_id, code, description, details, self.version)
        task = asyncio.ensure_future(self._send_quietly(text))
        self._background.add(task)  # keep a reference until sent
        task.add_done_callback(self._background.discard)

    async def _send_quietly(self, text: str) -> None:
        try:
            await self.send_raw(text)
        except Exception as e:
            if not _is_connection_closed(e):
                raise

    async def _answer_calls(self) -> None:
        while (message := await self._inbound.get()) is not None:
            self._after = after = []
            try:
                text = await self._answer(message)
            finally:
                self._after = None
                self._inbound_ids.discard(message.unique_id)
            if self.closed:
                return
            await self._send_quietly(text)
            for job in after:
                try:
                    job()
                except Exception:
                    log.exception("%s: after-reply job for %s failed", self.name, message.action)

    async def _answer(self, message: Call) -> str:
        """The reply frame for one inbound CALL."""
        uid, action = message.unique_id, message.action
        try:
            if action not in self.catalog:
                canonical = self.catalog.canonical_name(action) if self.mode != STRICT else None
                if canonical is None:
                    raise OcppError(ErrorCode.NOT_IMPLEMENTED,
                                    f"unknown action {action!r} for {self.version}")
                log.warning("%s: action %r read as %r", self.name, action, canonical)
                action = canonical
            if not self.catalog[action].initiated_by(self.peer_role):
                raise OcppError(ErrorCode.NOT_SUPPORTED,
                                f"{action} is not initiated by the {self.peer_role} in {self.version}")
            payload, repairs = validate(self.version, action, "request", message.payload, self.mode)
            if repairs:
                log.warning("%s: repaired %s request: %s", self.name, action, "; ".join(repairs))
            result = await self.handler(action, payload)
            if self.validate_outbound:
                try:
                    result, _ = validate(self.version, action, "response", result)
                except OcppError as e:
                    log.error("%s: our own %s response is invalid: %s", self.name, action, e)
                    raise OcppError(ErrorCode.INTERNAL_ERROR, f"invalid response produced: {e}") from None
            return encode_result(uid, result)
        except OcppError as e:
            return encode_error(uid, e.code, e.description, e.details, self.version)
        except Exception as e:
            log.exception("%s: handler for %s failed", self.name, action)
            return encode_error(uid, ErrorCode.INTERNAL_ERROR, f"{type(e).__name__}: {e}", None,
                                self.version)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.connection.close(code, reason)


def _is_connection_closed(exc: BaseException) -> bool:
    # Kept loose so that any transport (websockets, in-memory pipes) can end a session.
    return type(exc).__name__.startswith("ConnectionClosed") or isinstance(exc, ConnectionError)
