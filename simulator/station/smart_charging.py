"""Smart Charging (OCPP 1.6 §3.13, §5.5 ClearChargingProfile, §5.7 GetCompositeSchedule,
§5.16 SetChargingProfile): the profile store and the composite schedule.

Pure part (`check_profile`, `ProfileStore`, `composite_schedule`): no I/O, no wire format
(the dialect reads and writes profiles and schedules);
every function takes an explicit `now`, so schedules are unit-testable.  Limits are kept in
watts internally: a profile in amps converts with the station's voltage and the period's
numberPhases (default: the station's phases).

The composite, at each moment: per purpose the valid, active profile with the highest
stackLevel (a connector's own profile beats connector 0's at the same level); a TxProfile of
the running transaction overrides the TxDefaultProfile; the result is capped by the
ChargePointMaxProfile and by the connector's hardware maximum.

Sharing (`allocate`, pure too): the ChargePointMaxProfile limits the whole station, so the
station-wide limit is shared in equal shares among the connectors whose EV wants power; a
connector below its share (own limit or EV rating) leaves the rest to the others.  A grant of
0 (limit 0, or below the minChargingRate of the profile in force) suspends the connector
(SuspendedEVSE) instead of offering a rate the EV cannot use.

Station glue (`SmartCharging`): answers the CSMS's requests, emits station events, and gives
each connector's meter its granted power limit; `update()` shares anew (a connector's facts
changed, a profile was set or cleared, a period boundary passed) and sets each connector's
`limit_suspended`; a timer at the next period boundary makes the meters re-pick their power,
so energy is the integral of the limited power.
"""
from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable

from .clock import utc_now
from .connector import Status
from .transaction import StartState

if TYPE_CHECKING:
    from .context import FeatureContext

log = logging.getLogger(__name__)

# Purposes, neutral: the station-wide maximum, the default for transactions, one transaction's.
MAX_PROFILE, TX_DEFAULT, TX = "station_max", "tx_default", "tx"
PURPOSES = (MAX_PROFILE, TX_DEFAULT, TX)
KINDS = ("Absolute", "Recurring", "Relative")
RECURRENCY = {"Daily": 86_400, "Weekly": 7 * 86_400}
UNIT_KEY = {"A": "Current", "W": "Power"}   # ChargingScheduleAllowedChargingRateUnit values


class ProfileError(ValueError):
    """Why a charging profile is refused (the answer is Rejected)."""


@dataclass(frozen=True, slots=True)
class Period:
    start: int                   # s from the schedule's start
    limit: float                 # in the schedule's unit
    phases: int | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    id: int
    connector_id: int
    stack_level: int
    purpose: str
    kind: str
    unit: str                    # "A" or "W"
    periods: tuple[Period, ...]
    duration: int | None = None
    start_schedule: datetime | None = None
    recurrency: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    min_rate: float | None = None
    transaction: str | None = None    # TxProfile: the station's transaction id
    transaction_name: object = None   # ... as the CSMS named it (messages only)
    installed_at: datetime | None = None   # start of an Absolute schedule without startSchedule


@dataclass(frozen=True, slots=True)
class Hardware:
    voltage_v: float = 230.0
    phases: int = 3
    max_power_w: float = 11_000.0    # per connector
    connectors: int = 1

    def to_w(self, limit: float, unit: str, phases: int | None = None) -> float:
        return limit if unit == "W" else limit * self.voltage_v * (phases or self.phases)

    def from_w(self, watts: float, unit: str) -> float:
        return watts if unit == "W" else watts / (self.voltage_v * self.phases)


@dataclass(frozen=True, slots=True)
class Limits:
    """The station's smart-charging settings; `key` names the setting as the CSMS knows it
    (the dialect's key), for the reasons a profile is refused."""
    max_stack_level: int = 10
    allowed_units: tuple[str, ...] = ("Current", "Power")
    max_periods: int = 24
    max_installed: int = 20
    key: Callable[[str], str] = str


@dataclass(frozen=True, slots=True)
class TxInfo:
    transaction: str                  # the station's transaction id
    start: datetime


