"""The charging profiles each station accepted, as abstract `commands.ChargingProfile`s.

A new profile replaces the one with its id, or with its connector + purpose + stack level
(the station's own replace rule).  TxProfiles end with their transaction (`end_transaction`).
"""
from __future__ import annotations

import sqlite3

import orjson

from ..commands import ChargingProfile
from ..messages import from_dict, to_dict

SCHEMA = """
CREATE TABLE IF NOT EXISTS charging_profiles (
    station_id          TEXT NOT NULL,
    profile_id          INTEGER NOT NULL,
    connector_id        INTEGER NOT NULL,
    purpose             TEXT NOT NULL,
    stack_level         INTEGER NOT NULL,
    transaction_id      INTEGER,
    profile             TEXT NOT NULL,     -- the abstract ChargingProfile, JSON form
    source              TEXT NOT NULL,     -- SetChargingProfile | RemoteStartTransaction
    set_at              TEXT NOT NULL,
    PRIMARY KEY (station_id, profile_id)
);
"""


class ChargingProfiles:
    def __init__(self, db: sqlite3.Connection):
        self.db = db
        db.executescript(SCHEMA)

    def save(self, station_id: str, connector_id: int, profile: ChargingProfile, source: str,
             set_at: str) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                """DELETE FROM charging_profiles WHERE station_id = ? AND (profile_id = ? OR
                   (connector_id = ? AND purpose = ? AND stack_level = ?))""",
                (station_id, profile.profile_id, connector_id, profile.purpose,
                 profile.stack_level))
            self.db.execute(
                "INSERT INTO charging_profiles VALUES (?,?,?,?,?,?,?,?,?)",
                (station_id, profile.profile_id, connector_id, profile.purpose,
                 profile.stack_level, profile.transaction_id, orjson.dumps(to_dict(profile)).decode(),
                 source, set_at))

    def clear(self, station_id: str, profile_id: int | None = None,
              connector_id: int | None = None, purpose: str | None = None,
              stack_level: int | None = None) -> list[int]:
        """Remove by id, else every profile matching the criteria given; returns the ids."""
        if profile_id is not None:
            parts = [("profile_id", profile_id)]
        else:
            parts = [(col, v) for col, v in (("connector_id", connector_id), ("purpose", purpose),
                                             ("stack_level", stack_level)) if v is not None]
        where = " AND ".join(f"{col} = ?" for col, _ in parts) or "TRUE"
        sql = f"FROM charging_profiles WHERE station_id = ? AND {where}"
        args = [station_id, *(v for _, v in parts)]
        ids = [r[0] for r in self.db.execute(f"SELECT profile_id {sql}", args)]
        self.db.execute(f"DELETE {sql}", args)
        return ids

    def end_transaction(self, station_id: str, connector_id: int, transaction_id: int,
                        unnamed: bool = True) -> list[int]:
        """Remove the TxProfiles of an ended transaction: those naming it and (`unnamed`)
        those naming none on its connector or on 0 (a remote start's, sent before the id
        existed).  Returns their ids."""
        sql = """FROM charging_profiles WHERE station_id = ? AND purpose = 'TxProfile' AND
                 (transaction_id = ? OR (? AND transaction_id IS NULL AND connector_id IN (?, 0)))"""
        args = (station_id, transaction_id, unnamed, connector_id)
        ids = [r[0] for r in self.db.execute(f"SELECT profile_id {sql}", args)]
        if ids:
            self.db.execute(f"DELETE {sql}", args)
        return ids

    def list(self, station_id: str) -> list[dict]:
        """[{"connector_id", "profile": ChargingProfile, "source", "set_at"}]."""
        rows = self.db.execute(
            """SELECT * FROM charging_profiles WHERE station_id = ?
               ORDER BY connector_id, purpose, stack_level""", (station_id,))
        return [{"connector_id": r["connector_id"], "source": r["source"], "set_at": r["set_at"],
                 "profile": from_dict(ChargingProfile, orjson.loads(r["profile"]))} for r in rows]
