"""The virtual charge point: version-neutral behaviour behind every message.

The station owns connectors, meters, configuration, the authorization cache and the
transactions; its dialect (`simulator.dialects`) turns that into one protocol version.
Everything runs on the caller's event loop: timers are asyncio tasks that sleep, so a
process holds thousands of stations (no threads, no polling).

Registration (OCPP 1.6 §4.2): nothing but BootNotification goes out until the CSMS accepts
it; while Pending the station answers the CSMS and sends only what TriggerMessage asks for.
Once Accepted it reports every connector's status and starts its heartbeat.

Effects of a CSMS request that send messages of their own (remote start, reset, trigger…)
are deferred until the reply has been written, so the CSMS sees the reply first.
"""
from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import ssl
import zlib
from typing import Awaitable, Callable

from ..session import CallErrorReceived, CallTimeout, Frame, InvalidResponse, SessionClosed
from ..protocol import OcppError
from . import meter as m
from .auth import ACCEPTED, AuthCache, Authorizer, AuthorizationInfo
from .clock import iso, utc_now
from .config import ConfigStore
from .connector import Connector, PendingStart, Status
from .errors import (BootRejected, ConnectFailed, NotRegistered, StationError, UnknownMessageId)
from .context import FeatureContext
from .diagnostics import Diagnostics
from .events import Event, EventLog, Text
from .intents import DiagnosticsStatusChanged, FirmwareStatusChanged, Intent
from .firmware import Firmware
from .lifecycle import RUNNING, Lifecycle, Registration, State
from .link import Backoff
from .local_list import LocalAuthList
from .ev import EV
from .meter import Meter
from .offline import Offline
from .options import StationOptions
from .reservations import Reservations
from .rng import LazyRandom
from .smart_charging import SmartCharging
from .security import StationSecurity
from .settings import Settings
from .timers import Periodic
from .aligned import AlignedTimer
from .vendors import canned_vendors
from .view import StationView
from .transaction import MeterSnapshot, StopReason, Transaction

log = logging.getLogger(__name__)

STOP_REASONS = frozenset(StopReason)
# What the CSMS may ask the station to send now (the dialect maps its message names).
TRIGGERABLE = ("boot", "diagnostics_status", "firmware_status", "heartbeat", "meter_values",
               "status")
# What a failed charger-initiated call raises; the station reports these, it does not crash.
SEND_ERRORS = (CallTimeout, CallErrorReceived, InvalidResponse, SessionClosed, OcppError)

_METER_TEXT = Text("{energy_wh:.1f} Wh, {power_w:.0f} W")   # formatted only when read
VendorHandler = Callable[[str | None, str | None], object]


# Builds the station's dialect (how it speaks one protocol version) for a station.  The
# caller picks it (`simulator.dialects.dialect_for`): the station never imports a dialect.
DialectFactory = Callable[["Station"], object]


def _refused(error: BaseException) -> bool:
    """The CSMS answered and said no (HTTP status, TLS), or the settings cannot work: a
    retry changes nothing.  A CSMS that is not there (refused, unreachable) may come up."""
    if isinstance(error, ssl.SSLError) or not isinstance(error, (OSError, asyncio.TimeoutError)):
        return True
    return False


class StationContext(FeatureContext):
    """The features' context over one station (context.py): one pointer, no copies."""
    __slots__ = ("_st",)

    def __init__(self, station: Station):
        self._st = station

    station_id = property(lambda self: self._st.id)
    options = property(lambda self: self._st.options)
    settings = property(lambda self: self._st.settings)
    config = property(lambda self: self._st.config)
    connectors = property(lambda self: self._st.connectors)
    rng = property(lambda self: self._st.rng)
    events = property(lambda self: self._st.events)
    security = property(lambda self: self._st.security)

    def emit(self, kind, text, connector=None, **data):
        return self._st.events.emit(kind, text, connector, **data)

    def expect(self, kind, connector=None, where=None):
        return self._st.events.expect(kind, connector, where)

    async def send(self, intent):
        return await self._st.send(intent)

    async def notify(self, intent, triggered=False):
        await self._st.notify(intent, triggered)

    def may_send(self):
        return self._st._may_send()

    def connected(self):
        return self._st.online

    def spawn(self, coro, name):
        return self._st._spawn(coro, name)

    def after_reply(self, job, name):
        self._st._after_reply(job, name)

    async def refresh(self, connector):
        await self._st._refresh(connector)

    async def stop_transaction(self, connector, reason):
        await self._st._stop_transaction(connector, reason)

    async def reboot(self, reason):
        await self._st._reset(hard=False, reason=reason)

    async def until_accepted(self):
        await self._st.lifecycle.reached(State.ACCEPTED)

    url = property(lambda self: self._st.url)

    async def relink(self, closed=False):
        st = self._st
        if not closed:
            await st.dialect.close()          # on purpose: no reconnect loop
            st.online = False
            st._stop_timers()
        await st._connect()

    def link_lost(self):
        self._st._on_link_lost()

    async def relinked(self):
        if self._st.registration == Registration.ACCEPTED:
            await self._st._on_accepted()

    def trigger(self, message, connector_id):
        return self._st.trigger(message, connector_id)

    async def deliver(self, intent):
        return await self._st.dialect.deliver(intent)

    def remember(self, id_token, info):
        self._st._remember(id_token, info)

    async def send_current(self, message):
        if message == "log_status":
            await self._st.diagnostics.send_log_status()
        elif message == "signed_firmware_status":
            await self._st.firmware.send_signed_status()
        else:
            raise ValueError(f"no current status to send for {message!r}")


