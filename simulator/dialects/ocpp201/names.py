"""The 2.0.1 names of the station's neutral values (ConnectorStatusEnumType, ReasonEnumType,
TriggerReasonEnumType, RegistrationStatusEnumType, ChargingStateEnumType)."""
from __future__ import annotations

from ...station.connector import Status
from ...station.lifecycle import Registration
from ...station.transaction import StopReason, Trigger

S = Status
# 2.0.1 folds the session states into Occupied (the TransactionEvent's chargingState
# says which part of the session it is).
STATUS: dict[Status, str] = {
    S.AVAILABLE: "Available", S.PREPARING: "Occupied", S.CHARGING: "Occupied",
    S.SUSPENDED_EV: "Occupied", S.SUSPENDED_EVSE: "Occupied", S.FINISHING: "Occupied",
    S.RESERVED: "Reserved", S.UNAVAILABLE: "Unavailable", S.FAULTED: "Faulted",
}
CHARGING_STATE: dict[Status, str] = {
    S.PREPARING: "EVConnected", S.CHARGING: "Charging", S.SUSPENDED_EV: "SuspendedEV",
    S.SUSPENDED_EVSE: "SuspendedEVSE", S.FINISHING: "EVConnected", S.AVAILABLE: "Idle",
}
# 2.0.1 has no transition table for connector statuses: any move is allowed.
TRANSITIONS: dict[Status, frozenset[Status]] = {s: frozenset(set(Status) - {s}) for s in Status}

R = StopReason
STOP_REASON: dict[StopReason, str] = {
    R.LOCAL: "Local", R.REMOTE: "Remote", R.EV_DISCONNECTED: "EVDisconnected",
    R.HARD_RESET: "ImmediateReset", R.SOFT_RESET: "Reboot", R.POWER_LOSS: "PowerLoss",
    R.REBOOT: "Reboot", R.UNLOCK_COMMAND: "Other", R.DEAUTHORIZED: "DeAuthorized",
    R.EMERGENCY_STOP: "EmergencyStop", R.OTHER: "Other",
}

T = Trigger
TRIGGER_REASON: dict[Trigger, str] = {
    T.AUTHORIZED: "Authorized", T.CABLE_PLUGGED_IN: "CablePluggedIn",
    T.REMOTE_START: "RemoteStart", T.METER_PERIODIC: "MeterValuePeriodic",
    T.METER_CLOCK: "MeterValueClock", T.TRIGGER: "Trigger",
    T.STOP_AUTHORIZED: "StopAuthorized", T.REMOTE_STOP: "RemoteStop",
    T.EV_DEPARTED: "EVDeparted", T.RESET: "ResetCommand", T.UNLOCK: "UnlockCommand",
    T.DEAUTHORIZED: "Deauthorized", T.ABNORMAL: "AbnormalCondition",
}

REGISTRATION_OF: dict[str, Registration] = {
    "Accepted": Registration.ACCEPTED, "Pending": Registration.PENDING,
    "Rejected": Registration.REJECTED}

# ReadingContextEnumType spells the 1.6 contexts the same way; measurands too.
