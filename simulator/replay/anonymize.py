"""`--anonymize OUT`: a log made fit to share.  Station ids, id tags and serial numbers are
replaced consistently (the same value always gets the same stand-in, in every file given):
STATION-001, TAG-001, SERIAL-001 ….  The frames' text is edited in place (only the quoted
values change; whitespace, key order and quirks stay), and the result is written as one
chargesim recording (docs/recording-format.md) whatever the layout read."""
from __future__ import annotations

import re
from pathlib import Path

from ..protocol import Call, CallResult
from ..session import Frame
from ..session.recording import Recorder
from .mapping import TAG_KEYS
from .records import LogRead

SERIAL_KEYS = frozenset({"chargePointSerialNumber", "chargeBoxSerialNumber", "meterSerialNumber",
                         "serialNumber", "iccid", "imsi"})


class Anonymizer:
    def __init__(self):
        self.stations: dict[str, str] = {}
        self.values: dict[str, str] = {}      # tag or serial → stand-in
        self._counts = {"TAG": 0, "SERIAL": 0}

    def station(self, sid: str | None) -> str | None:
        if sid is None:
            return None
        if sid not in self.stations:
            self.stations[sid] = f"STATION-{len(self.stations) + 1:03d}"
        return self.stations[sid]

    def _value(self, kind: str, value: str) -> None:
        if value not in self.values:
            self._counts[kind] += 1
            self.values[value] = f"{kind}-{self._counts[kind]:03d}"

    def collect(self, payload) -> None:
        if isinstance(payload, dict):
            for key, value in payload.items():
                if isinstance(value, str) and key in TAG_KEYS:
                    self._value("TAG", value)
                elif isinstance(value, str) and key in SERIAL_KEYS:
                    self._value("SERIAL", value)
                else:
                    self.collect(value)
        elif isinstance(payload, list):
            for item in payload:
                self.collect(item)

    def text(self, raw: str) -> str:
        replace = {**self.stations, **self.values}
        if not replace:
            return raw
        alternatives = "|".join(re.escape(v) for v in sorted(replace, key=len, reverse=True))
        raw = re.sub(rf'"({alternatives})"', lambda m: f'"{replace[m[1]]}"', raw)
        return re.sub(rf'>(\s*)({alternatives})(\s*)<',
                      lambda m: f">{m[1]}{replace[m[2]]}{m[3]}<", raw)


def write_anonymized(reads: list[LogRead], out) -> tuple[Path, int]:
    anon = Anonymizer()
    for read in reads:
        for frame in read.frames:
            anon.station(frame.station)
            if isinstance(frame.message, (Call, CallResult)):
                anon.collect(frame.message.payload)
    count = 0
    with Recorder(out) as recorder:
        for read in reads:
            for frame in read.frames:
                if frame.direction is None:
                    continue
                recorder.tap(Frame(frame.ts or 0.0, anon.station(frame.station), frame.direction,
                                   frame.protocol or "ocpp1.6", anon.text(frame.raw), frame.note))
                count += 1
    return Path(out), count
