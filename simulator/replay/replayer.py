"""Replaying recorded stations against a CSMS, on the session layer (not a second charger).

Each recorded station gets one OCPP-J connection and one `session.Session`: the frames the
station sent are sent again, in order, with the recorded timing scaled (`speed`) or as fast
as the answers come (`speed=None`); the CSMS's requests are answered with what the station
answered then.  Every exchange is compared with the recording (compare.py).

Without `raw`, payloads are re-encoded (values mapped, mapping.py) and validated by the
session.  With `raw`, the recorded text goes out as is (only learnt ids and mapped tags are
replaced in place) through `Session.send_raw`, with its recorded unique id; replies are
taken from the session's frame tap, so several CALLs may be in flight as they were.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from ..protocol import (CHARGE_POINT, LENIENT, STRICT, Call, CallError, CallResult,
                        ErrorCode, OcppError, ProtocolViolation, decode, parse_error_code)
from ..session import (CallErrorReceived, CallTimeout, Frame, InvalidResponse, Session,
                       SessionClosed)
from . import compare
from .mapping import Mapper, StationIds
from .script import CSMS, STATION, Exchange, StationScript

log = logging.getLogger(__name__)

SAME, DIVERGED, SKIPPED, MISSING, UNEXPECTED = "same", "diverged", "skipped", "missing", "unexpected"


@dataclass
class ReplayOptions:
    speed: float | None = None          # None: as fast as the answers come
    raw: bool = False
    ids: StationIds = field(default_factory=StationIds)
    tags: dict[str, str] = field(default_factory=dict)
    shift_times: bool = True
    call_timeout: float = 10.0
    request_wait: float = 1.0           # longest wait for a recorded CSMS request, seconds
    timing_tolerance: float | None = None  # slower than recorded + this: a divergence
    lenient: bool = False
    taps: list = field(default_factory=list)   # frame taps on every replay session


@dataclass
class Answer:
    kind: str                          # result | error | timeout | closed | invalid | none
    payload: dict | None = None
    code: str | None = None
    description: str = ""
    latency: float | None = None

    def show(self) -> str:
        if self.kind == "result":
            return "CALLRESULT"
        if self.kind == "error":
            return f"CALLERROR {self.code}"
        return {"timeout": "no answer (timeout)", "closed": "connection closed",
                "invalid": f"invalid answer: {self.description}",
                "none": "no answer in the log"}.get(self.kind, self.kind)


@dataclass
class ExchangeResult:
    source: str
    line: int
    station: str
    initiator: str
    action: str
    status: str                        # same | diverged | skipped | missing | unexpected
    differences: list[str] = field(default_factory=list)
    recorded: Answer | None = None
    now: Answer | None = None
    note: str | None = None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass
class StationResult:
    station: str                       # as recorded
    replayed_as: str
    source: str
    exchanges: list[ExchangeResult] = field(default_factory=list)
    error: str | None = None           # the replay itself broke (connect failed …)
    duration: float = 0.0

    @property
    def diverged(self) -> list[ExchangeResult]:
        return [e for e in self.exchanges if e.status == DIVERGED]

    @property
    def passed(self) -> bool:
        return self.error is None and not self.diverged


def recorded_answer(exchange: Exchange) -> Answer:
    reply = exchange.reply
    if reply is None:
        return Answer("none")
    latency = exchange.latency
    if isinstance(reply.message, CallResult):
        return Answer("result", reply.message.payload, latency=latency)
    if isinstance(reply.message, CallError):
        return Answer("error", code=reply.message.code_text,
                      description=reply.message.description, latency=latency)
    return Answer("invalid", description=reply.error or "does not decode", latency=latency)


class _Quiet(logging.Filter):
    """Raw replays send CALLs the session does not know; their replies are ours, not noise."""

    def __init__(self, names: set[str]):
        super().__init__()
        self.names = names

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str)
                    and record.msg.startswith("%s: reply to no outstanding call")
                    and record.args and record.args[0] in self.names)


class StationReplay:
    def __init__(self, script: StationScript, url: str, options: ReplayOptions,
                 start: float, recorded_start: float | None):
        self.script, self.options = script, options
        self.station_id = options.ids(script.station)
        self.url = url.rstrip("/") + "/" + self.station_id
        offset = None
        if options.shift_times and recorded_start is not None:
            offset = timedelta(seconds=start - recorded_start)
        self.mapper = Mapper(time_offset=offset, tags=options.tags)
        self.start, self.recorded_start = start, recorded_start
        self.result = StationResult(script.station, self.station_id, script.source)
        self._answered: list[Exchange] = list(script.answered)
        self._request_arrived: dict[int, asyncio.Event] = {}
        self._raw_waiting: dict[str, asyncio.Future] = {}
        self._gave_up: set[int] = set()
        self.session: Session | None = None

    # -- timing -----------------------------------------------------------------------
    async def _at(self, ts: float | None) -> None:
        if self.options.speed is None or ts is None or self.recorded_start is None:
            return
        due = self.start + (ts - self.recorded_start) / self.options.speed
        delay = due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    # -- the CSMS's requests ------------------------------------------------------------
    async def _answer(self, action: str, payload: dict) -> dict:
        folded = action.lower()
        exchange = next((e for e in self._answered if e.action.lower() == folded), None)
        if exchange is None:
            self.result.exchanges.append(ExchangeResult(
                self.script.source, 0, self.script.station, CSMS, action, UNEXPECTED,
                [f"the CSMS sent {action}, which the recording does not have"]))
            raise OcppError(ErrorCode.NOT_IMPLEMENTED, f"{action} is not in the recording")
        self._answered.remove(exchange)
        event = self._request_arrived.get(id(exchange))
        if event is not None:
            event.set()
        recorded = exchange.request.message.payload
        diffs = compare.differences(self.mapper.expected(recorded), payload)
        self.mapper.learn(recorded, payload)
        answer = recorded_answer(exchange)
        self.result.exchanges.append(ExchangeResult(
            exchange.source, exchange.line, self.script.station, CSMS, exchange.action,
            DIVERGED if diffs else SAME, [f"request {d}" for d in diffs], answer,
            Answer("result", payload)))
        if answer.kind == "error":
            code = parse_error_code(answer.code) or ErrorCode.INTERNAL_ERROR
            raise OcppError(code, answer.description)
        if answer.kind != "result":
            raise OcppError(ErrorCode.INTERNAL_ERROR, "the recorded station did not answer")
        return self.mapper.payload(answer.payload)

    async def _await_requests_before(self, ts: float | None) -> None:
        """Give the CSMS's recorded requests that came before `ts` a chance to come now."""
        if ts is None:
            return
        waiting = [e for e in self._answered if e.request.ts is not None and e.request.ts < ts
                   and id(e) not in self._gave_up]
        if not waiting:
            return
        events = [self._request_arrived.setdefault(id(e), asyncio.Event()) for e in waiting]
        try:
            await asyncio.wait_for(asyncio.gather(*(ev.wait() for ev in events)),
                                   self.options.request_wait)
        except asyncio.TimeoutError:
            self._gave_up.update(id(e) for e in waiting)

    # -- raw replies --------------------------------------------------------------------
    def _tap(self, frame: Frame) -> None:
        if frame.direction != "in" or not self._raw_waiting:
            return
        try:
            message = decode(frame.raw)
        except ProtocolViolation:
            return
        if isinstance(message, (CallResult, CallError)):
            future = self._raw_waiting.pop(message.unique_id, None)
            if future is not None and not future.done():
                future.set_result((message, time.perf_counter()))

    # -- the station's side -------------------------------------------------------------
    async def run(self, connect) -> StationResult:
        began = time.perf_counter()
        try:
            conn = await connect(self.url, self.script.protocol)
        except Exception as e:
            self.result.error = f"could not connect to {self.url}: {e}"
            return self.result
        mode = LENIENT if self.options.lenient else STRICT
        self.session = session = Session(conn, version=self.script.protocol, role=CHARGE_POINT,
                                         handler=self._answer, name=self.station_id, mode=mode,
                                         call_timeout=self.options.call_timeout,
                                         validate_outbound=not self.options.raw)
        session.taps.append(self._tap)
        session.taps.extend(self.options.taps)
        reader = asyncio.ensure_future(session.run())
        try:
            if self.options.raw:
                await self._send_raw_all()
            else:
                for exchange in self.script.sent:
                    await self._send(exchange)
            await self._await_requests_before(float("inf"))
        except SessionClosed as e:
            self.result.error = str(e)
        finally:
            for exchange in self._answered:
                self.result.exchanges.append(ExchangeResult(
                    exchange.source, exchange.line, self.script.station, CSMS, exchange.action,
                    MISSING, note="the CSMS did not send this request this time"))
            await session.close()
            try:
                await asyncio.wait_for(reader, 5)
            except (asyncio.TimeoutError, Exception):
                reader.cancel()
            self.result.exchanges.sort(key=lambda e: (e.line == 0, e.line))
            self.result.duration = time.perf_counter() - began
        return self.result

    async def _send(self, exchange: Exchange) -> None:
        await self._await_requests_before(exchange.request.ts)
        await self._at(exchange.request.ts)
        if not exchange.decodes:
            self._add(exchange, SKIPPED, note="the recorded frame does not decode "
                                              f"({exchange.request.error}); --raw sends it as is")
            return
        call: Call = exchange.request.message
        payload = self.mapper.payload(call.payload)
        started = time.perf_counter()
        try:
            reply = await self.session.call(call.action, payload)
            now = Answer("result", reply)
        except CallErrorReceived as e:
            now = Answer("error", code=e.error.code_text, description=e.error.description)
        except CallTimeout:
            now = Answer("timeout")
        except InvalidResponse as e:
            now = Answer("invalid", description=str(e))
        except OcppError as e:   # our own payload breaks the schema: say so, go on
            self._add(exchange, SKIPPED, note=f"not sent, it does not validate: {e}; "
                                              f"--raw sends it as is")
            return
        now.latency = time.perf_counter() - started
        self._judge(exchange, now)

    async def _send_raw_all(self) -> None:
        loop = asyncio.get_running_loop()
        in_flight: list[tuple[Exchange, asyncio.Future | None, float]] = []
        judged: list = []

        async def settle(entry) -> None:
            exchange, future, started = entry
            if future is None:
                return
            try:
                message, at = await asyncio.wait_for(future, self.options.call_timeout)
            except asyncio.TimeoutError:
                self._raw_waiting.pop(exchange.request.message.unique_id, None)
                self._judge(exchange, Answer("timeout"))
                return
            if isinstance(message, CallResult):
                now = Answer("result", message.payload, latency=at - started)
            else:
                now = Answer("error", code=message.code_text, description=message.description,
                             latency=at - started)
            self._judge(exchange, now)

        for exchange in self.script.sent:
            ts = exchange.request.ts
            # Wait for the answers to earlier CALLs unless this one went out before them.
            for entry in list(in_flight):
                reply = entry[0].reply
                if ts is None or reply is None or reply.ts is None or reply.ts <= ts:
                    await settle(entry)
                    in_flight.remove(entry)
                    judged.append(entry)
            await self._await_requests_before(ts)
            await self._at(ts)
            text = self.mapper.raw(exchange.request.raw)
            future = None
            if exchange.decodes:
                future = loop.create_future()
                self._raw_waiting[exchange.request.message.unique_id] = future
            else:
                self._add(exchange, SKIPPED, note="sent as recorded; it does not decode, so "
                                                  "its answer is not compared")
            started = time.perf_counter()
            await self.session.send_raw(text, "replayed as recorded (--raw)")
            in_flight.append((exchange, future, started))
        for entry in in_flight:
            await settle(entry)

    def _add(self, exchange: Exchange, status: str, diffs=(), recorded=None, now=None,
             note=None) -> None:
        self.result.exchanges.append(ExchangeResult(
            exchange.source, exchange.line, self.script.station, STATION, exchange.action,
            status, list(diffs), recorded, now, note))

    def _judge(self, exchange: Exchange, now: Answer) -> None:
        recorded = recorded_answer(exchange)
        diffs: list[str] = []
        if recorded.kind == "none":
            self._add(exchange, SKIPPED, recorded=recorded, now=now,
                      note="the log has no answer to compare with")
            return
        if recorded.kind != now.kind:
            diffs.append(f"answer: recorded {recorded.show()}, now {now.show()}")
        elif now.kind == "error":
            if recorded.code != now.code:
                diffs.append(f"error code: recorded {recorded.code}, now {now.code}")
        elif now.kind == "result":
            diffs += compare.differences(self.mapper.expected(recorded.payload), now.payload)
            self.mapper.learn(recorded.payload, now.payload)
        tolerance = self.options.timing_tolerance
        if tolerance is not None and recorded.latency is not None and now.latency is not None \
                and now.latency > recorded.latency + tolerance:
            diffs.append(f"timing: answered in {now.latency * 1000:.0f} ms, recorded "
                         f"{recorded.latency * 1000:.0f} ms (tolerance {tolerance * 1000:.0f} ms)")
        self._add(exchange, DIVERGED if diffs else SAME, diffs, recorded, now)


async def _connect(url: str, version: str):
    from ..transport.websocket import connect
    return await connect(url, version=version)


async def replay(scripts: list[StationScript], url: str, options: ReplayOptions,
                 connect=_connect) -> list[StationResult]:
    """Replay every script at once (one connection each); results in script order."""
    starts = [s.t0 for s in scripts if s.t0 is not None]
    recorded_start = min(starts) if starts else None
    start = time.time()
    from .soap_replay import SoapStationReplay   # OCPP 1.5: SOAP, not a websocket session
    soap_url = getattr(url, "soap_url", url)        # a CsmsUrls gives each protocol its own
    runs = [SoapStationReplay(s, soap_url, options, start, recorded_start)
            if s.protocol == "ocpp1.5" else StationReplay(s, url, options, start, recorded_start)
            for s in scripts]
    quiet = None
    if options.raw:
        quiet = _Quiet({r.station_id for r in runs})
        logging.getLogger("simulator.session.rpc").addFilter(quiet)
    try:
        return list(await asyncio.gather(*(r.run(connect) for r in runs)))
    finally:
        if quiet is not None:
            logging.getLogger("simulator.session.rpc").removeFilter(quiet)
