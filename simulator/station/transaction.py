"""A charging transaction as the station knows it, and its neutral lifecycle.

A transaction has the station's own opaque id (`Transaction.id`, a text unique per station
across restarts).  What the CSMS calls it is the dialect's business (1.6: an integer the
CSMS assigns, negative while provisional); `transaction_id` shows that name to drivers and
humans, asked from the dialect, and the station never reads it.

Lifecycle: started -> updated (meter values) ... -> ended, each with a trigger reason
(`Trigger`); `StartState` says how far the start has got to the CSMS.
"""
from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from .id_token import IdToken
from .meter import Sample


class StopReason(enum.StrEnum):
    """Why a transaction ended, in the station's words (a dialect names it on the wire)."""
    LOCAL = "local"                        # the driver at the station (card, button)
    REMOTE = "remote"                      # the CSMS asked
    EV_DISCONNECTED = "ev_disconnected"
    HARD_RESET = "hard_reset"
    SOFT_RESET = "soft_reset"
    POWER_LOSS = "power_loss"
    REBOOT = "reboot"                      # e.g. to install firmware
    UNLOCK_COMMAND = "unlock_command"
    DEAUTHORIZED = "deauthorized"          # the CSMS refused the id token
    EMERGENCY_STOP = "emergency_stop"
    OTHER = "other"


class Trigger(enum.StrEnum):
    """What made a transaction event happen (2.0.1 calls it triggerReason; 1.6 has none
    on the wire but its dialect may use it)."""
    AUTHORIZED = "authorized"              # started: a card, with the cable already in
    CABLE_PLUGGED_IN = "cable_plugged_in"  # started: the cable, after the card
    REMOTE_START = "remote_start"
    METER_PERIODIC = "meter_periodic"      # updated
    METER_CLOCK = "meter_clock"
    TRIGGER = "trigger"                    # the CSMS asked for meter values
    STOP_AUTHORIZED = "stop_authorized"    # ended: a card
    REMOTE_STOP = "remote_stop"
    EV_DEPARTED = "ev_departed"
    RESET = "reset"
    UNLOCK = "unlock"
    DEAUTHORIZED = "deauthorized"
    ABNORMAL = "abnormal"                  # power loss, emergency stop, anything else


# The trigger of an end, from its stop reason.
END_TRIGGER = {StopReason.LOCAL: Trigger.STOP_AUTHORIZED, StopReason.REMOTE: Trigger.REMOTE_STOP,
               StopReason.EV_DISCONNECTED: Trigger.EV_DEPARTED,
               StopReason.HARD_RESET: Trigger.RESET, StopReason.SOFT_RESET: Trigger.RESET,
               StopReason.REBOOT: Trigger.RESET, StopReason.UNLOCK_COMMAND: Trigger.UNLOCK,
               StopReason.DEAUTHORIZED: Trigger.DEAUTHORIZED}


def end_trigger(reason: str) -> Trigger:
    return END_TRIGGER.get(reason, Trigger.ABNORMAL)


class StartState(enum.StrEnum):
    SENDING = "sending"      # the start is on its way; a stop asked now waits for it
    HELD = "held"            # the start waits in the offline queue; the transaction runs
    CONFIRMED = "confirmed"  # the CSMS has the start


MAX_TX_DATA = 500  # meter snapshots kept for the end's transaction data


def new_transaction_id() -> str:
    return uuid.uuid4().hex


@dataclass(slots=True)
class MeterSnapshot:
    """Sampled values taken at one moment, with the reason they were taken."""
    timestamp: datetime
    context: str          # Transaction.Begin, Sample.Periodic, Sample.Clock, Trigger, ...
    samples: list[Sample]


@dataclass(eq=False)
class Transaction:
    connector_id: int
    id_token: IdToken
    meter_start: int                     # Wh
    start_time: datetime
    id: str = field(default_factory=new_transaction_id)   # the station's own, opaque
    evse_id: int | None = None           # None: the EVSE of connector_id
    group_id: str | None = None
    remote: bool = False
    reservation_id: int | None = None
    deauthorized: bool = False           # the CSMS refused the tag; energy withheld
    start_state: StartState = StartState.SENDING
    trigger: Trigger = Trigger.AUTHORIZED    # what started it
    data: list[MeterSnapshot] = field(default_factory=list, repr=False)
    # filled in when the transaction ends
    meter_stop: int | None = None
    stop_time: datetime | None = None
    stop_reason: str | None = None
    stop_id_token: IdToken | None = None
    stopping: bool = False
    stop_requested: tuple[str, IdToken | None] | None = None  # stop asked during the start
    # how the CSMS names it: the dialect's answer (drivers and display only)
    name_of: Callable[[str], object] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.id_token = IdToken.of(self.id_token)
        if self.evse_id is None:
            self.evse_id = self.connector_id

    def add_data(self, snapshot: MeterSnapshot) -> None:
        if len(self.data) < MAX_TX_DATA:
            self.data.append(snapshot)

    @property
    def energy_wh(self) -> int | None:
        return None if self.meter_stop is None else self.meter_stop - self.meter_start

    @property
    def transaction_id(self):
        """What the CSMS calls this transaction, as the dialect says (1.6: its integer id,
        negative while provisional; None while the start is on its way).  For drivers and
        humans: the station itself goes by `id`."""
        return None if self.name_of is None else self.name_of(self.id)

    @property
    def id_tag(self) -> str:
        """The id token's value (kept for drivers written before id tokens had a type)."""
        return self.id_token.value

    @property
    def stop_id_tag(self) -> str | None:
        return None if self.stop_id_token is None else self.stop_id_token.value
