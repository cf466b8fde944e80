"""From frames read off a log to what a replay does: per station, the exchanges in order.

An exchange is a CALL and the reply to it (matched by unique id, per station, in the
opposite direction).  Those the station started are re-sent; those the CSMS started are
answered as the station answered them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..protocol import V16, Call, CallError, CallResult
from .records import OUT, LoggedFrame, LogRead, SoapMessage
from .soap import as_rpc

STATION, CSMS = "station", "csms"


class ScriptError(ValueError):
    """The logs cannot be replayed as given (no station id, SOAP, nothing to send)."""


@dataclass(slots=True)
class Exchange:
    source: str
    station: str
    initiator: str                     # STATION | CSMS
    request: LoggedFrame               # the CALL (or, for an undecodable frame, the frame)
    reply: LoggedFrame | None = None   # CALLRESULT / CALLERROR, None when the log has none

    @property
    def action(self) -> str:
        return self.request.action or "?"

    @property
    def line(self) -> int:
        return self.request.line

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def decodes(self) -> bool:
        return isinstance(self.request.message, Call)

    @property
    def latency(self) -> float | None:
        """Recorded seconds from request to reply."""
        if self.reply is None or self.request.ts is None or self.reply.ts is None:
            return None
        return max(0.0, self.reply.ts - self.request.ts)


@dataclass(slots=True)
class StationScript:
    station: str
    protocol: str
    source: str
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def sent(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.initiator == STATION]

    @property
    def answered(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.initiator == CSMS]

    @property
    def t0(self) -> float | None:
        times = [e.request.ts for e in self.exchanges if e.request.ts is not None]
        return min(times) if times else None


def build(reads: list[LogRead], *, station: str | None = None,
          protocol: str | None = None) -> list[StationScript]:
    """One script per recorded station, in order of first appearance.  `station` names the
    station of frames whose log does not (a charger's own log); `protocol` the version of
    frames whose log does not say."""
    scripts: dict[str, StationScript] = {}
    # Files of one recording (rotated: FILE.2 FILE.1 FILE) are taken oldest first, whatever
    # order they were given in, and a reply may be in the file after its CALL.
    firsts = [next((f.ts for f in r.frames if f.ts is not None), None) for r in reads]
    if None not in firsts:
        reads = [r for _, r in sorted(zip(firsts, reads), key=lambda p: p[0])]
    pending: dict[tuple[str, str], Exchange] = {}
    for read in reads:
        for frame in read.frames:
            if isinstance(frame.message, SoapMessage):   # a SOAP dump: its RPC meaning
                if frame.protocol not in (None, "ocpp1.5"):
                    raise ScriptError(f"{read.source}:{frame.line}: a SOAP {frame.protocol} "
                                      f"frame: SOAP replay speaks OCPP 1.5 only")
                message, error = as_rpc(frame.raw)
                frame = replace(frame, message=message, error=error, protocol="ocpp1.5")
            sid = frame.station or station
            if sid is None:
                raise ScriptError(f"{read.source}:{frame.line}: the log names no station for "
                                  f"this frame; give one with --station ID")
            version = frame.protocol or protocol or V16
            script = scripts.get(sid)
            if script is None:
                script = scripts[sid] = StationScript(sid, version, read.source)
            message = frame.message
            if isinstance(message, Call) or (message is None and frame.direction == OUT):
                initiator = STATION if frame.direction == OUT else CSMS
                exchange = Exchange(read.source, sid, initiator, frame)
                script.exchanges.append(exchange)
                if message is not None:
                    pending[(sid, message.unique_id)] = exchange
            elif isinstance(message, (CallResult, CallError)):
                exchange = pending.pop((sid, message.unique_id), None)
                if exchange is not None and exchange.request.direction != frame.direction:
                    exchange.reply = frame
    if not scripts:
        sources = ", ".join(r.source for r in reads)
        raise ScriptError(f"{sources}: no frames to replay")
    return list(scripts.values())
