"""A swarm station: one engine station, its stats probe and its behaviour (asyncio side).

Everything here runs on the engine loop; the Locust user (simulator/swarm/locust_user.py)
only asks the engine to run these coroutines.  Usable without Locust too (tests, scripts).
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
import zlib

from ..dialects import make_station
from ..ramp import CouldNotConnect, connect_reason
from ..session import CallErrorReceived, CallTimeout, SessionClosed
from ..station import ConnectFailed, StationError, StationOptions
from ..station.transaction import StopReason
from .profiles import Profile
from .stats import Sink, StationProbe

log = logging.getLogger(__name__)

_EXPECTED = (StationError, CallErrorReceived, CallTimeout, SessionClosed, OSError,
             asyncio.TimeoutError)


SWARM_EVENT_LOG = 16   # recent events a swarm station keeps (for its diagnostics upload)


def station_options(profile: Profile, station_id: str, n: int) -> StationOptions:
    if profile.template:
        from ..templates.loader import load_template
        options = load_template(profile.template, station_id=station_id, n=n)
    else:
        options = StationOptions(connectors=profile.connectors, version=profile.version)
    from ..dialects import setting_key
    options.config[setting_key(options.version, "meter_interval")] = str(profile.meter_interval)
    options.interval_scale = profile.time_scale
    options.connect_attempts = None   # a real charger keeps trying to reach its CSMS
    # The swarm reads events as they happen (the probe), never the history: a full ring of
    # the default 200 is ≈ 34 KiB a station, more than the rest of an idle station.
    options.event_log_size = SWARM_EVENT_LOG
    if profile.source_addresses:
        options.source_address = profile.source_addresses[n % len(profile.source_addresses)]
    return options


class SwarmStation:
    def __init__(self, n: int, station_id: str, csms_url: str, profile: Profile, sink: Sink,
                 options: StationOptions | None = None):
        self.n, self.profile = n, profile
        options = options or station_options(profile, station_id, n)
        self.station = make_station(station_id, csms_url, options)
        self.probe = StationProbe(self.station, sink, call_timeout=options.call_timeout,
                                  mode=options.mode)
        self.rng = random.Random(zlib.crc32(station_id.encode()))
        self.idle = self.rng.random() < profile.idle_share
        self.tag = profile.tag.format(n=n, id=station_id)
        self.sessions = self.reboots = self.drops = 0
        self._live: asyncio.Task | None = None
        self._stopping: asyncio.Future | None = None
        Fleet.add(self)

    @property
    def id(self) -> str:
        return self.station.id

    async def start(self, timeout: float | None = 60.0) -> None:
        """Connect and boot; a station that gets no link raises CouldNotConnect (reported
        as a failed "connect", with the reason)."""
        self.probe.starting()
        try:
            await self.station.start(timeout=timeout)
        except ConnectFailed as e:
            error = CouldNotConnect(self.id, connect_reason(e, self.id))
            self.probe.could_not_connect(error)
            raise error from e

    async def live(self) -> None:
        """The profile's behaviour until cancelled: sessions, reboots and network drops as
        Poisson events; heartbeats and meter values are the station's own timers."""
        self._live = asyncio.current_task()
        p, scale = self.profile, self.profile.time_scale
        rates = [(0.0 if self.idle else p.sessions_per_hour, self._session),
                 (p.reboots_per_hour, self.reboot),
                 (p.offline_per_hour, self.drop)]
        rates = [(r / 3600 / scale, job) for r, job in rates if r > 0]
        total = sum(r for r, _ in rates)
        try:
            if total == 0:
                await asyncio.Event().wait()   # heartbeats only
            while True:
                await asyncio.sleep(self.rng.expovariate(total))
                pick = self.rng.uniform(0, total)
                for rate, job in rates:
                    pick -= rate
                    if pick <= 0:
                        break
                try:
                    await job()
                except _EXPECTED as e:  # the probe reported the failed call; carry on
                    log.info("%s: %s", self.id, e)
        finally:
            self._live = None

    async def _session(self) -> None:
        st, scale = self.station, self.profile.time_scale
        if not st.view.online:
            return
        self.sessions += 1
        try:
            await st.plug_in(1)
            if await st.present_tag(1, self.tag) != "Started":
                return
            await asyncio.sleep(self.profile.session_seconds * scale)
            if st.view.connector(1).transaction_id is not None:
                await st.present_tag(1, self.tag)
        finally:
            if st.view.connector(1).plugged:
                await st.unplug(1)

    async def reboot(self) -> None:
        """Stop (transactions end with reason Reboot), stay down a moment, start again."""
        self.reboots += 1
        await self.station.stop(reason=StopReason.REBOOT)
        await asyncio.sleep(self.station.options.reboot_delay * self.profile.time_scale)
        await self.start(timeout=None)

    async def drop(self, seconds: float | None = None) -> None:
        """The network goes down for `seconds` (default: the profile's), then comes back."""
        self.drops += 1
        self.station.go_offline()
        if seconds is None:
            seconds = self.profile.offline_seconds * self.profile.time_scale
        try:
            await asyncio.sleep(seconds)
        finally:
            self.station.come_online()

    async def stop(self, drain: float = 5.0) -> None:
        """Let replies in flight arrive (up to `drain` s), then switch off.  A second call
        (the user's on_stop and the process quitting) waits for the first."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop(drain))
        await asyncio.shield(self._stopping)

    async def _stop(self, drain: float) -> None:
        deadline = time.monotonic() + drain
        live = self._live
        if live is not None:
            live.cancel()   # a session being cut short unplugs: let it finish sending
            await asyncio.wait({live}, timeout=drain)
        while self.probe.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        try:
            await self.station.stop()
        finally:
            self.probe.detach(self.station)
            Fleet.remove(self)


class Fleet:
    """The swarm stations of this process, swept for calls that got no reply."""
    stations: set[SwarmStation] = set()
    _sweeper: asyncio.Task | None = None

    @classmethod
    def add(cls, s: SwarmStation) -> None:
        cls.stations.add(s)
        loop = asyncio.get_running_loop()
        sweeper = cls._sweeper
        if sweeper is None or sweeper.done() or sweeper.get_loop() is not loop:
            cls._sweeper = loop.create_task(cls._sweep())

    @classmethod
    def remove(cls, s: SwarmStation) -> None:
        cls.stations.discard(s)

    @classmethod
    async def _sweep(cls, every: float = 1.0) -> None:
        while cls.stations:
            await asyncio.sleep(every)
            now = time.perf_counter()
            for s in list(cls.stations):
                s.probe.sweep(now)

    @classmethod
    async def stop_all(cls, drain: float = 5.0) -> None:
        await asyncio.gather(*(s.stop(drain) for s in list(cls.stations)),
                             return_exceptions=True)

    @classmethod
    async def outage(cls, seconds: float) -> int:
        """Every station of this process loses the network at once for `seconds`, then all
        come back together: the reconnect storm after a CSMS or network outage."""
        stations = [s for s in cls.stations if s.station.view.online]
        await asyncio.gather(*(s.drop(seconds) for s in stations), return_exceptions=True)
        return len(stations)

    @classmethod
    async def rolling_reboot(cls, spacing: float) -> int:
        """Reboot the stations one after another, `spacing` seconds apart."""
        rebooting = []
        for s in sorted(cls.stations, key=lambda s: s.id):
            if s.station.view.online:
                rebooting.append(asyncio.ensure_future(s.reboot()))
                await asyncio.sleep(spacing)
        await asyncio.gather(*rebooting, return_exceptions=True)
        return len(rebooting)
