"""The narrow face of a station that its features (reservations, smart charging,
diagnostics, firmware) work with, instead of the whole `Station`.

The station builds one and fills it with its own bound operations, so a feature reaches
nothing private: it emits events, says intents, asks whether it may send, defers work until
the CSMS has its reply, spawns and times work, reads settings and connectors, and asks the
station to re-derive a connector's status, stop a transaction or reboot.
"""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Awaitable, Callable

if TYPE_CHECKING:
    from .config import ConfigStore
    from .connector import Connector
    from .events import Event, EventLog
    from .intents import Intent
    from .options import StationOptions
    from .security import StationSecurity
    from .settings import Settings


@dataclass(frozen=True, slots=True, eq=False)
class FeatureContext:
    station_id: str
    options: StationOptions
    settings: Settings
    config: ConfigStore
    connectors: list[Connector]              # read; change them only through the calls below
    rng: random.Random
    emit: Callable[..., Event]               # emit(kind, text, connector=None, **data)
    expect: Callable[..., asyncio.Future]    # expect(kind, connector=None, where=None)
    send: Callable[[Intent], Awaitable]      # say it now (raises the session's errors)
    notify: Callable[..., Awaitable[None]]   # notify(intent, triggered=False): if it may
    may_send: Callable[[], bool]
    connected: Callable[[], bool]
    spawn: Callable[[Awaitable, str], asyncio.Task]
    after_reply: Callable[[Callable[[], Awaitable], str], None]
    refresh: Callable[[Connector], Awaitable[None]]        # status from the facts
    stop_transaction: Callable[[Connector, str], Awaitable[None]]
    reboot: Callable[[str], Awaitable[None]]               # soft reset with this reason
    until_accepted: Callable[[], Awaitable[None]]
    events: EventLog | None = None           # the event hub (recent events, subscribers)
    security: StationSecurity | None = None  # certificate store and security events

    def call_later(self, delay: float, callback: Callable, *args) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(delay, callback, *args)
