"""The core store: SQLite (stdlib sqlite3), in memory by default or in a file, or PostgreSQL
for a postgresql:// URL (`db.py`: one SQL for both).

Tables here: stations, connectors, id_tags, transactions, meter_values, frames.  Each feature's
state has its own repository module on the same connection (`store.reservations`,
`store.local_lists`, `store.charging_profiles`, `store.passwords`, `store.security_events`,
`store.certificates`, `store.v201`); nothing outside this package writes SQL.  Writes run on the event
loop's thread; the manager keeps the hot path (heartbeats, status notifications,
authorisations of known tags) in memory and writes it behind in batches.

Write-behind (`WriteBehind`): meter values, the bulk of a charging hub's writes, 2.0.1
transaction events, the manager's batches of connector statuses and last-seen times (and,
with the hub's `--store-frames`, every frame in and out: `add_frame`) are queued and written
together in one transaction: one COMMIT for many messages instead of one each.  Rows whose
answer acknowledges them (readings, transaction events) are answered after their COMMIT
(`Store.written`, a group commit at the end of the event loop's turn: every message handled
in that turn shares it), so a hub killed at any moment has lost nothing it answered; the
other rows are written `write_delay` seconds after the first one queued.  The queue is
bounded: at `max_pending` rows it is written at once.  Reads of queued tables, `flush()` and
`close()` write it first, so readers see every row received.

Timestamps are stored as RFC 3339 text in UTC with a 'Z'; rows are returned as dicts.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Callable, Iterable

from ..messages import StationBoot, format_time, utcnow
from .charging_profiles import ChargingProfiles
from .db import add_columns, connect, is_postgres
from .local_lists import LocalLists
from .reservations import Reservations
from .security import Certificates, Passwords, SecurityEvents
from .v201 import V201

SCHEMA = """
CREATE TABLE IF NOT EXISTS stations (
    id                  TEXT PRIMARY KEY,
    vendor              TEXT,
    model               TEXT,
    serial              TEXT,
    firmware            TEXT,
    iccid               TEXT,
    imsi                TEXT,
    meter_type          TEXT,
    meter_serial        TEXT,
    last_boot           TEXT,
    status              TEXT,   -- the last BootNotification answer: Accepted|Pending|Rejected
    registration        TEXT,   -- the operator's decision: Accepted|Rejected|NULL (policy)
    last_seen           TEXT,
    firmware_status     TEXT,
    diagnostics_status  TEXT
);
CREATE TABLE IF NOT EXISTS connectors (
    station_id          TEXT NOT NULL,
    connector_id        INTEGER NOT NULL,
    status              TEXT NOT NULL,
    error_code          TEXT,
    info                TEXT,
    vendor_error_code   TEXT,
    updated             TEXT NOT NULL,
    PRIMARY KEY (station_id, connector_id)
);
CREATE TABLE IF NOT EXISTS id_tags (
    id_tag              TEXT PRIMARY KEY,
    status              TEXT NOT NULL,     -- Accepted|Blocked|Expired|Invalid
    expiry_date         TEXT,
    parent_id_tag       TEXT
);
CREATE TABLE IF NOT EXISTS transactions (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id          TEXT NOT NULL,
    connector_id        INTEGER NOT NULL,
    id_tag              TEXT NOT NULL,
    id_tag_status       TEXT NOT NULL,     -- the answer given at start
    meter_start         INTEGER NOT NULL,
    start_time          TEXT NOT NULL,
    reservation_id      INTEGER,
    meter_stop          INTEGER,
    stop_time           TEXT,
    stop_reason         TEXT,
    stop_id_tag         TEXT,
    closed_by           TEXT,              -- station | hub (a stale transaction it ended)
    flags               TEXT               -- lenient mode: what was implausible, else NULL
);
CREATE INDEX IF NOT EXISTS transactions_open ON transactions (station_id) WHERE stop_time IS NULL;
CREATE INDEX IF NOT EXISTS transactions_start ON transactions (station_id, connector_id, start_time);
CREATE TABLE IF NOT EXISTS meter_values (
    id                  INTEGER PRIMARY KEY,
    transaction_id      INTEGER,
    station_id          TEXT NOT NULL,
    connector_id        INTEGER NOT NULL,
    timestamp           TEXT NOT NULL,
    measurand           TEXT,
    phase               TEXT,
    unit                TEXT,
    context             TEXT,
    location            TEXT,
    value               REAL,              -- the number (NULL if the reading is not one)
    raw                 TEXT               -- the reading as sent, when it is not a number
);
CREATE INDEX IF NOT EXISTS meter_values_tx ON meter_values (transaction_id);
CREATE TABLE IF NOT EXISTS frames (
    id                  INTEGER PRIMARY KEY,
    ts                  REAL NOT NULL,     -- seconds since the epoch (UTC), as received or sent
    station_id          TEXT NOT NULL,
    direction           TEXT NOT NULL,     -- in: station to hub | out: hub to station
    version             TEXT NOT NULL,
    raw                 TEXT NOT NULL,     -- the frame as on the wire
    note                TEXT               -- why it was not processed normally, or a repair
);
"""

TAG_STATUSES = ("Accepted", "Blocked", "Expired", "Invalid")

log = logging.getLogger(__name__)

_INSERT_METER_VALUES = """INSERT INTO meter_values (transaction_id, station_id, connector_id,
    timestamp, measurand, phase, unit, context, location, value, raw)
    VALUES (?,?,?,?,?,?,?,?,?,?,?)"""


_INSERT_FRAMES = """INSERT INTO frames (ts, station_id, direction, version, raw, note)
    VALUES (?,?,?,?,?,?)"""


_TOUCH_STATIONS = """INSERT INTO stations (id, last_seen) VALUES (?, ?)
    ON CONFLICT (id) DO UPDATE SET last_seen=excluded.last_seen"""
_SAVE_CONNECTORS = """INSERT INTO connectors (station_id, connector_id, status, error_code, info,
    vendor_error_code, updated) VALUES (?,?,?,?,?,?,?)
    ON CONFLICT (station_id, connector_id) DO UPDATE SET status=excluded.status,
      error_code=excluded.error_code, info=excluded.info,
      vendor_error_code=excluded.vendor_error_code, updated=excluded.updated"""


class WriteBehind:
    """Rows queued per statement, written together in one transaction.

    `delay` seconds after the first row queued (on the running event loop; 0 or no loop:
    at once), when `max_pending` rows wait (queued or being written), or on `flush()`.

    With `writer` (a function opening a connection of its own: PostgreSQL) the batches are
    written by one thread, so the loop does not wait on the server's round trips; `flush()`
    waits until all is written.  SQLite writes on the loop: a writer thread measured no gain
    there (the work is CPU, not waiting)."""

    def __init__(self, db, delay: float = 0.02, max_pending: int = 20_000,
                 writer: Callable[[], object] | None = None):
        if delay < 0 or max_pending < 1:
            raise ValueError("write_delay must be >= 0 and max_pending >= 1")
        self.db = db
        self.delay = delay
        self.max_pending = max_pending
        self.pending: dict[str, list[tuple]] = {}
        self.queued = 0
        self.timer: asyncio.TimerHandle | None = None
        self.batches = 0     # transactions written
        self.rows = 0        # rows written
        self.failed = 0      # rows a writer thread could not write (logged)
        self._connect_writer = writer
        self._thread: ThreadPoolExecutor | None = None
        self._writer_db = None            # the thread's connection
        self._last: Future | None = None  # the last batch handed to the thread
        self._in_flight = 0               # rows handed to the thread, not yet written
        self._lock = threading.Lock()
        self._next: asyncio.Future | None = None   # done when the rows queued now are written

    def add(self, sql: str, rows: list[tuple]) -> None:
        self.pending.setdefault(sql, []).extend(rows)
        self.queued += len(rows)
        if self.queued + self._in_flight >= self.max_pending or self.delay == 0:
            self.flush()
        elif self.timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:   # no event loop (a script, a test): nothing to wait for
                self.flush()
                return
            self.timer = loop.call_later(self.delay, self._flush_soon)

    async def written(self) -> None:
        """Wait until every row queued so far is committed (raises if that write failed).

        Group commit: a message whose answer acknowledges data awaits this, and one COMMIT,
        at the end of the event loop's current turn, takes the rows of every message handled
        in that turn; rows nobody waits for still wait `delay`."""
        if self.queued:
            if self._next is None:
                loop = asyncio.get_running_loop()
                self._next = loop.create_future()
                self._next.add_done_callback(_retrieved)   # also if every waiter was cancelled
                loop.call_soon(self._flush_soon)
            await asyncio.shield(self._next)
        elif self._last is not None and not self._last.done():   # handed to the writer thread
            if not await asyncio.wrap_future(self._last):
                raise RuntimeError("the store's writer could not write the queued rows")

    def _flush_soon(self) -> None:
        if self.timer is not None:   # called before the delay ran out (a waiter): it is moot
            self.timer.cancel()
            self.timer = None
        if self._connect_writer is not None:
            self._hand_over()
            return
        try:
            self.flush()
        except Exception:   # kept queued; the next flush (or close) tries again
            log.exception("writing %d queued rows failed", self.queued)

    def _write(self, db, batch: dict[str, list[tuple]], n: int) -> None:
        with db:
            db.execute("BEGIN")
            for sql, rows in batch.items():
                db.executemany(sql, rows)
        self.batches += 1
        self.rows += n

    def _take_waiters(self) -> asyncio.Future | None:
        """The waiters of the rows about to be written (those queued from now on wait for the
        next batch)."""
        waiters, self._next = self._next, None
        return waiters

    def _hand_over(self) -> None:
        if not self.queued:
            return
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="hub-store-writer")
        batch, n = self.pending, self.queued
        self.pending, self.queued = {}, 0
        with self._lock:
            self._in_flight += n
        self._last = self._thread.submit(self._write_in_thread, batch, n)
        waiters = self._take_waiters()
        if waiters is not None:
            asyncio.wrap_future(self._last).add_done_callback(
                lambda done: _settle(waiters, None if done.result() else
                                     RuntimeError(f"the store's writer could not write {n} rows")))

    def _write_in_thread(self, batch: dict[str, list[tuple]], n: int) -> bool:
        try:
            if self._writer_db is None:
                self._writer_db = self._connect_writer()
            self._write(self._writer_db, batch, n)
            return True
        except Exception:
            self.failed += n
            log.exception("the store's writer could not write %d rows", n)
            return False
        finally:
            with self._lock:
                self._in_flight -= n

    def flush(self) -> None:
        """Write everything queued; return once it is written."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self._connect_writer is not None:
            self._hand_over()
            if self._last is not None:
                last, self._last = self._last, None
                last.result()   # one thread, batches in order: all before it are done too
            return
        if not self.queued:
            return
        waiters = self._take_waiters()
        try:
            self._write(self.db, self.pending, self.queued)
        except Exception as e:   # the rows stay queued; their waiters hear of it
            _settle(waiters, e)
            raise
        self.pending.clear()
        self.queued = 0
        _settle(waiters, None)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._thread is not None:
                self._thread.submit(self._close_writer).result()
                self._thread.shutdown()
                self._thread = None

    def _close_writer(self) -> None:
        if self._writer_db is not None:
            self._writer_db.close()
            self._writer_db = None


