"""What reading a log yields: frames in one neutral shape, plus what could not be read.

Direction is always seen from the station (docs/recording-format.md): "out" = station → CSMS,
"in" = CSMS → station, whatever vocabulary or point of view the log itself used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..protocol import Call, CallError, CallResult, Message

OUT, IN = "out", "in"          # seen from the station
DIRECTIONS = (OUT, IN)


class LogError(ValueError):
    """The whole input cannot be read as asked (unknown layout, unsupported format version);
    problems with single lines are reported in `LogRead.problems` instead."""


@dataclass(frozen=True, slots=True)
class SoapMessage:
    """What a SOAP (OCPP 1.2/1.5) envelope says about itself; the XML stays in `raw`."""
    action: str                    # e.g. "BootNotification" (WS-Addressing Action, no "/")
    is_response: bool
    message_id: str | None
    relates_to: str | None
    charge_box_identity: str | None
    service: str                   # "CentralSystem" or "ChargePoint": whose service the body is for


@dataclass(frozen=True, slots=True)
class LoggedFrame:
    line: int                      # where the frame starts in the log, 1-based
    timestamp: datetime | None     # aware, UTC; None when the log has none
    station: str | None
    direction: str | None          # OUT | IN; None only when neither log nor protocol tells
    protocol: str | None           # "ocpp1.6", "ocpp2.0.1", "ocpp1.5", or None when unknown
    raw: str                       # exactly as in the log: `--raw` replays resend this
    message: Message | SoapMessage | None   # None: `raw` does not decode (see `error`)
    error: str | None = None       # why `raw` does not decode
    action: str | None = None      # the CALL's action; for a reply, that of the CALL it answers
    note: str | None = None        # a recording's note (why a frame was not processed normally)
    scenario: str | None = None    # a recording's scenario label

    @property
    def ts(self) -> float | None:
        return self.timestamp.timestamp() if self.timestamp else None

    @property
    def unique_id(self) -> str | None:
        if isinstance(self.message, (Call, CallResult, CallError)):
            return self.message.unique_id
        if isinstance(self.message, SoapMessage):
            return self.message.message_id
        return None


@dataclass(frozen=True, slots=True)
class Problem:
    source: str                    # file name, or "<text>"
    line: int
    why: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.why}"


@dataclass(frozen=True, slots=True)
class LogEvent:
    """A log entry that is no frame but worth keeping (the hub's connect/close notes)."""
    line: int
    timestamp: datetime | None
    station: str | None
    text: str


@dataclass(slots=True)
class LogRead:
    source: str
    layout: str                    # the layout read (detected or given)
    detected: bool                 # True when `layout` was sniffed, not given
    frames: list[LoggedFrame] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    events: list[LogEvent] = field(default_factory=list)
    header: dict | None = None     # a chargesim recording's header line
    perspective: str | None = None # whose log a text log is: "station", "csms" or None (unknown)

    def problem(self, line: int, why: str) -> None:
        self.problems.append(Problem(self.source, line, why))
