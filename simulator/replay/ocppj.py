"""OCPP-J text logs: one frame per line, optionally led by a timestamp, a direction marker and
a station id (prefix.py), or bare frames.

The prefix layout is learnt from the lines themselves (the most common shape), so a line
that breaks it can be named precisely ("unknown direction marker 'FOO'").  Markers say what
the log's writer did; `perspective` says who wrote the log ("station" or "csms").  Without
it, the CALLs of one-sided actions tell (a `>>` BootNotification is a charger's log).
"""
from __future__ import annotations

import collections
import re
from dataclasses import dataclass, replace

from .infer import correlate, decode_frame, marker_direction, perspective_vote
from .prefix import DIR, TS, WORD, Token, shape, tokens
from .records import LoggedFrame, LogRead

_FRAME_START = re.compile(r"\[\s*-?\d+\s*,")


@dataclass(slots=True)
class _Line:
    number: int
    prefix: list[Token]
    raw: str


def frame_span(line: str) -> tuple[int, int | None] | None:
    """Where the JSON array of a frame starts and ends (end None: cut off), or None."""
    m = _FRAME_START.search(line)
    return None if m is None else (m.start(), value_end(line, m.start()))


def value_end(text: str, start: int) -> int | None:
    """The end of the JSON array or object at `start`, brackets matched outside strings;
    None when the text ends first (a value cut off).  A mismatched closing bracket ends
    the value there, so that decoding names the error."""
    closers, in_string, escaped = [], False, False
    for i in range(start, len(text)):
        c = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            closers.append("]" if c == "[" else "}")
        elif c in "]}":
            if closers.pop() != c or not closers:
                return i + 1
    return None


def foreign_line(text: str) -> str | None:
    """The layout a line of another layout belongs to (mixed layouts in one file)."""
    s = text.strip()
    if s.startswith("{") and '"chargesim-recording"' in s:
        return "a chargesim recording header"
    if s.startswith("{") and '"raw"' in s:
        return "a chargesim recording or hub export record"
    if s.startswith("<"):
        return "XML (a SOAP dump?)"
    return None


def read(lines: list[str], result: LogRead, *, perspective: str | None, station: str | None,
         protocol: str | None, cut: bool) -> None:
    """Read `lines` into `result`; `cut`: the text did not end with a newline."""
    parsed = _scan(lines, result, cut)
    layout = _common_shape(parsed)
    drafts, markers = [], []
    for entry in parsed:
        found = _fit(entry, layout, result)
        ts = next((t.value for t in found if t.kind == TS), None)
        marker = next((t.value for t in found if t.kind == DIR), None)
        words = [t.text for t in found if t.kind == WORD]
        message, error = decode_frame(entry.raw)
        if error:
            result.problem(entry.number, error)
        # The station is the last word, if the file's layout has one (else a stray word).
        named = words[-1] if words and WORD in layout else station
        frame = LoggedFrame(entry.number, ts, named, None, protocol, entry.raw, message, error)
        drafts.append(frame)
        markers.append(marker)

    perspective = perspective or _vote(drafts, markers, result)
    result.perspective = perspective
    frames = []
    for frame, marker in zip(drafts, markers):
        if marker is not None and perspective is not None:
            frame = replace(frame, direction=marker_direction(marker, perspective))
        frames.append(frame)
    result.frames.extend(correlate(frames, result))


def _scan(lines: list[str], result: LogRead, cut: bool) -> list[_Line]:
    """Each line's frame and the tokens before it; lines without a whole frame reported."""
    parsed = []
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        span = frame_span(text)
        if span is None:
            other = foreign_line(text)
            if other:
                result.problem(number, f"{other} in an OCPP-J log (mixed layouts?)")
            elif re.search(r"[{\"]", text):
                result.problem(number, "not a JSON array: no OCPP-J frame [type, id, ...] on the line")
            else:
                result.problem(number, "no OCPP-J frame [type, id, ...] on the line")
            continue
        start, end = span
        if end is None:
            last = number == len(lines) and cut
            result.problem(number, "truncated frame" + (" (log cut mid-write?)" if last else ""))
            continue
        if text[end:].strip():
            result.problem(number, f"text after the frame ignored: {text[end:].strip()[:40]!r}")
        parsed.append(_Line(number, tokens(text[:start]), text[start:end]))
    return parsed


def _common_shape(parsed: list[_Line]) -> tuple[str, ...]:
    shapes = collections.Counter(shape(p.prefix) for p in parsed[:50])
    return shapes.most_common(1)[0][0] if shapes else ()


def _fit(entry: _Line, layout: tuple[str, ...], result: LogRead) -> list[Token]:
    """The line's tokens, with those that break the file's layout reported and dropped."""
    found = entry.prefix
    if shape(found) == layout:
        return found
    if len(found) != len(layout):
        names = " ".join(layout) or "a bare frame"
        prefix = " ".join(t.text for t in found) or "nothing"
        result.problem(entry.number, f"prefix {prefix!r} does not fit the layout of the other "
                                     f"lines ({names}); read as far as it goes")
        return found
    kept = []
    for token, expected in zip(found, layout):
        if token.kind == expected:
            kept.append(token)
        elif expected == DIR:
            result.problem(entry.number, f"unknown direction marker {token.text!r}")
        elif expected == TS:
            result.problem(entry.number, f"unreadable timestamp {token.text!r}")
        else:
            result.problem(entry.number, f"{token.text!r} where the other lines have a "
                                         f"{expected}; ignored")
    return kept


def _vote(frames: list[LoggedFrame], markers: list, result: LogRead) -> str | None:
    votes = [(f, perspective_vote(m, f)) for f, m in zip(frames, markers) if m is not None]
    votes = [(f, v) for f, v in votes if v is not None]
    if not votes:
        if any(m is not None for m in markers):
            first = next(f for f, m in zip(frames, markers) if m is not None)
            result.problem(first.line, "cannot tell whose log this is (no CALL of an action "
                                       "only one side sends): directions inferred from the "
                                       "protocol; pass perspective='station' or 'csms'")
        return None
    winner = collections.Counter(v for _, v in votes).most_common(1)[0][0]
    for frame, vote in votes:
        if vote != winner:
            result.problem(frame.line, f"direction marker disagrees with the rest of this "
                                       f"{winner} log ({frame.message.action} goes the other "
                                       f"way); the marker is believed")
    return winner
