"""Station passwords (salted hashes; security profiles 1 and 2), the SecurityEventNotifications
stations sent, and the certificates the hub's CA signed for them."""
from __future__ import annotations

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS station_passwords (
    station_id  TEXT PRIMARY KEY,
    salt        BLOB NOT NULL,
    hash        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS security_events (
    id          INTEGER PRIMARY KEY,
    station_id  TEXT NOT NULL,
    type        TEXT NOT NULL,
    timestamp   TEXT NOT NULL,
    tech_info   TEXT
);
CREATE TABLE IF NOT EXISTS certificates (
    id          INTEGER PRIMARY KEY,
    station_id  TEXT NOT NULL,
    serial      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    issued      TEXT NOT NULL,
    status      TEXT NOT NULL       -- Issued, then the station's answer: Accepted | Rejected | error
);
"""


class Passwords:
    def __init__(self, db: sqlite3.Connection):
        self.db = db
        db.executescript(SCHEMA)

    def get(self, station_id: str) -> tuple[bytes, bytes] | None:
        """(salt, hash), or None if the station has no password."""
        row = self.db.execute("SELECT salt, hash FROM station_passwords WHERE station_id = ?",
                              (station_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def set(self, station_id: str, salt: bytes, digest: bytes) -> None:
        self.db.execute("""INSERT INTO station_passwords VALUES (?, ?, ?)
                           ON CONFLICT (station_id) DO UPDATE SET salt = excluded.salt,
                             hash = excluded.hash""", (station_id, salt, digest))

    def delete(self, station_id: str) -> None:
        self.db.execute("DELETE FROM station_passwords WHERE station_id = ?", (station_id,))


class SecurityEvents:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def add(self, station_id: str, type: str, timestamp: str, tech_info: str | None) -> None:
        self.db.execute("INSERT INTO security_events (station_id, type, timestamp, tech_info) "
                        "VALUES (?, ?, ?, ?)", (station_id, type, timestamp, tech_info))

    def list(self, station_id: str) -> list[dict]:
        rows = self.db.execute("SELECT type, timestamp, tech_info FROM security_events "
                               "WHERE station_id = ? ORDER BY id", (station_id,)).fetchall()
        return [{"type": t, "timestamp": ts, "tech_info": info} for t, ts, info in rows]


class Certificates:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def add(self, station_id: str, serial: str, subject: str, not_after: str, issued: str) -> int:
        return self.db.execute(
            "INSERT INTO certificates (station_id, serial, subject, not_after, issued, status) "
            "VALUES (?, ?, ?, ?, ?, 'Issued')",
            (station_id, serial, subject, not_after, issued)).lastrowid

    def set_status(self, record: int, status: str) -> None:
        self.db.execute("UPDATE certificates SET status = ? WHERE id = ?", (status, record))

    def list(self, station_id: str) -> list[dict]:
        rows = self.db.execute("SELECT serial, subject, not_after, issued, status FROM certificates "
                               "WHERE station_id = ? ORDER BY id", (station_id,)).fetchall()
        return [dict(zip(("serial", "subject", "not_after", "issued", "status"), r)) for r in rows]
