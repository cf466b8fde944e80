"""What OCPP 2.0.1 stations report beyond the core tables.

- `tx_ids`: a 2.0.1 transaction is named by the station (`transactionId`, a string); the
  core `transactions` row keeps the hub's integer id.  This table maps one to the other
  per station and keeps the last `seqNo` seen, for the gap check.
- `tx_events` (written behind, as meter values are): every TransactionEvent as received
  (Started / Updated / Ended, seqNo, triggerReason, the offline flag, chargingState,
  stoppedReason, the id token), with what was wrong with it (`flags`: a seqNo gap, an unknown
  transaction id, ...).
- `device_variables`: the device model as the station reported it (NotifyReport and the
  answers to GetVariables): one row per component / variable / attribute type.
- `notices`: the other station-initiated reports (NotifyEvent, ReportChargingProfiles,
  NotifyChargingLimit, ...): the action, its requestId / seqNo if any, and the payload.
"""
from __future__ import annotations

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS tx_ids (
    station_id          TEXT NOT NULL,
    remote_id           TEXT NOT NULL,     -- the station's transactionId
    transaction_id      INTEGER NOT NULL,  -- the hub's id (transactions.id)
    last_seq_no         INTEGER,
    PRIMARY KEY (station_id, remote_id)
);
CREATE TABLE IF NOT EXISTS tx_events (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id          TEXT NOT NULL,
    remote_id           TEXT NOT NULL,
    transaction_id      INTEGER,
    event_type          TEXT NOT NULL,     -- Started | Updated | Ended
    seq_no              INTEGER NOT NULL,
    trigger_reason      TEXT NOT NULL,
    timestamp           TEXT NOT NULL,
    offline             INTEGER NOT NULL,
    charging_state      TEXT,
    stopped_reason      TEXT,
    id_token            TEXT,
    evse_id             INTEGER,
    flags               TEXT
);
CREATE INDEX IF NOT EXISTS tx_events_tx ON tx_events (station_id, remote_id);
CREATE TABLE IF NOT EXISTS device_variables (
    station_id          TEXT NOT NULL,
    component           TEXT NOT NULL,
    component_instance  TEXT NOT NULL,     -- '' when none
    evse_id             INTEGER NOT NULL,  -- 0 when none
    connector_id        INTEGER NOT NULL,  -- 0 when none
    variable            TEXT NOT NULL,
    variable_instance   TEXT NOT NULL,     -- '' when none
    attribute_type      TEXT NOT NULL,     -- Actual | Target | MinSet | MaxSet
    value               TEXT,
    mutability          TEXT,
    updated             TEXT NOT NULL,
    PRIMARY KEY (station_id, component, component_instance, evse_id, connector_id, variable,
                 variable_instance, attribute_type)
);
CREATE TABLE IF NOT EXISTS notices (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id          TEXT NOT NULL,
    action              TEXT NOT NULL,
    request_id          INTEGER,
    seq_no              INTEGER,
    received            TEXT NOT NULL,
    payload             TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notices_station ON notices (station_id, action);
"""

_PUT_VARIABLE = """INSERT INTO device_variables (station_id, component, component_instance,
    evse_id, connector_id, variable, variable_instance, attribute_type, value, mutability,
    updated) VALUES (?,?,?,?,?,?,?,?,?,?,?)
    ON CONFLICT (station_id, component, component_instance, evse_id, connector_id, variable,
                 variable_instance, attribute_type)
    DO UPDATE SET value=excluded.value,
                  mutability=coalesce(excluded.mutability, device_variables.mutability),
                  updated=excluded.updated"""


_INSERT_EVENT = """INSERT INTO tx_events (station_id, remote_id, transaction_id, event_type, seq_no,
    trigger_reason, timestamp, offline, charging_state, stopped_reason, id_token, evse_id, flags)
    VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"""


class V201:
    def __init__(self, db, write_behind=None):
        self.db = db
        self.write_behind = write_behind   # the store's WriteBehind: events are written behind
        db.executescript(SCHEMA)

    def _rows(self, sql: str, args=()) -> list[dict]:
        return [dict(r) for r in self.db.execute(sql, tuple(args))]

    # -- transactions -------------------------------------------------------------------
    def transaction(self, station_id: str, remote_id: str) -> dict | None:
        """{transaction_id, last_seq_no} of a station's 2.0.1 transaction, or None."""
        row = self.db.execute("""SELECT transaction_id, last_seq_no FROM tx_ids
                                 WHERE station_id = ? AND remote_id = ?""",
                              (station_id, remote_id)).fetchone()
        return dict(row) if row else None

    def remote_id(self, transaction_id: int) -> tuple[str, str] | None:
        """(station id, the station's transactionId) of a hub transaction id, or None."""
        row = self.db.execute("SELECT station_id, remote_id FROM tx_ids WHERE transaction_id = ?",
                              (transaction_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def link(self, station_id: str, remote_id: str, transaction_id: int, seq_no: int) -> None:
        self.db.execute("""INSERT INTO tx_ids (station_id, remote_id, transaction_id, last_seq_no)
                           VALUES (?,?,?,?)""", (station_id, remote_id, transaction_id, seq_no))

    def set_seq_no(self, station_id: str, remote_id: str, seq_no: int) -> None:
        self.db.execute("""UPDATE tx_ids SET last_seq_no = ? WHERE station_id = ? AND remote_id = ?
                           AND (last_seq_no IS NULL OR last_seq_no < ?)""",
                        (seq_no, station_id, remote_id, seq_no))

    def add_event(self, station_id: str, remote_id: str, transaction_id: int | None,
                  event_type: str, seq_no: int, trigger_reason: str, timestamp: str,
                  offline: bool, charging_state: str | None, stopped_reason: str | None,
                  id_token: str | None, evse_id: int | None, flags: str | None) -> None:
        row = (station_id, remote_id, transaction_id, event_type, seq_no, trigger_reason,
               timestamp, int(bool(offline)), charging_state, stopped_reason, id_token, evse_id,
               flags)
        if self.write_behind is None:
            self.db.execute(_INSERT_EVENT, row)
        else:   # like meter values: one COMMIT for many events, read back after a flush
            self.write_behind.add(_INSERT_EVENT, [row])

    def events(self, station_id: str, remote_id: str | None = None) -> list[dict]:
        """A station's TransactionEvents (of one transaction), in the order received."""
        if self.write_behind is not None:
            self.write_behind.flush()
        if remote_id is None:
            return self._rows("SELECT * FROM tx_events WHERE station_id = ? ORDER BY id",
                              (station_id,))
        return self._rows("""SELECT * FROM tx_events WHERE station_id = ? AND remote_id = ?
                             ORDER BY id""", (station_id, remote_id))

    def flag_transaction(self, transaction_id: int, flag: str) -> None:
        """Add a problem to a core transaction row's `flags` (kept with what was received)."""
        self.db.execute(
            """UPDATE transactions SET flags = coalesce(flags || '; ', '') || CAST(? AS TEXT)
               WHERE id = ?""", (flag, transaction_id))

    def set_transaction_tag(self, transaction_id: int, id_tag: str, status: str) -> None:
        """A 2.0.1 transaction may start before its token is known (TxStartPoint
        EVConnected): the token presented later is recorded on the row."""
        self.db.execute("""UPDATE transactions SET id_tag = ?, id_tag_status = ?
                           WHERE id = ? AND id_tag = ''""", (id_tag, status, transaction_id))

    # -- device model -------------------------------------------------------------------
    def put_variables(self, station_id: str, rows: list[tuple], updated: str) -> None:
        """rows: (component, component_instance, evse_id, connector_id, variable,
        variable_instance, attribute_type, value, mutability); None keys stored as ''/0."""
        self.db.executemany(_PUT_VARIABLE, [
            (station_id, r[0], r[1] or "", r[2] or 0, r[3] or 0, r[4], r[5] or "", r[6] or "Actual",
             r[7], r[8], updated) for r in rows])

    def variables(self, station_id: str, component: str | None = None) -> list[dict]:
        if component is None:
            return self._rows("""SELECT * FROM device_variables WHERE station_id = ?
                                 ORDER BY component, evse_id, connector_id, variable""",
                              (station_id,))
        return self._rows("""SELECT * FROM device_variables WHERE station_id = ? AND component = ?
                             ORDER BY evse_id, connector_id, variable""", (station_id, component))

    # -- other reports ------------------------------------------------------------------
    def add_notice(self, station_id: str, action: str, request_id: int | None,
                   seq_no: int | None, received: str, payload: dict) -> None:
        self.db.execute("""INSERT INTO notices (station_id, action, request_id, seq_no, received,
                                                payload) VALUES (?,?,?,?,?,?)""",
                        (station_id, action, request_id, seq_no, received,
                         orjson.dumps(payload).decode()))

    def notices(self, station_id: str, action: str | None = None) -> list[dict]:
        sql, args = "SELECT * FROM notices WHERE station_id = ?", [station_id]
        if action is not None:
            sql += " AND action = ?"
            args.append(action)
        rows = self._rows(sql + " ORDER BY id", args)
        for r in rows:
            r["payload"] = orjson.loads(r["payload"])
        return rows
