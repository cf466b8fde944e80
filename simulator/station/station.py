"""The virtual charge point: version-neutral behaviour behind every message.

The station owns its hardware (connectors, meters), configuration, the authorization
cache and the transactions; its dialect (`simulator.dialects`, handed to it) turns that
into one protocol version.  Everything runs on the caller's event loop (timers are
`call_later` handles or short tasks), so a process holds thousands of stations.

The behaviour lives in small modules, one part each, that reach one another through
public calls only: boot.py (switching on, registration, heartbeat, reconnect, reset,
network and power), transactions.py (cable, card, authorization, transactions, meter
values), status.py (connector status and faults), csms_requests.py (what the CSMS asks),
tasks.py (spawned and deferred work), offline.py (the queue of transaction messages).
`Station` builds them and is the drivers' one entry point: its methods below are the
public API (plug_in, present_tag, unplug, stop_transaction, start, stop, ...).
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import zlib
from typing import Callable

from ..session import Frame
from ..transport.faults import FaultPlan
from .auth import AuthCache, Authorizer
from .boot import Booting
from .config import ConfigStore
from .connector import Connector
from .context import FeatureContext
from .csms_requests import TRIGGERABLE, CsmsRequests
from .diagnostics import Diagnostics
from .errors import SEND_ERRORS, StationError
from .events import Event, EventLog
from .evse import Evse, build as build_evses
from .firmware import Firmware
from .id_token import IdToken
from .intents import Intent
from .lifecycle import Lifecycle, Registration, State
from .link import Backoff
from .local_list import LocalAuthList
from .meter import Meter
from .offline import Offline
from .options import StationOptions
from .reservations import Reservations
from .rng import LazyRandom
from .security import StationSecurity
from .settings import Settings
from .smart_charging import SmartCharging
from .status import ConnectorStatus
from .tasks import Tasks
from .transaction import StopReason, Transaction
from .transactions import STOP_REASONS, Charging
from .vendors import canned_vendors
from .view import StationView

log = logging.getLogger(__name__)

__all__ = ["SEND_ERRORS", "STOP_REASONS", "TRIGGERABLE", "Station", "StationContext"]

VendorHandler = Callable[[str | None, str | None], object]


# Builds the station's dialect (how it speaks one protocol version) for a station.  The
# caller picks it (`simulator.dialects.dialect_for`): the station never imports a dialect.
DialectFactory = Callable[["Station"], object]


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
    url = property(lambda self: self._st.url)

    def emit(self, kind, text, connector=None, **data):
        return self._st.events.emit(kind, text, connector, **data)

    def expect(self, kind, connector=None, where=None):
        return self._st.events.expect(kind, connector, where)

    async def send(self, intent):
        return await self._st.send(intent)

    async def notify(self, intent, triggered=False):
        await self._st.notify(intent, triggered)

    def may_send(self):
        return self._st.booting.may_send()

    def connected(self):
        return self._st.online

    def spawn(self, coro, name):
        return self._st.tasks.spawn(coro, name)

    def after_reply(self, job, name):
        self._st.tasks.after_reply(job, name)

    async def refresh(self, connector):
        await self._st.status.refresh(connector)

    async def stop_transaction(self, connector, reason):
        await self._st.charging.end_transaction(connector, reason)

    async def reboot(self, reason):
        await self._st.booting.reset(hard=False, reason=reason)

    async def until_accepted(self):
        await self._st.lifecycle.reached(State.ACCEPTED)

    async def relink(self, closed=False):
        await self._st.booting.relink(closed)

    def link_lost(self):
        self._st.booting.on_link_lost()

    async def relinked(self):
        if self._st.registration == Registration.ACCEPTED:
            await self._st.booting.on_accepted()

    def trigger(self, message, connector_id):
        return self._st.trigger(message, connector_id)

    async def deliver(self, intent):
        return await self._st.dialect.deliver(intent)

    def held(self, intent):
        self._st.dialect.held(intent)

    def transaction_name(self, transaction):
        return self._st.dialect.transaction_name(transaction)

    def remember(self, id_token, info):
        self._st.charging.remember(id_token, info)

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
    __slots__ = ('auth_cache', 'authorizer', 'backoff', 'booting', 'charging', 'config',
                 'connectors', 'csms_url', 'diagnostics', 'dialect', 'events', 'evses', 'firmware',
                 'id', 'lifecycle', 'local_list', 'offline', 'online', 'options',
                 'registration', 'requests', 'reservations', 'rng', 'security', 'settings',
                 'smart_charging', 'status', 'taps', 'tasks', 'url', 'vendors')

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
        self.evses: list[Evse] = build_evses(self.connectors)   # Station -> EVSE -> Connector
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
        # The station's own parts, each in its module; they talk through public calls.
        self.tasks = Tasks(self)               # tasks.py: spawned and deferred work
        self.booting = Booting(self)           # boot.py: connect, boot, heartbeat, power
        self.status = ConnectorStatus(self)    # status.py: connector status, faults
        self.charging = Charging(self)         # transactions.py: sessions, meter values
        self.requests = CsmsRequests(self)     # csms_requests.py: what the CSMS asks
        # Reconnect delays (link.py), jittered from the station's seed so runs reproduce,
        # and the persistent queue of transaction messages (offline.py).
        self.backoff = Backoff(self.rng, opts.reconnect_min, opts.reconnect_max)
        self.offline = Offline(ctx)
        self.offline.recover()   # what a restart finds in the journal
        self.settings.subscribe(self._on_setting_change)

    # =====================================================================================
    # Observing
    # =====================================================================================
    @property
    def session(self):
        """The current RPC session (None before start).  It is replaced on reconnect; its
        `taps` list is `station.taps`, so taps added through it stay."""
        return self.dialect.session

    @property
    def transaction_refs(self):
        """The dialect's persisted notes on transactions (offline_queue.TransactionRefs)."""
        return self.offline.refs

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

    def evse(self, evse_id: int) -> Evse:
        """EVSE `evse_id` (1..n; 0 is the station itself)."""
        if not isinstance(evse_id, int) or not 0 <= evse_id < len(self.evses):
            raise StationError(f"{self.id}: no EVSE {evse_id!r} (1..{len(self.evses) - 1})")
        return self.evses[evse_id]

    def connector(self, connector_id: int) -> Connector:
        """Connector `connector_id` (1..n); StationError names the range otherwise."""
        if not isinstance(connector_id, int) or not 1 <= connector_id < len(self.connectors):
            raise StationError(f"{self.id}: no connector {connector_id!r} "
                               f"(1..{len(self.connectors) - 1})")
        return self.connectors[connector_id]

    def transaction(self, transaction: str) -> Transaction | None:
        """The running transaction with the station's id `transaction`."""
        for c in self.connectors[1:]:
            if c.transaction is not None and c.transaction.id == transaction:
                return c.transaction
        return None

    @property
    def transactions(self) -> list[Transaction]:
        """The running transactions."""
        return [c.transaction for c in self.connectors[1:] if c.transaction is not None]

    def _on_lifecycle_move(self, old: State, new: State, why: str) -> None:
        self.events.emit("lifecycle", f"{old} -> {new}" + (f" ({why})" if why else ""),
                   old=str(old), state=str(new), why=why)

    # =====================================================================================
    # Switching on and off, network and power (boot.py)
    # =====================================================================================
    async def start(self, timeout: float | None = 60.0) -> None:
        """Switch on and return once the CSMS has accepted the boot (boot.Booting.start:
        retried as a real charger does; ConnectFailed / BootRejected after `timeout`)."""
        await self.booting.start(timeout)

    async def stop(self, reason: str | None = None) -> None:
        """Switch off in any state; with `reason`, running transactions end with it first."""
        await self.booting.stop(reason)

    def go_offline(self) -> None:
        """The network goes down: transactions go on, their messages are queued."""
        self.booting.go_offline()

    def come_online(self) -> None:
        """The network is back: reconnect at once; the queue goes out once registered."""
        self.booting.come_online()

    @property
    def faults(self) -> dict | None:
        """The transport faults injected on this station's connections (a `faults:` block)."""
        return self.options.faults

    def set_faults(self, config: dict | None, reconnect: bool = True) -> dict | None:
        """Inject transport faults from now on (a `faults:` block, simulator/transport/
        faults.py; None or {}: none).  Raises ValueError naming a bad field.  The plan wraps
        each new connection; with `reconnect` a live link is dropped (no close frame) and
        reopened at once, so the plan applies now and its start/stop times count from then."""
        if config:
            FaultPlan.from_config(config)
        self.options.faults = dict(config) if config else None
        self.events.emit("faults", f"faults {self.options.faults or 'cleared'}")
        if reconnect and self.online:
            self.go_offline()
            self.come_online()
        return self.options.faults

    async def power_loss(self) -> None:
        await self.booting.power_loss()

    async def power_up(self) -> None:
        await self.booting.power_up()

    def request_reset(self, hard: bool) -> bool:
        return self.booting.request_reset(hard)

    async def send(self, intent: Intent):
        """Say `intent` to the CSMS now (the dialect's words); what the CSMS answered, for
        the intents that ask something.  Raises the session's errors (SEND_ERRORS)."""
        return await self.dialect.send(intent)

    async def notify(self, intent: Intent, triggered: bool = False) -> None:
        """Report a status: unless triggered (a trigger works while Pending), only while
        registered; one that cannot go out is an error event, not queued (a trigger asks
        for the current one later)."""
        if not (self.online if triggered else self.booting.may_send()):
            self.events.emit("error", f"{type(intent).__name__} {getattr(intent, 'status', '')} not "
                                f"sent: {'offline' if not self.online else 'not registered'}")
            return
        try:
            await self.send(intent)
        except SEND_ERRORS as e:
            self.events.emit("error", f"{type(intent).__name__} failed: {e}")

    # =====================================================================================
    # Driver actions: the EV and the user (transactions.py, status.py)
    # =====================================================================================
    async def plug_in(self, connector_id: int, *, soc: float | None = None) -> None:
        """The EV's cable goes in.  `soc`: the EV battery's state of charge in percent."""
        await self.charging.plug_in(connector_id, soc=soc)

    async def unplug(self, connector_id: int) -> None:
        await self.charging.unplug(connector_id)

    async def present_tag(self, connector_id: int, id_tag: IdToken | str) -> str:
        """An id token (an RFID card, unless typed otherwise) at the connector's reader:
        "Started", "Authorized", "Stopped", "Cancelled", "Rejected", "NotAllowed",
        "Unavailable" or "Reserved" (transactions.Charging.present_tag)."""
        return await self.charging.present_tag(connector_id, id_tag)

    async def stop_transaction(self, connector_id: int,
                               reason: StopReason = StopReason.LOCAL) -> Transaction:
        """End the connector's transaction (as the station would, e.g. a stop button)."""
        return await self.charging.stop_transaction(connector_id, reason)

    async def ev_suspend(self, connector_id: int) -> None:
        """The EV stops taking energy (SuspendedEV)."""
        await self.charging.set_flag(connector_id, "ev_suspended", True)

    async def ev_resume(self, connector_id: int) -> None:
        await self.charging.set_flag(connector_id, "ev_suspended", False)

    async def set_ev_soc(self, connector_id: int, soc: float) -> None:
        """The plugged EV's battery is now at `soc` percent (a driver sets the car's state)."""
        c = self.connector(connector_id)
        if not c.plugged or c.meter.ev is None:
            raise StationError(f"{self.id}: no EV plugged in at connector {connector_id}")
        if not 0 <= soc <= 100:
            raise StationError(f"state of charge must be in 0..100, got {soc!r}")
        ev = c.meter.ev
        ev.stored_wh = ev.capacity_wh * soc / 100.0
        self.events.emit("ev_soc", f"EV battery at {soc:g} %", c.id, soc=soc)
        await self.status.refresh(c)  # a full battery turns Charging into SuspendedEV

    async def evse_suspend(self, connector_id: int) -> None:
        """The station withholds energy (SuspendedEVSE), e.g. a local power limit of 0."""
        await self.charging.set_flag(connector_id, "evse_suspended", True)

    async def evse_resume(self, connector_id: int) -> None:
        await self.charging.set_flag(connector_id, "evse_suspended", False)

    async def fault(self, connector_id: int, error_code: str = "OtherError",
                    info: str | None = None) -> None:
        """Report a hardware fault (connector 0: the station); the connector goes Faulted."""
        await self.status.fault(connector_id, error_code, info)

    async def clear_fault(self, connector_id: int) -> None:
        await self.status.clear_fault(connector_id)

    async def data_transfer(self, vendor_id: str, message_id: str | None = None,
                            data: str | None = None) -> tuple[str, str | None]:
        """Send a DataTransfer to the CSMS; returns (status, data)."""
        return await self.requests.data_transfer(vendor_id, message_id, data)

    def answer_next(self, action: str, reply: dict | None = None,
                    error: tuple[str, str, dict | None] | None = None) -> None:
        """Answer the next CSMS request of `action` with `reply`, or a CALLERROR
        `error` = (code, description, details), instead of the model (scenarios, tests)."""
        self.requests.answer_next(action, reply, error)

    def register_vendor(self, vendor_id: str, handler: VendorHandler) -> None:
        """Answer the CSMS's DataTransfer for `vendor_id`: handler(message_id, data) returns
        a status or (status, data), may be async, and raises UnknownMessageId."""
        self.vendors[vendor_id] = handler

    # =====================================================================================
    # CSMS requests, called by the dialect with neutral arguments (csms_requests.py)
    # =====================================================================================
    def take_answer(self, action: str) -> dict | None:
        return self.requests.take_answer(action)

    def change_configuration(self, key: str, value: str) -> str:
        return self.requests.change_configuration(key, value)

    def clear_cache(self) -> bool:
        return self.requests.clear_cache()

    async def incoming_data_transfer(self, vendor_id: str, message_id: str | None,
                                     data: str | None) -> tuple[str, str | None]:
        return await self.requests.incoming_data_transfer(vendor_id, message_id, data)

    def change_availability(self, connector_id: int, operative: bool) -> str:
        return self.requests.change_availability(connector_id, operative)

    def remote_start(self, id_tag: IdToken | str, connector_id: int | None = None) -> bool:
        return self.requests.remote_start(id_tag, connector_id)

    def remote_stop(self, transaction: str) -> bool:
        """Stop the running transaction with the station's id `transaction`."""
        return self.requests.remote_stop(transaction)

    async def unlock(self, connector_id: int) -> str:
        return await self.requests.unlock(connector_id)

    def trigger(self, message: str, connector_id: int | None = None) -> str:
        return self.requests.trigger(message, connector_id)

    def _on_setting_change(self, name: str, value) -> None:
        # Changes take effect at once: timers restart with the new interval.
        if name == "heartbeat_interval":
            self.booting.restart_heartbeat()
        elif name == "meter_interval":
            self.charging.restart_samplers()
        elif name == "clock_aligned_interval":
            self.charging.restart_aligned()
        elif name == "ping_interval":
            self.dialect.set_ping_interval(value)
        elif name == "authorization_cache_enabled" and not value:
            self.auth_cache.clear()

    def __repr__(self) -> str:
        statuses = ",".join(str(c.status) for c in self.connectors)
        return f"<Station {self.id} {self.registration or 'unregistered'} [{statuses}]>"
