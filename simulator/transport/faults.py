"""Fault injection at the transport: a connection wrapper that misbehaves on purpose.

`FaultyConnection` sits between a station's RPC session and its websocket and does what bad
networks and broken chargers do, at random with a seed or on a schedule, without the
station's logic knowing: drop, delay or duplicate frames (each direction), send frames that
break the schema, close the socket abruptly (no close frame), stop answering (frames in are
read, nothing goes out), and shift every timestamp the station sends (clock skew).

A plan comes from a template's `faults:` block (or `StationOptions(faults={...})`):

    faults:
      seed: 7               # with the station id: the same faults on every run
      drop: 0.05            # probability per frame; or {out: 0.05, in: 0.01}
      duplicate: 0.02       # the frame goes (or arrives) twice
      delay: [0.05, 0.5]    # seconds before each frame, uniform; a number: fixed
      corrupt: 0.01         # outbound frames that break the schema
      close: 0.001          # probability per frame of an abrupt close
      close_after: 30       # seconds after connecting: abrupt close
      silent_after: 60      # seconds after connecting: stop answering
      clock_skew: -300      # seconds added to every timestamp sent
      start: 10             # the random faults apply from 10 s after connecting ...
      stop: 120             # ... until 120 s (both optional)

Every injected fault is counted (`FaultyConnection.stats`) and logged at INFO.
Only the standard library and orjson: the transport sits below the protocol layer.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import random
import re
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson

log = logging.getLogger(__name__)

FIELDS = ("seed", "drop", "duplicate", "delay", "corrupt", "close", "close_after",
          "silent_after", "clock_skew", "start", "stop")
DIRECTIONS = ("out", "in")


def _probability(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"faults.{name}: expected a probability between 0 and 1, got {value!r}")
    return float(value)


def _seconds(name: str, value, *, negative: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (value < 0 and not negative):
        kind = "a number of seconds" if negative else "a number of seconds >= 0"
        raise ValueError(f"faults.{name}: expected {kind}, got {value!r}")
    return float(value)


def _per_direction(name: str, value, directions=DIRECTIONS) -> dict[str, float]:
    if isinstance(value, dict):
        unknown = set(value) - set(directions)
        if unknown:
            raise ValueError(f"faults.{name}: unknown direction(s) {sorted(unknown)}; "
                             f"known: {', '.join(directions)}")
        return {d: _probability(f"{name}.{d}", value.get(d, 0)) for d in directions}
    p = _probability(name, value)
    return {d: p for d in directions}


@dataclass(slots=True)
class FaultPlan:
    """What one station's connections do wrong.  `from_config` checks a `faults:` block."""
    seed: int = 0
    drop: dict[str, float] = field(default_factory=lambda: {"out": 0.0, "in": 0.0})
    duplicate: dict[str, float] = field(default_factory=lambda: {"out": 0.0, "in": 0.0})
    delay: tuple[float, float] = (0.0, 0.0)
    corrupt: float = 0.0
    close: float = 0.0
    close_after: float | None = None
    silent_after: float | None = None
    clock_skew: float = 0.0
    start: float = 0.0
    stop: float | None = None

    @classmethod
    def from_config(cls, config: dict) -> "FaultPlan":
        if not isinstance(config, dict):
            raise ValueError(f"faults: expected a mapping of {', '.join(FIELDS)}, got {config!r}")
        unknown = [k for k in config if k not in FIELDS]
        if unknown:
            raise ValueError(f"faults: unknown field(s) {', '.join(map(repr, unknown))}; "
                             f"known: {', '.join(FIELDS)}")
        plan = cls()
        if "seed" in config:
            if isinstance(config["seed"], bool) or not isinstance(config["seed"], int):
                raise ValueError(f"faults.seed: expected an integer, got {config['seed']!r}")
            plan.seed = config["seed"]
        for name in ("drop", "duplicate"):
            if name in config:
                setattr(plan, name, _per_direction(name, config[name]))
        if "delay" in config:
            value = config["delay"]
            if isinstance(value, (list, tuple)):
                if len(value) != 2:
                    raise ValueError(f"faults.delay: expected [min, max] seconds, got {value!r}")
                lo, hi = (_seconds("delay", v) for v in value)
                if lo > hi:
                    raise ValueError(f"faults.delay: min {lo:g} is above max {hi:g}")
                plan.delay = (lo, hi)
            else:
                plan.delay = (_seconds("delay", value),) * 2
        for name in ("corrupt", "close"):
            if name in config:
                setattr(plan, name, _probability(name, config[name]))
        for name in ("close_after", "silent_after", "stop"):
            if name in config and config[name] is not None:
                setattr(plan, name, _seconds(name, config[name]))
        if "start" in config:
            plan.start = _seconds("start", config["start"])
        if plan.stop is not None and plan.stop < plan.start:
            raise ValueError(f"faults.stop ({plan.stop:g}) is before faults.start ({plan.start:g})")
        if "clock_skew" in config:
            plan.clock_skew = _seconds("clock_skew", config["clock_skew"], negative=True)
        return plan

    def rng(self, name: str, connection: int) -> random.Random:
        """The random source of one connection: from the seed, the station and the count of
        its connections, so a run is reproducible and reconnects do not repeat each other."""
        return random.Random(f"{self.seed}:{zlib.crc32(name.encode())}:{connection}")


_connections: collections.Counter = collections.Counter()   # per station name


def wrap(conn, config: dict | None, name: str):
    """`conn` as is when there is no fault plan, else wrapped in a FaultyConnection."""
    if not config:
        return conn
    plan = config if isinstance(config, FaultPlan) else FaultPlan.from_config(config)
    _connections[name] += 1
    return FaultyConnection(conn, plan, name=name, connection=_connections[name])


_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")


