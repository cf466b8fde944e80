"""Reservations, the hub's side (1.6 Reservation profile; 2.0.1 ReserveNow alike).

`reserve` stores a reservation (its id is the reservationId sent), sends the abstract
ReserveNow and records the station's answer; `cancel` sends CancelReservation.  Whatever
way a ReserveNow / CancelReservation went out (here, the raw command API, `Hub.send`), the
manager hands the command and its result to `observe`, which records the answer in the
store and publishes `reservation.made` / `reservation.cancelled`.  The views show an
accepted reservation past its expiry, unused and not cancelled, as Expired.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Awaitable, Callable, ClassVar

from .commands import CancelReservation, Command, Outcome, ReserveNow, Result
from .events import EventBus
from .messages import Message, format_time, parse_time, utcnow
from .store import Store

Send = Callable[[str, Command, "float | None"], Awaitable[Result]]


@dataclass(slots=True)
class ReservationMade(Message):
    TOPIC: ClassVar[str] = "reservation.made"
    station_id: str
    reservation_id: int
    connector_id: int
    id_tag: str
    expiry_date: datetime
    status: str            # the station's answer: Accepted / Faulted / Occupied / ...


@dataclass(slots=True)
class ReservationCancelled(Message):
    TOPIC: ClassVar[str] = "reservation.cancelled"
    station_id: str
    reservation_id: int
    status: str            # the station's answer: Accepted / Rejected


def get_reservation(store: Store, reservation_id: int) -> dict | None:
    """One reservation row, with the transaction that used it (None if unknown)."""
    return store.reservations.get(reservation_id)


def _as_of(row: dict, now: datetime) -> dict:
    """A reservation the station accepted that was neither used nor cancelled before its
    expiry has ended: shown as Expired (the station's answer stays in `answer`)."""
    row = {**row, "answer": row["status"]}
    if row["status"] == "Accepted" and row["cancelled"] is None \
            and row["transaction_id"] is None and parse_time(row["expiry_date"]) <= now:
        row["status"] = "Expired"
    return row


class Reservations:
    def __init__(self, store: Store, events: EventBus, send: Send,
                 require_connected: Callable[[str], None]):
        self.repo = store.reservations
        self.events = events
        self.send = send
        self.require_connected = require_connected   # raises StationNotConnected

    def get(self, reservation_id: int) -> dict | None:
        row = self.repo.get(reservation_id)
        return row and _as_of(row, utcnow())

    def list(self, station_id: str) -> list[dict]:
        now = utcnow()
        return [_as_of(row, now) for row in self.repo.list(station_id)]

    async def reserve(self, station_id: str, connector_id, id_tag, expiry, parent_id_tag=None,
                      timeout: float | None = None) -> tuple[Outcome, dict]:
        """Store, send and record a reservation: (the station's answer, the stored row).
        ValueError for bad input; what the send raises (StationNotConnected first)."""
        if not isinstance(connector_id, int) or isinstance(connector_id, bool) or connector_id < 0:
            raise ValueError("connectorId must be an integer >= 0")
        if not isinstance(id_tag, str) or not id_tag:
            raise ValueError("idTag must be a non-empty string")
        if isinstance(expiry, str):
            try:
                expiry = parse_time(expiry)
            except ValueError:
                raise ValueError(f"expiryDate {expiry!r} is not an RFC 3339 timestamp") from None
        if not isinstance(expiry, datetime):
            raise ValueError("expiryDate is required")
        self.require_connected(station_id)   # before anything is stored
        rid = self.repo.create(station_id, connector_id, id_tag, parent_id_tag, format_time(expiry),
                               "Sending", format_time(utcnow()))
        try:
            result = await self.send(station_id, ReserveNow(rid, connector_id, id_tag, expiry,
                                                            parent_id_tag or None), timeout)
        except Exception:
            self.repo.set_status(rid, "NotSent")
            raise
        return result, self.repo.get(rid)

    async def cancel(self, station_id: str, reservation_id: int, timeout: float | None = None
                     ) -> tuple[Outcome, dict]:
        """Cancel a reservation this hub knows.  LookupError if unknown."""
        row = self.repo.get(reservation_id)
        if row is None or row["station_id"] != station_id:
            raise LookupError(f"station {station_id!r} has no reservation {reservation_id}")
        result = await self.send(station_id, CancelReservation(reservation_id), timeout)
        return result, self.repo.get(reservation_id)

    def observe(self, station_id: str, command: Command, result: Result) -> None:
        """Record a ReserveNow / CancelReservation answer and publish it."""
        if isinstance(command, ReserveNow):
            status = result.status.value
            self.repo.record(command.reservation_id, station_id, command.connector_id,
                             command.id_token, command.parent_id_token,
                             format_time(command.expiry_date), status, format_time(utcnow()))
            self.events.publish(ReservationMade.TOPIC, ReservationMade(
                station_id, command.reservation_id, command.connector_id, command.id_token,
                command.expiry_date, status), station_id)
        elif isinstance(command, CancelReservation):
            if result.accepted:
                self.repo.cancel(station_id, command.reservation_id, format_time(utcnow()))
            self.events.publish(ReservationCancelled.TOPIC, ReservationCancelled(
                station_id, command.reservation_id, result.status.value), station_id)
