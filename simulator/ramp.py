"""Start many stations at a steady rate, and tell "could not connect" from protocol failures.

Any driver that starts many stations (`chargesim run`, the Locust swarm) goes through here:

- `Ramp` hands out start slots at `rate` per second (token spacing, no burst), so a fleet of
  thousands does not open all its connections in the same millisecond and time out in the
  hub's accept queue;
- `connect_policy` gives the stations' options a number of connect attempts; the station
  retries them itself with its jittered backoff (the engine's own reconnect logic — there is
  no second retry loop here);
- `start_station` waits for a slot, starts the station and turns a transport failure into
  `CouldNotConnect` whose text reads "could not connect: <reason>", which drivers report as
  such and never as a failed OCPP call.
"""
from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Awaitable, Callable, TypeVar

from .station import ConnectFailed, Station, StationOptions

T = TypeVar("T")

# Attempts a one-shot driver makes before it reports a station as not connected: with the
# station's backoff (1 s doubling, jittered) that is roughly 30 s of a CSMS not answering.
DEFAULT_CONNECT_ATTEMPTS = 6


class CouldNotConnect(Exception):
    """The station never got a connection to the CSMS (not an OCPP failure)."""

    def __init__(self, station_id: str, reason: str):
        super().__init__(f"could not connect: {reason}")
        self.station_id, self.reason = station_id, reason


def could_not_connect(error: BaseException, station_id: str = "") -> str:
    """ "could not connect: <reason>" for a ConnectFailed, without the station id prefix."""
    return f"could not connect: {connect_reason(error, station_id)}"


def connect_reason(error: BaseException, station_id: str = "") -> str:
    text = str(error) or type(error).__name__
    if station_id and text.startswith(f"{station_id}: "):
        text = text[len(station_id) + 2:]
    return text


class Ramp:
    """Start slots at `rate` per second.  `rate` None or 0: no limit (every slot at once).

    `clock` and `sleep` are injectable so the spacing can be checked without real time.
    """

    def __init__(self, rate: float | None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        if rate is not None and rate < 0:
            raise ValueError(f"spawn rate must be a positive number of stations per second "
                             f"(got {rate})")
        self.rate = rate or None
        self._clock, self._sleep = clock, sleep
        self._next: float | None = None
        self.granted = 0

    def reserve(self) -> float:
        """Take the next slot; return how long to wait for it (0: now)."""
        self.granted += 1
        if self.rate is None:
            return 0.0
        now = self._clock()
        at = now if self._next is None or self._next < now else self._next
        self._next = at + 1.0 / self.rate
        return at - now

    async def wait(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await self._sleep(delay)

    async def run(self, job: Awaitable[T]) -> T:
        """Await `job` once its slot has come (the job is created at once, started later)."""
        await self.wait()
        return await job


def connect_policy(options: StationOptions, attempts: int | None = DEFAULT_CONNECT_ATTEMPTS
                   ) -> StationOptions:
    """`options` with a cap on connect attempts, unless it already has one.  None: no cap
    (keep trying, as a real charger)."""
    if options.connect_attempts is not None or attempts is None:
        return options
    if attempts < 1:
        raise ValueError(f"connect attempts must be at least 1 (got {attempts})")
    return dataclasses.replace(options, connect_attempts=attempts)


async def start_station(station: Station, ramp: Ramp | None = None, *,
                        timeout: float | None = 60.0) -> None:
    """Wait for a start slot, then start `station` (connect + boot accepted).

    Raises CouldNotConnect when no connection could be opened; a boot the CSMS does not
    accept raises the station's own BootRejected (that one is a protocol outcome).
    """
    if ramp is not None:
        await ramp.wait()
    try:
        await station.start(timeout=timeout)
    except ConnectFailed as e:
        raise CouldNotConnect(station.id, connect_reason(e, station.id)) from e
