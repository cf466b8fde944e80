"""Chaos run: SIGKILL the hub under load and start it again on the same database; every
station reconnects (jittered backoff) and every transaction message reaches the store once.

The bundled hub runs in a subprocess on a SQLite file (`python -m hub_under_test --port P
--api-port 0 --db FILE --accept-unknown-tags --rate-limit 0`).  --stations simulated
stations (the real engine) each start a transaction and meter at a short interval; the hub
is killed (SIGKILL: no shutdown, no flush) after --before seconds, started again after
--down seconds, and the stations deliver what their offline queues held.  After --after
seconds of charging every transaction is stopped and the store is read.

    python loadtests/chaos_hub.py --stations 1000

Prints messages sent (StartTransaction, periodic MeterValues, StopTransaction: from the
stations' events), acked (the queues empty at the end), lost (sent, not in the store) and
duplicated (stored twice).  Exits 1 unless lost and duplicated are 0 and every queue is empty.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from simulator.dialects import make_station  # noqa: E402
from simulator.station import StationOptions  # noqa: E402

PERIODIC = "Sample.Periodic"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_hub(port: int, db: str, extra: list[str]):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub_under_test", "--host", "127.0.0.1", "--port", str(port),
        "--api-port", "0", "--db", db, "--accept-unknown-tags", "--rate-limit", "0",
        "--log-level", "ERROR", *extra, cwd=str(ROOT),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    if not line:
        raise SystemExit(f"the hub did not start (exit {await proc.wait()})")
    asyncio.ensure_future(proc.stdout.read())   # keep its pipe drained
    return proc


async def station_run(sid: str, url: str, options: StationOptions, stop_now: asyncio.Event,
                      record: dict) -> None:
    sent = record[sid] = Counter()

    def on_event(e) -> None:
        if e.kind == "tx_started":
            sent["start"] += 1
        elif e.kind == "tx_stopped":
            sent["stop"] += 1
        elif e.kind == "meter" and e.data.get("context") == PERIODIC:
            sent["meter"] += 1
    st = make_station(sid, url, options)
    st.on_event = on_event
    await st.start(timeout=120)
    await st.plug_in(1)
    if await st.present_tag(1, f"TAG-{sid}") != "Started":
        raise SystemExit(f"{sid}: the transaction did not start")
    record[sid + "/st"] = st
    await stop_now.wait()
    await st.stop_transaction(1)
    await st.unplug(1)


def count_store(db: str, record: dict, stations: list[str]) -> dict:
    con = sqlite3.connect(db)
    out = Counter()
    for sid in stations:
        sent = record[sid]
        txs = con.execute("SELECT id, stop_time, closed_by FROM transactions WHERE station_id = ?",
                          (sid,)).fetchall()
        out["start_stored"] += len(txs)
        out["start_dup"] += max(0, len(txs) - sent["start"])
        out["start_lost"] += max(0, sent["start"] - len(txs))
        stopped = sum(1 for _, t, by in txs if t is not None and by == "station")
        out["stop_lost"] += max(0, sent["stop"] - stopped)
        rows = con.execute(
            "SELECT timestamp, measurand, phase, count(*) FROM meter_values WHERE station_id = ? "
            "AND context = ? GROUP BY transaction_id, timestamp, measurand, phase",
            (sid, PERIODIC)).fetchall()
        out["meter_dup"] += sum(n - 1 for *_, n in rows)
        readings = len({r[0] for r in rows})
        out["meter_lost"] += max(0, sent["meter"] - readings)
        out["meter_extra"] += max(0, readings - sent["meter"])
    con.close()
    return out


async def run(a) -> int:
    logging.basicConfig(level=logging.CRITICAL)
    tmp = tempfile.TemporaryDirectory(prefix="chargesim-chaos-hub-")
    db = str(Path(tmp.name) / "hub.db")
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ocpp"
    extra = ["--write-delay", str(a.write_delay)] if a.write_delay is not None else []
    options = StationOptions(interval_scale=a.interval_scale, boot_retry_min=0.05,
                             reconnect_min=a.reconnect_min, reconnect_max=a.reconnect_max,
                             call_timeout=10, config={"MeterValueSampleInterval": "10"})
    stations = [f"CH-{n:05d}" for n in range(a.stations)]
    record: dict = {}
    stop_now = asyncio.Event()
    started = time.monotonic()
    hub = await start_hub(port, db, extra)
    runs = [asyncio.ensure_future(station_run(s, url, options, stop_now, record))
            for s in stations]
    try:
        while sum(1 for k in record if k.endswith("/st")) < len(stations):
            if any(r.done() and r.exception() for r in runs):
                await asyncio.gather(*runs)
            await asyncio.sleep(0.1)
        print(f"{len(stations)} stations charging ({time.monotonic() - started:.1f} s)", flush=True)
        await asyncio.sleep(a.before)
        hub.send_signal(signal.SIGKILL)
        await hub.wait()
        print("hub killed (SIGKILL)", flush=True)
        await asyncio.sleep(a.down)
        hub = await start_hub(port, db, extra)
        print("hub restarted on the same database", flush=True)
        deadline = time.monotonic() + a.reconnect_timeout
        sts = [record[s + "/st"] for s in stations]
        while not all(st.view.online for st in sts) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        reconnected = sum(1 for st in sts if st.view.online)
        print(f"{reconnected}/{len(sts)} stations reconnected "
              f"({time.monotonic() - started:.1f} s)", flush=True)
        await asyncio.sleep(a.after)
        stop_now.set()
        await asyncio.gather(*runs)
        while any(st.offline.queue.entries for st in sts) and time.monotonic() < deadline + 30:
            await asyncio.sleep(0.1)
        left = sum(len(st.offline.queue.entries) for st in sts)
        await asyncio.gather(*(st.stop() for st in sts))
    finally:
        for r in runs:
            r.cancel()
        if hub.returncode is None:
            hub.send_signal(signal.SIGTERM)
            await hub.wait()
    c = count_store(db, record, stations)
    tmp.cleanup()
    totals = Counter()
    for s in stations:
        totals.update(record[s])
    sent = totals["start"] + totals["meter"] + totals["stop"]
    lost = c["start_lost"] + c["stop_lost"] + c["meter_lost"]
    dup = c["start_dup"] + c["meter_dup"] + c["meter_extra"]
    print(f"sent {sent} (start {totals['start']}, meter {totals['meter']}, stop "
          f"{totals['stop']}), acked {sent - left}, lost {lost}, duplicated {dup}, still queued "
          f"{left}; {reconnected}/{len(stations)} reconnected; transactions stored "
          f"{c['start_stored']} ({len(stations)} stations, {time.monotonic() - started:.0f} s)")
    return 1 if lost or dup or left or reconnected < len(stations) else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stations", type=int, default=50)
    p.add_argument("--before", type=float, default=1.0, help="seconds charging before the kill")
    p.add_argument("--down", type=float, default=1.0, help="seconds the hub is down")
    p.add_argument("--after", type=float, default=1.0, help="seconds charging after the restart")
    p.add_argument("--interval-scale", type=float, default=0.02,
                   help="meter interval 10 s times this (default 0.2 s)")
    p.add_argument("--reconnect-min", type=float, default=0.1)
    p.add_argument("--reconnect-max", type=float, default=2.0)
    p.add_argument("--reconnect-timeout", type=float, default=60.0)
    p.add_argument("--write-delay", type=float, default=None,
                   help="the hub's --write-delay (default: the hub's own)")
    a = p.parse_args(argv)
    if a.stations < 1:
        p.error("--stations must be at least 1")
    return asyncio.run(run(a))


if __name__ == "__main__":
    sys.exit(main())
