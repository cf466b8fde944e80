"""`StationUser`: a Locust user that is one station of our engine.

Each Locust process runs one engine (an asyncio loop in a real OS thread,
simulator/swarm/engine.py); every user of that process is a `SwarmStation` on it.  The
user's greenlet starts the station, then waits while the station lives its profile on the
engine; every OCPP round trip, connect and boot reaches Locust's statistics as a request
event through the gevent bridge.

    from locust import constant
    from simulator.swarm.locust_user import StationUser
    from simulator.swarm.profiles import PROFILES

    class Fleet(StationUser):
        profile = PROFILES["steady"]

`--host` is the CSMS URL (each station appends its id).  Subclasses may set `profile`,
`id_prefix`, `start_timeout`, or add their own `@task`s that drive the station with
`self.on_station(lambda station: station.plug_in(1))`.
"""
from __future__ import annotations

import functools
import itertools
import os

import gevent
from locust import User, events, task

from ..gc_tuning import tune_for_many_connections
from ..ramp import CouldNotConnect
from .fleet import Fleet, SwarmStation
from .gevent_bridge import EngineClient
from .profiles import PROFILES, Profile
from .stats import Record

_numbers = itertools.count(1)


def _worker_liveness() -> None:
    """How many seconds a distributed worker may go without a heartbeat before the master
    counts it missing and spawns its users elsewhere (Locust's default: 3).  A worker holding
    thousands of stations on a busy machine can be late by more than that while healthy, and
    then its stations ran twice; CHARGESIM_WORKER_LIVENESS sets it (default 30)."""
    import locust.runners
    raw = os.environ.get("CHARGESIM_WORKER_LIVENESS", "30")
    try:
        seconds = int(raw)
        if seconds < 1:
            raise ValueError
    except ValueError:
        raise ValueError(f"CHARGESIM_WORKER_LIVENESS={raw!r}: expected whole seconds >= 1") from None
    locust.runners.HEARTBEAT_LIVENESS = max(1, round(seconds / locust.runners.HEARTBEAT_INTERVAL))


def _parse_defaults_once() -> None:
    """Locust's worker builds its whole argument parser again for each option of each spawn
    message (`default_args_dict()` in a comprehension's condition, locust/runners.py: ≈ 15
    ms × ≈ 60 options).  The master sends a spawn message a second while users ramp up, so
    a worker holding thousands of stations spent all its gevent time there and sent no
    heartbeat: at 20,000 stations the master counted both workers missing and stopped the
    test.  Within a process the answer never changes (and its callers only read it)."""
    from locust import argument_parser
    if not hasattr(argument_parser.default_args_dict, "cache_info"):
        argument_parser.default_args_dict = functools.cache(argument_parser.default_args_dict)


_worker_liveness()
_parse_defaults_once()
tune_for_many_connections()   # a Locust process holds thousands of stations (gc_tuning.py)


def _fire(environment, records: list[Record]) -> None:
    fire = environment.events.request.fire
    for record in records:
        fire(request_type=record.request_type, name=record.name,
             response_time=record.response_time, response_length=record.response_length,
             exception=record.exception, context={})


class _Batcher:
    """Engine side: records of one loop iteration go to gevent as one batch (one wake-up of
    the gevent thread per iteration, not one per round trip)."""

    def __init__(self, environment, mailbox):
        self.environment, self.mailbox = environment, mailbox
        self.records: list[Record] = []

    def add(self, record: Record) -> None:   # engine thread
        if not self.records:
            import asyncio
            asyncio.get_running_loop().call_soon(self.flush)
        self.records.append(record)

    def flush(self) -> None:
        records, self.records = self.records, []
        if records:
            self.mailbox.post(_fire, self.environment, records)


_batchers: dict[int, _Batcher] = {}


