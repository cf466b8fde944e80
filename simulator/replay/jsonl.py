"""Our own recording format, version 1 (docs/recording-format.md): a header line, then one
JSON object per frame.  Broken frames are recorded on purpose, so they are kept (with the
decode error) as well as reported."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from .infer import correlate, decode_frame
from .records import DIRECTIONS, LoggedFrame, LogError, LogRead

FORMAT = "chargesim-recording"
VERSION = 1


def is_header(text: str) -> bool:
    try:
        obj = json.loads(text)
    except ValueError:
        return False
    return isinstance(obj, dict) and obj.get("format") == FORMAT


def read(lines: list[str], result: LogRead, *, cut: bool) -> None:
    numbered = [(n, text) for n, text in enumerate(lines, 1) if text.strip()]
    if not numbered or not is_header(numbered[0][1]):
        raise LogError(f"{result.source}: not a chargesim recording (no header line)")
    header = json.loads(numbered[0][1])
    if header.get("version") != VERSION:
        raise LogError(f"{result.source}: recording format version {header.get('version')!r} "
                       f"is not supported (this chargesim reads {VERSION})")
    result.header = header
    frames = []
    for number, text in numbered[1:]:
        frame = _frame(number, text, result, last=cut and number == len(lines))
        if frame is not None:
            frames.append(frame)
    result.frames.extend(correlate(frames, result))


def _frame(number: int, text: str, result: LogRead, *, last: bool) -> LoggedFrame | None:
    try:
        record = json.loads(text)
    except ValueError as e:
        if text.lstrip().startswith("["):
            result.problem(number, "an OCPP-J frame line, not a recording record (mixed layouts?)")
        elif last:
            result.problem(number, "truncated line (recording cut mid-write?)")
        else:
            result.problem(number, f"not valid JSON: {e}")
        return None
    if isinstance(record, list):
        result.problem(number, "an OCPP-J frame line, not a recording record (mixed layouts?)")
        return None
    if not isinstance(record, dict):
        result.problem(number, "not a JSON object (a recording record is {\"ts\": ..., \"raw\": ...})")
        return None
    if record.get("format") == FORMAT:
        result.problem(number, "a second recording header (two recordings joined?)")
        return None
    missing = [k for k in ("ts", "direction", "raw") if k not in record]
    if missing:
        result.problem(number, f"missing field(s) {', '.join(missing)}")
        return None
    if record["direction"] not in DIRECTIONS:
        result.problem(number, f"direction must be 'out' or 'in', got {record['direction']!r}")
        return None
    if not isinstance(record["raw"], str) or not isinstance(record["ts"], (int, float)):
        result.problem(number, "raw must be a string and ts a number")
        return None
    if record.get("protocol") == "ocpp1.5" or record["raw"].lstrip().startswith("<"):
        from .soap import as_rpc       # a recorded OCPP 1.5 SOAP envelope
        message, error = as_rpc(record["raw"])
    else:
        message, error = decode_frame(record["raw"])
    if error:
        result.problem(number, error)
    return LoggedFrame(number, datetime.fromtimestamp(record["ts"], timezone.utc),
                       record.get("station"), record["direction"], record.get("protocol"),
                       record["raw"], message, error, note=record.get("note"),
                       scenario=record.get("scenario"))
