"""Switching on and registering: connect (with the jittered backoff, as long as it takes),
boot until the CSMS accepts, heartbeat, reconnect after a lost link, reset, and the
network and power going away and coming back.  The station's lifecycle
(lifecycle.py: off -> connecting -> booting -> accepted ⇄ offline, resetting, powered off)
moves only here.

Registration (OCPP 1.6 §4.2): nothing but the boot goes out until the CSMS accepts it;
while Pending the station answers the CSMS and sends only what a trigger asks for.  Once
Accepted it reports every connector's status and starts its heartbeat.
"""
from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING

from ..session import SessionClosed
from .clock import iso, utc_now
from .errors import SEND_ERRORS, BootRejected, ConnectFailed, NotRegistered, StationError
from .lifecycle import Registration, State
from .timers import Periodic
from .transaction import StopReason

if TYPE_CHECKING:
    from .station_face import StationFace


def _refused(error: BaseException) -> bool:
    """The CSMS answered and said no (HTTP status, TLS), or the settings cannot work: a
    retry changes nothing.  A CSMS that is not there (refused, unreachable) may come up."""
    if isinstance(error, ssl.SSLError) or not isinstance(error, (OSError, asyncio.TimeoutError)):
        return True
    return False


class Booting:
    __slots__ = ("st", "_start_waiter", "_last_connect_error", "_boot_task", "_link_task",
                 "_reset_task", "_heartbeat")

    def __init__(self, station: StationFace):
        self.st = station
        self._start_waiter: asyncio.Future | None = None   # start() waits for accepted
        self._last_connect_error: BaseException | None = None
        self._boot_task: asyncio.Task | None = None    # BootNotification until answered
        self._link_task: asyncio.Task | None = None    # connecting (with backoff)
        self._reset_task: asyncio.Task | None = None   # a requested reset
        self._heartbeat: Periodic | None = None

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
        if self.st.lifecycle.state != State.OFF:
            raise StationError(f"{self.st.id}: already started ({self.st.lifecycle.state})")
        self._last_connect_error = None
        waiter = self._start_waiter = asyncio.get_running_loop().create_future()
        waiter.add_done_callback(lambda f: f.cancelled() or f.exception())  # seen or moot
        self.st.lifecycle.move(State.CONNECTING, "started")
        self._link_task = self.st.tasks.spawn(self._connect_loop(immediate=True), "connect")
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except asyncio.TimeoutError:
            status, error = self.st.registration, self._last_connect_error
            await self.stop()
            if status is None and error is not None:
                raise ConnectFailed(f"{error} (still not connected after {timeout:g}s)") from None
            raise BootRejected(self.st.id, status, timeout) from None
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
            for c in self.st.connectors[1:]:
                if c.transaction is not None:
                    try:
                        await self.st.charging.end_transaction(c, reason)
                    except StationError as e:
                        self.st.events.emit("error", str(e), c.id)
        self.st.lifecycle.move(State.OFF, "stopped")   # the link's end is no loss now
        self._start_ended(StationError(f"{self.st.id}: stopped before the CSMS accepted it"))
        current = asyncio.current_task()
        if self._reset_task is not None and self._reset_task is not current:
            self._reset_task.cancel()
        # Close first: calls in flight end with SessionClosed instead of being cut off
        # (a cancelled call would leave its reply to arrive for nobody).
        await self.st.dialect.close()
        await self.cancel_work()
        for c in self.st.connectors:
            self.st.charging.cancel_pending_start(c)
        self.st.online = False
        self.st.registration = None
        self.st.events.emit("stopped", "station stopped")

    def serves_offline(self) -> bool:
        """A started, powered charger serves its users with no CSMS (never while Pending
        or Rejected: the CSMS is there and said no)."""
        return (self.st.lifecycle.running and self.st.offline.powered and not self.st.online
                and self.st.registration not in (Registration.PENDING, Registration.REJECTED))

    def go_offline(self) -> None:
        """The network goes down (no close frame): transactions go on, their messages are
        queued, reconnect attempts fail until come_online()."""
        self.st.offline.network_down = True
        self.st.online = False
        self.st.events.emit("network", "network down")
        self.st.dialect.abort(notify=True)

    def come_online(self) -> None:
        """The network is back: reconnect at once; the queue goes out once registered."""
        self.st.offline.network_down = False
        self.st.events.emit("network", "network up")
        if not self.st.offline.powered or not self.st.lifecycle.running:
            return
        if not self.st.online:
            self._reconnect_now()   # do not sit out the backoff: try now

    async def power_loss(self) -> None:
        """Power cut: the link drops without a close frame, timers and everything volatile
        are lost; the persisted queue and the energy register stay."""
        off = self.st.offline
        if not off.powered:
            raise StationError(f"{self.st.id}: already without power")
        off.powered, off.lost_power_at = False, utc_now()
        self.st.events.emit("power_loss", "power lost", at=iso(off.lost_power_at))
        self.st.dialect.abort(notify=False)
        self.st.lifecycle.move(State.POWERED_OFF, "power lost")
        if self._reset_task is not None and self._reset_task is not asyncio.current_task():
            self._reset_task.cancel()
        await self.cancel_work()
        for c in self.st.connectors:
            self.st.charging.cancel_pending_start(c)
            if c.meter is not None:
                c.meter.set_drawing(False)
                off.queue.record_energy(c.id, c.meter.energy_wh, iso(off.lost_power_at))
        self.st.online, self.st.registration = False, None

    async def power_up(self) -> None:
        """Power back: running transactions end with PowerLoss (their StopTransaction is
        queued), then the station connects and boots; the queue goes out once accepted."""
        off = self.st.offline
        if off.powered:
            raise StationError(f"{self.st.id}: has power")
        off.powered = True
        self.st.events.emit("power_up", "power restored")
        for c in self.st.connectors[1:]:
            if c.transaction is not None:
                await self.st.charging.end_transaction(c, StopReason.POWER_LOSS)
        off.lost_power_at = None
        for c in self.st.connectors:
            await self.st.status.refresh(c)
        self.st.backoff.reset()
        await self._power_on_link()

    async def connect(self) -> None:
        if self.st.offline.network_down:
            raise ConnectFailed(f"{self.st.id}: cannot connect to {self.st.url}: network down")
        try:
            await self.st.dialect.connect(self.on_link_lost)
        except Exception as e:
            self.st.security.on_connect_failed(e)
            failed = ConnectFailed(f"{self.st.id}: cannot connect to {self.st.url}: "
                                   f"{type(e).__name__}: {e}")
            failed.refused = _refused(e)
            raise failed from e
        if not self.st.lifecycle.running:   # switched off while the connection opened
            await self.st.dialect.close()
            return
        self.st.online = True
        self.st.events.emit("connected", self.st.url)

    async def relink(self, closed: bool = False) -> None:
        """Connect anew now (e.g. new security settings); `closed`: the link is already
        down.  Closing on purpose starts no reconnect loop."""
        if not closed:
            await self.st.dialect.close()
            self.st.online = False
            self.stop_timers()
        await self.connect()

    def on_link_lost(self) -> None:
        """The connection dropped without us closing it: reconnect (no new boot, 1.6)."""
        self.st.online = False
        self.stop_timers()
        if self._boot_task is not None:
            self._boot_task.cancel()
        self.st.events.emit("disconnected", "connection lost")
        if self.st.lifecycle.running:   # not stopping, rebooting or without power
            self.st.lifecycle.move(State.OFFLINE, "connection lost")
            if self._link_task is None or self._link_task.done():
                self._link_task = self.st.tasks.spawn(self._connect_loop(), "reconnect")

    def _reconnect_now(self) -> None:
        """Try to connect at once instead of sitting out the backoff (network back)."""
        if self._link_task is not None and not self._link_task.done():
            self._link_task.cancel()
        self._link_task = self.st.tasks.spawn(self._connect_loop(immediate=True), "reconnect")

    async def _connect_loop(self, immediate: bool = False) -> None:
        """Connect, backing off with jitter between attempts, then boot (or, still
        registered after a lost link, carry on as after a boot).  While start() waits, a
        refusal or the last allowed attempt ends the start instead."""
        attempts, cap = 0, self.st.options.connect_attempts
        while self.st.lifecycle.running:
            if not immediate:
                await asyncio.sleep(self.st.backoff.next())
            immediate = False
            attempts += 1
            try:
                await self.connect()
                if not self.st.lifecycle.running:   # stopped meanwhile: nothing to boot
                    return
                break
            except ConnectFailed as e:
                self._last_connect_error = e
                self.st.events.emit("error", str(e))
                if self._start_waiter is not None and (
                        e.refused or (cap is not None and attempts >= cap)):
                    self._start_ended(e)
                    return
        else:
            return
        if self.st.registration == Registration.ACCEPTED:   # back, still registered: as good as a boot
            self.st.backoff.reset()
            await self.on_accepted()
        else:
            self.st.lifecycle.move(State.BOOTING)
            self.start_boot()

    def start_boot(self, delay: float = 0.0) -> None:
        if self._boot_task is None or self._boot_task.done():
            self._boot_task = self.st.tasks.spawn(self._boot_loop(delay), "boot")

    def retry_delay(self, interval: float) -> float:
        seconds = interval if interval > 0 else self.st.options.boot_retry_default
        return max(seconds * self.st.options.interval_scale, self.st.options.boot_retry_min)

    async def _boot_loop(self, delay: float = 0.0) -> None:
        if delay:
            await asyncio.sleep(delay)
        while True:
            try:
                result = await self.st.dialect.boot()
            except SessionClosed:
                return  # the reconnect boots again
            except SEND_ERRORS as e:
                self.st.events.emit("error", f"BootNotification failed: {e}")
                interval = 0
            else:
                await self.apply_boot(result)
                if result.status == Registration.ACCEPTED:
                    return
                interval = result.interval
            await asyncio.sleep(self.retry_delay(interval))

    async def apply_boot(self, result) -> None:
        previous, self.st.registration = self.st.registration, result.status
        self.st.events.emit("boot", f"{result.status}, interval {result.interval}",
                   status=result.status, interval=result.interval)
        if result.status != Registration.ACCEPTED:
            self.st.lifecycle.move(State.REJECTED if result.status == Registration.REJECTED else State.PENDING)
            self.stop_timers()
            return
        self.st.backoff.reset()
        if result.interval > 0:  # on Accepted, the interval is the heartbeat interval
            self.st.settings.set("heartbeat_interval", result.interval)
        if previous != Registration.ACCEPTED:
            await self.on_accepted()

    async def on_accepted(self) -> None:
        """Registered (or reconnected while registered): report every connector, start the
        heartbeat, send what a hard reset held back."""
        for c in self.st.connectors:
            await self.st.status.send(c)
        self.restart_heartbeat()
        self.st.charging.restart_aligned()
        self.st.charging.resume_samplers()
        await self.st.offline.flush()
        if self.st.lifecycle.running and self.st.online:
            self.st.lifecycle.move(State.ACCEPTED)
            self._start_ended()
        if self.st.security.events:
            self.st.tasks.spawn(self.st.security.flush(), "security-events")

    def may_send(self) -> bool:
        # Not while resetting: a hard reset holds transaction messages until the reboot.
        return (self.st.online and self.st.registration == Registration.ACCEPTED
                and self.st.lifecycle.state != State.RESETTING)

    def stop_timers(self) -> None:
        """Heartbeat and clock-aligned data stop (link down or not registered); samplers
        go on — the transaction does."""
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        self.st.charging.stop_aligned()

    def restart_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        interval = self.st.settings["heartbeat_interval"]
        if interval > 0 and self.st.online and self.st.registration == Registration.ACCEPTED:
            self._heartbeat = Periodic(self.st.tasks.spawn, interval * self.st.options.interval_scale,
                                       self._beat, "heartbeat")

    async def _beat(self) -> bool:
        try:
            await self.st.dialect.heartbeat()
        except SessionClosed:
            return False
        except SEND_ERRORS as e:
            self.st.events.emit("error", f"Heartbeat failed: {e}")
        else:
            self.st.events.emit("heartbeat", "Heartbeat")
        return True

    async def reset(self, hard: bool, reason: str | None = None) -> None:
        """Stop transactions, close, reboot (pending configuration applies), reconnect, boot.
        Soft: StopTransaction goes out before closing.  Hard: the station goes down at once;
        the StopTransaction is sent after the next accepted boot (1.6 §5.14)."""
        reason = reason or (StopReason.HARD_RESET if hard else StopReason.SOFT_RESET)
        self.st.events.emit("reset", reason)
        self.st.security.report("ResetOrReboot", reason)   # sent after the next boot
        if hard:   # down at once: what the stops send waits for the reboot
            self.st.lifecycle.move(State.RESETTING, reason)
        for c in self.st.connectors[1:]:
            if c.transaction is not None:
                await self.st.charging.end_transaction(c, reason)
            self.st.charging.cancel_pending_start(c)
        self.st.lifecycle.move(State.RESETTING, reason)
        await self.st.dialect.close()
        await self.cancel_work()
        self.st.online, self.st.registration = False, None
        applied = self.st.config.apply_pending()
        await asyncio.sleep(self.st.options.reboot_delay * self.st.options.interval_scale)
        for c in self.st.connectors:  # settles offline; all statuses go out after the boot
            await self.st.status.refresh(c)
        self.st.events.emit("rebooted", f"rebooted ({reason})" + (f", applied {applied}" if applied else ""))
        await self._power_on_link()

    async def _power_on_link(self) -> None:
        """Connect and boot after a reboot or power-up (the connect loop keeps trying)."""
        self.st.lifecycle.move(State.CONNECTING, "powered on")
        self._link_task = self.st.tasks.spawn(self._connect_loop(immediate=True), "connect")

    def request_reset(self, hard: bool) -> bool:
        if self._reset_task is not None and not self._reset_task.done():
            return False  # already rebooting
        async def deferred():
            await asyncio.sleep(0)
            await self.reset(hard)
        self._reset_task = self.st.tasks.create(deferred(), "reset")   # not cancelled by itself
        return True

    def require_registered(self) -> None:
        if not self.st.online:
            raise NotRegistered(f"{self.st.id}: not connected")
        if self.st.registration != Registration.ACCEPTED:
            raise NotRegistered(f"{self.st.id}: registration is {self.st.registration or 'not done'}, "
                                f"not Accepted")

    async def cancel_work(self) -> None:
        # One turn of the loop first: calls the closed link just failed (SessionClosed)
        # are seen by their callers instead of being cut off with unread exceptions.
        await asyncio.sleep(0)
        if self._heartbeat is not None:
            self._heartbeat.stop()
        self.st.charging.stop_timers()
        await self.st.tasks.cancel_all()
        self._heartbeat = self._boot_task = self._link_task = None
