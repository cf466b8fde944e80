"""The narrow face of a station that its features (reservations, smart charging,
diagnostics, firmware, security, the offline queue) work with, instead of the whole `Station`.

A feature emits events, says intents, asks whether it may send, defers work until the CSMS
has its reply, spawns and times work, reads settings and connectors, and asks the station
to re-derive a connector's status, stop a transaction or reboot — nothing else.  The
station implements this interface over itself (`station.StationContext`, one pointer per
station), so a feature reaches nothing private.
"""
from __future__ import annotations

import asyncio
import random
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Awaitable, Callable, Protocol

if TYPE_CHECKING:
    from .config import ConfigStore
    from .connector import Connector
    from .events import Event, EventLog
    from .auth import AuthorizationInfo
    from .certificates import Installed
    from .id_token import IdToken
    from .intents import Intent, TransactionIntent
    from .options import StationOptions
    from .settings import Settings


class Security(Protocol):
    """What a feature needs of the station's security (security.StationSecurity, itself a
    feature): the installed certificates, and the security-event log."""
    store: list[Installed]

    def report(self, kind: str, tech_info: str | None = None) -> None: ...


class FeatureContext(ABC):
    __slots__ = ()

    # -- what the station is ----------------------------------------------------------------
    station_id: str
    options: StationOptions
    settings: Settings
    config: ConfigStore
    connectors: list[Connector]        # read; change them only through the calls below
    rng: random.Random
    events: EventLog                   # the event hub (recent events, subscribers)
    security: Security                 # certificate store and security events

    # -- events and intents -------------------------------------------------------------------
    @abstractmethod
    def emit(self, kind: str, text, connector: int | None = None, **data) -> Event: ...

    @abstractmethod
    def expect(self, kind: str, connector: int | None = None, where=None) -> asyncio.Future: ...

    @abstractmethod
    async def send(self, intent: Intent):
        """Say it now (raises the session's errors)."""

    @abstractmethod
    async def notify(self, intent: Intent, triggered: bool = False) -> None:
        """Say it if the station may (an error event if not)."""

    @abstractmethod
    def may_send(self) -> bool: ...

    @abstractmethod
    def connected(self) -> bool: ...

    # -- work ---------------------------------------------------------------------------------
    @abstractmethod
    def spawn(self, coro: Awaitable, name: str) -> asyncio.Task: ...

    @abstractmethod
    def after_reply(self, job: Callable[[], Awaitable], name: str) -> None:
        """Run `job` once the reply to the CSMS request being handled is on the wire."""

    def call_later(self, delay: float, callback: Callable, *args) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(delay, callback, *args)

    # -- asking the station -------------------------------------------------------------------
    @abstractmethod
    async def refresh(self, connector: Connector) -> None:
        """Bring the connector's status in line with its facts."""

    @abstractmethod
    async def stop_transaction(self, connector: Connector, reason: str) -> None: ...

    @abstractmethod
    async def reboot(self, reason: str) -> None:
        """A soft reset with this reason (firmware: Reboot)."""

    @abstractmethod
    async def until_accepted(self) -> None: ...

    # -- the link and triggers (security: profile switches, ExtendedTriggerMessage) ----------
    url: str                           # where the station connects

    @abstractmethod
    async def relink(self, closed: bool = False) -> None:
        """Close the link on purpose (no reconnect loop; `closed`: it already is) and open
        it again with the current settings.  Raises ConnectFailed."""

    @abstractmethod
    def link_lost(self) -> None:
        """Give the link to the ordinary reconnect loop (backoff, then boot or resume)."""

    @abstractmethod
    async def relinked(self) -> None:
        """The link is back after `relink`: resume as after a reconnect if registered."""

    @abstractmethod
    def trigger(self, message: str, connector_id: int | None) -> str:
        """TriggerMessage's behaviour for a neutral message name (station.TRIGGERABLE)."""

    # -- transaction messages (the offline queue) --------------------------------------------
    @abstractmethod
    async def deliver(self, intent: TransactionIntent) -> AuthorizationInfo | None:
        """Say a transaction intent now: the CSMS's authorization info, where it gives one.
        Raises the session's errors, and Undeliverable."""

    @abstractmethod
    def held(self, intent: TransactionIntent) -> None:
        """`intent` went into the offline queue (the dialect's turn: Dialect.held)."""

    @abstractmethod
    def transaction_name(self, transaction: str):
        """What the CSMS calls the station's transaction (the dialect's word; display)."""

    @abstractmethod
    def remember(self, id_token: IdToken, info: AuthorizationInfo | None) -> None:
        """Keep what the CSMS said of an id token (the authorization cache, if enabled)."""

    @abstractmethod
    async def send_current(self, message: str) -> None:
        """Send the current "log_status" or "signed_firmware_status" (raises SEND_ERRORS)."""