def _skew(value, delta: timedelta):
    if isinstance(value, str) and _TIMESTAMP.match(value):
        try:
            moved = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00")) + delta
        except ValueError:
            return value
        text = moved.isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z") if value[-1] in "Zz" else text
    if isinstance(value, dict):
        return {k: _skew(v, delta) for k, v in value.items()}
    if isinstance(value, list):
        return [_skew(v, delta) for v in value]
    return value


def _break(payload: dict, rng: random.Random) -> tuple[dict, str]:
    """A schema violation whatever the action: a field of the wrong type, or a field no
    schema has (the OCPP schemas allow no additional properties)."""
    keys = list(payload)
    how = rng.choice(["retype", "unknown"] if keys else ["unknown"])
    payload = dict(payload)
    if how == "retype":
        key = rng.choice(keys)
        value = payload[key]
        payload[key] = (12345 if isinstance(value, str) else
                        "not-a-number" if isinstance(value, (int, float)) else "not-an-object")
        return payload, f"{key} given the wrong type"
    payload["chargesimFault"] = True
    return payload, "unknown field chargesimFault added"


class FaultyConnection:
    """A connection (websockets' or any with send/recv/close/async iteration) that injects
    the faults of `plan`.  Anything else (ping, transport, close_code …) passes through."""

    def __init__(self, inner, plan: FaultPlan, *, name: str = "", connection: int = 1,
                 clock=time.monotonic, sleep=asyncio.sleep):
        self.inner = inner
        self.plan = plan
        self.name = name
        self.stats: collections.Counter = collections.Counter()
        self._rng = plan.rng(name, connection)
        self._clock, self._sleep = clock, sleep
        self._opened = clock()
        self._iter = None
        self._pending: collections.deque = collections.deque()   # duplicated inbound frames
        self._timers: list[asyncio.TimerHandle] = []
        self._closed_by_fault = False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None and plan.close_after is not None:
            self._timers.append(loop.call_later(plan.close_after, self._abrupt_close,
                                                f"close_after {plan.close_after:g}s"))

    def __getattr__(self, name):
        return getattr(self.inner, name)

    # -- when --------------------------------------------------------------------------
    def _elapsed(self) -> float:
        return self._clock() - self._opened

    def _active(self) -> bool:
        elapsed = self._elapsed()
        return elapsed >= self.plan.start and (self.plan.stop is None or elapsed < self.plan.stop)

    def _silent(self) -> bool:
        return self.plan.silent_after is not None and self._elapsed() >= self.plan.silent_after

    def _hit(self, probability: float) -> bool:
        return probability > 0 and self._active() and self._rng.random() < probability

    def _note(self, fault: str, detail: str = "") -> None:
        self.stats[fault] += 1
        log.info("%s: fault injected: %s%s", self.name, fault, f" ({detail})" if detail else "")

    async def _delay(self) -> None:
        lo, hi = self.plan.delay
        if hi > 0 and self._active():
            seconds = self._rng.uniform(lo, hi)
            self.stats["delayed"] += 1
            await self._sleep(seconds)

    # -- out -----------------------------------------------------------------------------
    def _rewrite(self, message: str | bytes) -> str | bytes:
        plan = self.plan
        if not plan.clock_skew and not plan.corrupt:
            return message
        try:
            frame = orjson.loads(message)
        except orjson.JSONDecodeError:
            return message
        if not isinstance(frame, list) or len(frame) < 3:
            return message
        index = 3 if frame[0] == 2 and len(frame) > 3 else 2 if frame[0] == 3 else None
        if index is None or not isinstance(frame[index], dict):
            return message
        changed = False
        if plan.clock_skew:
            frame[index] = _skew(frame[index], timedelta(seconds=plan.clock_skew))
            changed = True
        if self._hit(plan.corrupt):
            frame[index], what = _break(frame[index], self._rng)
            self._note("corrupted", what)
            changed = True
        return orjson.dumps(frame).decode() if changed else message

    async def send(self, message: str | bytes) -> None:
        if self._silent():
            self._note("silent", "frame not sent")
            return
        await self._delay()
        if self._hit(self.plan.close):
            await self._abrupt_close_now("close at random")
            return
        if self._hit(self.plan.drop["out"]):
            self._note("dropped out")
            return
        message = self._rewrite(message)
        await self.inner.send(message)
        if self._hit(self.plan.duplicate["out"]):
            self._note("duplicated out")
            await self.inner.send(message)

    # -- in ------------------------------------------------------------------------------
    def __aiter__(self):
        return self

    async def __anext__(self):
        while True:
            if self._pending:
                return self._pending.popleft()
            if self._iter is None:
                self._iter = self.inner.__aiter__()
            raw = await self._iter.__anext__()
            await self._delay()
            if self._hit(self.plan.close):
                await self._abrupt_close_now("close at random")
                continue   # the inner iterator ends (or raises) on the next read
            if self._hit(self.plan.drop["in"]):
                self._note("dropped in")
                continue
            if self._hit(self.plan.duplicate["in"]):
                self._note("duplicated in")
                self._pending.append(raw)
            return raw

    async def recv(self):
        return await self.__anext__()

    # -- close ---------------------------------------------------------------------------
    def _abrupt_close(self, why: str) -> None:
        if self._closed_by_fault:
            return
        self._closed_by_fault = True
        self._note("closed", why)
        transport = getattr(self.inner, "transport", None)
        if transport is not None:
            transport.abort()    # no close frame: the peer sees the TCP connection drop
        else:
            asyncio.get_running_loop().create_task(self.inner.close(1006, "fault: abrupt close"))

    async def _abrupt_close_now(self, why: str) -> None:
        self._abrupt_close(why)
        await asyncio.sleep(0)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        await self.inner.close(code, reason)