class Station:
    # Slots: a process holds thousands of stations, and a __dict__ of this many attributes
    # costs about 1.5 KiB each (docs/benchmarks.md, idle cost).
    __slots__ = ('_aligned', '_boot_task', '_heartbeat', '_link_task', '_reset_task', '_samplers',
                 '_scripted', '_start_waiter', '_tasks', 'auth_cache', 'authorizer',
                 'backoff', 'config', 'connectors', 'csms_url', 'diagnostics',
                 'dialect', 'events', 'firmware', 'id', 'lifecycle', 'local_list',
                 'offline', 'online', 'options', 'registration', 'reservations', 'rng',
                 'security', 'settings', 'smart_charging', 'taps', 'url', 'vendors',
                 '_last_connect_error')

    def __init__(self, station_id: str, csms_url: str, options: StationOptions | None = None,
                 *, dialect: DialectFactory, **overrides):
        """`dialect`: what turns this station into one protocol; it also defines the
        configuration keys and which of them holds each neutral setting."""
        opts = dataclasses.replace(options, **overrides) if options else StationOptions(**overrides)
        if opts.connectors < 1:
            raise ValueError("a station has at least one connector")
        self.id = station_id
        self.csms_url = csms_url
        # As in every OCPP-J deployment, the station id is the last path segment.
        self.url = f"{csms_url.rstrip('/')}/{station_id}"
        self.options = opts
        self.rng = LazyRandom(opts.seed if opts.seed is not None
                              else zlib.crc32(station_id.encode()))
        self.dialect = dialect(self)
        self.config = ConfigStore([*self.dialect.config_specs(opts), *opts.extra_keys],
                                  opts.config)
        self.settings = Settings(self.config, self.dialect.setting_keys)
        self.auth_cache = AuthCache()
        self.local_list = LocalAuthList()
        self.authorizer = Authorizer(self.settings, self.auth_cache, self.local_list)
        moves = self.dialect.status_transitions
        self.connectors: list[Connector] = [Connector(0, transitions=moves)] + [
            Connector(i, meter=Meter.from_options(self.rng, opts), transitions=moves)
            for i in range(1, opts.connectors + 1)]
        self.events = EventLog(station_id, opts.event_log_size)
        self.taps: list[Callable[[Frame], None]] = []
        self.vendors: dict[str, VendorHandler] = dict(canned_vendors(opts.vendor_responses))
        self.registration: Registration | None = None   # the last boot answer
        self.online = False
        # The features see the station through a narrow context (context.py).
        ctx = StationContext(self)
        self.security = StationSecurity(ctx)    # profiles, certificates, security events
        self.reservations = Reservations(ctx)
        self.smart_charging = SmartCharging(ctx)  # charging profiles; limits the meters
        self.firmware = Firmware(ctx)           # UpdateFirmware / SignedUpdateFirmware
        self.diagnostics = Diagnostics(ctx)     # GetDiagnostics / GetLog uploads

        # off -> connecting -> booting -> accepted ⇄ offline, resetting, powered off
        self.lifecycle = Lifecycle(self._on_lifecycle_move)
        self._start_waiter: asyncio.Future | None = None   # start() waits for accepted
        self._tasks: set[asyncio.Task] = set()
        self._heartbeat: Periodic | None = None
        self._aligned: AlignedTimer | None = None
        self._boot_task: asyncio.Task | None = None    # BootNotification until answered
        self._link_task: asyncio.Task | None = None    # connecting (with backoff)
        self._reset_task: asyncio.Task | None = None   # a requested reset
        self._samplers: dict[int, Periodic] = {}
        # Reconnect delays (link.py), jittered from the station's seed so runs reproduce,
        # and the persistent queue of transaction messages (offline.py).
        self.backoff = Backoff(self.rng, opts.reconnect_min, opts.reconnect_max)
        self.offline = Offline(ctx)
        self.settings.subscribe(self._on_setting_change)
        self._scripted: dict[str, list] = {}  # answer_next(): one-shot replies (scenarios)

    # =====================================================================================
    # Observing
    # =====================================================================================
    @property
    def session(self):
        """The current RPC session (None before start).  It is replaced on reconnect; its
        `taps` list is `station.taps`, so taps added through it stay."""
        return self.dialect.session

    @property
    def diagnostics_status(self) -> str:
        """The diagnostics upload's status (what a triggered notification says)."""
        return self.diagnostics.diagnostics_status

    @property
    def firmware_status(self) -> str:
        """The firmware update's status in the plain (non-signed) vocabulary."""
        return self.firmware.plain_status

    @property
    def view(self) -> StationView:
        """The read-only view for drivers."""
        return StationView(self)

    @property
    def on_event(self) -> Callable[[Event], None] | None:
        return self.events.callback

    @on_event.setter
    def on_event(self, callback: Callable[[Event], None] | None) -> None:
        self.events.callback = callback

    def expect(self, kind: str, connector: int | None = None, where=None) -> asyncio.Future:
        """A future for the next event of `kind`; ask before causing it."""
        return self.events.expect(kind, connector, where)

    def _emit(self, kind: str, text: str, connector: int | None = None, **data) -> None:
        self.events.emit(kind, text, connector, **data)

    # =====================================================================================
    # Lifecycle: connect, boot, heartbeat, reconnect, stop
    # =====================================================================================
    async def start(self, timeout: float | None = 60.0) -> None:
        """Switch on and return once the CSMS has accepted the BootNotification.

        The station connects as a real charger does: a CSMS that cannot be reached is tried
        again with the jittered backoff (without end unless `options.connect_attempts`
        caps it), and Pending / Rejected boot again at the CSMS's interval.  A CSMS that
        answers the connection with a refusal (an HTTP status, a TLS failure) or settings
        that cannot work fail at once with ConnectFailed.  After `timeout` seconds (None:
        no limit) the station is stopped again and raises ConnectFailed (never connected:
        the last reason) or BootRejected.
        """
        if self.lifecycle.state != State.OFF:
            raise StationError(f"{self.id}: already started ({self.lifecycle.state})")
        self._last_connect_error = None
        waiter = self._start_waiter = asyncio.get_running_loop().create_future()
        waiter.add_done_callback(lambda f: f.cancelled() or f.exception())  # seen or moot
        self.lifecycle.move(State.CONNECTING, "started")
        self._link_task = self._spawn(self._connect_loop(immediate=True), "connect")
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except asyncio.TimeoutError:
            status, error = self.registration, self._last_connect_error
            await self.stop()
            if status is None and error is not None:
                raise ConnectFailed(f"{error} (still not connected after {timeout:g}s)") from None
            raise BootRejected(self.id, status, timeout) from None
        except ConnectFailed:
            await self.stop()
            raise
        finally:
            self._start_waiter = None

    def _start_ended(self, error: BaseException | None = None) -> None:
        waiter = self._start_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error) if error is not None else waiter.set_result(None)

    async def stop(self, reason: str | None = None) -> None:
        """Switch off: close the connection and cancel every timer.  With `reason` (e.g.
        "PowerLoss"), running transactions are stopped with it first.  Works in any state,
        also while connecting or booting."""
        if reason is not None:
            for c in self.connectors[1:]:
                if c.transaction is not None:
                    try:
                        await self._stop_transaction(c, reason)
                    except StationError as e:
                        self._emit("error", str(e), c.id)
        self.lifecycle.move(State.OFF, "stopped")   # the link's end is no loss now
        self._start_ended(StationError(f"{self.id}: stopped before the CSMS accepted it"))
        current = asyncio.current_task()
        if self._reset_task is not None and self._reset_task is not current:
            self._reset_task.cancel()
        # Close first: calls in flight end with SessionClosed instead of being cut off
        # (a cancelled call would leave its reply to arrive for nobody).
        await self.dialect.close()
        await self._cancel_tasks()
        for c in self.connectors:
            self._cancel_pending_start(c)
        self.online = False
        self.registration = None
        self._emit("stopped", "station stopped")

    def _on_lifecycle_move(self, old: State, new: State, why: str) -> None:
        self._emit("lifecycle", f"{old} -> {new}" + (f" ({why})" if why else ""),
                   old=str(old), state=str(new), why=why)

    # -- network and power (the offline queue keeps what waits: offline.py) --------------
    def _serves_offline(self) -> bool:
        """A started, powered charger serves its users with no CSMS (never while Pending
        or Rejected: the CSMS is there and said no)."""
        return (self.lifecycle.running and self.offline.powered and not self.online
                and self.registration not in (Registration.PENDING, Registration.REJECTED))

    def go_offline(self) -> None:
        """The network goes down (no close frame): transactions go on, their messages are
        queued, reconnect attempts fail until come_online()."""
        self.offline.network_down = True
        self.online = False
        self._emit("network", "network down")
        self.dialect.abort(notify=True)

    def come_online(self) -> None:
        """The network is back: reconnect at once; the queue goes out once registered."""
        self.offline.network_down = False
        self._emit("network", "network up")
        if not self.offline.powered or not self.lifecycle.running:
            return
        if not self.online:
            self._reconnect_now()   # do not sit out the backoff: try now

    async def power_loss(self) -> None:
        """Power cut: the link drops without a close frame, timers and everything volatile
        are lost; the persisted queue and the energy register stay."""
        off = self.offline
        if not off.powered:
            raise StationError(f"{self.id}: already without power")
        off.powered, off.lost_power_at = False, utc_now()
        self._emit("power_loss", "power lost", at=iso(off.lost_power_at))
        self.dialect.abort(notify=False)
        self.lifecycle.move(State.POWERED_OFF, "power lost")
        if self._reset_task is not None and self._reset_task is not asyncio.current_task():
            self._reset_task.cancel()
        await self._cancel_tasks()
        for c in self.connectors:
            self._cancel_pending_start(c)
            if c.meter is not None:
                c.meter.set_drawing(False)
                off.queue.record_energy(c.id, c.meter.energy_wh, iso(off.lost_power_at))
        self.online, self.registration = False, None

    async def power_up(self) -> None:
        """Power back: running transactions end with PowerLoss (their StopTransaction is
        queued), then the station connects and boots; the queue goes out once accepted."""
        off = self.offline
        if off.powered:
            raise StationError(f"{self.id}: has power")
        off.powered = True
        self._emit("power_up", "power restored")
        for c in self.connectors[1:]:
            if c.transaction is not None:
                await self._stop_transaction(c, StopReason.POWER_LOSS)
        off.lost_power_at = None
        for c in self.connectors:
            await self._refresh(c)
        self.backoff.reset()
        await self._power_on_link()

    async def _connect(self) -> None:
        if self.offline.network_down:
            raise ConnectFailed(f"{self.id}: cannot connect to {self.url}: network down")
        try:
            await self.dialect.connect(self._on_link_lost)
        except Exception as e:
            self.security.on_connect_failed(e)
            failed = ConnectFailed(f"{self.id}: cannot connect to {self.url}: "
                                   f"{type(e).__name__}: {e}")
            failed.refused = _refused(e)
            raise failed from e
        self.online = True
        self._emit("connected", self.url)

    def _on_link_lost(self) -> None:
        """The connection dropped without us closing it: reconnect (no new boot, 1.6)."""
        self.online = False
        self._stop_timers()
        if self._boot_task is not None:
            self._boot_task.cancel()
        self._emit("disconnected", "connection lost")
        if self.lifecycle.running:   # not stopping, rebooting or without power
            self.lifecycle.move(State.OFFLINE, "connection lost")
            if self._link_task is None or self._link_task.done():
                self._link_task = self._spawn(self._connect_loop(), "reconnect")

    def _reconnect_now(self) -> None:
        """Try to connect at once instead of sitting out the backoff (network back)."""
        if self._link_task is not None and not self._link_task.done():
            self._link_task.cancel()
        self._link_task = self._spawn(self._connect_loop(immediate=True), "reconnect")

    async def _connect_loop(self, immediate: bool = False) -> None:
        """Connect, backing off with jitter between attempts, then boot (or, still
        registered after a lost link, carry on as after a boot).  While start() waits, a
        refusal or the last allowed attempt ends the start instead."""
        attempts, cap = 0, self.options.connect_attempts
        while self.lifecycle.running:
            if not immediate:
                await asyncio.sleep(self.backoff.next())
            immediate = False
            attempts += 1
            try:
                await self._connect()
                break
            except ConnectFailed as e:
                self._last_connect_error = e
                self._emit("error", str(e))
                if self._start_waiter is not None and (
                        e.refused or (cap is not None and attempts >= cap)):
                    self._start_ended(e)
                    return
        else:
            return
        if self.registration == Registration.ACCEPTED:   # back, still registered: as good as a boot
            self.backoff.reset()
            await self._on_accepted()
        else:
            self.lifecycle.move(State.BOOTING)
            self._start_boot()

    def _start_boot(self, delay: float = 0.0) -> None:
        if self._boot_task is None or self._boot_task.done():
            self._boot_task = self._spawn(self._boot_loop(delay), "boot")

    def _retry_delay(self, interval: float) -> float:
        seconds = interval if interval > 0 else self.options.boot_retry_default
        return max(seconds * self.options.interval_scale, self.options.boot_retry_min)

    async def _boot_loop(self, delay: float = 0.0) -> None:
        if delay:
            await asyncio.sleep(delay)
        while True:
            try:
                result = await self.dialect.boot()
            except SessionClosed:
                return  # the reconnect boots again
            except SEND_ERRORS as e:
                self._emit("error", f"BootNotification failed: {e}")
                interval = 0
            else:
                await self._apply_boot(result)
                if result.status == Registration.ACCEPTED:
                    return
                interval = result.interval
            await asyncio.sleep(self._retry_delay(interval))

    async def _apply_boot(self, result) -> None:
        previous, self.registration = self.registration, result.status
        self._emit("boot", f"{result.status}, interval {result.interval}",
                   status=result.status, interval=result.interval)
        if result.status != Registration.ACCEPTED:
            self.lifecycle.move(State.REJECTED if result.status == Registration.REJECTED else State.PENDING)
            self._stop_timers()
            return
        self.backoff.reset()
        if result.interval > 0:  # on Accepted, the interval is the heartbeat interval
            self.settings.set("heartbeat_interval", result.interval)
        if previous != Registration.ACCEPTED:
            await self._on_accepted()

    async def _on_accepted(self) -> None:
        """Registered (or reconnected while registered): report every connector, start the
        heartbeat, send what a hard reset held back."""
        for c in self.connectors:
            await self._send_status(c)
        self._restart_heartbeat()
        self._restart_aligned()
        for c in self.connectors[1:]:
            sampler = self._samplers.get(c.id)
            if c.transaction is not None and (sampler is None or not sampler.running):
                self._restart_sampler(c)
        await self._flush_tx_queue()
        if self.lifecycle.running and self.online:
            self.lifecycle.move(State.ACCEPTED)
            self._start_ended()
        if self.security.events:
            self._spawn(self.security.flush(), "security-events")

    async def send(self, intent: Intent):
        """Say `intent` to the CSMS now (the dialect's words); what the CSMS answered, for
        the intents that ask something.  Raises the session's errors (SEND_ERRORS)."""
        return await self.dialect.send(intent)

    async def notify(self, intent: Intent, triggered: bool = False) -> None:
        """Report a status: unless triggered (a trigger works while Pending), only while
        registered; one that cannot go out is an error event, not queued (a trigger asks
        for the current one later)."""
        if not (self.online if triggered else self._may_send()):
            self._emit("error", f"{type(intent).__name__} {getattr(intent, 'status', '')} not "
                                f"sent: {'offline' if not self.online else 'not registered'}")
            return
        try:
            await self.send(intent)
        except SEND_ERRORS as e:
            self._emit("error", f"{type(intent).__name__} failed: {e}")

    def _may_send(self) -> bool:
        # Not while resetting: a hard reset holds transaction messages until the reboot.
        return (self.online and self.registration == Registration.ACCEPTED
                and self.lifecycle.state != State.RESETTING)

    def _stop_timers(self) -> None:
        """Heartbeat and clock-aligned data stop (link down or not registered); samplers
        go on — the transaction does."""
        for timer in (self._heartbeat, self._aligned):
            if timer is not None:
                timer.stop()
        self._heartbeat = self._aligned = None

    def _restart_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        interval = self.settings["heartbeat_interval"]
        if interval > 0 and self.online and self.registration == Registration.ACCEPTED:
            self._heartbeat = Periodic(self._spawn, interval * self.options.interval_scale,
                                       self._beat, "heartbeat")

    async def _beat(self) -> bool:
        try:
            await self.dialect.heartbeat()
        except SessionClosed:
            return False
        except SEND_ERRORS as e:
            self._emit("error", f"Heartbeat failed: {e}")
        else:
            self._emit("heartbeat", "Heartbeat")
        return True

    # -- tasks -----------------------------------------------------------------------------
    def _spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.create_task(coro, name=f"{self.id}-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("%s: %s failed", self.id, task.get_name(), exc_info=exc)
            self._emit("error", f"{task.get_name()} failed: {type(exc).__name__}: {exc}")

    def _after_reply(self, job: Callable[[], Awaitable], name: str) -> None:
        """Run `job` once the reply to the CSMS request being handled is on the wire."""
        session = self.session
        if session is None:
            self._spawn(job(), name)
        else:
            session.after_reply(lambda: self._spawn(job(), name))

    async def _cancel_tasks(self) -> None:
        # One turn of the loop first: calls the closed link just failed (SessionClosed)
        # are seen by their callers instead of being cut off with unread exceptions.
        await asyncio.sleep(0)
        for timer in (self._heartbeat, self._aligned, *self._samplers.values()):
            if timer is not None:
                timer.stop()
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._samplers.clear()
        self._heartbeat = self._aligned = self._boot_task = self._link_task = None

    # =====================================================================================
    # Connector status
    # =====================================================================================
    def _connector(self, connector_id: int) -> Connector:
        if not isinstance(connector_id, int) or not 1 <= connector_id < len(self.connectors):
            raise StationError(f"{self.id}: no connector {connector_id!r} "
                               f"(1..{len(self.connectors) - 1})")
        return self.connectors[connector_id]

    def _in_use(self, c: Connector) -> bool:
        if c.id == 0:
            return any(x.in_use for x in self.connectors[1:])
        return c.in_use

    async def _refresh(self, c: Connector) -> None:
        """Bring the status in line with the facts; apply a scheduled availability change
        once the connector is no longer in use (a second, legal, step).  Smart charging
        shares the station's limit anew first: a connector that starts drawing never
        draws before the others have given up their part."""
        changed = self.smart_charging.update()
        await self._move(c, c.desired_status())
        if c.reservation is not None:  # Unavailable -> Available -> Reserved (reservations.py)
            await self._move(c, c.desired_status())
        if c.scheduled_operative is not None and not self._in_use(c):
            c.operative, c.scheduled_operative = c.scheduled_operative, None
            self._emit("availability", "Operative" if c.operative else "Inoperative", c.id)
            await self._move(c, c.desired_status())
        if c.id != 0 and self.connectors[0].scheduled_operative is not None:
            await self._refresh(self.connectors[0])
        for other in changed:   # its grant crossed 0 / the minChargingRate: SuspendedEVSE or back
            if other is not c:
                await self._refresh(other)

    async def _move(self, c: Connector, new: Status) -> None:
        if not c.set_status(new):
            return
        if c.meter is not None:
            c.meter.set_drawing(new == Status.CHARGING)
        if new == Status.UNAVAILABLE:
            c.finishing = False  # the finished session is over from the user's point of view
        self._emit("status", str(new), c.id, status=str(new), error_code=c.error_code)
        if self._may_send():
            await self._send_status(c)

    async def _send_status(self, c: Connector) -> None:
        try:
            await self.dialect.status_notification(c)
        except SEND_ERRORS as e:
            self._emit("error", f"StatusNotification failed: {e}", c.id)

    async def fault(self, connector_id: int, error_code: str = "OtherError",
                    info: str | None = None) -> None:
        """Report a hardware fault (connector 0: the station); the connector goes Faulted."""
        c = self.connectors[connector_id] if connector_id == 0 else self._connector(connector_id)
        if error_code == "NoError":
            raise StationError("a fault needs an error code other than NoError")
        c.fault, c.info = error_code, info
        if c.status == Status.FAULTED:  # already faulted: report the new error code
            c.error_code = error_code
            if self._may_send():
                await self._send_status(c)
            return
        await self._refresh(c)

    async def clear_fault(self, connector_id: int) -> None:
        c = self.connectors[connector_id] if connector_id == 0 else self._connector(connector_id)
        c.fault, c.info = None, None
        await self._refresh(c)

    # =====================================================================================
    # Driver actions: the EV and the user
    # =====================================================================================
    async def plug_in(self, connector_id: int, *, soc: float | None = None) -> None:
        """The EV's cable goes in.  `soc`: the EV battery's state of charge in percent."""
        c = self._connector(connector_id)
        if c.plugged:
            raise StationError(f"{self.id}: connector {connector_id} is already plugged in")
        c.plugged, c.finishing = True, False
        if soc is None:
            soc = self.options.ev_initial_soc
        c.meter.connect_ev(EV.from_options(self.options,
                                           self.rng.uniform(10, 60) if soc is None else soc))
        self._emit("plugged_in", "cable plugged in", c.id)
        if (c.transaction is None and c.pending_start is not None
                and self._can_start(c, ignore_pending=True)
                and (self._may_send() or self._serves_offline())):
            await self._start_transaction(c)
        else:
            await self._refresh(c)

    async def unplug(self, connector_id: int) -> None:
        c = self._connector(connector_id)
        if not c.plugged:
            raise StationError(f"{self.id}: connector {connector_id} is not plugged in")
        c.plugged = c.finishing = c.ev_suspended = False
        c.meter.connect_ev(None)
        self._emit("unplugged", "cable unplugged", c.id)
        if c.transaction is not None and self.settings["stop_on_ev_disconnect"]:
            await self._stop_transaction(c, StopReason.EV_DISCONNECTED)
        else:  # without the key the transaction stays, suspended, until the EV is back
            await self._refresh(c)

    async def present_tag(self, connector_id: int, id_tag: str) -> str:
        """An RFID card at the connector's reader.

        Returns what it did: "Started", "Authorized" (waiting for the cable), "Stopped",
        "Cancelled" (the same card again before the cable), "Rejected" (not accepted),
        "NotAllowed" (another card may not stop this transaction), "Unavailable",
        "Reserved" (reserved for another idTag / parentIdTag).
        """
        c = self._connector(connector_id)
        if not self._serves_offline():   # offline, a booted charger still serves
            self._require_registered()
        self._emit("tag", f"tag {id_tag} presented", c.id, id_tag=id_tag)
        tx = c.transaction
        if tx is not None:
            if id_tag == tx.id_tag:
                await self._stop_transaction(c, StopReason.LOCAL, id_tag)
                return "Stopped"
            # Another card stops it only if it belongs to the same group (parentIdTag).
            info = await self._authorize(id_tag)
            if info.accepted and tx.group_id and info.group_id == tx.group_id:
                await self._stop_transaction(c, StopReason.LOCAL, id_tag)
                return "Stopped"
            self._emit("tag_refused", f"{id_tag} may not stop transaction "
                                      f"{tx.transaction_id}", c.id, id_tag=id_tag)
            return "NotAllowed"
        pending = c.pending_start
        if pending is not None and pending.id_tag == id_tag and not pending.remote:
            self._cancel_pending_start(c)
            self._emit("start_cancelled", f"{id_tag} presented again", c.id)
            await self._refresh(c)
            return "Cancelled"
        if not self._can_start(c, ignore_pending=True):
            return "Unavailable"
        info = await self._authorize(id_tag)
        if not info.accepted:
            self._emit("tag_rejected", f"{id_tag}: {info.status}", c.id, status=info.status)
            return "Rejected"
        if not self.reservations.admits(c, id_tag, info.group_id):
            self._emit("tag_refused", f"{id_tag}: connector reserved", c.id, id_tag=id_tag)
            return "Reserved"
        rid = self.reservations.consume(c, id_tag, info.group_id)
        started = await self._begin_start(c, PendingStart(id_tag, info, reservation_id=rid))
        return "Started" if started else "Authorized"

    async def stop_transaction(self, connector_id: int, reason: StopReason = StopReason.LOCAL) -> Transaction:
        """End the connector's transaction (as the station would, e.g. a stop button)."""
        if reason not in STOP_REASONS:
            raise StationError(f"unknown stop reason {reason!r}; one of "
                               f"{', '.join(sorted(STOP_REASONS))}")
        reason = StopReason(reason)
        c = self._connector(connector_id)
        tx = c.transaction
        if tx is None:
            raise StationError(f"{self.id}: no transaction on connector {connector_id}")
        await self._stop_transaction(c, reason)
        return tx

    async def ev_suspend(self, connector_id: int) -> None:
        """The EV stops taking energy (SuspendedEV)."""
        await self._set_flag(connector_id, "ev_suspended", True)

    async def ev_resume(self, connector_id: int) -> None:
        await self._set_flag(connector_id, "ev_suspended", False)

    async def set_ev_soc(self, connector_id: int, soc: float) -> None:
        """The plugged EV's battery is now at `soc` percent (a driver sets the car's state)."""
        c = self._connector(connector_id)
        if not c.plugged or c.meter.ev is None:
            raise StationError(f"{self.id}: no EV plugged in at connector {connector_id}")
        if not 0 <= soc <= 100:
            raise StationError(f"state of charge must be in 0..100, got {soc!r}")
        ev = c.meter.ev
        ev.stored_wh = ev.capacity_wh * soc / 100.0
        self._emit("ev_soc", f"EV battery at {soc:g} %", c.id, soc=soc)
        await self._refresh(c)  # a full battery turns Charging into SuspendedEV

    async def evse_suspend(self, connector_id: int) -> None:
        """The station withholds energy (SuspendedEVSE), e.g. a local power limit of 0."""
        await self._set_flag(connector_id, "evse_suspended", True)

    async def evse_resume(self, connector_id: int) -> None:
        await self._set_flag(connector_id, "evse_suspended", False)

    async def _set_flag(self, connector_id: int, flag: str, value: bool) -> None:
        c = self._connector(connector_id)
        setattr(c, flag, value)
        await self._refresh(c)

    async def data_transfer(self, vendor_id: str, message_id: str | None = None,
                            data: str | None = None) -> tuple[str, str | None]:
        """Send a DataTransfer to the CSMS; returns (status, data)."""
        self._require_registered()
        try:
            return await self.dialect.data_transfer(vendor_id, message_id, data)
        except SEND_ERRORS as e:
            raise StationError(f"DataTransfer failed: {e}") from e

    def answer_next(self, action: str, reply: dict | None = None,
                    error: tuple[str, str, dict | None] | None = None) -> None:
        """Answer the next CSMS request of `action` with `reply`, or a CALLERROR
        `error` = (code, description, details), instead of the model (scenarios, tests)."""
        self._scripted.setdefault(action, []).append((reply, error))

    def take_answer(self, action: str) -> dict | None:
        """The scripted reply for `action` (consumed), None when the model answers;
        raises OcppError for a scripted CALLERROR.  Called by the dialect."""
        queue = self._scripted.get(action)
        if not queue:
            return None
        reply, error = queue.pop(0)
        self._emit("scripted_answer", f"{action}: {'CALLERROR ' + error[0] if error else reply}")
        if error is not None:
            from ..protocol import ErrorCode, parse_error_code
            code = parse_error_code(error[0]) or ErrorCode.GENERIC_ERROR
            raise OcppError(code, error[1] or error[0], error[2])
        return dict(reply or {})

    def register_vendor(self, vendor_id: str, handler: VendorHandler) -> None:
        """Answer the CSMS's DataTransfer for `vendor_id`: handler(message_id, data) returns
        a status or (status, data), may be async, and raises UnknownMessageId."""
        self.vendors[vendor_id] = handler

    def _require_registered(self) -> None:
        if not self.online:
            raise NotRegistered(f"{self.id}: not connected")
        if self.registration != Registration.ACCEPTED:
            raise NotRegistered(f"{self.id}: registration is {self.registration or 'not done'}, "
                                f"not Accepted")

    # =====================================================================================
    # Authorization and transactions
    # =====================================================================================
    async def _authorize(self, id_tag: str) -> AuthorizationInfo:
        use_cache = self.settings["authorization_cache_enabled"]
        # Local list / cache / offline rules decide first (auth.Authorizer).
        local, source = self.authorizer.decide(id_tag, online=self._may_send())
        if local is not None:
            self._emit("authorize", f"{id_tag} {local.status} ({source})", status=local.status,
                       cached=True, source=source)
            return local
        try:
            info = await self.dialect.authorize(id_tag)
        except SEND_ERRORS as e:
            raise StationError(f"Authorize {id_tag} failed: {e}") from e
        if use_cache:
            self.auth_cache.store(id_tag, info)
        self._emit("authorize", f"{id_tag} {info.status}", status=info.status, cached=False)
        return info

    def _remember(self, id_tag: str, info: AuthorizationInfo | None) -> None:
        if info is not None and self.settings["authorization_cache_enabled"]:
            self.auth_cache.store(id_tag, info)

    def _can_start(self, c: Connector, ignore_pending: bool = False) -> bool:
        station = self.connectors[0]
        return (c.transaction is None and (ignore_pending or c.pending_start is None)
                and c.operative and c.scheduled_operative is not False and not c.fault
                and station.operative and not station.fault
                and c.status not in (Status.UNAVAILABLE, Status.FAULTED))

    def _cancel_pending_start(self, c: Connector) -> None:
        if c.pending_start is not None and c.pending_start.timer is not None:
            c.pending_start.timer.cancel()
        c.pending_start = None

    async def _begin_start(self, c: Connector, pending: PendingStart) -> bool:
        """An authorised start: go Preparing, and start now if the cable is in, else wait
        ConnectionTimeOut for it.  True if the transaction started."""
        if c.pending_start is not None and c.pending_start is not pending:
            self._cancel_pending_start(c)
        c.pending_start = pending
        await self._refresh(c)
        if c.plugged:
            await self._start_transaction(c)
            return True
        timeout = self.settings["connection_timeout"] * self.options.interval_scale
        pending.timer = asyncio.get_running_loop().call_later(
            timeout, self._connection_timeout, c, pending)
        self._emit("waiting_for_cable", f"{pending.id_tag} authorised; plug in within "
                                        f"{timeout:g}s", c.id)
        return False

    def _connection_timeout(self, c: Connector, pending: PendingStart) -> None:
        if c.pending_start is pending:
            c.pending_start = None
            self._emit("start_timeout", f"no cable within "
                       f"{self.settings.key('connection_timeout')} for {pending.id_tag}", c.id)
            self._spawn(self._refresh(c), "connection-timeout")

    async def _start_transaction(self, c: Connector) -> Transaction:
        pending = c.pending_start
        self._cancel_pending_start(c)
        c.finishing = False
        reading = c.meter.read()
        tx = Transaction(c.id, pending.id_tag, int(reading.energy_wh), utc_now(),
                         group_id=pending.info.group_id, remote=pending.remote,
                         reservation_id=pending.reservation_id)
        self._snapshot_for_stop(tx, reading, "Transaction.Begin", "stop_sampled_measurands")
        c.transaction = tx
        try:
            tx_id, info = await self.offline.start(tx)   # info None: queued, runs offline
        except StationError:
            c.transaction = None
            await self._refresh(c)
            raise
        tx.transaction_id = tx_id
        if info is None:  # the local decision stands until the CSMS answers (offline.py)
            info = pending.info
        else:
            self._remember(tx.id_tag, info)
        if info.group_id:
            tx.group_id = info.group_id
        self._emit("tx_started", f"transaction {tx_id} for {tx.id_tag} ({info.status})", c.id,
                   transaction_id=tx_id, id_tag=tx.id_tag, meter_start=tx.meter_start,
                   status=info.status)
        if not info.accepted:
            if self.settings["stop_on_invalid_id"]:
                await self._stop_transaction(c, StopReason.DEAUTHORIZED)
                return tx
            tx.deauthorized = True  # keep the transaction, deliver no energy (SuspendedEVSE)
        if tx.stop_requested is not None:  # stopped while StartTransaction was under way
            await self._stop_transaction(c, *tx.stop_requested)
            return tx
        await self._refresh(c)
        self._restart_sampler(c)
        return tx

    async def _stop_transaction(self, c: Connector, reason: str, id_tag: str | None = None
                                ) -> None:
        tx = c.transaction
        if tx is None or tx.stopping:
            return
        if tx.transaction_id is None:
            tx.stop_requested = (reason, id_tag)
            return
        tx.stopping = True
        self._cancel_sampler(c)
        c.meter.set_drawing(False)  # the contactor opens now, not when the CSMS answers
        reading = c.meter.read()
        tx.meter_stop = max(int(reading.energy_wh), tx.meter_start)
        tx.stop_time, tx.stop_reason, tx.stop_id_tag = utc_now(), reason, id_tag or tx.id_tag
        self._snapshot_for_stop(tx, reading, "Transaction.End", "stop_sampled_measurands")
        c.transaction, c.last_transaction = None, tx
        c.finishing, c.evse_suspended = c.plugged, False
        self._emit("tx_stopped", f"transaction {tx.transaction_id} stopped ({reason}), "
                                 f"{tx.energy_wh} Wh", c.id, transaction_id=tx.transaction_id,
                   reason=reason, meter_stop=tx.meter_stop)
        await self.offline.stop(tx)   # now, or queued until the CSMS is back
        await self._refresh(c)

    async def _flush_tx_queue(self) -> None:
        await self.offline.flush()

    # -- meter values ----------------------------------------------------------------------
    def _snapshot_for_stop(self, tx: Transaction, reading: m.Reading, context: str,
                           setting: str, at=None) -> None:
        measurands = self.settings[setting]
        if measurands:
            tx.add_data(MeterSnapshot(at or utc_now(), context, reading.samples(measurands)))

    def _cancel_sampler(self, c: Connector) -> None:
        sampler = self._samplers.pop(c.id, None)
        if sampler is not None:
            sampler.stop()

    def _restart_sampler(self, c: Connector) -> None:
        self._cancel_sampler(c)
        interval = self.settings["meter_interval"]
        if c.transaction is not None and interval > 0:
            self._samplers[c.id] = Periodic(self._spawn, interval * self.options.interval_scale,
                                            lambda: self._sample(c), f"sampler-{c.id}")

    async def _sample(self, c: Connector) -> bool:
        tx = c.transaction
        if tx is None:
            return False
        reading = c.meter.read()
        self._snapshot_for_stop(tx, reading, "Sample.Periodic", "stop_sampled_measurands")
        await self._send_meter_values(c, reading, "Sample.Periodic", tx,
                                      self.settings["sampled_measurands"])
        await self._refresh(c)  # a full battery turns Charging into SuspendedEV
        return True

    async def _send_meter_values(self, c: Connector, reading: m.Reading, context: str,
                                 tx: Transaction | None, measurands, force: bool = False,
                                 at=None) -> None:
        self._emit("meter", _METER_TEXT, c.id,
                   energy_wh=reading.energy_wh, power_w=reading.power_w, context=context)
        samples = reading.samples(measurands)
        if samples and tx is not None and tx.transaction_id is not None and not force:
            # transaction data waits out an outage, in order (offline.py)
            await self.offline.meter_values(c.id, tx,
                                            [MeterSnapshot(at or utc_now(), context, samples)])
            return
        if not samples or not (force or self._may_send()):
            return
        tx_id = tx.transaction_id if tx is not None else None
        try:
            await self.dialect.meter_values(c.id, tx_id,
                                            [MeterSnapshot(at or utc_now(), context, samples)])
        except SEND_ERRORS as e:
            self._emit("error", f"MeterValues failed: {e}", c.id)

    def _restart_aligned(self) -> None:
        if self._aligned is not None:
            self._aligned.stop()
            self._aligned = None
        interval = self.settings["clock_aligned_interval"]
        if interval > 0 and self.online and self.registration == Registration.ACCEPTED:
            self._aligned = AlignedTimer(self._spawn, interval * self.options.interval_scale,
                                         self._aligned_sample, "aligned")

    async def _aligned_sample(self, boundary=None) -> None:
        """Clock-aligned readings (Sample.Clock) of every connector, in or out of a
        transaction, all read first and stamped with the boundary (aligned.py)."""
        readings = [(c, c.meter.read(), c.transaction) for c in self.connectors[1:]]
        for c, reading, tx in readings:
            if tx is not None:
                self._snapshot_for_stop(tx, reading, "Sample.Clock", "stop_aligned_measurands",
                                        at=boundary)
            await self._send_meter_values(c, reading, "Sample.Clock", tx,
                                          self.settings["aligned_measurands"], at=boundary)

    # =====================================================================================
    # CSMS requests (called by the dialect; return version-neutral answers)
    # =====================================================================================
    def change_configuration(self, key: str, value: str) -> str:
        result = self.config.change(key, value)
        self._emit("config", f"{key}={value!r}: {result}", key=key, value=value, result=str(result))
        return str(result)

    def _on_setting_change(self, name: str, value) -> None:
        # Changes take effect at once: timers restart with the new interval.
        if name == "heartbeat_interval":
            self._restart_heartbeat()
        elif name == "meter_interval":
            for c in self.connectors[1:]:
                if c.transaction is not None:
                    self._restart_sampler(c)
        elif name == "clock_aligned_interval":
            self._restart_aligned()
        elif name == "ping_interval":
            self.dialect.set_ping_interval(value)
        elif name == "authorization_cache_enabled" and not value:
            self.auth_cache.clear()

    def clear_cache(self) -> bool:
        if not self.settings["authorization_cache_enabled"]:
            return False
        self.auth_cache.clear()
        self._emit("cache_cleared", "authorization cache cleared")
        return True

    async def incoming_data_transfer(self, vendor_id: str, message_id: str | None,
                                     data: str | None) -> tuple[str, str | None]:
        handler = self.vendors.get(vendor_id)
        if handler is None:
            return "UnknownVendorId", None
        try:
            result = handler(message_id, data)
            if inspect.isawaitable(result):
                result = await result
        except UnknownMessageId:
            return "UnknownMessageId", None
        if result is None:
            return "Accepted", None
        if isinstance(result, str):
            return result, None
        status, reply = result
        return status, reply

    def change_availability(self, connector_id: int, operative: bool) -> str:
        """Accepted, Rejected (no such connector) or Scheduled (in use: applied at its end)."""
        if not 0 <= connector_id < len(self.connectors):
            return "Rejected"
        targets = self.connectors[1:] if connector_id == 0 else [self.connectors[connector_id]]
        scheduled = False
        for c in targets:
            if c.operative == operative:
                c.scheduled_operative = None
            elif c.in_use:
                c.scheduled_operative, scheduled = operative, True
            else:
                c.operative, c.scheduled_operative = operative, None
        if connector_id == 0:
            c0 = self.connectors[0]
            if scheduled:
                c0.scheduled_operative = operative
            else:
                c0.operative, c0.scheduled_operative = operative, None
            targets = [c0, *targets]
        result = "Scheduled" if scheduled else "Accepted"
        self._emit("availability_requested",
                   f"{'Operative' if operative else 'Inoperative'}: {result}", connector_id)

        async def apply():
            for c in targets:
                await self._refresh(c)
        self._after_reply(apply, "change-availability")
        return result

    def remote_start(self, id_tag: str, connector_id: int | None = None) -> bool:
        if self.registration != Registration.ACCEPTED:
            return False
        parent = self.authorizer.known(id_tag)[0]   # a reservation may admit the parent
        parent = parent.group_id if parent is not None else None
        if connector_id is not None:
            if not 1 <= connector_id < len(self.connectors):
                return False
            c = self.connectors[connector_id]
            if not self._can_start(c) or not self.reservations.admits(c, id_tag, parent):
                return False
        else:  # a connector with an EV waiting first, else any free one
            free = [c for c in self.connectors[1:]
                    if self._can_start(c) and self.reservations.admits(c, id_tag, parent)]
            if not free:
                return False
            c = next((x for x in free if x.plugged), free[0])
        # Claim the connector now, so that a second request cannot take it too.
        pending = PendingStart(id_tag, AuthorizationInfo(ACCEPTED), remote=True,
                               reservation_id=self.reservations.consume(c, id_tag, parent))
        c.pending_start = pending
        self._emit("remote_start", f"remote start for {id_tag}", c.id, id_tag=id_tag)

        async def follow_up():
            if self.settings["authorize_remote_start"]:
                try:
                    pending.info = await self._authorize(id_tag)
                except StationError as e:
                    self._emit("error", str(e), c.id)
                    pending.info = AuthorizationInfo("Invalid")
                if not pending.info.accepted:
                    if c.pending_start is pending:
                        c.pending_start = None
                    self._emit("tag_rejected", f"{id_tag}: {pending.info.status}", c.id)
                    await self._refresh(c)
                    return
            if c.pending_start is pending:
                try:
                    await self._begin_start(c, pending)
                except StationError as e:
                    self._emit("error", str(e), c.id)
        self._after_reply(follow_up, "remote-start")
        return True

    def remote_stop(self, transaction_id: int) -> bool:
        for c in self.connectors[1:]:
            tx = c.transaction
            if tx is not None and tx.transaction_id == transaction_id and not tx.stopping:
                self._emit("remote_stop", f"remote stop of {transaction_id}", c.id)
                self._after_reply(lambda: self._stop_transaction(c, StopReason.REMOTE), "remote-stop")
                return True
        return False

    async def unlock(self, connector_id: int) -> str:
        """Unlocked / UnlockFailed / NotSupported.  A running transaction is stopped first
        (1.6 §5.18), before the answer goes out."""
        if not self.options.connector_lock or not 1 <= connector_id < len(self.connectors):
            return "NotSupported"
        c = self.connectors[connector_id]
        if c.transaction is not None:
            await self._stop_transaction(c, StopReason.UNLOCK_COMMAND)
        if c.lock_fails:
            self._emit("unlock_failed", "connector lock stuck", c.id)
            return "UnlockFailed"
        self._emit("unlocked", "connector unlocked", c.id)
        return "Unlocked"

    def request_reset(self, hard: bool) -> bool:
        if self._reset_task is not None and not self._reset_task.done():
            return False  # already rebooting
        async def deferred():
            await asyncio.sleep(0)
            await self._reset(hard)
        self._reset_task = asyncio.create_task(deferred(), name=f"{self.id}-reset")
        self._reset_task.add_done_callback(self._task_done)
        return True

    async def _reset(self, hard: bool, reason: str | None = None) -> None:
        """Stop transactions, close, reboot (pending configuration applies), reconnect, boot.
        Soft: StopTransaction goes out before closing.  Hard: the station goes down at once;
        the StopTransaction is sent after the next accepted boot (1.6 §5.14)."""
        reason = reason or (StopReason.HARD_RESET if hard else StopReason.SOFT_RESET)
        self._emit("reset", reason)
        self.security.report("ResetOrReboot", reason)   # sent after the next boot
        if hard:   # down at once: what the stops send waits for the reboot
            self.lifecycle.move(State.RESETTING, reason)
        for c in self.connectors[1:]:
            if c.transaction is not None:
                await self._stop_transaction(c, reason)
            self._cancel_pending_start(c)
        self.lifecycle.move(State.RESETTING, reason)
        await self.dialect.close()
        await self._cancel_tasks()
        self.online, self.registration = False, None
        applied = self.config.apply_pending()
        await asyncio.sleep(self.options.reboot_delay * self.options.interval_scale)
        for c in self.connectors:  # settles offline; all statuses go out after the boot
            await self._refresh(c)
        self._emit("rebooted", f"rebooted ({reason})" + (f", applied {applied}" if applied else ""))
        await self._power_on_link()

    async def _power_on_link(self) -> None:
        """Connect and boot after a reboot or power-up (the connect loop keeps trying)."""
        self.lifecycle.move(State.CONNECTING, "powered on")
        self._link_task = self._spawn(self._connect_loop(immediate=True), "connect")

    def trigger(self, message: str, connector_id: int | None = None) -> str:
        """Send `message` (one of TRIGGERABLE) after the reply: Accepted, Rejected (no such
        connector, for the connector-related ones), NotImplemented (not one of them).  A
        connector not relevant to the message is ignored (1.6 §5.17)."""
        if message not in TRIGGERABLE:
            return "NotImplemented"
        if message not in ("meter_values", "status"):
            connector_id = None
        elif connector_id is not None and not 0 <= connector_id < len(self.connectors):
            return "Rejected"
        self._emit("trigger", message, connector_id)
        self._after_reply(lambda: self._send_triggered(message, connector_id), f"trigger-{message}")
        return "Accepted"

    async def _send_triggered(self, message: str, connector_id: int | None) -> None:
        # Triggered messages go out even while Pending: that is what TriggerMessage is for.
        try:
            if message == "boot":
                result = await self.dialect.boot()
                await self._apply_boot(result)
                if result.status != Registration.ACCEPTED:
                    self._start_boot(self._retry_delay(result.interval))
            elif message == "heartbeat":
                await self.dialect.heartbeat()
                self._emit("heartbeat", "Heartbeat (triggered)")
            elif message == "status":
                ids = range(len(self.connectors)) if connector_id is None else [connector_id]
                for i in ids:
                    await self.dialect.status_notification(self.connectors[i])
            elif message == "meter_values":
                # No station-wide meter: connector 0 (or none) means every connector.
                ids = [connector_id] if connector_id else range(1, len(self.connectors))
                for i in ids:
                    c = self.connectors[i]
                    # a trigger asks for a reading even when no measurand is configured
                    measurands = self.settings["sampled_measurands"] or [m.ENERGY]
                    await self._send_meter_values(c, c.meter.read(), "Trigger", c.transaction,
                                                  measurands, force=True)
            elif message == "diagnostics_status":
                await self.send(DiagnosticsStatusChanged(self.diagnostics_status))
            elif message == "firmware_status":
                await self.send(FirmwareStatusChanged(self.firmware_status))
        except SEND_ERRORS as e:
            self._emit("error", f"triggered {message} failed: {e}")

    def __repr__(self) -> str:
        statuses = ",".join(str(c.status) for c in self.connectors)
        return f"<Station {self.id} {self.registration or 'unregistered'} [{statuses}]>"
