"""Latency with thousands of connections open: the hub with the interpreter's collector
settings against the hub with ours (simulator/gc_tuning.py), side by side in one run.

Each run starts the bundled hub in its own process (`CHARGESIM_GC=default`, then the
project's setting), opens `--connections` WebSocket connections to it from this process at
`--ramp` connections a second, boots each, then sends Heartbeats spread evenly over the
connections at `--rate` a second in all for `--seconds`, timing every round trip.  Reported
per run: round trips, p50 / p99 / worst latency, and the hub's CPU per round trip (its own
process time over the timed traffic only; the client is `bench_floor.bare_client`).  This
process is tuned in both runs (it holds as many connections as the hub), so what differs
is the hub alone.

    python loadtests/bench_gc.py --connections 8000 --rate 1000 --seconds 60
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_floor import add_traffic_arguments, bare_client, hub_argv  # noqa: E402
from bench_throughput import ROOT, free_port, wait_for_port  # noqa: E402

sys.path.insert(0, str(ROOT))
from simulator.gc_tuning import tune_for_many_connections  # noqa: E402


def run_once(setting: str, a) -> dict:
    port = free_port()
    env = dict(os.environ, CHARGESIM_GC=setting)
    hub = subprocess.Popen(hub_argv(port), cwd=ROOT, env=env)
    try:
        wait_for_port(port)
        import uvloop
        r = uvloop.run(bare_client(f"ws://127.0.0.1:{port}/ocpp", a, hub.pid))
    finally:
        hub.terminate()
        hub.wait(30)
    return {"setting": setting or "chargesim", "round_trips": r["round_trips"],
            "failed": r["failed"], "p50": r["p50_ms"], "p99": r["p99_ms"],
            "worst": r["worst_ms"], "hub_cpu_us": r["server_us"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_traffic_arguments(p)
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