# -- checking --------------------------------------------------------------------------------
def check_profile(p: Profile, limits: Limits, connectors: int) -> None:
    """Raise ProfileError if the profile cannot be installed, whatever the station's state."""
    if not 0 <= p.connector_id <= connectors:
        raise ProfileError(f"connector {p.connector_id} does not exist")
    if p.purpose not in PURPOSES:
        raise ProfileError(f"unknown profile purpose {p.purpose!r}")
    if p.purpose == MAX_PROFILE and p.connector_id != 0:
        raise ProfileError("a ChargePointMaxProfile is set on connector 0 only")
    if p.purpose == TX and p.connector_id == 0:
        raise ProfileError("a TxProfile needs a connector > 0")
    if p.stack_level < 0 or p.stack_level > limits.max_stack_level:
        raise ProfileError(f"stack level {p.stack_level} outside 0..{limits.max_stack_level} "
                           f"({limits.key('profile_max_stack_level')})")
    if UNIT_KEY.get(p.unit) not in limits.allowed_units:
        raise ProfileError(f"rate unit {p.unit!r} not allowed ({limits.key('schedule_allowed_units')}"
                           f"={','.join(limits.allowed_units)})")
    if not p.periods:
        raise ProfileError("the schedule has no periods")
    if len(p.periods) > limits.max_periods:
        raise ProfileError(f"{len(p.periods)} periods, at most {limits.max_periods} "
                           f"({limits.key('schedule_max_periods')})")
    if p.periods[0].start != 0:
        raise ProfileError("the first period must start at 0")
    if any(b.start <= a.start for a, b in zip(p.periods, p.periods[1:])):
        raise ProfileError("period starts must ascend")
    if any(x.limit < 0 or (x.phases is not None and x.phases not in (1, 2, 3)) for x in p.periods):
        raise ProfileError("a period has a negative limit or a number of phases outside 1..3")
    if p.kind not in KINDS:
        raise ProfileError(f"unknown profile kind {p.kind!r}")
    if p.kind == "Recurring" and (p.recurrency not in RECURRENCY or p.start_schedule is None):
        raise ProfileError("a Recurring profile needs a Daily/Weekly recurrency and a schedule start")
    if p.duration is not None and p.duration <= 0:
        raise ProfileError("duration must be positive")
    if p.valid_from and p.valid_to and p.valid_to <= p.valid_from:
        raise ProfileError("the profile is valid to a time not after its valid-from time")


# -- the store -------------------------------------------------------------------------------
@dataclass
class ProfileStore:
    limits: Limits = field(default_factory=Limits)
    connectors: int = 1
    profiles: list[Profile] = field(default_factory=list)

    def install(self, p: Profile) -> None:
        """Check and add `p`: it replaces a profile with the same id, and one with the same
        purpose and stackLevel on the same connector.  Raises ProfileError."""
        check_profile(p, self.limits, self.connectors)
        kept = [q for q in self.profiles if q.id != p.id and not (
            q.purpose == p.purpose and q.stack_level == p.stack_level
            and q.connector_id == p.connector_id)]
        if len(kept) + 1 > self.limits.max_installed:
            raise ProfileError(f"already {len(kept)} profiles installed "
                               f"({self.limits.key('max_profiles_installed')}="
                               f"{self.limits.max_installed})")
        self.profiles = [*kept, p]

    def clear(self, profile_id: int | None = None, connector_id: int | None = None,
              purpose: str | None = None, stack_level: int | None = None) -> list[Profile]:
        """Remove by id (other criteria then ignored) or by every given criterion; returns
        the removed profiles (none: the answer is Unknown)."""
        if profile_id is not None:
            gone = [q for q in self.profiles if q.id == profile_id]
        else:
            gone = [q for q in self.profiles
                    if (connector_id is None or q.connector_id == connector_id)
                    and (purpose is None or q.purpose == purpose)
                    and (stack_level is None or q.stack_level == stack_level)]
        self.profiles = [q for q in self.profiles if q not in gone]
        return gone


