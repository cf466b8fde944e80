"""Record frames to a JSONL file (docs/recording-format.md), from any side of a session.

A `Recorder` is a frame tap.  Line 1 of each file is a header {"format":
"chargesim-recording", "version": 1, "created", "tool", "recorder"}; every further line is
one frame {"ts", "time", "station", "direction", "protocol", "raw", "scenario"?, "note"?}.

`direction` is always seen from the station (out = station → CSMS, in = CSMS → station).
A session tap reports its own side's in/out, so a recorder on the CSMS side
(`side="csms"`, the hub) turns them round before writing.

With `max_bytes`, the file rotates when the next line would pass the limit: FILE becomes
FILE.1 (FILE.1 becomes FILE.2 …, at most `keep` old files are kept), and a new FILE starts
with its own header, so each file is a complete recording on its own.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from .rpc import Frame

FORMAT = "chargesim-recording"
VERSION = 1
SIDES = ("station", "csms")
_TURNED = {"in": "out", "out": "in"}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _tool() -> str:
    from .. import __version__
    return f"chargesim {__version__}"


class Recorder:
    """A frame tap that appends to a JSONL file; `scenario` labels the frames that follow."""

    def __init__(self, path, *, scenario: str | None = None, side: str = "station",
                 max_bytes: int | None = None, keep: int = 5):
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, not {side!r}")
        if max_bytes is not None and max_bytes < 1024:
            raise ValueError(f"max_bytes must be at least 1024, not {max_bytes}")
        if keep < 0:
            raise ValueError(f"keep must be 0 or more, not {keep}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.scenario = scenario
        self.side = side
        self.max_bytes = max_bytes
        self.keep = keep
        self.frames = 0          # written in all files
        self.rotations = 0
        self._file = None
        self._size = 0
        self.frames_in_file = 0
        self._open()

    def _open(self) -> None:
        self._file = self.path.open("w", encoding="utf-8")
        header = {"format": FORMAT, "version": VERSION,
                  "created": iso(datetime.now(timezone.utc).timestamp()),
                  "tool": _tool(), "recorder": self.side}
        self._size = 0
        self.frames_in_file = 0
        self._write(json.dumps(header) + "\n")

    def _write(self, line: str) -> None:
        self._file.write(line)
        self._size += len(line.encode("utf-8"))

    def _rotate(self) -> None:
        self._file.close()
        for n in range(self.keep, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if n == self.keep:
                if older.exists():
                    older.unlink()
                continue
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
        if self.keep:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self.rotations += 1
        self._open()

    def line(self, frame: Frame) -> str:
        direction = frame.direction if self.side == "station" else _TURNED.get(
            frame.direction, frame.direction)
        record = {"ts": round(frame.ts, 6), "time": iso(frame.ts), "station": frame.station,
                  "direction": direction, "protocol": frame.version, "raw": frame.raw}
        if self.scenario:
            record["scenario"] = self.scenario
        if frame.note:
            record["note"] = frame.note
        return json.dumps(record, ensure_ascii=False) + "\n"

    def tap(self, frame: Frame) -> None:
        if self._file is None or self._file.closed:
            return
        if not frame.raw:        # a connect/close note without a frame: not a record
            return
        line = self.line(frame)
        if self.max_bytes is not None and self._size + len(line.encode("utf-8")) > self.max_bytes \
                and self.frames_in_file:
            self._rotate()
        self._write(line)
        self.frames += 1
        self.frames_in_file += 1

    def flush(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()

    def files(self) -> list[Path]:
        """The recording's files, oldest first."""
        old = [self.path.with_name(f"{self.path.name}.{n}") for n in range(self.keep, 0, -1)]
        return [p for p in old if p.exists()] + [self.path]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read(path) -> tuple[dict, list[dict]]:
    """The header and the frames of a recording (raises ValueError on a foreign file)."""
    with Path(path).open(encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    if not lines or lines[0].get("format") != FORMAT:
        raise ValueError(f"{path}: not a chargesim recording (no header line)")
    if lines[0].get("version") != VERSION:
        raise ValueError(f"{path}: recording format version {lines[0].get('version')} "
                         f"is not supported (this chargesim reads {VERSION})")
    return lines[0], lines[1:]
