"""Reading frame logs: our recordings, the hub's export, OCPP-J text logs and SOAP dumps,
into LoggedFrame records (records.py).  Pure: no I/O beyond reading the given file.

Bad lines never abort a read: each is reported as a Problem (file:line, why) and reading
goes on.  Only what makes the whole input unreadable raises LogError (no layout fits, an
unknown layout name, a recording format version this reader does not know).
"""
from __future__ import annotations

from pathlib import Path

from . import hub_export, jsonl, layouts, ocppj, soap
from .infer import PERSPECTIVES
from .records import LogError, LogRead


def read_log(path, *, layout: str | None = None, perspective: str | None = None,
             station: str | None = None, protocol: str | None = None) -> LogRead:
    """Read the log at `path`; see `read_text`."""
    path = Path(path)
    data = path.read_bytes()
    try:
        text, bad = data.decode("utf-8"), False
    except UnicodeDecodeError:   # read on, replacing what is not UTF-8, and say where
        text, bad = data.decode("utf-8", errors="replace"), True
    result = read_text(text, source=str(path), layout=layout, perspective=perspective,
                       station=station, protocol=protocol)
    if bad:
        for number, line in enumerate(text.split("\n"), 1):
            if "\ufffd" in line:
                result.problem(number, "not UTF-8: bytes replaced by U+FFFD, so the raw text "
                                       "is not exact")
        result.problems.sort(key=lambda p: p.line)
    return result


def read_text(text: str, *, source: str = "<text>", layout: str | None = None,
              perspective: str | None = None, station: str | None = None,
              protocol: str | None = None) -> LogRead:
    """Read a log given as text.

    layout: one of layouts.LAYOUTS, or None to detect it (`LogRead.detected` says which).
    perspective: whose log a text log is, "station" (a charger's log) or "csms"; it turns
        markers like `>>` (sent by the writer) into the station's out/in.  None: told by the
        lines whose marker and action leave no doubt.
    station: the station id for logs that do not name it (a charger's own log, a hub export).
    protocol: the OCPP version for logs that do not say (e.g. "ocpp1.6").
    """
    if perspective is not None and perspective not in PERSPECTIVES:
        raise LogError(f"perspective must be one of {', '.join(PERSPECTIVES)}, got {perspective!r}")
    detected = layout is None
    try:
        name = layouts.detect(text) if detected else layouts.check(layout)
    except LogError as e:
        raise LogError(f"{source}: {e}") from None
    result = LogRead(source, name, detected)
    cut = bool(text) and not text.endswith("\n")
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if not cut and lines and lines[-1] == "":
        lines.pop()
    if name == layouts.CHARGESIM:
        jsonl.read(lines, result, cut=cut)
    elif name == layouts.HUB_EXPORT:
        hub_export.read(text, result, station=station)
    elif name == layouts.SOAP:
        soap.read(lines, result, perspective=perspective, station=station)
    else:
        ocppj.read(lines, result, perspective=perspective, station=station, protocol=protocol,
                   cut=cut)
    result.problems.sort(key=lambda p: p.line)
    return result