# -- evaluation ------------------------------------------------------------------------------
def _schedule_start(p: Profile, t: datetime, tx_start: datetime | None) -> datetime | None:
    if p.kind == "Relative":
        return tx_start
    if p.kind == "Recurring":
        period = RECURRENCY[p.recurrency]
        k = math.floor((t - p.start_schedule).total_seconds() / period)
        return p.start_schedule + timedelta(seconds=k * period)
    return p.start_schedule or p.valid_from or p.installed_at


def active_period(p: Profile, t: datetime, tx_start: datetime | None) -> Period | None:
    """The period of `p` in force at `t`, or None (not valid, not started, or over)."""
    if (p.valid_from and t < p.valid_from) or (p.valid_to and t >= p.valid_to):
        return None
    start = _schedule_start(p, t, tx_start)
    if start is None or t < start:
        return None
    offset = (t - start).total_seconds()
    if p.duration is not None and offset >= p.duration:
        return None
    current = None
    for period in p.periods:
        if period.start > offset:
            break
        current = period
    return current


def _best(profiles, purpose: str, connector_id: int, t: datetime, tx_start, hw: Hardware
          ) -> tuple[float, Profile] | None:
    """(limit in W, profile) of the highest-stack active profile of `purpose`."""
    best = None
    for p in profiles:
        if p.purpose != purpose or p.connector_id not in (0, connector_id):
            continue
        period = active_period(p, t, tx_start)
        if period is None:
            continue
        rank = (p.stack_level, p.connector_id != 0)
        if best is None or rank > best[0]:
            best = (rank, hw.to_w(period.limit, p.unit, period.phases), p)
    return None if best is None else (best[1], best[2])


def limit_at(profiles, connector_id: int, t: datetime, tx: TxInfo | None, hw: Hardware,
             reference: datetime) -> tuple[float, Profile | None]:
    """The connector's limit in W at `t` and the tx/default profile that set it (if any).
    `reference` stands for the transaction start of Relative profiles when there is none."""
    cap = hw.max_power_w * (hw.connectors if connector_id == 0 else 1)
    top = _best(profiles, MAX_PROFILE, 0, t, None, hw)
    if top is not None:
        cap = min(cap, top[0])
    if connector_id == 0:
        return cap, None
    tx_start = tx.start if tx else reference
    chosen = None
    if tx is not None:
        mine = [p for p in profiles if p.purpose == TX and p.transaction == tx.transaction]
        chosen = _best(mine, TX, connector_id, t, tx_start, hw)
    if chosen is None:
        chosen = _best(profiles, TX_DEFAULT, connector_id, t, tx_start, hw)
    if chosen is None:
        return cap, None
    return min(cap, chosen[0]), chosen[1]


def _boundaries(profiles, a: datetime, b: datetime, tx_start: datetime) -> list[datetime]:
    """Every moment in (a, b) at which some profile's limit may change."""
    out: set[datetime] = set()
    for p in profiles:
        out.update(x for x in (p.valid_from, p.valid_to) if x)
        if p.kind == "Recurring":
            period = RECURRENCY[p.recurrency]
            k0 = math.floor((a - p.start_schedule).total_seconds() / period)
            k1 = math.floor((b - p.start_schedule).total_seconds() / period)
            starts = [p.start_schedule + timedelta(seconds=k * period) for k in range(k0, k1 + 1)]
        else:
            s = _schedule_start(p, a, tx_start)
            starts = [s] if s else []
        for s in starts:
            out.update(s + timedelta(seconds=x.start) for x in p.periods)
            if p.duration is not None:
                out.add(s + timedelta(seconds=p.duration))
    return sorted(x for x in out if a < x < b)


def _steps(profiles, connector_id: int, now: datetime, duration: float, hw: Hardware,
           tx: TxInfo | None) -> list[tuple[datetime, float, Profile | None]]:
    """(from when, limit in W, governing tx/default profile) for [now, now + duration)."""
    end = now + timedelta(seconds=duration)
    tx_start = tx.start if tx else now
    steps: list[tuple[datetime, float, Profile | None]] = []
    for t in [now, *_boundaries(profiles, now, end, tx_start)]:
        watts, source = limit_at(profiles, connector_id, t, tx, hw, now)
        if not steps or steps[-1][1] != watts:
            steps.append((t, watts, source))
    return steps


