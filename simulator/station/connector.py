"""Connector status state machine.

The statuses are neutral; which moves between them are legal is the dialect's table (1.6:
§4.9, transitions A2…I8, in dialects/ocpp16/names.py), handed to each connector.  2.0.1
reports a coarser status per connector, which its dialect derives from these.
Connector 0 stands for the whole station and is only available, unavailable or faulted.

A connector does not decide its status by itself: the station sets the physical facts
(plugged, transaction, suspended, fault, availability) and `desired_status()` derives the
status they imply; `set_status()` then enforces the state machine, so that a slip in the
station's logic surfaces as an `IllegalTransition` instead of a message a CSMS may reject.
"""
from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

from .errors import IllegalTransition
from .id_token import IdToken
from .transaction import StartState

if TYPE_CHECKING:
    from .auth import AuthorizationInfo
    from .meter import Meter
    from .reservation import Reservation
    from .transaction import Transaction


class Status(enum.StrEnum):
    """What a connector is doing, in the station's words; a dialect names it on the wire
    and says which moves its protocol allows (`Dialect.status_transitions`)."""
    AVAILABLE = "available"
    PREPARING = "preparing"            # plugged or authorised, no energy yet
    CHARGING = "charging"
    SUSPENDED_EV = "suspended_ev"      # the EV takes no energy
    SUSPENDED_EVSE = "suspended_evse"  # the station withholds energy
    FINISHING = "finishing"            # the transaction ended, the cable is still in
    RESERVED = "reserved"
    UNAVAILABLE = "unavailable"
    FAULTED = "faulted"


S = Status
Transitions = Mapping[Status, frozenset[Status]]
STATION_STATUSES = frozenset({S.AVAILABLE, S.UNAVAILABLE, S.FAULTED})
# A connector in one of these is in use: an availability change must wait (Scheduled),
# since e.g. preparing -> unavailable is not a legal transition.
IN_USE = frozenset({S.PREPARING, S.CHARGING, S.SUSPENDED_EV, S.SUSPENDED_EVSE})
NO_ERROR = "NoError"


def check_transition(connector_id: int, old: Status, new: Status,
                     transitions: Transitions | None) -> None:
    """Connector 0 (the station) is only ever available, unavailable or faulted; other
    moves are checked against the dialect's table (None: no table, any move)."""
    if connector_id == 0 and new not in STATION_STATUSES:
        raise IllegalTransition(connector_id, old, new)
    if new != old and transitions is not None and new not in transitions[old]:
        raise IllegalTransition(connector_id, old, new)


@dataclass(eq=False)
class PendingStart:
    """An authorised start waiting for the cable (identification first, or remote start)."""
    id_token: IdToken
    info: AuthorizationInfo
    remote: bool = False
    timer: asyncio.TimerHandle | None = None
    reservation_id: int | None = None   # the reservation this start fulfils

    def __post_init__(self) -> None:
        self.id_token = IdToken.of(self.id_token)

    @property
    def id_tag(self) -> str:
        return self.id_token.value


@dataclass(eq=False)
class Connector:
    id: int                             # the station's numbering, 0..n (0: the station)
    meter: Meter | None = None          # None for connector 0
    status: Status = Status.AVAILABLE
    error_code: str = NO_ERROR
    info: str | None = None             # free text sent with the StatusNotification
    # physical facts the status is derived from
    plugged: bool = False
    finishing: bool = False             # a transaction ended and the cable is still in
    ev_suspended: bool = False          # the EV does not take energy (also: battery full)
    evse_suspended: bool = False        # the station withholds energy
    limit_suspended: bool = False       # smart charging grants 0 W (smart_charging.py)
    fault: str | None = None            # error code while Faulted
    operative: bool = True
    scheduled_operative: bool | None = None  # availability change waiting for the session end
    lock_fails: bool = False            # fault injection: UnlockConnector answers UnlockFailed
    transaction: Transaction | None = None
    pending_start: PendingStart | None = None
    reservation: Reservation | None = None  # held for a ReserveNow (reservations.py)
    last_transaction: Transaction | None = field(default=None, repr=False)
    transitions: Transitions | None = field(default=None, repr=False)  # the dialect's
    evse_id: int | None = None          # the EVSE it belongs to (evse.py sets it)
    number: int = 1                     # its number on that EVSE, from 1

    def desired_status(self) -> Status:
        """The status the physical facts imply (before the state machine has its say)."""
        if self.fault:
            return S.FAULTED
        if self.id == 0:
            return S.AVAILABLE if self.operative else S.UNAVAILABLE
        tx = self.transaction
        if tx is not None and tx.start_state != StartState.SENDING:
            # suspended_evse takes precedence over suspended_ev (1.6 §4.9).
            if self.evse_suspended or self.limit_suspended or tx.deauthorized:
                return S.SUSPENDED_EVSE
            if not self.plugged or self.ev_suspended or (self.meter and self.meter.ev_full):
                return S.SUSPENDED_EV
            return S.CHARGING
        if tx is not None:           # the start sent, not yet answered
            return self.status
        if not self.operative:
            return S.UNAVAILABLE
        if self.pending_start is not None:
            return S.PREPARING
        # A cable alone does not tell whose EV it is.  unavailable -> reserved is not a
        # legal transition: such a connector passes through Available (a second step).
        if self.reservation is not None and self.status is not S.UNAVAILABLE:
            return S.RESERVED
        if self.plugged:
            return S.FINISHING if self.finishing else S.PREPARING
        return S.AVAILABLE

    def set_status(self, new: Status) -> bool:
        """Move to `new` if the state machine allows it; True when the status changed."""
        new = Status(new)
        check_transition(self.id, self.status, new, self.transitions)
        if new == self.status:
            return False
        self.status = new
        self.error_code = self.fault or NO_ERROR
        return True

    @property
    def in_use(self) -> bool:
        return (self.transaction is not None or self.pending_start is not None
                or self.status in IN_USE)
