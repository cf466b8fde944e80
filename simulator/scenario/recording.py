"""Record every frame of a run to a JSONL file (docs/recording-format.md).

Line 1 is a header: {"format": "chargesim-recording", "version": 1, "created": ISO time,
"tool": "chargesim X.Y"}.  Every further line is one frame:
{"ts": epoch seconds, "time": ISO time, "station": id, "direction": "out"|"in" (seen from the
station: out = station → CSMS), "protocol": "ocpp1.6", "raw": exact frame text,
"scenario": name (when recorded by a scenario run), "note": why a frame was not processed}.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..session import Frame

FORMAT = "chargesim-recording"
VERSION = 1


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class Recorder:
    """A frame tap that appends to a JSONL file; `scenario` labels the frames that follow."""

    def __init__(self, path, *, scenario: str | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8")
        self.scenario = scenario
        self.frames = 0
        header = {"format": FORMAT, "version": VERSION,
                  "created": _iso(datetime.now(timezone.utc).timestamp()),
                  "tool": f"chargesim {__version__}"}
        self._file.write(json.dumps(header) + "\n")

    def tap(self, frame: Frame) -> None:
        record = {"ts": round(frame.ts, 6), "time": _iso(frame.ts), "station": frame.station,
                  "direction": frame.direction, "protocol": frame.version, "raw": frame.raw}
        if self.scenario:
            record["scenario"] = self.scenario
        if frame.note:
            record["note"] = frame.note
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.frames += 1

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read(path) -> tuple[dict, list[dict]]:
    """The header and the frames of a recording (raises ValueError on a foreign file)."""
    lines = []
    with Path(path).open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as e:
                raise ValueError(f"{path}:{number}: not a JSON line: {e}") from None
            if not isinstance(item, dict):
                raise ValueError(f"{path}:{number}: each line must be a JSON object")
            lines.append(item)
    if not lines or lines[0].get("format") != FORMAT:
        raise ValueError(f"{path}: not a chargesim recording (no header line)")
    if lines[0].get("version") != VERSION:
        raise ValueError(f"{path}: recording format version {lines[0].get('version')} "
                         f"is not supported (this chargesim reads {VERSION})")
    return lines[0], lines[1:]
