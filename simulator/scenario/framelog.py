"""Every frame of a run, parsed once: what the waits search and what a failure report shows.

A CALLRESULT or CALLERROR carries no action name on the wire; the log pairs it with the CALL
of the same unique id, so `expect_sent`/`csms` can find "the station's answer to that
RemoteStartTransaction"."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from ..protocol.soap.envelope import LENIENT, SoapFault, parse as parse_soap
from ..session import Frame

CALL, RESULT, ERROR = 2, 3, 4


@dataclass(slots=True)
class Entry:
    index: int
    ts: float
    station: str
    direction: str          # in | out (seen from the station)
    raw: str
    kind: int | None = None
    unique_id: str | None = None
    action: str | None = None
    payload: object = None
    note: str | None = None

    def line(self) -> str:
        arrow = "→" if self.direction == "out" else "←"
        text = self.raw if len(self.raw) <= 300 else self.raw[:297] + "..."
        return f"{self.station} {arrow} {text}" + (f"  ({self.note})" if self.note else "")


class FrameLog:
    def __init__(self):
        self.entries: list[Entry] = []
        self._actions: dict[tuple[str, str], str] = {}  # (station, unique id) -> action
        self._changed = asyncio.Event()

    def tap(self, frame: Frame) -> None:
        entry = Entry(len(self.entries), frame.ts, frame.station, frame.direction, frame.raw,
                      note=frame.note)
        if frame.raw.lstrip().startswith("<"):
            self._soap(frame, entry)
            self.entries.append(entry)
            self._changed.set()
            return
        try:
            msg = json.loads(frame.raw)
            entry.kind, entry.unique_id = msg[0], msg[1]
            if entry.kind == CALL:
                entry.action, entry.payload = msg[2], msg[3]
                self._actions[(frame.station, entry.unique_id)] = entry.action
            elif entry.kind == RESULT:
                entry.payload = msg[2]
                entry.action = self._actions.get((frame.station, entry.unique_id))
            elif entry.kind == ERROR:
                entry.payload = {"code": msg[2], "description": msg[3],
                                 "details": msg[4] if len(msg) > 4 else {}}
                entry.action = self._actions.get((frame.station, entry.unique_id))
        except (ValueError, IndexError, TypeError, KeyError):
            pass  # kept raw: a broken frame is still part of the story
        self.entries.append(entry)
        self._changed.set()

    def _soap(self, frame: Frame, entry: Entry) -> None:
        """An OCPP 1.5 SOAP envelope read as the OCPP-J frame it stands for: a request is a
        CALL (its MessageID the unique id), a response a CALLRESULT and a fault a CALLERROR
        (both by RelatesTo)."""
        try:
            msg = parse_soap(frame.raw, mode=LENIENT)
        except SoapFault:
            return          # kept raw, as a broken JSON frame is
        h = msg.headers
        if msg.kind == "request":
            entry.kind, entry.unique_id = CALL, h.message_id
            entry.action, entry.payload = msg.operation.name, msg.payload
            if h.message_id:
                self._actions[(frame.station, h.message_id)] = entry.action
        elif msg.kind == "response":
            entry.kind, entry.unique_id = RESULT, h.relates_to
            entry.action, entry.payload = msg.operation.name, msg.payload
        else:
            # the code a session reports for a fault (SoapRpcCore): its subcode
            entry.kind, entry.unique_id = ERROR, h.relates_to
            entry.action = self._actions.get((frame.station, h.relates_to))
            entry.payload = {"code": msg.fault.subcode or msg.fault.code,
                             "description": msg.fault.reason, "details": {"soapCode": msg.fault.code}}

    def find(self, start: int, predicate) -> Entry | None:
        for entry in self.entries[start:]:
            if predicate(entry):
                return entry
        return None

    async def wait(self, start: int, predicate, timeout: float) -> Entry | None:
        """The first entry from `start` on that matches, waiting up to `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        position = start
        while True:
            for entry in self.entries[position:]:
                if predicate(entry):
                    return entry
            position = len(self.entries)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    def reply_to(self, call: Entry) -> Entry | None:
        return self.find(call.index + 1, lambda e: e.station == call.station
                         and e.unique_id == call.unique_id and e.kind in (RESULT, ERROR))

    def around(self, ts: float, station: str | None = None, before: int = 8) -> list[Entry]:
        """The frames up to a moment (a failure), for the report."""
        chosen = [e for e in self.entries if e.ts <= ts and (station is None or e.station == station)]
        return chosen[-before:]
