"""The charging mix against the hub as one process and as `--workers N` processes.

N stations (chargesim's engine, in this process) send bench_throughput.py's charging mix —
a StartTransaction, then MeterValues with ten sampled values and a StatusNotification every
tenth call — for S seconds against `python -m hub_under_test` persisting to a SQLite file,
once as a single process and once per worker count given.  With workers the hub needs
RabbitMQ (`--amqp`, default the local broker); the script prints how the stations spread
over the workers (GET /stations) and the meter rows stored.

    python loadtests/bench_workers.py --stations 50 --seconds 10 --workers 2
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_throughput import ROOT, _charging_station, _stations, free_port  # noqa: E402


async def _charging_stations(url: str, stations: int, seconds: float) -> int:
    return await _stations(url, stations, seconds, _charging_station)


async def _command_latency(api: str, url: str, n: int) -> list[float]:
    """Seconds for each of `n` GetConfiguration requests sent one after the other through
    the HTTP command API to one idle station (routed to its worker with --workers)."""
    import aiohttp
    from simulator.dialects import make_station
    from simulator.station import StationOptions
    station = make_station("CMD00001", url, StationOptions(call_timeout=60))
    await station.start()
    times = []
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):   # until the hub lists it (workers: its worker announced it)
                async with http.get(f"{api}/stations") as r:
                    if any(s["id"] == "CMD00001" for s in await r.json()):
                        break
                await asyncio.sleep(0.05)
            for _ in range(n):
                started = time.perf_counter()
                async with http.post(f"{api}/stations/CMD00001/commands/GetConfiguration",
                                     json={"key": ["HeartbeatInterval"]}) as r:
                    await r.read()
                    assert r.status == 200, r.status
                times.append(time.perf_counter() - started)
    finally:
        await station.stop()
    return times


def run(stations: int, seconds: float, workers: int, amqp: str, commands: int = 0
        ) -> tuple[float, int, dict, list[float]]:
    """(calls/s, meter rows stored, stations per worker, command latencies)."""
    from simulator.transport.websocket import use_uvloop
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "hub.db")
        port = free_port()
        argv = [sys.executable, "-m", "hub_under_test", "--port", str(port), "--api-port", "0",
                "--rate-limit", "0", "--log-level", "WARNING", "--db", db,
                "--accept-unknown-tags", "--allow-concurrent-tags"]
        if workers > 1:
            argv += ["--workers", str(workers), "--amqp", amqp,
                     "--amqp-exchange", f"chargesim.bench.{port}"]
        hub = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        spread: dict = {}
        try:
            line = hub.stdout.readline()   # the start-up line: it serves
            if not line.startswith("chargesim hub:"):
                raise RuntimeError(f"the hub did not start: {line!r}")
            api = line.split()[5]
            use_uvloop()

            async def drive() -> int:
                task = asyncio.create_task(_charging_stations(f"ws://127.0.0.1:{port}/ocpp",
                                                              stations, seconds))
                await asyncio.sleep(1.0 + stations * 0.002 + seconds / 2)   # mid-run
                if workers > 1:
                    with urllib.request.urlopen(f"{api}/stations") as r:
                        spread.update(Counter(s["worker"] for s in json.load(r)))
                calls = await task
                if commands:
                    latencies.extend(await _command_latency(
                        api, f"ws://127.0.0.1:{port}/ocpp", commands))
                return calls

            latencies: list[float] = []
            calls = asyncio.run(drive())
        finally:
            hub.terminate()
            hub.wait(30)
            asyncio.set_event_loop_policy(None)
        with sqlite3.connect(db) as con:
            rows = con.execute("SELECT count(*) FROM meter_values").fetchone()[0]
    return calls / seconds, rows, spread, latencies


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stations", type=int, default=50, help="stations (default 50)")
    p.add_argument("--seconds", type=float, default=10, help="seconds measured (default 10)")
    p.add_argument("--workers", type=int, action="append", default=None,
                   help="worker counts to measure besides one process (repeatable; default 2)")
    p.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/",
                   help="RabbitMQ for the workers (default the local broker)")
    p.add_argument("--commands", type=int, default=200,
                   help="afterwards, GetConfiguration requests through the HTTP API to one "
                        "idle station, one at a time, for their latency (default 200; 0: none)")
    a = p.parse_args()
    for workers in [1, *(a.workers or [2])]:
        rate, rows, spread, latencies = run(a.stations, a.seconds, workers, a.amqp, a.commands)
        label = "one process" if workers == 1 else f"--workers {workers}"
        where = f"  stations per worker {dict(sorted(spread.items()))}" if spread else ""
        print(f"{label:>12}: {rate:8.0f} round trips/s, {rows} meter rows stored{where}",
              flush=True)
        if latencies:
            ms = sorted(t * 1000 for t in latencies)
            print(f"{'':>12}  command via the API: median {ms[len(ms) // 2]:.1f} ms, "
                  f"p99 {ms[min(len(ms) - 1, int(len(ms) * 0.99))]:.1f} ms, "
                  f"max {ms[-1]:.1f} ms ({len(ms)} commands)", flush=True)


if __name__ == "__main__":
    main()
