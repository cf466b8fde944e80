"""Transaction messages that wait for the CSMS, persisted so they survive a power loss and
a process restart, and delivered in order once the station is registered again (1.6 §4.7
"transaction-related messages"; TransactionMessageAttempts / RetryInterval).

Entries are neutral transaction intents naming the station's own transaction id (a text).
What the CSMS calls a transaction is the dialect's: it keeps that in the queue's `refs`
(`TransactionRefs`, persisted here but never read by the station), so that after a process
restart the dialect still names a held transaction as it did before (1.6: the CSMS's
integer id, or the provisional negative one of a start that has not been answered yet).

Journal format (state_dir/<station id>.offline.jsonl, one JSON object a line, appended and
flushed at every change, so a crash loses at most the line being written; the lines a
power cut must not lose — put, done, ref, unref, open, close — are fsynced too, and so is a
compacted journal before it replaces the old one; the frequent energy lines are only
flushed, the next one carries the register again):

    {"op": "put",  "seq": 7, "action": "transaction_updated", "payload": {...}}
    {"op": "done", "seq": 7}                 delivered, or given up after the attempts
    {"op": "try",  "seq": 7, "attempts": 2}  a delivery failed: the count so far (a restart
                                             keeps it, so the attempts are not started again)
    {"op": "ref",  "tx": "9f1c...", "ref": {...}}  the dialect's note on a transaction
    {"op": "unref", "tx": "9f1c..."}         ... no longer needed
    {"op": "open", "connector": 1, "tx": {...}}   a transaction is running (for a restart)
    {"op": "energy", "connector": 1, "wh": 1234.5, "at": "...Z"}  the register, at every
                                             sample and at a power cut (a restart's PowerLoss
                                             stop is stamped with that last "at")
    {"op": "close", "connector": 1}          that transaction ended (its Stop is queued)

`action` is the kind of a neutral transaction intent (station/intents.py) and `payload`
its JSON record, in no protocol's words: the dialect builds the wire message when the
entry is delivered (1.6: naming the transaction by the CSMS's id, looked up in `refs`).
Loading replays the journal and rewrites it with only what is still needed.
Without a state_dir the queue is the same, in memory only.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .intents import TRANSACTION_KINDS, from_record

log = logging.getLogger(__name__)

TX_ACTIONS = frozenset(TRANSACTION_KINDS)   # what may wait: transaction intents only


@dataclass(eq=False)
class Entry:
    seq: int
    action: str
    payload: dict
    attempts: int = 0          # failed deliveries so far (journalled: a restart keeps it)

    def record(self) -> dict:
        return {"op": "put", "seq": self.seq, "action": self.action, "payload": self.payload}

    def tries(self) -> dict:
        return {"op": "try", "seq": self.seq, "attempts": self.attempts}


class TransactionRefs:
    """The dialect's persisted notes on transactions, by the station's transaction id:
    plain JSON values only the dialect reads (1.6: the CSMS's and the provisional id)."""
    __slots__ = ("_queue",)

    def __init__(self, queue: OfflineQueue):
        self._queue = queue

    def get(self, tx: str, default=None):
        return self._queue.refs.get(tx, default)

    def set(self, tx: str, ref) -> None:
        self._queue.set_ref(tx, ref)

    def drop(self, tx: str) -> None:
        self._queue.drop_ref(tx)

    def items(self):
        return self._queue.refs.items()


class OfflineQueue:
    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else None
        # A list, not a deque: an empty deque takes a 0.7 KiB block, and the queue is empty
        # for almost every station almost all the time.
        self.entries: list[Entry] = []
        self.refs: dict[str, object] = {}          # transaction id -> the dialect's note
        self.open_tx: dict[int, dict] = {}         # connector -> persisted transaction
        self.energy: dict[int, float] = {}         # connector -> last persisted register
        self.energy_at: dict[int, str] = {}        # connector -> when it was read
        self._seq = 0
        self._file = None
        if self.path is not None:
            self._load()

    @classmethod
    def for_station(cls, station_id: str, state_dir) -> OfflineQueue:
        if state_dir is None:
            return cls()
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in station_id)
        return cls(Path(state_dir) / f"{safe}.offline.jsonl")

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    # -- journal ---------------------------------------------------------------------------
    def _load(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        pending: dict[int, Entry] = {}
        if self.path.exists():
            for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
                try:
                    r = json.loads(line)
                    op = r["op"]
                    if op == "put":
                        from_record(r["action"], r["payload"])   # an older journal's: skipped
                        pending[r["seq"]] = Entry(r["seq"], r["action"], r["payload"])
                    elif op == "done":
                        pending.pop(r["seq"], None)
                    elif op == "try":
                        if r["seq"] in pending:
                            pending[r["seq"]].attempts = int(r["attempts"])
                    elif op == "ref":
                        self.refs[r["tx"]] = r["ref"]
                    elif op == "unref":
                        self.refs.pop(r["tx"], None)
                    elif op == "open":
                        self.open_tx[r["connector"]] = r["tx"]
                    elif op == "close":
                        self.open_tx.pop(r["connector"], None)
                    elif op == "energy":
                        self.energy[r["connector"]] = r["wh"]
                        if r.get("at"):
                            self.energy_at[r["connector"]] = r["at"]
                except (ValueError, KeyError, TypeError):
                    # A torn last line (power cut while writing) or a foreign line: skip it.
                    log.warning("%s:%d: unreadable journal line skipped", self.path, n)
        self.entries.extend(sorted(pending.values(), key=lambda e: e.seq))
        self._seq = max(pending, default=0)
        self._rewrite()

    def _rewrite(self) -> None:
        """Compact: the file holds only what is still needed."""
        if self._file is not None:
            self._file.close()
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for tx, ref in self.refs.items():
                f.write(json.dumps({"op": "ref", "tx": tx, "ref": ref}) + "\n")
            for connector, tx in self.open_tx.items():
                f.write(json.dumps({"op": "open", "connector": connector, "tx": tx}) + "\n")
            for connector, wh in self.energy.items():
                f.write(json.dumps({"op": "energy", "connector": connector, "wh": wh,
                                    "at": self.energy_at.get(connector)}) + "\n")
            for e in self.entries:
                f.write(json.dumps(e.record()) + "\n")
                if e.attempts:
                    f.write(json.dumps(e.tries()) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)
        self._file = self.path.open("a", encoding="utf-8")

    def _append(self, record: dict, durable: bool = True) -> None:
        if self._file is not None:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
            if durable:   # on the disk, not only in the OS cache: survives a power cut
                os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    # -- queue -----------------------------------------------------------------------------
    def put(self, action: str, payload: dict) -> Entry:
        if action not in TX_ACTIONS:
            raise ValueError(f"{action} is not a transaction message; it is not queued")
        self._seq += 1
        entry = Entry(self._seq, action, payload)
        self.entries.append(entry)
        self._append(entry.record())
        return entry

    def head(self) -> Entry | None:
        return self.entries[0] if self.entries else None

    def done(self, entry: Entry) -> None:
        """The head was delivered (or given up): remove it for good."""
        if self.entries and self.entries[0] is entry:
            del self.entries[0]
        else:
            self.entries.remove(entry)
        self._append({"op": "done", "seq": entry.seq})
        if not self.entries and self._file is not None and not self.open_tx:
            self._rewrite()   # keeps the file small in long runs

    def tried(self, entry: Entry) -> int:
        """A delivery of `entry` failed: count it, in the journal too; returns the count."""
        entry.attempts += 1
        self._append(entry.tries())
        return entry.attempts

    def set_ref(self, tx: str, ref) -> None:
        if self.refs.get(tx, self) != ref:
            self.refs[tx] = ref
            self._append({"op": "ref", "tx": tx, "ref": ref})

    def drop_ref(self, tx: str) -> None:
        if self.refs.pop(tx, None) is not None:
            self._append({"op": "unref", "tx": tx})

    def waits_for(self, tx: str) -> bool:
        """Something of transaction `tx` is still queued."""
        return any(e.payload.get("transaction") == tx for e in self.entries)

    # -- what a restart needs to know ----------------------------------------------------------
    def tx_opened(self, connector: int, tx: dict) -> None:
        self.open_tx[connector] = tx
        self._append({"op": "open", "connector": connector, "tx": tx})

    def tx_closed(self, connector: int) -> None:
        if self.open_tx.pop(connector, None) is not None:
            self._append({"op": "close", "connector": connector})

    def record_energy(self, connector: int, wh: float, at: str | None = None) -> None:
        if self._file is not None:   # in memory the meter itself is the register
            self.energy[connector], self.energy_at[connector] = wh, at
            self._append({"op": "energy", "connector": connector, "wh": round(wh, 3), "at": at},
                         durable=False)


def _fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable (POSIX); a best effort where directories cannot be
    opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
