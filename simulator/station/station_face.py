"""What the station's own parts (boot.py, csms_requests.py, status.py, tasks.py,
transactions.py, view.py) need of the station they belong to: a structural type
(`typing.Protocol`), so they name no `station.py` — the station builds its parts (station.py
imports them), never the other way round, not even for annotations.  `Station` satisfies it
as it is.

The features below the parts (reservations, smart charging, security, the offline queue,
...) get the narrower `context.FeatureContext`.  The parts reach each other through the
station; those attributes are `Any` here (each names its class), since a part's module
is above this one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import random

    from .auth import AuthCache, Authorizer
    from .config import ConfigStore
    from .connector import Connector
    from .events import EventLog
    from .evse import Evse
    from .intents import Intent
    from .lifecycle import Lifecycle, Registration
    from .link import Backoff
    from .offline import Offline
    from .options import StationOptions
    from .reservations import Reservations
    from .security import StationSecurity
    from .settings import Settings
    from .smart_charging import SmartCharging


class StationFace(Protocol):
    # -- what the station is ----------------------------------------------------------------
    id: str
    url: str
    options: StationOptions
    config: ConfigStore
    settings: Settings
    rng: random.Random
    connectors: list[Connector]
    evses: list[Evse]
    events: EventLog
    vendors: dict[str, Any]         # vendor id -> station.VendorHandler
    dialect: Any                    # dialects.base.Dialect (handed to the station)

    # -- its state --------------------------------------------------------------------------
    lifecycle: Lifecycle
    registration: Registration | None
    online: bool
    backoff: Backoff

    # -- its features -----------------------------------------------------------------------
    auth_cache: AuthCache
    authorizer: Authorizer
    offline: Offline
    reservations: Reservations
    security: StationSecurity
    smart_charging: SmartCharging

    # -- its parts (modules above this one) -------------------------------------------------
    tasks: Any                      # tasks.Tasks
    booting: Any                    # boot.Booting
    status: Any                     # status.ConnectorStatus
    charging: Any                   # transactions.Charging

    @property
    def session(self) -> Any: ...   # session.Session, None before start

    @property
    def diagnostics_status(self) -> str: ...

    @property
    def firmware_status(self) -> str: ...

    def connector(self, connector_id: int) -> Connector: ...

    async def send(self, intent: Intent): ...
