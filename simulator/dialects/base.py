"""What the station needs from a protocol dialect.

The station decides *what* happens (a transaction starts, a status changes); a dialect
decides how that is said in one protocol version, and turns the CSMS's requests into calls
on the station.  Methods raise the session's errors (SessionClosed, CallTimeout,
CallErrorReceived, InvalidResponse); the station decides what a failure means.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

if TYPE_CHECKING:
    from ..station.connector import Transitions
    from ..station.lifecycle import Registration
    from ..session import Session
    from ..station.auth import AuthorizationInfo
    from ..station.config import KeySpec
    from ..station.connector import Connector
    from ..station.options import StationOptions
    from ..station.id_token import IdToken
    from ..station.intents import Intent, MeterSample, TransactionIntent
    from ..station.station import Station


@dataclass(slots=True, frozen=True)
class BootResult:
    status: Registration
    interval: int               # heartbeat interval if Accepted, else retry interval
    current_time: datetime | None = None


class Dialect(ABC):
    version: str
    # neutral setting name (station/settings.py NAMES) -> the key holding it
    setting_keys: Mapping[str, str]
    # which connector status moves the protocol allows (connector.Status -> the next ones)
    status_transitions: Transitions

    def __init__(self, station: Station):
        """Called while the station is being built: use its id and options only."""
        self.station = station

    @abstractmethod
    def config_specs(self, options: StationOptions) -> Sequence[KeySpec]:
        """The configuration keys of a station with these options (shared, immutable)."""

    @property
    @abstractmethod
    def session(self) -> Session | None: ...

    # -- link --------------------------------------------------------------------------
    @abstractmethod
    async def connect(self, on_lost: Callable[[], None]) -> None:
        """Open the link; `on_lost` is called if it drops without `close()`."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def abort(self, notify: bool) -> None:
        """Cut the link without a close frame (network or power gone); `notify`: report it
        as lost through `on_lost` (the station reconnects) or not (the station is off)."""

    def set_ping_interval(self, seconds: int) -> None:
        """Apply a new keepalive interval to the open link (0: off)."""

    # -- charger-initiated messages ----------------------------------------------------------
    @abstractmethod
    async def boot(self) -> BootResult: ...

    @abstractmethod
    async def heartbeat(self) -> datetime | None: ...

    @abstractmethod
    async def status_notification(self, connector: Connector) -> None: ...

    @abstractmethod
    async def authorize(self, id_token: IdToken) -> AuthorizationInfo: ...

    # -- transactions ---------------------------------------------------------------------
    @abstractmethod
    async def deliver(self, intent: TransactionIntent | MeterSample) -> AuthorizationInfo | None:
        """Send a transaction intent (TransactionStarted / TransactionUpdated /
        TransactionEnded) or meter values outside a transaction (MeterSample), built into
        the wire message only now: the offline queue holds intents.  The intent names the
        station's transaction id; the dialect says it in the protocol's terms (1.6: the
        CSMS's integer id, noted from StartTransaction's reply).  Returns the CSMS's
        authorization answer where it gives one; raises Undeliverable when the intent
        cannot be said (1.6: the start of its transaction never got an id)."""

    @abstractmethod
    def held(self, intent: TransactionIntent) -> None:
        """`intent` waits in the offline queue (1.6: a start gets a provisional id)."""

    @abstractmethod
    def transaction_name(self, transaction: str) -> object:
        """What the CSMS calls the station's transaction `transaction` (None: nothing yet),
        for events and drivers; the station never reads it."""

    @abstractmethod
    async def data_transfer(self, vendor_id: str, message_id: str | None,
                            data: str | None) -> tuple[str, str | None]: ...

    def send_defaults(self, action: str, payload: dict, connector: int) -> dict:
        """A hand-made message's payload (a scenario's `send` step) with the required fields
        it leaves out filled from the station's state, in this protocol's names; what the
        payload gives wins.  Sending it does not change the station's model."""
        return dict(payload)

    @abstractmethod
    async def send(self, intent: Intent) -> object:
        """Say one of the station's intents (station/intents.py); what the CSMS answered
        for those that ask something (SignCertificateRequest: its status)."""
