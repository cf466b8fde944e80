"""The hub's record of the charging profiles stations accepted (1.6 Smart Charging).

The manager hands every answered command to `observe`.  A SetChargingProfile the station
Accepted is stored per station (`store.charging_profiles`, with the station's own replace
rule) and published as `chargingprofile.set`; an accepted remote start's profile is stored
the same way (a TxProfile of the transaction it starts); a ClearChargingProfile the station
Accepted removes what it matched and publishes `chargingprofile.cleared`.  Other answers
change nothing.  When a transaction ends, its TxProfiles go with it (`transaction_ended`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .commands import ClearChargingProfile, Command, RemoteStart, Result, SetChargingProfile
from .events import EventBus
from .messages import Message, format_time, utcnow
from .store import Store


@dataclass(slots=True)
class ChargingProfileSet(Message):
    TOPIC: ClassVar[str] = "chargingprofile.set"
    station_id: str
    connector_id: int
    profile_id: int
    purpose: str
    stack_level: int


@dataclass(slots=True)
class ChargingProfileCleared(Message):
    TOPIC: ClassVar[str] = "chargingprofile.cleared"
    station_id: str
    profile_ids: list[int]


class ChargingProfiles:
    def __init__(self, store: Store, events: EventBus):
        self.repo = store.charging_profiles
        self.events = events

    def list(self, station_id: str) -> list[dict]:
        """[{"connector_id", "profile": ChargingProfile, "source", "set_at"}]"""
        return self.repo.list(station_id)

    def observe(self, station_id: str, command: Command, result: Result) -> None:
        if not getattr(result, "accepted", False):
            return
        if isinstance(command, SetChargingProfile):
            self._save(station_id, command.connector_id, command.profile, "SetChargingProfile")
        elif isinstance(command, RemoteStart) and command.charging_profile is not None:
            self._save(station_id, command.connector_id or 0, command.charging_profile,
                       "RemoteStartTransaction")
        elif isinstance(command, ClearChargingProfile):
            ids = self.repo.clear(station_id, command.profile_id, command.connector_id,
                                  command.purpose, command.stack_level)
            self.events.publish(ChargingProfileCleared.TOPIC,
                                ChargingProfileCleared(station_id, ids), station_id)

    def transaction_ended(self, station_id: str, connector_id: int, transaction_id: int,
                          unnamed: bool = True) -> None:
        """A TxProfile ends with its transaction (1.6 §3.13.4): the one naming it and
        (`unnamed`) one set on its connector without a transaction id (a remote start's
        profile; not when a newer transaction is starting there: the profile is for it)."""
        ids = self.repo.end_transaction(station_id, connector_id, transaction_id, unnamed)
        if ids:
            self.events.publish(ChargingProfileCleared.TOPIC,
                                ChargingProfileCleared(station_id, ids), station_id)

    def _save(self, station_id: str, connector_id: int, profile, source: str) -> None:
        self.repo.save(station_id, connector_id, profile, source, format_time(utcnow()))
        self.events.publish(ChargingProfileSet.TOPIC, ChargingProfileSet(
            station_id, connector_id, profile.profile_id, profile.purpose, profile.stack_level),
            station_id)
