"""The local authorization list version each station accepted last, and what it held."""
from __future__ import annotations

import sqlite3

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS local_lists (
    station_id          TEXT PRIMARY KEY,
    list_version        INTEGER NOT NULL,  -- the last version the station accepted
    update_type         TEXT NOT NULL,
    tags                TEXT NOT NULL,     -- JSON array of the idTags in the last update
    updated             TEXT NOT NULL
);
"""


class LocalLists:
    def __init__(self, db: sqlite3.Connection):
        self.db = db
        db.executescript(SCHEMA)

    def get(self, station_id: str) -> dict | None:
        """{"list_version", "update_type", "tags": [...], "updated"}, or None."""
        row = self.db.execute("SELECT * FROM local_lists WHERE station_id = ?",
                              (station_id,)).fetchone()
        if row is None:
            return None
        return {**dict(row), "tags": orjson.loads(row["tags"])}

    def save(self, station_id: str, version: int, update_type: str, tags: list[str],
             updated: str) -> None:
        self.db.execute(
            """INSERT INTO local_lists (station_id, list_version, update_type, tags, updated)
               VALUES (?,?,?,?,?)
               ON CONFLICT (station_id) DO UPDATE SET list_version=excluded.list_version,
                 update_type=excluded.update_type, tags=excluded.tags, updated=excluded.updated""",
            (station_id, version, update_type, orjson.dumps(tags).decode(), updated))