@dataclass(frozen=True, slots=True)
class Schedule:
    """A composite schedule: from `start` for `duration` s, limits in `unit` ("A" / "W")."""
    start: datetime
    duration: int
    unit: str
    periods: tuple[tuple[int, float], ...]   # (s from start, limit)
    min_rate: float | None = None            # of the profile in force at the start


def composite_schedule(profiles, connector_id: int, now: datetime, duration: int, unit: str,
                       hw: Hardware, tx: TxInfo | None = None) -> Schedule:
    """The connector's limits for [now, now + duration)."""
    periods: list[tuple[int, float]] = []
    steps = _steps(profiles, connector_id, now, duration, hw, tx)
    for t, watts, _ in steps:
        # whole seconds: a step less than a second after the previous replaces it
        start = math.ceil((t - now).total_seconds() - 1e-6)
        limit = round(hw.from_w(watts, unit), 1)
        if periods and periods[-1][0] == start:
            periods.pop()
        if periods and periods[-1][1] == limit:
            continue
        periods.append((start, limit))
    source = steps[0][2]
    min_rate = None
    if source is not None and source.min_rate is not None:
        min_rate = round(hw.from_w(hw.to_w(source.min_rate, source.unit), unit), 1)
    return Schedule(now, duration, unit, tuple(periods), min_rate)


def next_change(profiles, connector_id: int, now: datetime, hw: Hardware, tx: TxInfo | None,
                horizon: int = 7 * 86_400) -> datetime | None:
    """When the connector's limit next changes (None: not within `horizon` seconds)."""
    steps = _steps(profiles, connector_id, now, horizon, hw, tx)
    return steps[1][0] if len(steps) > 1 else None


# -- sharing the station's limit ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PowerDemand:
    """A connector whose EV wants power now (transaction running, EV plugged and neither
    suspended nor full): the connectors that share the ChargePointMaxProfile."""
    connector_id: int
    tx: TxInfo | None = None
    ev_w: float = math.inf       # the EV's rating (onboard charger on AC, dc maximum on DC)


def water_level(cap_w: float, demands: list[float]) -> float:
    """The equal share of `cap_w` among `demands` once every demand below it is met in full
    (what it leaves goes to the others); inf when all demands fit."""
    remaining, left = cap_w, len(demands)
    for d in sorted(demands):
        if d * left <= remaining:
            remaining -= d
            left -= 1
        else:
            return max(remaining, 0.0) / left
    return math.inf


def allocate(profiles, sessions: list[PowerDemand], now: datetime, hw: Hardware
             ) -> dict[int, float]:
    """Each session's granted limit in W at `now` (0: the station withholds power, the
    connector is SuspendedEVSE).

    A connector's own limit is its composite (TxProfile / TxDefaultProfile, hardware, the
    ChargePointMaxProfile as one connector's cap).  The station-wide limit (the composite of
    connector 0: ChargePointMaxProfile, else the hardware of all connectors) is shared in equal
    shares among the sessions; a session whose own limit or EV rating is below its share
    leaves the rest to the others.  An own limit of 0, or below the minChargingRate of the
    profile in force, suspends the session.  If a share falls below a session's
    minChargingRate (or to 0), the most recently started such session is suspended and the
    rest share again, so the station never offers a rate the EV cannot use."""
    cap, _ = limit_at(profiles, 0, now, None, hw, now)
    own: dict[int, tuple[float, float]] = {}     # connector -> (limit W, minimum W)
    granted: dict[int, float] = {}
    for s in sessions:
        watts, source = limit_at(profiles, s.connector_id, now, s.tx, hw, now)
        minimum = (hw.to_w(source.min_rate, source.unit)
                   if source is not None and source.min_rate is not None else 0.0)
        own[s.connector_id] = (watts, minimum)
        if watts <= 0 or watts < minimum:
            granted[s.connector_id] = 0.0
    active = [s for s in sessions if s.connector_id not in granted]
    while True:
        level = water_level(cap, [min(own[s.connector_id][0], s.ev_w) for s in active])

        def short(s: PowerDemand) -> bool:
            watts, minimum = own[s.connector_id]
            g = min(watts, level)
            return g <= 0 or g < minimum
        failing = [s for s in active if short(s)]
        if not failing:
            break
        latest = max(failing, key=lambda s: (s.tx.start if s.tx else now, s.connector_id))
        granted[latest.connector_id] = 0.0
        active.remove(latest)
    for s in active:
        granted[s.connector_id] = min(own[s.connector_id][0], level)
    return granted


