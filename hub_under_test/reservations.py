"""The hub's side of reservations (1.6 Reservation profile).

`reserve` stores a reservation (its row id is the reservationId sent), sends ReserveNow and
records the station's answer; `cancel` sends CancelReservation and records the cancellation.
Both publish a domain event.  A reservation is linked to the transaction whose
StartTransaction carried its reservationId (the transactions table already stores it; the
link is read by a join, so no second write is needed on the hot path).

HTTP: POST /stations/{id}/reservations {"connectorId", "idTag", "expiryDate",
"parentIdTag"?} -> 200 {"status": "ok", "response": {...}, "reservation": {...}};
GET /stations/{id}/reservations; DELETE /stations/{id}/reservations/{rid} (404 unknown).
ReserveNow and CancelReservation sent any other way (the generic command API, hub.send) are
recorded too, by `on_command`, which Hub.send calls after every successful command.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from aiohttp import web

from .messages import Message, format_time, parse_time, utcnow

if TYPE_CHECKING:
    from .hub import Hub
    from .store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS reservations (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,   -- the reservationId
    station_id          TEXT NOT NULL,
    connector_id        INTEGER NOT NULL,
    id_tag              TEXT NOT NULL,
    parent_id_tag       TEXT,
    expiry_date         TEXT NOT NULL,
    status              TEXT NOT NULL,   -- the ReserveNow answer (Sending until it comes)
    created             TEXT NOT NULL,
    cancelled           TEXT             -- when CancelReservation was accepted
);
CREATE INDEX IF NOT EXISTS reservations_station ON reservations (station_id);
"""


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


def ensure_schema(store: Store) -> None:
    """Create this module's tables (once, when the hub starts)."""
    store.db.executescript(SCHEMA)


def get_reservation(store: Store, reservation_id: int) -> dict | None:
    return store._row(
        """SELECT r.*, t.id AS transaction_id FROM reservations r
           LEFT JOIN transactions t ON t.reservation_id = r.id AND t.station_id = r.station_id
           WHERE r.id = ?""", (reservation_id,))


def list_reservations(store: Store, station_id: str) -> list[dict]:
    return store._rows(
        """SELECT r.*, t.id AS transaction_id FROM reservations r
           LEFT JOIN transactions t ON t.reservation_id = r.id AND t.station_id = r.station_id
           WHERE r.station_id = ? ORDER BY r.id""", (station_id,))


async def reserve(hub: Hub, station_id: str, connector_id: int, id_tag: str,
                  expiry: datetime | str, parent_id_tag: str | None = None,
                  timeout: float | None = None) -> dict:
    """Store, send and record a ReserveNow.  ValueError for bad input."""
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
    store = hub.store
    hub.connection(station_id)   # StationNotConnected before anything is stored
    rid = store.db.execute(
        """INSERT INTO reservations (station_id, connector_id, id_tag, parent_id_tag,
                                     expiry_date, status, created) VALUES (?,?,?,?,?,?,?)""",
        (station_id, connector_id, id_tag, parent_id_tag, format_time(expiry), "Sending",
         format_time(utcnow()))).lastrowid
    payload = {"connectorId": connector_id, "expiryDate": format_time(expiry), "idTag": id_tag,
               "reservationId": rid}
    if parent_id_tag:
        payload["parentIdTag"] = parent_id_tag
    try:
        response = await hub.send(station_id, "ReserveNow", payload, timeout)  # → on_command
    except Exception:
        store.db.execute("UPDATE reservations SET status = 'NotSent' WHERE id = ?", (rid,))
        raise
    return {"status": "ok", "response": response, "reservation": get_reservation(store, rid)}


async def cancel(hub: Hub, station_id: str, reservation_id: int,
                 timeout: float | None = None) -> dict:
    """Send CancelReservation for a reservation this hub made.  LookupError if unknown."""
    row = get_reservation(hub.store, reservation_id)
    if row is None or row["station_id"] != station_id:
        raise LookupError(f"station {station_id!r} has no reservation {reservation_id}")
    response = await hub.send(station_id, "CancelReservation",
                              {"reservationId": reservation_id}, timeout)  # → on_command
    return {"status": "ok", "response": response,
            "reservation": get_reservation(hub.store, reservation_id)}


def on_command(hub: Hub, station_id: str, action: str, payload: dict, response: dict) -> None:
    """Record a ReserveNow / CancelReservation answer and publish it as a domain event."""
    if action == "ReserveNow":
        store, rid = hub.store, payload["reservationId"]
        # Made here or sent by hand with an id of the sender's choosing: one row either way.
        store.db.execute(
            """INSERT INTO reservations (id, station_id, connector_id, id_tag, parent_id_tag,
                                         expiry_date, status, created) VALUES (?,?,?,?,?,?,?,?)
               ON CONFLICT (id) DO UPDATE SET station_id = excluded.station_id,
                 connector_id = excluded.connector_id, id_tag = excluded.id_tag,
                 parent_id_tag = excluded.parent_id_tag, expiry_date = excluded.expiry_date,
                 status = excluded.status, cancelled = NULL""",
            (rid, station_id, payload["connectorId"], payload["idTag"], payload.get("parentIdTag"),
             payload["expiryDate"], response["status"], format_time(utcnow())))
        hub.events.publish(ReservationMade.TOPIC, ReservationMade(
            station_id, rid, payload["connectorId"], payload["idTag"],
            parse_time(payload["expiryDate"]), response["status"]), station_id)
    elif action == "CancelReservation":
        rid = payload["reservationId"]
        if response["status"] == "Accepted":
            hub.store.db.execute("UPDATE reservations SET cancelled = ? WHERE id = ? AND station_id = ?",
                                 (format_time(utcnow()), rid, station_id))
        hub.events.publish(ReservationCancelled.TOPIC, ReservationCancelled(
            station_id, rid, response["status"]), station_id)


def routes(api) -> list:
    from .api import _body, _error, _json, command_response

    async def post(request: web.Request) -> web.Response:
        body = await _body(request)
        if isinstance(body, web.Response):
            return body
        unknown = set(body) - {"connectorId", "idTag", "expiryDate", "parentIdTag"}
        if unknown:
            return _error(400, f"unknown fields {sorted(unknown)}; expected connectorId, idTag, "
                               "expiryDate, parentIdTag")
        station_id = request.match_info["id"]
        return await command_response(api.hub, station_id, "ReserveNow", lambda: reserve(
            api.hub, station_id, body.get("connectorId"), body.get("idTag"),
            body.get("expiryDate"), body.get("parentIdTag")))

    async def get(request: web.Request) -> web.Response:
        return _json(list_reservations(api.hub.store, request.match_info["id"]))

    async def delete(request: web.Request) -> web.Response:
        station_id = request.match_info["id"]
        try:
            rid = int(request.match_info["rid"])
        except ValueError:
            return _error(400, "the reservation id must be an integer")
        return await command_response(api.hub, station_id, "CancelReservation",
                                      lambda: cancel(api.hub, station_id, rid))

    return [web.post("/stations/{id}/reservations", post),
            web.get("/stations/{id}/reservations", get),
            web.delete("/stations/{id}/reservations/{rid}", delete)]