class StationUser(User):
    abstract = True
    profile: Profile = PROFILES["steady"]
    id_prefix: str = "SWARM-"
    start_timeout: float = 60.0   # s per start attempt; a station then tries again

    def __init__(self, environment):
        super().__init__(environment)
        if not self.host:
            raise ValueError("StationUser needs --host: the CSMS URL, e.g. ws://127.0.0.1:9000/ocpp")
        self.client = EngineClient.shared()
        self.number = next(_numbers)
        runner = environment.runner
        worker = getattr(runner, "worker_index", None) if runner is not None else None
        self.station_id = (f"{self.id_prefix}{worker if worker is not None else os.getpid()}"
                           f"-{self.number:05d}")
        self.swarm: SwarmStation | None = None

    def on_station(self, job, timeout: float | None = 60.0):
        """Run `job(station)` (a coroutine function) on the engine; block this user only."""
        if self.swarm is None:
            raise RuntimeError(f"{self.station_id}: the station is not made yet (start first)")
        station = self.swarm.station
        return self.client.run(lambda: job(station), timeout=timeout)

    @task
    def live(self) -> None:
        """Start (until the CSMS accepts the boot), then live the profile."""
        try:
            self.client.run(self._start)
        except CouldNotConnect:
            gevent.sleep(1.0)   # reported as a failed "connect"; the next task tries again
            return
        except Exception:
            gevent.sleep(1.0)   # BootRejected and the like: the probe reported the calls
            return
        self.client.run(self.swarm.live)

    # The station is made, started and stopped by engine jobs, never waited for with a
    # timeout: a gevent.Timeout in a user kills its greenlet, Locust spawns a replacement
    # (another station) and nothing stops the first one once the engine gets to it.  A
    # stop submitted after a start runs after it (the engine runs jobs in order), so it
    # finds the station even when the user was stopped before the engine made it.
    async def _start(self) -> None:   # engine
        if self.swarm is None:
            self.swarm = SwarmStation(self.number, self.station_id, self.host, self.profile,
                                      self._sink())
        await self.swarm.start(timeout=self.start_timeout)

    async def _stop(self) -> None:    # engine
        swarm, self.swarm = self.swarm, None
        if swarm is not None:
            await swarm.stop()

    def _sink(self):   # engine: the statistics of this process's stations, in batches
        env = self.environment
        batcher = _batchers.get(id(env))
        if batcher is None:
            batcher = _batchers[id(env)] = _Batcher(env, self.client.mailbox)
        return batcher.add

    def on_stop(self) -> None:
        try:
            self.client.run(self._stop, timeout=60)
        except (Exception, gevent.Timeout):   # gevent.Timeout is no Exception
            pass


@events.quitting.add_listener
def _stop_engine(environment, **_kw) -> None:
    client = EngineClient._shared
    if client is not None:
        try:
            client.run(Fleet.stop_all, timeout=60)
        except (Exception, gevent.Timeout):
            pass
        client.engine.stop()


def at_test_time(after: float, job, *, label: str = "fleet action") -> None:
    """Run the engine coroutine `job()` `after` seconds into the test, on every process that
    holds stations (the workers in a distributed run, the only process otherwise).  For
    fleet-wide events a user cannot cause alone: an outage (`Fleet.outage`), a rolling
    reboot (`Fleet.rolling_reboot`)."""
    import logging

    from locust.runners import MasterRunner

    @events.test_start.add_listener
    def _schedule(environment, **_kw) -> None:
        if isinstance(environment.runner, MasterRunner):
            return

        def go() -> None:
            gevent.sleep(after)
            client = EngineClient.shared()
            result = client.run(job)
            logging.getLogger(__name__).info("%s at %gs: %s stations", label, after, result)
        gevent.spawn(go)


@events.init.add_listener
def _only_the_master_writes_json(environment, **_kw) -> None:
    """With --processes, every forked worker would write its own (empty: its stats go to
    the master) --json-file over the master's report at exit."""
    from locust.runners import WorkerRunner
    options = environment.parsed_options
    if isinstance(environment.runner, WorkerRunner) and options is not None:
        options.json_file = None
