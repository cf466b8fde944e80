"""The store's write-behind queue: meter values batched into one transaction (a group commit
that answered readings wait for), bounded, read through, flushed on close and when the hub
process gets SIGTERM."""
from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from datetime import datetime, timezone

import pytest

from hub_under_test.store import Store
from tests.hub_helpers import exchange, raw_station

T = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)


def rows(n: int, tx: int = 1) -> list[tuple]:
    return [(tx, "CS", 1, T, "Voltage", None, "V", None, None, 230.0 + i) for i in range(n)]


def count(path: str) -> int:
    with sqlite3.connect(path) as con:
        return con.execute("SELECT count(*) FROM meter_values").fetchone()[0]


async def test_meter_values_are_written_together_after_the_delay(tmp_path):
    path = str(tmp_path / "wb.db")
    store = Store(path, write_delay=0.05)
    statements = []
    store.db.set_trace_callback(statements.append)
    for _ in range(5):           # five messages
        store.add_meter_values(rows(10))
    assert statements == [] and count(path) == 0   # queued, nothing written yet
    await asyncio.sleep(0.2)     # the delay passed: one transaction for all fifty rows
    assert [s.split()[0] for s in statements] == ["BEGIN", *["INSERT"] * 50, "COMMIT"]
    assert count(path) == 50
    assert (store.write_behind.batches, store.write_behind.rows) == (1, 50)
    store.close()


async def test_reads_see_queued_rows_and_close_writes_them(tmp_path):
    path = str(tmp_path / "wb.db")
    store = Store(path, write_delay=60)
    store.add_meter_values(rows(3, tx=7))
    assert [r["value"] for r in store.meter_values(transaction_id=7)] == [230.0, 231.0, 232.0]
    store.add_meter_values(rows(2, tx=8))
    store.close()
    assert count(path) == 5


async def test_the_queue_is_bounded(tmp_path):
    path = str(tmp_path / "wb.db")
    store = Store(path, write_delay=60, max_pending=25)
    store.add_meter_values(rows(10))
    store.add_meter_values(rows(10))
    assert count(path) == 0
    store.add_meter_values(rows(10))    # 30 >= 25: written at once, not after a minute
    assert count(path) == 30 and store.write_behind.queued == 0
    store.close()


def test_without_an_event_loop_or_with_no_delay_rows_are_written_at_once(tmp_path):
    path = str(tmp_path / "wb.db")
    store = Store(path)                  # no running loop here
    store.add_meter_values(rows(2))
    assert count(path) == 2
    store.close()
    with pytest.raises(ValueError, match="write_delay"):
        Store(":memory:", write_delay=-1)


def frame_count(path: str) -> int:
    with sqlite3.connect(path) as con:
        return con.execute("SELECT count(*) FROM frames").fetchone()[0]


