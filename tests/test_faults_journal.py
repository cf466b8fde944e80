"""The offline journal is fsynced where a power cut must not lose a line: a queued
transaction message, its delivery, the dialect's note on a transaction, a transaction
opened or closed, and a
compacted journal before it replaces the old one.  The frequent energy lines are flushed
only (the next one carries the register again)."""
from __future__ import annotations

import os

import pytest

from simulator.station import offline_queue
from simulator.station.offline_queue import OfflineQueue


@pytest.fixture
def fsyncs(monkeypatch):
    calls: list[int] = []
    real = os.fsync

    def spy(fd):
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(offline_queue.os, "fsync", spy)
    return calls


def test_the_lines_that_matter_are_fsynced(tmp_path, fsyncs):
    q = OfflineQueue(tmp_path / "CP.offline.jsonl")
    assert fsyncs, "the compacted journal written at load is fsynced (file and directory)"
    checks = [
        ("put", lambda: q.put("transaction_started", {"transaction": "t1"})),
        ("ref", lambda: q.set_ref("t1", {"id": 4711})),
        ("unref", lambda: q.drop_ref("t1")),
        ("open", lambda: q.tx_opened(1, {"transaction_id": 4711})),
        ("close", lambda: q.tx_closed(1)),
    ]
    for name, op in checks:
        fsyncs.clear()
        op()
        assert len(fsyncs) == 1, name
    fsyncs.clear()
    q.record_energy(1, 1234.5, "2026-01-01T00:00:00Z")
    assert fsyncs == []                                   # flushed, not fsynced
    fsyncs.clear()
    q.done(q.head())
    assert len(fsyncs) >= 1                               # the done line (and a compaction)
    q.close()
