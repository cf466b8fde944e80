"""Every OCPP round trip of a station as one request record, read from the session's frame
tap and the station's public events (never from private members).

A record is what Locust's `request` event takes: request_type (the protocol version, e.g.
"ocpp1.6"), name (the action, or "connect" / "boot" / "reconnect"), response_time (ms),
response_length (bytes of the reply) and exception (None, or why it failed):

- a CALLRESULT ends the round trip; its payload is checked against the action's response
  schema (a CSMS's schema violation is a failure: `SchemaViolation`);
- a CALLERROR is a failure (`CallErrorAnswer`, with the code and description);
- no reply within the station's call timeout is a failure (`NoReply`), reported once, by a
  sweep the bridge runs on the engine loop;
- the connection closing while a reply is awaited is a failure (`ConnectionLost`), unless
  the driver switched the station off itself (end of the test, a reboot): such calls are
  counted in `cut_off`, not reported (the driver waits for replies in flight first);
- "connect" is the time from start to the link being up, "boot" from the link being up to
  the CSMS accepting the BootNotification, "reconnect" from a lost link to the next one
  being up.  A station that never gets a link reports "connect" with `CouldNotConnect`.

CALLs the CSMS sends to the station are answered by the station; they are not requests of
the load test and are not reported.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable

import orjson

from ..protocol.validation import validate
from ..session import Frame
from ..station import Event, Registration

CONNECT, BOOT, RECONNECT = "connect", "boot", "reconnect"

_CALL = re.compile(r'\[\s*2\s*,\s*"([^"]*)"\s*,\s*"([^"]*)"')
_REPLY = re.compile(r'\[\s*([34])\s*,\s*"([^"]*)"')


class SwarmFailure(Exception):
    """Why a request of the swarm failed (the text Locust shows)."""


class CallErrorAnswer(SwarmFailure):
    pass


class SchemaViolation(SwarmFailure):
    pass


class NoReply(SwarmFailure):
    pass


class ConnectionLost(SwarmFailure):
    pass


@dataclass(slots=True)
class Record:
    request_type: str
    name: str
    response_time: float     # ms
    response_length: int
    exception: BaseException | None = None


Sink = Callable[[Record], None]


class StationProbe:
    """Watches one station: its frames (tap) and its events (subscription)."""
    __slots__ = ("station_id", "version", "sink", "call_timeout", "mode", "pending",
                 "_started_at", "_linked_at", "_lost_at", "_booted", "unsubscribe",
                 "calls", "replies", "cut_off")

    def __init__(self, station, sink: Sink, *, call_timeout: float, mode: str = "strict"):
        self.station_id = station.id
        self.version = station.options.version
        self.sink = sink
        self.call_timeout = call_timeout
        self.mode = mode
        self.pending: dict[str, tuple[str, float]] = {}   # unique id -> (action, sent at)
        self._started_at: float | None = None
        self._linked_at: float | None = None
        self._lost_at: float | None = None
        self._booted = False
        self.calls = self.replies = self.cut_off = 0
        station.taps.append(self.frame)
        self.unsubscribe = station.view.subscribe(self.event)

    # -- connect / boot --------------------------------------------------------------
    def starting(self) -> None:
        """Called by the driver just before `station.start()`."""
        self._started_at = time.perf_counter()
        self._booted = False

    def could_not_connect(self, error: BaseException) -> None:
        since = self._started_at if self._started_at is not None else time.perf_counter()
        self.sink(Record(self.version, CONNECT, (time.perf_counter() - since) * 1000, 0, error))

    def event(self, event: Event) -> None:
        kind = event.kind
        if kind == "connected":
            now = time.perf_counter()
            self._linked_at = now
            if self._lost_at is not None:
                self.sink(Record(self.version, RECONNECT, (now - self._lost_at) * 1000, 0))
                self._lost_at = None
            elif self._started_at is not None:
                self.sink(Record(self.version, CONNECT, (now - self._started_at) * 1000, 0))
                self._started_at = None
        elif kind == "boot":
            if event.data.get("status") == Registration.ACCEPTED:
                if not self._booted and self._linked_at is not None:
                    self._booted = True
                    self.sink(Record(self.version, BOOT,
                                     (time.perf_counter() - self._linked_at) * 1000, 0))
        elif kind == "disconnected":
            self._lost_at = time.perf_counter()
            self.fail_pending(ConnectionLost)
        elif kind == "stopped":
            # switched off on purpose (the test ending, a reboot): a call cut off by our
            # own stop says nothing about the CSMS; it is counted apart, not as a failure
            self._lost_at = None
            self.cut_off += len(self.pending)
            self.pending.clear()

    # -- round trips -----------------------------------------------------------------
    def frame(self, frame: Frame) -> None:
        raw = frame.raw
        if frame.direction == "out":
            if raw[1:2] == "2" or raw.lstrip("[ ")[:1] == "2":
                m = _CALL.match(raw)
                if m is not None:
                    self.calls += 1
                    self.pending[m.group(1)] = (m.group(2), time.perf_counter())
            return
        m = _REPLY.match(raw)
        if m is None:
            return
        entry = self.pending.pop(m.group(2), None)
        if entry is None:   # a late reply (already reported as NoReply) or not ours
            return
        self.replies += 1
        action, sent = entry
        ms = (time.perf_counter() - sent) * 1000
        error: BaseException | None = None
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            error = SchemaViolation(f"{action}: reply is not JSON: {e}")
        else:
            if m.group(1) == "4":
                code = message[2] if len(message) > 2 else "?"
                text = message[3] if len(message) > 3 else ""
                error = CallErrorAnswer(f"CALLERROR {code}: {text}")
            else:
                try:
                    validate(self.version, action, "response",
                             message[2] if len(message) > 2 else None, self.mode)
                except Exception as e:  # OcppError, or an action the catalog lacks
                    error = SchemaViolation(f"{action} response: {e}")
        self.sink(Record(self.version, action, ms, len(raw), error))

    def sweep(self, now: float | None = None) -> None:
        """Report calls that have waited longer than the call timeout (once each)."""
        if not self.pending:
            return
        now = time.perf_counter() if now is None else now
        limit = self.call_timeout
        late = [(uid, a, t) for uid, (a, t) in self.pending.items() if now - t > limit]
        for uid, action, sent in late:
            del self.pending[uid]
            self.sink(Record(self.version, action, (now - sent) * 1000, 0,
                             NoReply(f"{action}: no reply within {limit:g}s")))

    def fail_pending(self, kind: type[SwarmFailure]) -> None:
        if not self.pending:
            return
        now = time.perf_counter()
        pending, self.pending = self.pending, {}
        for action, sent in pending.values():
            self.sink(Record(self.version, action, (now - sent) * 1000, 0,
                             kind(f"{action}: connection closed awaiting the reply")))

    def detach(self, station) -> None:
        self.unsubscribe()
        if self.frame in station.taps:
            station.taps.remove(self.frame)