async def _charge_twenty_readings(path: str, station: str, *extra: str):
    """A hub process writing behind for 600 s, and a station whose 20 MeterValues (two
    samples each) have all been answered; returns the process, still running."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub_under_test", "--port", "0", "--api-port", "0", "--db", path,
        "--write-delay", "600", "--accept-unknown-tags", "--log-level", "WARNING", *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()

    class _Hub:   # raw_station only needs the endpoint
        url = line.split()[3].rsplit("/", 1)[0]   # "... OCPP ws://host:port/ocpp/{id} ..."
    async with raw_station(_Hub(), station) as ws:
        start = await exchange(ws, [2, "1", "StartTransaction", {
            "connectorId": 1, "idTag": "ANY", "meterStart": 0,
            "timestamp": "2030-05-01T12:00:00Z"}])
        tx = start[2]["transactionId"]
        for i in range(20):
            reply = await exchange(ws, [2, f"m{i}", "MeterValues", {
                "connectorId": 1, "transactionId": tx, "meterValue": [
                    {"timestamp": f"2030-05-01T12:00:{i:02d}Z", "sampledValue": [
                        {"value": str(i)}, {"value": "230", "measurand": "Voltage",
                                            "unit": "V"}]}]}])
            assert reply[0] == 3
    return proc


async def test_answered_readings_are_committed_so_sigkill_loses_none(tmp_path):
    """The write delay is 600 s, yet every answered reading is in the file: a MeterValues is
    answered after the COMMIT that holds it, and a hub killed outright has lost nothing."""
    path = str(tmp_path / "hub.db")
    proc = await _charge_twenty_readings(path, "CS-KILL")
    try:
        assert count(path) == 40
        proc.kill()
        await asyncio.wait_for(proc.wait(), 10)
        assert count(path) == 40
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_sigterm_writes_what_is_still_queued(tmp_path):
    """Frames (--store-frames) acknowledge nothing and wait the write delay; SIGTERM writes
    them: each of the 21 CALLs and 21 answers."""
    path = str(tmp_path / "hub.db")
    proc = await _charge_twenty_readings(path, "CS-TERM", "--store-frames")
    try:
        assert count(path) == 40 and frame_count(path) < 42   # the last answers are queued
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        assert count(path) == 40 and frame_count(path) == 42
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_statuses_last_seen_and_meter_values_share_one_transaction(tmp_path):
    store = Store(str(tmp_path / "wb.db"), write_delay=0.05)
    statements = []
    store.db.set_trace_callback(statements.append)
    store.save_connectors([("CS", 1, "Charging", "NoError", None, None, T)])
    store.touch_stations({"CS": T})
    store.add_meter_values(rows(2))
    assert statements == []
    await asyncio.sleep(0.2)
    assert [s.split()[0] for s in statements] == ["BEGIN", *["INSERT"] * 4, "COMMIT"]
    store.db.set_trace_callback(None)
    assert [c["status"] for c in store.get_connectors("CS")] == ["Charging"]
    store.save_connectors([("CS", 1, "Finishing", "NoError", None, None, T)])
    assert [c["status"] for c in store.get_connectors("CS")] == ["Finishing"]  # read through
    store.close()


async def test_a_writer_thread_writes_batches_on_its_own_connection(tmp_path):
    """What a PostgreSQL store does (shown here with a second SQLite connection)."""
    import threading

    from hub_under_test.store import _INSERT_METER_VALUES, WriteBehind

    path = str(tmp_path / "wb.db")
    Store(path).close()                          # the schema
    threads = []

    def connect():
        threads.append(threading.current_thread().name)
        return sqlite3.connect(path, isolation_level=None)

    wb = WriteBehind(None, delay=0.05, max_pending=1000, writer=connect)
    wb.add(_INSERT_METER_VALUES, [(*r[:3], "2030-05-01T12:00:00Z", *r[4:], None) for r in rows(3)])
    assert count(path) == 0
    await asyncio.sleep(0.2)
    assert count(path) == 3 and (wb.batches, wb.rows, wb.failed) == (1, 3, 0)
    assert threads and threads[0] != threading.current_thread().name
    wb.add(_INSERT_METER_VALUES, [(*r[:3], "2030-05-01T12:00:00Z", *r[4:], None) for r in rows(2)])
    wb.flush()                                   # waits for the thread
    assert count(path) == 5
    wb.close()


async def test_waiters_of_one_loop_turn_share_one_commit(tmp_path):
    """Group commit: fifty readings answered in one turn of the loop cost one COMMIT, done
    long before the 600 s write delay."""
    store = Store(str(tmp_path / "wb.db"), write_delay=600)
    statements = []
    store.db.set_trace_callback(statements.append)

    async def reading(i: int) -> int:
        store.add_meter_values(rows(2, tx=i))
        await store.written()
        return count(store.path)
    seen = await asyncio.wait_for(asyncio.gather(*(reading(i) for i in range(50))), 5)
    assert seen == [100] * 50                      # each saw all rows committed
    assert [s.split()[0] for s in statements].count("COMMIT") == 1
    await store.written()                          # nothing queued: returns at once
    store.close()


async def test_a_failed_commit_reaches_its_waiters_and_keeps_the_rows(tmp_path):
    store = Store(str(tmp_path / "wb.db"), write_delay=600)
    store.add_meter_values(rows(2))
    store.db.execute("DROP TABLE meter_values")    # the next COMMIT cannot happen
    with pytest.raises(sqlite3.OperationalError, match="meter_values"):
        await asyncio.wait_for(store.written(), 5)
    assert store.write_behind.queued == 2          # kept for the next try
    store.write_behind.pending.clear()
    store.write_behind.queued = 0
    store.close()


async def test_an_in_memory_store_answers_without_waiting():
    store = Store(":memory:", write_delay=600)
    store.add_meter_values(rows(2))
    await asyncio.wait_for(store.written(), 1)
    assert store.write_behind.queued == 2          # still behind: nothing outlives the process
    store.close()


async def test_the_writer_thread_commits_before_its_waiters_go_on(tmp_path):
    from hub_under_test.store import _INSERT_METER_VALUES, WriteBehind

    path = str(tmp_path / "wb.db")
    Store(path).close()
    wb = WriteBehind(None, delay=600, max_pending=1000,
                     writer=lambda: sqlite3.connect(path, isolation_level=None))
    wb.add(_INSERT_METER_VALUES, [(*r[:3], "2030-05-01T12:00:00Z", *r[4:], None) for r in rows(3)])
    await asyncio.wait_for(wb.written(), 5)
    assert count(path) == 3
    wb.close()


async def test_frames_join_the_meter_values_transaction(tmp_path):
    from simulator.session.rpc import Frame
    store = Store(str(tmp_path / "wb.db"), write_delay=0.05)
    statements = []
    store.db.set_trace_callback(statements.append)
    store.add_frame(Frame(1.5, "CS", "in", "ocpp1.6", '[2,"1","Heartbeat",{}]'))
    store.add_meter_values(rows(2))
    store.add_frame(Frame(1.6, "CS", "out", "ocpp1.6", '[3,"1",{}]', "a note"))
    assert statements == []
    await asyncio.sleep(0.2)
    assert [s.split()[0] for s in statements] == ["BEGIN", *["INSERT"] * 4, "COMMIT"]
    store.db.set_trace_callback(None)
    assert [(f["direction"], f["raw"], f["note"]) for f in store.frames("CS")] == [
        ("in", '[2,"1","Heartbeat",{}]', None), ("out", '[3,"1",{}]', "a note")]
    assert [f["direction"] for f in store.frames("CS", limit=1)] == ["out"]
    store.close()


@pytest.mark.parametrize("store_frames", [True, False])
async def test_store_frames_persists_every_frame_in_and_out(tmp_path, store_frames):
    path = str(tmp_path / "hub.db")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub_under_test", "--port", "0", "--api-port", "0", "--db", path,
        "--write-delay", "600", "--accept-unknown-tags", "--log-level", "WARNING",
        *(["--store-frames"] if store_frames else []),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()

        class _Hub:
            url = line.split()[3].rsplit("/", 1)[0]
        async with raw_station(_Hub(), "CS-FRAMES") as ws:
            start = await exchange(ws, [2, "s1", "StartTransaction", {
                "connectorId": 1, "idTag": "ANY", "meterStart": 0,
                "timestamp": "2030-05-01T12:00:00Z"}])
            await exchange(ws, [2, "m1", "MeterValues", {
                "connectorId": 1, "transactionId": start[2]["transactionId"], "meterValue": [
                    {"timestamp": "2030-05-01T12:00:00Z", "sampledValue": [{"value": "7"}]}]}])
            await exchange(ws, [2, "bad", "Heartbeat", {"x": 1}])   # a CALLERROR answer
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        with sqlite3.connect(path) as con:
            frames = con.execute("SELECT station_id, direction, raw FROM frames ORDER BY id"
                                 ).fetchall()
        if not store_frames:
            assert frames == []
            return
        assert [(s, d) for s, d, _ in frames] == [("CS-FRAMES", d) for d in ["in", "out"] * 3]
        assert '"StartTransaction"' in frames[0][2] and frames[1][2].startswith('[3,"s1"')
        assert frames[5][2].startswith('[4,"bad"')
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
