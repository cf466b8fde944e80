"""What the HTTP API needs of the hub: a structural type (`typing.Protocol`), so the API
modules name no `hub.py` — the hub builds the API (hub.py imports api), never the other
way round, not even for annotations.  `Hub` satisfies it as it is."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Protocol

if TYPE_CHECKING:
    from ..manager import Manager
    from ..store.files import FileStore


class HubFace(Protocol):
    manager: Manager
    files: FileStore
    config: Any                     # hub.HubConfig (frames_kept, ...)
    connections: Mapping[str, Any]  # station id -> server.StationConnection
    server: Any                     # server.OcppServer (its frame audit)
    security: Any                   # security.HubSecurity (passwords, security events)
    metrics: Any                    # metrics.HubMetrics (render())
    started_at: float | None

    @property
    def api_url(self) -> str | None: ...

    async def send(self, station_id: str, action: str, payload: dict,
                   timeout: float | None = None) -> dict: ...
