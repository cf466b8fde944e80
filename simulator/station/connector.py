"""Connector status state machine.

Statuses and the legal transitions are those of OCPP 1.6 §4.9 (the table of transitions A2…I8);
2.0.1 reports a coarser status per connector, which its dialect derives from these.
Connector 0 stands for the whole station and only knows Available, Unavailable and Faulted.

A connector does not decide its status by itself: the station sets the physical facts
(plugged, transaction, suspended, fault, availability) and `desired_status()` derives the
status they imply; `set_status()` then enforces the state machine, so that a slip in the
station's logic surfaces as an `IllegalTransition` instead of a message a CSMS may reject.
"""
from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import IllegalTransition

if TYPE_CHECKING:
    from .auth import IdTagInfo
    from .meter import Meter
    from .reservations import Reservation
    from .transaction import Transaction


class Status(enum.StrEnum):
    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    FINISHING = "Finishing"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


S = Status
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.AVAILABLE: frozenset({S.PREPARING, S.CHARGING, S.SUSPENDED_EV, S.SUSPENDED_EVSE,
                            S.RESERVED, S.UNAVAILABLE, S.FAULTED}),
    S.PREPARING: frozenset({S.AVAILABLE, S.CHARGING, S.SUSPENDED_EV, S.SUSPENDED_EVSE,
                            S.FINISHING, S.FAULTED}),
    S.CHARGING: frozenset({S.AVAILABLE, S.SUSPENDED_EV, S.SUSPENDED_EVSE, S.FINISHING,
                           S.UNAVAILABLE, S.FAULTED}),
    S.SUSPENDED_EV: frozenset({S.AVAILABLE, S.CHARGING, S.SUSPENDED_EVSE, S.FINISHING,
                               S.UNAVAILABLE, S.FAULTED}),
    S.SUSPENDED_EVSE: frozenset({S.AVAILABLE, S.CHARGING, S.SUSPENDED_EV, S.FINISHING,
                                 S.UNAVAILABLE, S.FAULTED}),
    S.FINISHING: frozenset({S.AVAILABLE, S.PREPARING, S.UNAVAILABLE, S.FAULTED}),
    S.RESERVED: frozenset({S.AVAILABLE, S.PREPARING, S.UNAVAILABLE, S.FAULTED}),
    S.UNAVAILABLE: frozenset({S.AVAILABLE, S.PREPARING, S.CHARGING, S.SUSPENDED_EV,
                              S.SUSPENDED_EVSE, S.FAULTED}),
    S.FAULTED: frozenset({S.AVAILABLE, S.PREPARING, S.CHARGING, S.SUSPENDED_EV,
                          S.SUSPENDED_EVSE, S.FINISHING, S.RESERVED, S.UNAVAILABLE}),
}
STATION_STATUSES = frozenset({S.AVAILABLE, S.UNAVAILABLE, S.FAULTED})
# A connector in one of these is in use: an availability change must wait (Scheduled),
# since e.g. Preparing -> Unavailable is not a legal transition.
IN_USE = frozenset({S.PREPARING, S.CHARGING, S.SUSPENDED_EV, S.SUSPENDED_EVSE})
NO_ERROR = "NoError"


def check_transition(connector_id: int, old: Status, new: Status) -> None:
    if connector_id == 0 and new not in STATION_STATUSES:
        raise IllegalTransition(connector_id, old, new)
    if new != old and new not in TRANSITIONS[old]:
        raise IllegalTransition(connector_id, old, new)


@dataclass(eq=False)
class PendingStart:
    """An authorised start waiting for the cable (identification first, or remote start)."""
    id_tag: str
    info: IdTagInfo
    remote: bool = False
    timer: asyncio.TimerHandle | None = None
    reservation_id: int | None = None   # the reservation this start fulfils


@dataclass(eq=False)
class Connector:
    id: int
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

    def desired_status(self) -> Status:
        """The status the physical facts imply (before the state machine has its say)."""
        if self.fault:
            return S.FAULTED
        if self.id == 0:
            return S.AVAILABLE if self.operative else S.UNAVAILABLE
        tx = self.transaction
        if tx is not None and tx.transaction_id is not None:
            # SuspendedEVSE takes precedence over SuspendedEV (1.6 §4.9).
            if self.evse_suspended or self.limit_suspended or tx.deauthorized:
                return S.SUSPENDED_EVSE
            if not self.plugged or self.ev_suspended or (self.meter and self.meter.ev_full):
                return S.SUSPENDED_EV
            return S.CHARGING
        if tx is not None:           # StartTransaction sent, not yet answered
            return self.status
        if not self.operative:
            return S.UNAVAILABLE
        if self.pending_start is not None:
            return S.PREPARING
        # A cable alone does not tell whose EV it is.  Unavailable -> Reserved is not a
        # legal transition: such a connector passes through Available (a second step).
        if self.reservation is not None and self.status is not S.UNAVAILABLE:
            return S.RESERVED
        if self.plugged:
            return S.FINISHING if self.finishing else S.PREPARING
        return S.AVAILABLE

    def set_status(self, new: Status) -> bool:
        """Move to `new` if the state machine allows it; True when the status changed."""
        new = Status(new)
        check_transition(self.id, self.status, new)
        if new == self.status:
            return False
        self.status = new
        self.error_code = self.fault or NO_ERROR
        return True

    @property
    def in_use(self) -> bool:
        return (self.transaction is not None or self.pending_start is not None
                or self.status in IN_USE)