def _settle(waiters: asyncio.Future | None, error: Exception | None) -> None:
    if waiters is None or waiters.done():
        return
    if error is None:
        waiters.set_result(None)
    else:
        waiters.set_exception(error)


def _retrieved(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


def _ts(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return format_time(value)


class Store:
    def __init__(self, path: str = ":memory:", *, write_delay: float = 0.02,
                 max_pending: int = 20_000):
        self.path = path
        self.db = connect(path)
        self.db.executescript(SCHEMA)
        add_columns(self.db, "transactions", {"closed_by": "TEXT", "flags": "TEXT"})
        add_columns(self.db, "meter_values", {"raw": "TEXT"})
        self.write_behind = WriteBehind(self.db, write_delay, max_pending,
                                        (lambda: connect(path)) if is_postgres(path) else None)
        self.reservations = Reservations(self.db)
        self.local_lists = LocalLists(self.db)
        self.charging_profiles = ChargingProfiles(self.db)
        self.passwords = Passwords(self.db)
        self.security_events = SecurityEvents(self.db)
        self.certificates = Certificates(self.db)
        self.v201 = V201(self.db, self.write_behind)   # OCPP 2.0.1: transaction ids and events, device model

    def flush(self) -> None:
        """Write everything queued behind (see WriteBehind)."""
        self.write_behind.flush()

    async def written(self) -> None:
        """Wait until the rows queued so far are committed, if the store outlives the process
        (a file, PostgreSQL): an answer that acknowledges a reading or a transaction event is
        sent after its COMMIT, so a hub killed at any moment has lost nothing it answered.
        In memory nothing outlives the process: no wait."""
        if self.path != ":memory:":
            await self.write_behind.written()

    def close(self) -> None:
        try:
            self.write_behind.close()
        finally:
            self.db.close()

    def _rows(self, sql: str, args: Iterable = ()) -> list[dict]:
        return [dict(r) for r in self.db.execute(sql, tuple(args))]

    def _row(self, sql: str, args: Iterable = ()) -> dict | None:
        row = self.db.execute(sql, tuple(args)).fetchone()
        return dict(row) if row else None

    # -- stations ---------------------------------------------------------------------
    def record_boot(self, boot: StationBoot, status: str, when: datetime | None = None) -> None:
        when = _ts(when or utcnow())
        self.db.execute(
            """INSERT INTO stations (id, vendor, model, serial, firmware, iccid, imsi, meter_type,
                                     meter_serial, last_boot, status, last_seen)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT (id) DO UPDATE SET vendor=excluded.vendor, model=excluded.model,
                 serial=excluded.serial, firmware=excluded.firmware, iccid=excluded.iccid,
                 imsi=excluded.imsi, meter_type=excluded.meter_type,
                 meter_serial=excluded.meter_serial, last_boot=excluded.last_boot,
                 status=excluded.status, last_seen=excluded.last_seen""",
            (boot.station_id, boot.vendor, boot.model, boot.serial_number, boot.firmware_version,
             boot.iccid, boot.imsi, boot.meter_type, boot.meter_serial_number, when, status, when))

    def set_operator_registration(self, station_id: str, decision: str | None) -> None:
        """The operator registers a station (Accepted), refuses it (Rejected) or leaves it to
        the unknown-stations policy (None)."""
        self.db.execute("""INSERT INTO stations (id, registration) VALUES (?, ?)
                           ON CONFLICT (id) DO UPDATE SET registration=excluded.registration""",
                        (station_id, decision))

    def update_station(self, station_id: str, **columns) -> None:
        """Set some columns of a station row (creating the row if needed)."""
        allowed = {"last_seen", "firmware_status", "diagnostics_status", "firmware"}
        bad = set(columns) - allowed
        if bad:
            raise ValueError(f"cannot update station columns {sorted(bad)}")
        names = list(columns)
        values = [_ts(columns[n]) for n in names]
        self.db.execute(
            f"""INSERT INTO stations (id, {", ".join(names)}) VALUES (?{", ?" * len(names)})
                ON CONFLICT (id) DO UPDATE SET {", ".join(f"{n}=excluded.{n}" for n in names)}""",
            (station_id, *values))

    def touch_stations(self, last_seen: dict[str, datetime]) -> None:
        """Queue a batch of last-seen times (the manager's periodic flush; written behind)."""
        if last_seen:
            self.write_behind.add(_TOUCH_STATIONS, [(sid, _ts(ts)) for sid, ts in last_seen.items()])

    def get_station(self, station_id: str) -> dict | None:
        self.flush()
        return self._row("SELECT * FROM stations WHERE id = ?", (station_id,))

    def list_stations(self) -> list[dict]:
        self.flush()
        return self._rows("SELECT * FROM stations ORDER BY id")

    # -- connectors -------------------------------------------------------------------
    def save_connectors(self, rows: Iterable[tuple]) -> None:
        """rows: (station_id, connector_id, status, error_code, info, vendor_error_code, updated)"""
        rows = [(*r[:6], _ts(r[6])) for r in rows]
        if rows:   # written behind, in one transaction with the meter values queued
            self.write_behind.add(_SAVE_CONNECTORS, rows)

    def get_connectors(self, station_id: str) -> list[dict]:
        self.flush()
        return self._rows("SELECT * FROM connectors WHERE station_id = ? ORDER BY connector_id",
                          (station_id,))

    def all_connectors(self) -> list[dict]:
        """Every station's connectors (one query: views of a store others write)."""
        self.flush()
        return self._rows("SELECT * FROM connectors ORDER BY station_id, connector_id")

    # -- id tags ----------------------------------------------------------------------
    def put_tag(self, id_tag: str, status: str = "Accepted", expiry_date: datetime | str | None = None,
                parent_id_tag: str | None = None) -> dict:
        """Add or replace a tag.  Returns the stored row."""
        if status not in TAG_STATUSES:
            raise ValueError(f"tag status must be one of {', '.join(TAG_STATUSES)}, not {status!r}")
        self.db.execute(
            """INSERT INTO id_tags (id_tag, status, expiry_date, parent_id_tag) VALUES (?,?,?,?)
               ON CONFLICT (id_tag) DO UPDATE SET status=excluded.status,
                 expiry_date=excluded.expiry_date, parent_id_tag=excluded.parent_id_tag""",
            (id_tag, status, _ts(expiry_date), parent_id_tag))
        return self.get_tag(id_tag)

    def delete_tag(self, id_tag: str) -> bool:
        return self.db.execute("DELETE FROM id_tags WHERE id_tag = ?", (id_tag,)).rowcount > 0

    def get_tag(self, id_tag: str) -> dict | None:
        return self._row("SELECT * FROM id_tags WHERE id_tag = ?", (id_tag,))

    def list_tags(self) -> list[dict]:
        return self._rows("SELECT * FROM id_tags ORDER BY id_tag")

    # -- transactions -----------------------------------------------------------------
    def start_transaction(self, station_id: str, connector_id: int, id_tag: str, id_tag_status: str,
                          meter_start: int, start_time: datetime,
                          reservation_id: int | None = None, flags: str | None = None) -> int:
        """Record a new transaction; returns its hub-assigned id."""
        cur = self.db.execute(
            """INSERT INTO transactions (station_id, connector_id, id_tag, id_tag_status,
                                         meter_start, start_time, reservation_id, flags)
               VALUES (?,?,?,?,?,?,?,?)""",
            (station_id, connector_id, id_tag, id_tag_status, meter_start, _ts(start_time),
             reservation_id, flags))
        return cur.lastrowid

    def stop_transaction(self, transaction_id: int, meter_stop: int, stop_time: datetime,
                         reason: str | None, stop_id_tag: str | None,
                         flags: str | None = None) -> bool:
        """The station ends a transaction: open, or closed by the hub as stale (the station's
        own figures replace the hub's guess).  False if there is no such transaction."""
        cur = self.db.execute(
            """UPDATE transactions SET meter_stop=?, stop_time=?, stop_reason=?, stop_id_tag=?,
                 closed_by='station',
                 flags=CASE WHEN CAST(? AS TEXT) IS NULL THEN flags
                            ELSE coalesce(flags || '; ', '') || CAST(? AS TEXT) END
               WHERE id = ? AND (stop_time IS NULL OR closed_by = 'hub')""",
            (meter_stop, _ts(stop_time), reason, stop_id_tag, flags, flags, transaction_id))
        return cur.rowcount > 0

    def close_stale_transaction(self, transaction_id: int, meter_stop: int, stop_time: datetime,
                                reason: str) -> None:
        """The hub ends a transaction the station will not end (see the manager)."""
        self.db.execute(
            """UPDATE transactions SET meter_stop=?, stop_time=?, stop_reason=?, closed_by='hub'
               WHERE id = ? AND stop_time IS NULL""",
            (meter_stop, _ts(stop_time), reason, transaction_id))

    def find_transaction_start(self, station_id: str, connector_id: int, id_tag: str,
                               meter_start: int, start_time: datetime) -> dict | None:
        """The transaction started by exactly this StartTransaction (a retry's original)."""
        return self._row("SELECT * FROM transactions WHERE station_id = ? AND connector_id = ? "
                         "AND start_time = ? AND id_tag = ? AND meter_start = ? "
                         "ORDER BY id LIMIT 1",
                         (station_id, connector_id, _ts(start_time), id_tag, meter_start))

    def meter_reading_keys(self, transaction_id: int) -> set[tuple]:
        """The stored readings of a transaction as (timestamp, measurand, phase, unit, context,
        location, value) keys (queued rows are written first), to recognise a repeat."""
        self.flush()
        return {(r["timestamp"], r["measurand"], r["phase"], r["unit"], r["context"],
                 r["location"], r["value"] if r["raw"] is None else r["raw"])
                for r in self._rows("SELECT * FROM meter_values WHERE transaction_id = ?",
                                    (transaction_id,))}

    def get_transaction(self, transaction_id: int) -> dict | None:
        return self._row("SELECT * FROM transactions WHERE id = ?", (transaction_id,))

    def list_transactions(self, station_id: str | None = None, active: bool | None = None,
                          limit: int = 1000) -> list[dict]:
        where, args = [], []
        if station_id is not None:
            where.append("station_id = ?")
            args.append(station_id)
        if active is not None:
            where.append("stop_time IS NULL" if active else "stop_time IS NOT NULL")
        # remote_id: the station's own transaction id (2.0.1), NULL for 1.6 transactions
        sql = """SELECT t.*, (SELECT x.remote_id FROM tx_ids x WHERE x.transaction_id = t.id)
                 AS remote_id FROM transactions t"""
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._rows(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))

    def open_transactions(self, station_id: str | None = None) -> list[dict]:
        if station_id is not None:
            return self._rows("SELECT * FROM transactions WHERE stop_time IS NULL AND "
                              "station_id = ? ORDER BY id", (station_id,))
        return self._rows("SELECT * FROM transactions WHERE stop_time IS NULL ORDER BY id")

    def open_transaction_of_tag(self, id_tag: str, status: str) -> dict | None:
        """A running transaction started with this tag and answered `status` (the newest)."""
        return self._row("SELECT * FROM transactions WHERE stop_time IS NULL AND id_tag = ? "
                         "AND id_tag_status = ? ORDER BY id DESC LIMIT 1", (id_tag, status))

    # -- meter values -----------------------------------------------------------------
    def add_meter_values(self, rows: list[tuple]) -> None:
        """rows: (transaction_id, station_id, connector_id, timestamp, measurand, phase, unit,
        context, location, value); a value that is text (not a number) is kept as `raw`."""
        if not rows:
            return
        out, last, text = [], None, None
        for r in rows:   # the samples of one reading share their timestamp: format it once
            if r[3] is not last:
                last, text = r[3], _ts(r[3])
            value = r[9]
            out.append((r[0], r[1], r[2], text, *r[4:9],
                        *((None, value) if isinstance(value, str) else (value, None))))
        self.write_behind.add(_INSERT_METER_VALUES, out)

    # -- frames (the hub's --store-frames) ---------------------------------------------
    def add_frame(self, frame) -> None:
        """Queue one frame (a session tap's `Frame`) behind, with the meter values."""
        self.write_behind.add(_INSERT_FRAMES, [(frame.ts, frame.station, frame.direction,
                                                frame.version, frame.raw, frame.note)])

    def frames(self, station_id: str | None = None, limit: int | None = None) -> list[dict]:
        """Stored frames, oldest first (the last `limit` of them if given)."""
        self.flush()
        where, args = ("WHERE station_id = ?", [station_id]) if station_id is not None else ("", [])
        if limit is not None:
            rows = self._rows(f"SELECT * FROM frames {where} ORDER BY id DESC LIMIT ?",
                              [*args, int(limit)])
            return rows[::-1]
        return self._rows(f"SELECT * FROM frames {where} ORDER BY id", args)

    def meter_values(self, transaction_id: int | None = None, station_id: str | None = None
                     ) -> list[dict]:
        self.flush()
        where, args = [], []
        if transaction_id is not None:
            where.append("transaction_id = ?")
            args.append(transaction_id)
        if station_id is not None:
            where.append("station_id = ?")
            args.append(station_id)
        sql = "SELECT * FROM meter_values"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._rows(sql + " ORDER BY id", args)
