"""A charging transaction as the station knows it."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

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


MAX_TX_DATA = 500  # meter snapshots kept for StopTransaction's transactionData


@dataclass(slots=True)
class MeterSnapshot:
    """Sampled values taken at one moment, with the reason they were taken."""
    timestamp: datetime
    context: str          # Transaction.Begin, Sample.Periodic, Sample.Clock, Trigger, ...
    samples: list[Sample]


@dataclass(eq=False)
class Transaction:
    connector_id: int
    id_tag: str
    meter_start: int                     # Wh
    start_time: datetime
    transaction_id: int | None = None    # given by the CSMS in StartTransaction's reply
    group_id: str | None = None
    remote: bool = False
    reservation_id: int | None = None
    deauthorized: bool = False           # the CSMS refused the tag; energy withheld
    data: list[MeterSnapshot] = field(default_factory=list, repr=False)
    # filled in when the transaction ends
    meter_stop: int | None = None
    stop_time: datetime | None = None
    stop_reason: str | None = None
    stop_id_tag: str | None = None
    stopping: bool = False
    stop_requested: tuple[str, str | None] | None = None  # stop asked before the id came

    def add_data(self, snapshot: MeterSnapshot) -> None:
        if len(self.data) < MAX_TX_DATA:
            self.data.append(snapshot)

    @property
    def energy_wh(self) -> int | None:
        return None if self.meter_stop is None else self.meter_stop - self.meter_start
