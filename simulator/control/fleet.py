"""The stations a driver keeps running, by id, and what their events tell about each.

`Watch` follows one station's events (never its internals): the last power and energy of
each connector from the meter events, and a short power history for a chart.
"""
from __future__ import annotations

from collections import deque
from typing import Callable, Iterator

from ..station import Event, Station

HISTORY = 60   # power samples kept per connector


class Watch:
    __slots__ = ("power_w", "energy_wh", "history", "soc", "reservations", "profiles",
                 "limit_w", "_unsubscribe", "listeners")

    def __init__(self, station: Station):
        self.power_w: dict[int, float] = {}
        self.energy_wh: dict[int, float] = {}
        self.soc: dict[int, float] = {}
        self.history: dict[int, deque[float]] = {}
        self.reservations: dict[int, str] = {}         # reservation id -> "for TAG at #c"
        self.profiles: dict[int, str] = {}             # profile id -> "purpose id stack n at #c"
        self.limit_w: dict[int, float] = {}            # the charging profiles' limit
        self.listeners: list[Callable[[Event], None]] = []
        self._unsubscribe = station.view.subscribe(self._on_event)

    def _on_event(self, e: Event) -> None:
        c = e.connector
        if e.kind == "meter" and c is not None:
            self.power_w[c] = float(e.data.get("power_w") or 0.0)
            self.energy_wh[c] = float(e.data.get("energy_wh") or 0.0)
            self.history.setdefault(c, deque(maxlen=HISTORY)).append(self.power_w[c])
        elif e.kind in ("tx_stopped", "unplugged") and c is not None:
            self.power_w[c] = 0.0
            self.history.setdefault(c, deque(maxlen=HISTORY)).append(0.0)
        elif e.kind == "power_loss":
            for k in self.power_w:
                self.power_w[k] = 0.0
        elif e.kind == "ev_soc" and c is not None:
            self.soc[c] = float(e.data["soc"])
        elif e.kind == "reserved":
            self.reservations[e.data["reservation_id"]] = f"for {e.data['id_tag']} at #{c}"
        elif e.kind in ("reservation_cancelled", "reservation_used", "reservation_expired"):
            self.reservations.pop(e.data.get("reservation_id"), None)
        elif e.kind == "profile_set":
            self.profiles[e.data["profile_id"]] = f"{e.text} at #{c}"
        elif e.kind == "profile_cleared":
            self.profiles.pop(e.data.get("profile_id"), None)
        elif e.kind == "power_limit" and c is not None:
            self.limit_w[c] = float(e.data["limit_w"])
        for listener in self.listeners:
            listener(e)

    def close(self) -> None:
        self._unsubscribe()


class Fleet:
    """Stations by id (insertion order), each with its Watch."""

    def __init__(self):
        self._stations: dict[str, Station] = {}
        self._watches: dict[str, Watch] = {}

    def add(self, station: Station) -> Watch:
        if station.id in self._stations:
            raise ValueError(f"station {station.id!r} is already in the fleet")
        self._stations[station.id] = station
        watch = self._watches[station.id] = Watch(station)
        return watch

    def remove(self, station_id: str) -> Station:
        station = self._stations.pop(station_id)
        self._watches.pop(station_id).close()
        return station

    def get(self, station_id: str) -> Station | None:
        return self._stations.get(station_id)

    def watch(self, station_id: str) -> Watch:
        return self._watches[station_id]

    def __contains__(self, station_id: str) -> bool:
        return station_id in self._stations

    def __iter__(self) -> Iterator[Station]:
        return iter(list(self._stations.values()))

    def __len__(self) -> int:
        return len(self._stations)

    @property
    def ids(self) -> list[str]:
        return list(self._stations)
