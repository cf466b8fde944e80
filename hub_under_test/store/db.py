"""The store's database connection: SQLite (stdlib, file or memory) or PostgreSQL.

The repositories speak one SQL: SQLite's `?` placeholders, `ON CONFLICT … DO UPDATE`,
`excluded.`, `CAST(? AS TEXT)` where a parameter's type must be known, TRUE / FALSE, and the
sqlite3 connection's calls (`execute`, `executemany`, `executescript`, `with db:` around an
explicit BEGIN, `lastrowid`, rows readable by name and by position).  For SQLite that is the
sqlite3 connection itself, so its hot path has no wrapper.  `PgConnection` gives the same
calls over psycopg 3: placeholders become `%s`, the schema's SQLite types become
PostgreSQL's (INTEGER PRIMARY KEY → BIGSERIAL, BLOB → BYTEA, REAL → DOUBLE PRECISION), and
an INSERT into a table with a generated id returns it (`RETURNING id`) for `lastrowid`.

psycopg 3 rather than asyncpg: it is the maintained successor of psycopg2, speaks libpq's
conninfo and URLs, and has a synchronous and an asyncio API over the same connection
semantics.  The store is called synchronously from the manager (its writes are batched
behind, see WriteBehind), so the synchronous API serves it today and the asyncio one is
there when the store moves off the loop; asyncpg is asyncio-only.
"""
from __future__ import annotations

import re
import sqlite3

POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def is_postgres(target: str) -> bool:
    return target.startswith(POSTGRES_PREFIXES)


def connect(target: str):
    """A SQLite path (":memory:" or a file) or a postgresql:// URL → a connection."""
    if is_postgres(target):
        return PgConnection(target)
    db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    if target != ":memory:":
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    return db


def add_columns(db, table: str, columns: dict[str, str]) -> None:
    """Columns added since a database was created (CREATE TABLE IF NOT EXISTS keeps the old
    shape)."""
    if isinstance(db, PgConnection):
        for name, kind in columns.items():
            db.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {name} {kind}")
        return
    have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    for name, kind in columns.items():
        if name not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


class Row(tuple):
    """A row like sqlite3.Row: a tuple of the values, also readable by column name, and
    `dict(row)` maps names to values."""
    __slots__ = ()
    names: tuple[str, ...] = ()

    def keys(self) -> tuple[str, ...]:
        return self.names

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names.index(key))
        return tuple.__getitem__(self, key)


_ROW_CLASSES: dict[tuple[str, ...], type[Row]] = {}


def _row_factory(cursor):
    """psycopg's row factory: one Row class per column list, made once."""
    names = tuple(c.name for c in cursor.description) if cursor.description else ()
    cls = _ROW_CLASSES.get(names)
    if cls is None:
        cls = _ROW_CLASSES[names] = type("Row", (Row,), {"__slots__": (), "names": names})
    return cls


_DDL = [(re.compile(r"INTEGER PRIMARY KEY AUTOINCREMENT", re.I), "BIGSERIAL PRIMARY KEY"),
        (re.compile(r"INTEGER PRIMARY KEY", re.I), "BIGSERIAL PRIMARY KEY"),
        (re.compile(r"\bBLOB\b"), "BYTEA"),
        (re.compile(r"\bREAL\b"), "DOUBLE PRECISION")]
_INSERT_INTO = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)", re.I)


class Cursor:
    __slots__ = ("_cur", "lastrowid")

    def __init__(self, cur, lastrowid=None):
        self._cur = cur
        self.lastrowid = lastrowid

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def fetchone(self):
        return self._cur.fetchone() if self._cur.description else None

    def fetchall(self):
        return self._cur.fetchall() if self._cur.description else []

    def __iter__(self):
        return iter(self.fetchall())


class PgConnection:
    """The sqlite3 calls the store uses, over one psycopg 3 connection (autocommit; an
    explicit BEGIN inside `with db:` makes a transaction, committed on leaving it)."""

    def __init__(self, url: str):
        try:
            import psycopg
        except ImportError:   # a declared dependency; the message names it anyway
            raise RuntimeError("a postgresql:// store needs psycopg 3 (pip install psycopg)") \
                from None
        try:
            self.conn = psycopg.connect(url, autocommit=True, row_factory=_row_factory,
                                        connect_timeout=10)
        except psycopg.OperationalError as e:
            where = re.sub(r"//[^@/]*@", "//", url)   # no credentials in the message
            raise ConnectionError(f"cannot open the PostgreSQL store {where}: "
                                  f"{str(e).strip().splitlines()[0]}") from None
        self._serial: set[str] = set()   # tables with a generated id
        self._sql: dict[str, tuple[str, bool]] = {}

    def _translate(self, sql: str) -> tuple[str, bool]:
        """(PostgreSQL text, whether it returns the generated id)."""
        done = self._sql.get(sql)
        if done is None:
            text = sql.replace("%", "%%").replace("?", "%s")
            m = _INSERT_INTO.match(sql)
            returning = bool(m and m.group(1) in self._serial and "RETURNING" not in sql.upper()
                             and "ON CONFLICT" not in sql.upper())
            if returning:
                text += " RETURNING id"
            done = self._sql[sql] = (text, returning)
        return done

    def execute(self, sql: str, args=()) -> Cursor:
        text, returning = self._translate(sql)
        cur = self.conn.execute(text, tuple(args) or None)
        if returning:
            return Cursor(cur, cur.fetchone()[0])
        return Cursor(cur)

    def executemany(self, sql: str, rows) -> None:
        text, _ = self._translate(sql)
        with self.conn.cursor() as cur:
            cur.executemany(text, list(rows))

    def executescript(self, script: str) -> None:
        script = re.sub(r"--[^\n]*", "", script)
        for pattern, replacement in _DDL:
            script = pattern.sub(replacement, script)
        for statement in script.split(";"):
            if statement.strip():
                m = re.search(r"CREATE TABLE IF NOT EXISTS (\w+)", statement)
                if m and "BIGSERIAL" in statement:
                    self._serial.add(m.group(1))
                self.conn.execute(statement)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")

    def close(self) -> None:
        self.conn.close()
