"""The 1.6 names of the station's neutral values, and the 1.6 connector state machine.

Status, stop reason and registration are the station's own enums; this module is where
they meet their 1.6 spelling (ChargePointStatus, Reason, RegistrationStatus), both ways.
"""
from __future__ import annotations

from ...station.connector import Status
from ...station.lifecycle import Registration
from ...station.transaction import StopReason

S = Status
STATUS: dict[Status, str] = {
    S.AVAILABLE: "Available", S.PREPARING: "Preparing", S.CHARGING: "Charging",
    S.SUSPENDED_EV: "SuspendedEV", S.SUSPENDED_EVSE: "SuspendedEVSE",
    S.FINISHING: "Finishing", S.RESERVED: "Reserved", S.UNAVAILABLE: "Unavailable",
    S.FAULTED: "Faulted",
}
STATUS_OF: dict[str, Status] = {v: k for k, v in STATUS.items()}

# 1.6 §4.9: the transitions A2…I8 (from -> the statuses it may go to).
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

R = StopReason
STOP_REASON: dict[StopReason, str] = {
    R.LOCAL: "Local", R.REMOTE: "Remote", R.EV_DISCONNECTED: "EVDisconnected",
    R.HARD_RESET: "HardReset", R.SOFT_RESET: "SoftReset", R.POWER_LOSS: "PowerLoss",
    R.REBOOT: "Reboot", R.UNLOCK_COMMAND: "UnlockCommand", R.DEAUTHORIZED: "DeAuthorized",
    R.EMERGENCY_STOP: "EmergencyStop", R.OTHER: "Other",
}
STOP_REASON_OF: dict[str, StopReason] = {v: k for k, v in STOP_REASON.items()}

REGISTRATION: dict[Registration, str] = {
    Registration.ACCEPTED: "Accepted", Registration.PENDING: "Pending",
    Registration.REJECTED: "Rejected"}
REGISTRATION_OF: dict[str, Registration] = {v: k for k, v in REGISTRATION.items()}


def status_of(name: str) -> Status:
    """The neutral status of a 1.6 ChargePointStatus (ValueError names the bad one)."""
    try:
        return STATUS_OF[name]
    except KeyError:
        raise ValueError(f"{name!r} is not a 1.6 connector status; one of "
                         f"{', '.join(STATUS_OF)}") from None


def stop_reason_of(name: str) -> StopReason:
    """The neutral stop reason of a 1.6 Reason (ValueError names the bad one)."""
    try:
        return STOP_REASON_OF[name]
    except KeyError:
        raise ValueError(f"{name!r} is not a 1.6 stop reason; one of "
                         f"{', '.join(STOP_REASON_OF)}") from None
