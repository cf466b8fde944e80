"""Transaction messages that wait for the CSMS, persisted so they survive a power loss and
a process restart, and delivered in order once the station is registered again (1.6 §4.7
"transaction-related messages"; TransactionMessageAttempts / RetryInterval).

A StartTransaction that waits has no transactionId yet: the CSMS gives one only when it
receives it.  The station runs the transaction under a *provisional* id (a negative number,
never sent) and the queue REMAPS it in the later MeterValues / StopTransaction of that
transaction once the StartTransaction has been answered.

Journal format (state_dir/<station id>.offline.jsonl, one JSON object a line, appended and
flushed at every change, so a crash loses at most the line being written; the lines a
power cut must not lose — put, done, map, open, close — are fsynced too, and so is a
compacted journal before it replaces the old one; the frequent energy lines are only
flushed, the next one carries the register again):

    {"op": "put",  "seq": 7, "action": "meter_sample", "payload": {...}, "local": -1}
    {"op": "done", "seq": 7}                 delivered, or given up after the attempts
    {"op": "map",  "local": -1, "id": 4711}  the CSMS's id for provisional id -1
    {"op": "open", "connector": 1, "tx": {...}}   a transaction is running (for a restart)
    {"op": "energy", "connector": 1, "wh": 1234.5, "at": "...Z"}  the register, at every
                                             sample and at a power cut (a restart's PowerLoss
                                             stop is stamped with that last "at")
    {"op": "close", "connector": 1}          that transaction ended (its Stop is queued)

`action` is the kind of a neutral transaction intent (station/intents.py) and `payload`
its JSON record, in no protocol's words: the dialect builds the wire message when the
entry is delivered (1.6: remapping a provisional transaction id to the CSMS's);
`local` is the provisional id a queued start will be answered for.
Loading replays the journal and rewrites it with only what is still needed.
Without a state_dir the queue is the same, in memory only.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .intents import TRANSACTION_KINDS

log = logging.getLogger(__name__)

TX_ACTIONS = frozenset(TRANSACTION_KINDS)   # what may wait: transaction intents only


@dataclass(eq=False)
class Entry:
    seq: int
    action: str
    payload: dict
    local: int | None = None   # StartTransaction: the provisional id its answer replaces
    attempts: int = 0          # failed deliveries so far (in memory: a reboot starts again)

    def record(self) -> dict:
        out = {"op": "put", "seq": self.seq, "action": self.action, "payload": self.payload}
        if self.local is not None:
            out["local"] = self.local
        return out


class OfflineQueue:
    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else None
        # A list, not a deque: an empty deque takes a 0.7 KiB block, and the queue is empty
        # for almost every station almost all the time.
        self.entries: list[Entry] = []
        self.mapping: dict[int, int] = {}          # provisional id -> CSMS id
        self.open_tx: dict[int, dict] = {}         # connector -> persisted transaction
        self.energy: dict[int, float] = {}         # connector -> last persisted register
        self.energy_at: dict[int, str] = {}        # connector -> when it was read
        self._seq = 0
        self._next_local = -1
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
                        if r["action"] not in TX_ACTIONS:   # e.g. an older journal's payload
                            raise ValueError(r["action"])
                        pending[r["seq"]] = Entry(r["seq"], r["action"], r["payload"], r.get("local"))
                    elif op == "done":
                        pending.pop(r["seq"], None)
                    elif op == "map":
                        self.mapping[r["local"]] = r["id"]
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
        locals_ = [*self.mapping, *(e.local for e in self.entries if e.local is not None),
                   *(t.get("transaction_id") or 0 for t in self.open_tx.values())]
        self._next_local = min([0, *locals_]) - 1
        self._rewrite()

    def _rewrite(self) -> None:
        """Compact: the file holds only what is still needed."""
        if self._file is not None:
            self._file.close()
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for local, real in self.mapping.items():
                f.write(json.dumps({"op": "map", "local": local, "id": real}) + "\n")
            for connector, tx in self.open_tx.items():
                f.write(json.dumps({"op": "open", "connector": connector, "tx": tx}) + "\n")
            for connector, wh in self.energy.items():
                f.write(json.dumps({"op": "energy", "connector": connector, "wh": wh,
                                    "at": self.energy_at.get(connector)}) + "\n")
            for e in self.entries:
                f.write(json.dumps(e.record()) + "\n")
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
    def new_local_id(self) -> int:
        local, self._next_local = self._next_local, self._next_local - 1
        return local

    def put(self, action: str, payload: dict, local: int | None = None) -> Entry:
        if action not in TX_ACTIONS:
            raise ValueError(f"{action} is not a transaction message; it is not queued")
        self._seq += 1
        entry = Entry(self._seq, action, payload, local)
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

    def remap(self, local: int, real: int) -> None:
        self.mapping[local] = real
        self._append({"op": "map", "local": local, "id": real})

    def resolve(self, entry: Entry) -> dict | None:
        """The intent's record to deliver: a provisional transaction id replaced by the
        CSMS's.  None when the transaction's start never got an id (given up)."""
        tx_id = entry.payload.get("transaction_id")
        if tx_id is None or tx_id >= 0:
            return entry.payload
        real = self.mapping.get(tx_id)
        if real is None:
            return None
        return {**entry.payload, "transaction_id": real}

    def waits_for_start(self, local: int) -> bool:
        return any(e.local == local for e in self.entries)

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
