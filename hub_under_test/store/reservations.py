"""Reservations the hub made or saw sent (ReserveNow / CancelReservation), per station.

The row id is the reservationId sent.  A reservation is linked to the transaction whose
start carried its reservationId by a join (the transactions table stores it), so the hot
path writes nothing twice.
"""
from __future__ import annotations

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS reservations (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,   -- the reservationId
    station_id          TEXT NOT NULL,
    connector_id        INTEGER NOT NULL,
    id_tag              TEXT NOT NULL,
    parent_id_tag       TEXT,
    expiry_date         TEXT NOT NULL,
    status              TEXT NOT NULL,   -- the station's answer (Sending until it comes)
    created             TEXT NOT NULL,
    cancelled           TEXT             -- when a cancellation was accepted
);
CREATE INDEX IF NOT EXISTS reservations_station ON reservations (station_id);
"""
_SELECT = """SELECT r.*, t.id AS transaction_id FROM reservations r
             LEFT JOIN transactions t ON t.reservation_id = r.id AND t.station_id = r.station_id"""


class Reservations:
    def __init__(self, db: sqlite3.Connection):
        self.db = db
        db.executescript(SCHEMA)

    def create(self, station_id: str, connector_id: int, id_tag: str, parent_id_tag: str | None,
               expiry_date: str, status: str, created: str) -> int:
        """A new reservation; returns its id (the reservationId to send)."""
        return self.db.execute(
            """INSERT INTO reservations (station_id, connector_id, id_tag, parent_id_tag,
                                         expiry_date, status, created) VALUES (?,?,?,?,?,?,?)""",
            (station_id, connector_id, id_tag, parent_id_tag, expiry_date, status,
             created)).lastrowid

    def set_status(self, reservation_id: int, status: str) -> None:
        self.db.execute("UPDATE reservations SET status = ? WHERE id = ?", (status, reservation_id))

    def record(self, reservation_id: int, station_id: str, connector_id: int, id_tag: str,
               parent_id_tag: str | None, expiry_date: str, status: str, created: str) -> None:
        """The station's answer to a ReserveNow: made here or sent with an id of the sender's
        choosing, one row either way (a repeated id replaces the reservation)."""
        self.db.execute(
            """INSERT INTO reservations (id, station_id, connector_id, id_tag, parent_id_tag,
                                         expiry_date, status, created) VALUES (?,?,?,?,?,?,?,?)
               ON CONFLICT (id) DO UPDATE SET station_id = excluded.station_id,
                 connector_id = excluded.connector_id, id_tag = excluded.id_tag,
                 parent_id_tag = excluded.parent_id_tag, expiry_date = excluded.expiry_date,
                 status = excluded.status, cancelled = NULL""",
            (reservation_id, station_id, connector_id, id_tag, parent_id_tag, expiry_date, status,
             created))

    def cancel(self, station_id: str, reservation_id: int, when: str) -> None:
        self.db.execute("UPDATE reservations SET cancelled = ? WHERE id = ? AND station_id = ?",
                        (when, reservation_id, station_id))

    def get(self, reservation_id: int) -> dict | None:
        row = self.db.execute(_SELECT + " WHERE r.id = ?", (reservation_id,)).fetchone()
        return dict(row) if row else None

    def list(self, station_id: str) -> list[dict]:
        return [dict(r) for r in self.db.execute(
            _SELECT + " WHERE r.station_id = ? ORDER BY r.id", (station_id,))]