# -- the station's side ----------------------------------------------------------------------
class SmartCharging:
    """One station's charging profiles, wired to its config, connectors, meters and events."""

    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        opts = ctx.options
        self.hw = Hardware(opts.voltage_v, opts.phases, opts.max_power_w, opts.connectors)
        self.store = ProfileStore(connectors=opts.connectors)
        # connector -> (timer, the limit change it is armed for)
        self._timers: dict[int, tuple[asyncio.TimerHandle, datetime]] = {}
        # Connector id -> a TxProfile from RemoteStartTransaction, for the transaction it starts.
        self._for_next_tx: dict[int, tuple[str, Profile]] = {}
        self._granted: dict[int, float] = {}     # the last allocation (update())
        for c in ctx.connectors[1:]:
            c.meter.power_limit = self._meter_limit(c.id)

    # -- state ---------------------------------------------------------------------------
    def _limits(self) -> Limits:
        s = self.ctx.settings
        return Limits(s["profile_max_stack_level"], tuple(s["schedule_allowed_units"]),
                      s["schedule_max_periods"], s["max_profiles_installed"], s.key)

    def _tx(self, connector_id: int) -> TxInfo | None:
        tx = self.ctx.connectors[connector_id].transaction
        if tx is None or tx.start_state == StartState.SENDING:
            return None
        return TxInfo(tx.id, tx.start_time)

    def _profiles(self) -> list[Profile]:
        """The installed profiles, after binding remote-start profiles to their transaction and
        dropping TxProfiles whose transaction is over (1.6: they end with it)."""
        for cid, (id_tag, p) in list(self._for_next_tx.items()):
            c = self.ctx.connectors[cid]
            tx = c.transaction
            if tx is not None and not (tx.remote and tx.id_token == id_tag):
                del self._for_next_tx[cid]   # another transaction took the connector
            elif tx is not None and tx.start_state != StartState.SENDING:
                del self._for_next_tx[cid]
                bound = replace(p, transaction=tx.id)
                try:
                    self.store.install(bound)
                    self._emit("profile_set", bound, "from RemoteStartTransaction")
                except ProfileError as e:
                    self.refuse(str(e), cid, p.id)
            elif tx is None and c.pending_start is None and c.status != Status.PREPARING:
                del self._for_next_tx[cid]   # the remote start never became a transaction
        running = {c.transaction.id for c in self.ctx.connectors[1:]
                   if c.transaction is not None}
        self.store.profiles = [p for p in self.store.profiles
                               if p.purpose != TX or p.transaction in running]
        return self.store.profiles

    def installed(self, profile_ids=None, connector_id: int | None = None,
                  purpose: str | None = None, stack_level: int | None = None) -> list[Profile]:
        """The installed profiles matching every given criterion (a report's selection)."""
        return [p for p in self._profiles()
                if (not profile_ids or p.id in profile_ids)
                and (connector_id is None or p.connector_id == connector_id)
                and (purpose is None or p.purpose == purpose)
                and (stack_level is None or p.stack_level == stack_level)]

    def _emit(self, kind: str, p: Profile, how: str = "") -> None:
        self.ctx.emit(kind, f"{p.purpose} {p.id} stack {p.stack_level} {how}".strip(),
                                 p.connector_id, profile_id=p.id, purpose=p.purpose)

    def refuse(self, reason: str, connector_id: int | None, profile_id=None) -> str:
        """A profile the station will not take (also one its dialect could not read)."""
        log.info("%s: charging profile %s rejected: %s", self.ctx.station_id, profile_id, reason)
        self.ctx.emit("profile_rejected", reason, connector_id,
                                 profile_id=profile_id, reason=reason)
        return "Rejected"

    # -- CSMS requests -------------------------------------------------------------------
    def set_profile(self, p: Profile, now: datetime | None = None) -> str:
        """Install `p` (on p.connector_id): Accepted or Rejected (an event says why)."""
        now = now or utc_now()
        connector_id = p.connector_id
        if p.installed_at is None:
            p = replace(p, installed_at=now)
        try:
            if p.purpose == TX and 1 <= connector_id <= self.hw.connectors:
                tx = self._tx(connector_id)
                if tx is None:
                    raise ProfileError(f"no transaction on connector {connector_id} for a TxProfile")
                if p.transaction is None:
                    p = replace(p, transaction=tx.transaction)
                elif p.transaction != tx.transaction:
                    raise ProfileError(f"transaction {p.transaction_name or p.transaction} is "
                                       f"not the running transaction on connector "
                                       f"{connector_id}")
            self._profiles()
            self.store.limits = self._limits()
            self.store.install(p)
        except ProfileError as e:
            return self.refuse(str(e), connector_id, p.id)
        except (TypeError, ValueError) as e:   # lenient mode lets a bad one through
            return self.refuse(f"malformed profile: {e!r}", connector_id, p.id)
        self._emit("profile_set", p)
        self._limits_changed()
        return "Accepted"

    def remote_start_profile(self, p: Profile) -> str | None:
        """Check a remote start's charging profile: None if acceptable, else why not."""
        try:
            if p.purpose != TX:
                raise ProfileError("RemoteStartTransaction takes a TxProfile only")
            if p.transaction is not None:
                raise ProfileError("a remote start's profile names no transaction")
            check_profile(p, self._limits(), self.hw.connectors)
        except (ProfileError, TypeError, ValueError) as e:
            reason = str(e) if isinstance(e, ProfileError) else f"malformed profile: {e!r}"
            self.refuse(reason, None, p.id)
            return reason
        return None

    def bind_remote_start(self, id_tag: str, p: Profile) -> None:
        """A remote start for `id_tag` was accepted: the transaction it starts on the
        connector it claimed gets the profile."""
        for c in self.ctx.connectors[1:]:
            pending = c.pending_start
            if pending is not None and pending.remote and pending.id_token == id_tag:
                self._for_next_tx[c.id] = (id_tag, replace(p, connector_id=c.id,
                                                           installed_at=utc_now()))
                return

    def clear(self, profile_id: int | None = None, connector_id: int | None = None,
              purpose: str | None = None, stack_level: int | None = None) -> str:
        self._profiles()
        gone = self.store.clear(profile_id, connector_id, purpose, stack_level)
        for p in gone:
            self._emit("profile_cleared", p)
        if not gone:
            self.ctx.emit("profile_clear_unknown", "no profile matched", connector_id)
            return "Unknown"
        self._limits_changed()
        return "Accepted"

    def composite(self, connector_id: int, duration: int, unit: str | None = None,
                  now: datetime | None = None) -> Schedule | None:
        """The composite schedule, or None for a connector that does not exist."""
        if not 0 <= connector_id <= self.hw.connectors or duration < 0:
            return None
        allowed = self.ctx.settings["schedule_allowed_units"]
        if unit is None:
            unit = "A" if "Current" in allowed else "W"
        now = now or utc_now()
        tx = self._tx(connector_id) if connector_id else None
        return composite_schedule(self._profiles(), connector_id, now, duration, unit, self.hw, tx)

    def limit_w(self, connector_id: int, now: datetime | None = None) -> float:
        """What the connector may draw now: its share of the station's limit while its EV
        wants power (0: suspended), else its own limit."""
        now = now or utc_now()
        granted = self._allocate(now)
        if connector_id in granted:
            return granted[connector_id]
        return limit_at(self._profiles(), connector_id, now, self._tx(connector_id), self.hw,
                        now)[0]

    def _sessions(self) -> list[PowerDemand]:
        out = []
        for c in self.ctx.connectors[1:]:
            tx = c.transaction
            if (tx is None or tx.start_state == StartState.SENDING or tx.stopping or tx.deauthorized
                    or not c.plugged or c.ev_suspended or c.evse_suspended or c.fault
                    or c.meter.ev_full):
                continue
            ev = c.meter.ev
            ev_w = math.inf if ev is None else (ev.dc_max_w if c.meter.dc else ev.ac_max_w)
            out.append(PowerDemand(c.id, TxInfo(tx.id, tx.start_time), ev_w))
        return out

    def _allocate(self, now: datetime) -> dict[int, float]:
        return allocate(self._profiles(), self._sessions(), now, self.hw)

    def update(self, now: datetime | None = None) -> list:
        """Share the station's limit anew: meters whose grant changed re-pick their power at
        once (before any connector starts drawing), each connector's `limit_suspended` fact
        follows its grant, and every running transaction's boundary timer is re-armed.
        Returns the connectors whose `limit_suspended` changed (their status must follow)."""
        now = now or utc_now()
        granted = self._allocate(now)
        changed = []
        for c in self.ctx.connectors[1:]:
            suspended = granted.get(c.id, 1.0) <= 0
            if suspended != c.limit_suspended:
                c.limit_suspended = suspended
                changed.append(c)
            if granted.get(c.id) != self._granted.get(c.id):
                c.meter.refresh()
            if c.transaction is not None:
                self._arm(c.id, now)
        self._granted = granted
        return changed

    # -- the meter ------------------------------------------------------------------------
    def _meter_limit(self, connector_id: int) -> Callable[[], float]:
        def limit() -> float:
            now = utc_now()
            self._arm(connector_id, now)
            return self.limit_w(connector_id, now)
        return limit

    def _limits_changed(self) -> None:
        """Profiles changed: meters take their new power now; statuses follow (after the reply
        to the CSMS's request, so the StatusNotification comes after the .conf)."""
        changed = self.update()
        for c in self.ctx.connectors[1:]:
            c.meter.refresh()   # book energy at the old power, pick the new one
        if changed:
            self.ctx.after_reply(lambda: self._apply(changed), "smart-charging-status")

    async def _apply(self, changed) -> None:
        for c in changed:
            await self.ctx.refresh(c)

    def _arm(self, connector_id: int, now: datetime) -> None:
        """A timer at the connector's next limit change, while it is in a transaction.  The
        meter asks at every sample, so an armed timer is kept while it is right: for the
        same change, or for one that is due and has not run yet (the meter asked first, in
        the same loop turn: replaced then, the change would be skipped, never announced)."""
        active = self.ctx.connected() and self.ctx.connectors[connector_id].transaction is not None
        when = next_change(self._profiles(), connector_id, now, self.hw,
                           self._tx(connector_id)) if active else None
        old = self._timers.pop(connector_id, None)
        if old is not None:
            timer, change = old
            if active and (change == when or change <= now):
                self._timers[connector_id] = old
                return
            timer.cancel()
        if when is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._timers[connector_id] = (loop.call_later(
            (when - now).total_seconds() + 0.001, self._on_boundary, connector_id), when)

    def _on_boundary(self, connector_id: int) -> None:
        """A schedule period starts: every share is computed anew (one connector's limit
        moves the others' shares), the meters book their energy and take the new limits."""
        self._timers.pop(connector_id, None)
        changed = self.update()
        self.ctx.connectors[connector_id].meter.refresh()   # re-arms the next boundary
        watts = self.limit_w(connector_id)
        self.ctx.emit("power_limit", f"limit {watts:.0f} W", connector_id,
                                 limit_w=watts)
        if changed:
            self.ctx.spawn(self._apply(changed), "smart-charging-status")
