"""The text that leads a frame on a log line: timestamp, direction marker, station id.

Real logs print these in any order, separated by spaces, tabs, `|`, `:` or brackets.  The
prefix is cut into tokens, each classified as a timestamp, a direction marker, a log level
(ignored) or a word (a station id candidate); `shape()` is the sequence of classes, which
the OCPP-J reader learns from the first lines to tell a misspelt marker from a station id.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

TS, DIR, WORD = "timestamp", "direction", "station"

# Markers say "the log's writer sent" or "... received"; whose log it is (perspective) turns
# that into the station's out/in.  Arrows point away from the writer when it sends.
SENT, RECEIVED = "sent", "received"
MARKERS = {
    ">>": SENT, "->": SENT, "-->": SENT, "=>": SENT,
    "<<": RECEIVED, "<-": RECEIVED, "<--": RECEIVED, "<=": RECEIVED,
    "out": SENT, "send": SENT, "sent": SENT, "sending": SENT, "tx": SENT,
    "in": RECEIVED, "recv": RECEIVED, "received": RECEIVED, "receiving": RECEIVED, "rx": RECEIVED,
}
_LEVELS = {"trace", "debug", "info", "notice", "warn", "warning", "error", "critical", "fatal"}

_ISO = (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?"
        r"(?:\s?(?:Z|UTC|[+-]\d{2}(?::?\d{2})?))?")
_EPOCH = r"\d{10}(?:\.\d{1,9})?|\d{13}(?:\.\d+)?"
_TOKEN = re.compile(
    rf"\[(?P<bracket>[^\]]*)\]"
    rf"|(?P<iso>{_ISO})(?![\d:])"
    rf"|(?P<arrow>-->|<--|->|<-|>>|<<|=>|<=)"
    rf"|(?P<word>[^\s|\[\]]+)")
_EPOCH_RE = re.compile(rf"(?:{_EPOCH})")
_ISO_RE = re.compile(_ISO)
_Y2000, _Y2100 = 946684800, 4102444800
_CLOCK_RE = re.compile(r"\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str                      # TS, DIR or WORD
    text: str
    value: object = None           # TS: datetime (None: a bare time of day); DIR: SENT/RECEIVED


def parse_timestamp(text: str) -> datetime | None:
    """ISO 8601 (T or space, with or without offset: naive means UTC), or epoch s / ms."""
    text = text.strip()
    if _EPOCH_RE.fullmatch(text):
        value = float(text)
        if value > 1e11:                         # 13 digits before the point: milliseconds
            value /= 1000
        # Only years 2000-2099 count, so that most numeric station ids stay station ids.
        return datetime.fromtimestamp(value, timezone.utc) if _Y2000 <= value < _Y2100 else None
    if not _ISO_RE.fullmatch(text):
        return None
    text = text.replace(",", ".").replace(" UTC", "Z").replace("UTC", "Z")
    date, rest = text[:10], text[11:]
    rest = re.sub(r"\s+(?=[Z+-])", "", rest)
    rest = re.sub(r"\.(\d{6})\d+", r".\1", rest)          # fromisoformat: at most µs
    rest = re.sub(r"([+-]\d{2})$", r"\1:00", rest)
    try:
        moment = datetime.fromisoformat(f"{date}T{rest}".replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _classify(text: str) -> Token | None:
    bare = text.strip().rstrip(":,")
    if not bare:
        return None
    if bare.lower() in MARKERS:
        return Token(DIR, bare, MARKERS[bare.lower()])
    if bare.lower() in _LEVELS:
        return None
    moment = parse_timestamp(bare)
    if moment is not None:
        return Token(TS, bare, moment)
    if _CLOCK_RE.fullmatch(bare):  # a time of day without a date: a timestamp we cannot place
        return Token(TS, bare, None)
    return Token(WORD, bare)


def tokens(prefix: str) -> list[Token]:
    found = []
    for m in _TOKEN.finditer(prefix):
        if m["bracket"] is not None:
            inner = m["bracket"].strip()
            token = _classify(inner) if " " not in inner or parse_timestamp(inner) else None
            if token is None and inner:  # "[2026-11-28 04:03:06 CS-1]": read what is inside
                found.extend(tokens(inner))
                continue
        elif m["iso"] is not None:
            token = Token(TS, m["iso"], parse_timestamp(m["iso"]))
        elif m["arrow"] is not None:
            token = Token(DIR, m["arrow"], MARKERS[m["arrow"]])
        else:
            token = _classify(m["word"])
        if token is not None:
            found.append(token)
    return found


def shape(found: list[Token]) -> tuple[str, ...]:
    return tuple(t.kind for t in found)
