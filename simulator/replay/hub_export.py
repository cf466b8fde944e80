"""The bundled hub's frame export (`GET /stations/{id}/frames`): a JSON array of
{"ts": ISO time, "direction", "sender", "version", "raw", "note"}.

The current export gives `direction` seen from the station already, and `sender`
("station" | "hub") says who sent the frame without a point of view: `sender` decides.
Exports from before `sender` existed wrote the hub session's own view (its "in" is the
station's "out"): without `sender`, directions are turned round.  Entries with an empty
`raw` are the hub's connect/close notes: kept as events.  The export does not name the
station (the URL does): pass `station`.
"""
from __future__ import annotations

import json

from .infer import correlate, decode_frame
from .ocppj import value_end
from .prefix import parse_timestamp
from .records import IN, OUT, LogEvent, LoggedFrame, LogRead

_FROM_HUB_SIDE = {"in": OUT, "out": IN}      # exports without `sender`
_BY_SENDER = {"station": OUT, "hub": IN}


def read(text: str, result: LogRead, *, station: str | None) -> None:
    result.perspective = "csms"
    frames: list[LoggedFrame] = []
    _entries(text, result, station, frames)   # stops at the first entry it cannot delimit
    result.frames.extend(correlate(frames, result))


def _entries(text: str, result: LogRead, station: str | None, frames: list[LoggedFrame]) -> None:
    decoder = json.JSONDecoder()

    def line_of(i: int) -> int:
        return text.count("\n", 0, i) + 1

    i = _skip(text, 0)
    if i >= len(text) or text[i] != "[":
        result.problem(line_of(i), "not a JSON array (the hub export is [{...}, ...])")
        return
    i = _skip(text, i + 1)
    while i < len(text) and text[i] != "]":
        try:
            entry, end = decoder.raw_decode(text, i)
        except ValueError as e:
            cut = value_end(text, i) is None
            result.problem(line_of(i), "truncated export (cut mid-entry)" if cut
                           else f"not valid JSON: {e.msg}")
            return
        frame = _entry(line_of(i), entry, result, station)
        if frame is not None:
            frames.append(frame)
        i = _skip(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
        elif i < len(text) and text[i] != "]":
            result.problem(line_of(i), "expected ',' or ']' between entries")
            return
    if i >= len(text):
        result.problem(line_of(len(text)), "truncated export (the array is not closed)")
    elif _skip(text, i + 1) < len(text):
        result.problem(line_of(_skip(text, i + 1)),
                       "text after the export's closing ']' (mixed layouts?)")


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _entry(number: int, entry, result: LogRead, station: str | None) -> LoggedFrame | None:
    if not isinstance(entry, dict) or not {"ts", "direction", "raw"} <= entry.keys():
        result.problem(number, "not a hub frame entry {\"ts\", \"direction\", \"raw\", ...}")
        return None
    timestamp = parse_timestamp(entry["ts"]) if isinstance(entry["ts"], str) else None
    if timestamp is None:
        result.problem(number, f"unreadable timestamp {entry['ts']!r}")
    if not entry["raw"]:
        result.events.append(LogEvent(number, timestamp, station, entry.get("note") or ""))
        return None
    if "sender" in entry:
        direction = _BY_SENDER.get(entry["sender"])
        if direction is None:
            result.problem(number, f"unknown sender {entry['sender']!r} (the hub writes "
                                   f"station/hub)")
        elif entry["direction"] != direction:
            result.problem(number, f"direction {entry['direction']!r} contradicts sender "
                                   f"{entry['sender']!r}; the sender is believed")
    else:
        direction = _FROM_HUB_SIDE.get(entry["direction"])
        if direction is None:
            result.problem(number, f"unknown direction {entry['direction']!r} (the hub writes "
                                   f"in/out)")
    message, error = decode_frame(entry["raw"])
    if error:
        result.problem(number, error)
    return LoggedFrame(number, timestamp, station, direction, entry.get("version"), entry["raw"],
                       message, error, note=entry.get("note"))
