"""What the hub says about frames beyond answering them: a structured log line for every
CALLERROR sent or received, and marks on the frames lenient mode repaired.

Both work from the session's frame taps (`simulator.session.Frame`), so they see every
CALLERROR whichever layer produced it: the RPC core (schema violation, unknown action,
duplicate id, unreadable frame), an adapter (NotSupported, a bad timestamp) or the station
answering one of the hub's commands.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Callable

import orjson

from simulator.protocol import CALL, LENIENT, catalog, validate
from simulator.session import Frame

log = logging.getLogger("hub_under_test.callerrors")

RECENT_CALLS = 8   # CALLs remembered each way to name a CALLERROR's action
# The head of a CALL frame: [2, "unique id", "Action", ... (any spacing)
_CALL_HEAD = re.compile(r'\s*\[\s*2\s*,\s*"((?:[^"\\]|\\.)*)"\s*,\s*"((?:[^"\\]|\\.)*)"')


def _is(raw: str, kind: str) -> bool:
    """Whether `raw` is a frame of message type `kind` ("2", "4"), read cheaply: our own
    encoder writes `[2,`; a peer may put spaces."""
    return raw.startswith(kind, 1) or raw.lstrip("[ \t\r\n").startswith(kind)


class CallErrorLog:
    """One connection's tap: remembers its last few CALLs each way and, for each CALLERROR,
    logs station, action, code and why (as text and as the record's `ocpp` field, which
    `logs.JsonFormatter` writes out).  A CALLERROR answers the CALL with its unique id;
    CALLs are answered in order, so that CALL is among the last few."""

    __slots__ = ("station_id", "_count", "_calls")

    def __init__(self, station_id: str, count_sent: Callable[[str | None, str], None] | None = None):
        self.station_id = station_id
        self._count = count_sent   # (action, code) of each CALLERROR sent, for metrics
        self._calls: dict[str, list[str]] | None = None   # direction → raw CALL frames

    def __call__(self, frame: Frame) -> None:
        raw = frame.raw
        if not raw:
            return
        if _is(raw, "2"):
            calls = self._calls
            if calls is None:
                calls = self._calls = {"in": [], "out": []}
            seen = calls[frame.direction]
            seen.append(raw)
            if len(seen) > RECENT_CALLS:
                del seen[0]
        elif _is(raw, "4"):
            self._log(frame)

    def _log(self, frame: Frame) -> None:
        try:
            _, unique_id, code, why, *rest = orjson.loads(frame.raw)
        except Exception:
            unique_id, code, why, rest = None, "unreadable", frame.raw[:200], []
        # an error we send answers a CALL we received, and the other way round
        answered = "in" if frame.direction == "out" else "out"
        action = self._action(answered, unique_id)
        sent = frame.direction == "out"
        details = rest[0] if rest and rest[0] else None
        record = {"event": "callerror", "direction": "sent" if sent else "received",
                  "station": self.station_id, "action": action, "code": code, "why": why,
                  "unique_id": unique_id}
        if details:
            record["details"] = details
        if sent and self._count is not None:
            self._count(action, str(code))
        log.warning("CALLERROR %s %s station=%s action=%s code=%s why=%r%s",
                    "sent to" if sent else "received from", self.station_id, self.station_id,
                    action, code, why, f" details={orjson.dumps(details).decode()}" if details else "",
                    extra={"ocpp": record})

    def _action(self, direction: str, unique_id) -> str | None:
        if self._calls is None or not isinstance(unique_id, str):
            return None
        for raw in reversed(self._calls[direction]):
            m = _CALL_HEAD.match(raw)
            if m and m.group(1) == unique_id:
                return m.group(2)
        return None


# -- lenient repairs -------------------------------------------------------------------------

@dataclass(slots=True)
class RepairedFrame(Frame):
    """A frame lenient mode repaired before handling it: `repairs` says what was changed."""
    repairs: tuple[str, ...] = ()


def mark_repairs(frame: Frame) -> Frame:
    """The frame, marked if it is an inbound CALL that lenient validation had to repair.

    The session repairs and logs but taps the raw frame unmarked, so the hub asks the same
    pure validator what it repaired (a valid payload costs one compiled check).  Once the
    session's Frame carries its repairs, this goes."""
    if frame.direction != "in" or not _is(frame.raw, "2"):
        return frame
    try:
        message = orjson.loads(frame.raw)
        if message[0] != CALL:
            return frame
        action, repairs = message[2], []
        actions = catalog(frame.version)
        if action not in actions.actions:   # the core reads a mis-cased action name too
            canonical = actions.canonical_name(action)
            if canonical is None:
                return frame
            repairs.append(f"action {action!r} read as {canonical!r}")
            action = canonical
        repairs += validate(frame.version, action, "request", message[3], LENIENT)[1]
    except Exception:   # unreadable or not repairable: the session notes those itself
        return frame
    if not repairs:
        return frame
    return RepairedFrame(frame.ts, frame.station, frame.direction, frame.version, frame.raw,
                         "repaired (lenient): " + "; ".join(repairs), tuple(repairs))
