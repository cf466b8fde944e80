"""Latency with thousands of connections open: the hub with the interpreter's collector
settings against the hub with ours (simulator/gc_tuning.py), side by side in one run.

Each run starts the bundled hub in its own process (`CHARGESIM_GC=default`, then the
project's setting), opens `--connections` WebSocket connections to it from this process at
`--ramp` connections a second, boots each, then sends Heartbeats spread evenly over the
connections at `--rate` a second in all for `--seconds`, timing every round trip.  Reported
per run: round trips, p50 / p99 / worst latency, and the hub's CPU per round trip (its own
process time from the last connection's boot to the end: the timed traffic only).  This
process is tuned in both runs (it holds as many connections as the hub), so what differs
is the hub alone.

    python loadtests/bench_gc.py --connections 8000 --rate 1000 --seconds 60
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_throughput import ROOT, _proc_cpu, free_port, wait_for_port  # noqa: E402

sys.path.insert(0, str(ROOT))
from simulator.gc_tuning import tune_for_many_connections  # noqa: E402


def _percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


async def _drive(url: str, connections: int, ramp: float, rate: float, seconds: float,
                 hub_cpu) -> tuple[list[float], int, float]:
    """(latencies in ms of the timed Heartbeats, connections that failed, the hub's CPU
    seconds over the timed window)."""
    latencies: list[float] = []
    failed = 0
    opened = asyncio.Event()
    up = 0
    period = connections / rate          # each connection's interval between Heartbeats
    start_at: list[float] = []
    cpu: list[float] = []

    async def one(n: int) -> None:
        nonlocal failed, up
        try:
            async with websockets.connect(f"{url}/GC{n:05d}", compression=None,
                                          ping_interval=None, subprotocols=["ocpp1.6"],
                                          open_timeout=120) as ws:
                await ws.send('[2,"b","BootNotification",{"chargePointVendor":"Bench",'
                              '"chargePointModel":"GC"}]')
                await ws.recv()
                up += 1
                if up + failed == connections:
                    all_open()
                await opened.wait()
                # spread the connections evenly over one period
                next_at = start_at[0] + period * n / connections
                end = start_at[0] + seconds
                i = 0
                while True:
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                    if time.perf_counter() >= end:
                        return
                    i += 1
                    sent = time.perf_counter()
                    await ws.send(f'[2,"{i}","Heartbeat",{{}}]')
                    await ws.recv()
                    latencies.append((time.perf_counter() - sent) * 1000)
                    next_at += period
        except Exception:
            failed += 1
            if up + failed == connections and not opened.is_set():
                all_open()

    def all_open() -> None:   # the last connection up (or down) starts the clock
        start_at.append(time.perf_counter() + 1.0)
        cpu.append(hub_cpu())
        opened.set()

    tasks = []
    for n in range(connections):
        tasks.append(asyncio.ensure_future(one(n)))
        await asyncio.sleep(1 / ramp)
    await asyncio.gather(*tasks)
    return latencies, failed, hub_cpu() - cpu[0]


def run_once(setting: str, a) -> dict:
    port = free_port()
    env = dict(os.environ, CHARGESIM_GC=setting)
    hub = subprocess.Popen([sys.executable, "-m", "hub_under_test", "--port", str(port),
                            "--api-port", "0", "--rate-limit", "0", "--log-level", "ERROR",
                            "--max-connections-per-source", "0", "--heartbeat-interval",
                            "3600"], cwd=ROOT, env=env)
    try:
        wait_for_port(port)
        import uvloop
        latencies, failed, cpu = uvloop.run(_drive(
            f"ws://127.0.0.1:{port}/ocpp", a.connections, a.ramp, a.rate, a.seconds,
            lambda: _proc_cpu(hub.pid)))
    finally:
        hub.terminate()
        hub.wait(30)
    latencies.sort()
    return {"setting": setting or "chargesim", "round_trips": len(latencies), "failed": failed,
            "p50": _percentile(latencies, 0.50), "p99": _percentile(latencies, 0.99),
            "worst": latencies[-1] if latencies else float("nan"),
            "hub_cpu_us": cpu / max(1, len(latencies)) * 1e6}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--connections", type=int, default=8000)
    p.add_argument("--ramp", type=float, default=400.0, help="connections opened a second")
    p.add_argument("--rate", type=float, default=1000.0, help="Heartbeats a second, in all")
    p.add_argument("--seconds", type=float, default=60.0)
    a = p.parse_args()
    tune_for_many_connections()   # this process holds as many connections as the hub
    for setting in ("default", ""):
        r = run_once(setting, a)
        print(f"hub collector {r['setting']:<9}: {r['round_trips']:>7} round trips, "
              f"{r['failed']} connections failed, latency p50 {r['p50']:.1f} ms, "
              f"p99 {r['p99']:.1f} ms, worst {r['worst']:.0f} ms; "
              f"hub CPU {r['hub_cpu_us']:.0f} µs per round trip", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
