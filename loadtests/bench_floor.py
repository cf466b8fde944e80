"""The floor under our figures: what the WebSocket library and the kernel cost before any
OCPP work, against what our hub and our stations cost, at the same connections and rate,
in one run.

Three runs, one after another, each with `--connections` connections sending Heartbeats
spread evenly at `--rate` a second in all for `--seconds`:

1. a bare client (websockets, a process of its own) against a bare responder (websockets, its own
   process: parses the CALL and answers it, nothing else): the library's and the kernel's
   cost per round trip on each side;
2. the same bare client against the bundled hub: the hub's cost, next to the responder's;
3. our engine's stations (a process of their own, idle apart from their Heartbeats, at the
   interval the responder's BootNotification answer sets) against the bare responder: the
   simulator side's cost, next to the bare client's.

Per run: round trips, p50 / p99 of the bare client's timings, CPU per round trip of each
process over the timed window (its own process time), and memory per connection (the
growth of each process's resident set from before the connections to after them). Both
ends run the project's collector setting (simulator/gc_tuning.py), the bare ones as well.

    python loadtests/bench_floor.py --connections 8000 --rate 1000 --seconds 60
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_idle import rss_kib  # noqa: E402
from bench_throughput import ROOT, _proc_cpu, free_port, wait_for_port  # noqa: E402

sys.path.insert(0, str(ROOT))
from simulator.gc_tuning import tune_for_many_connections  # noqa: E402

NOW = "2026-01-01T00:00:00Z"


def _percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


# -- the bare responder (a child process: `bench_floor.py --respond PORT INTERVAL`) -------
def respond(port: int, interval: int) -> None:
    """Answer each CALL with the smallest valid 1.6 answer; count the Heartbeats.  A line
    on stdin prints the count (how the parent reads it without a second socket)."""
    tune_for_many_connections()
    heartbeats = boots = 0
    answers = {"BootNotification": {"status": "Accepted", "currentTime": NOW, "interval": interval},
               "Heartbeat": {"currentTime": NOW}}

    async def serve(ws) -> None:
        nonlocal heartbeats, boots
        async for message in ws:
            frame = json.loads(message)
            if frame[0] != 2:
                continue
            heartbeats += frame[2] == "Heartbeat"
            boots += frame[2] == "BootNotification"
            await ws.send(json.dumps([3, frame[1], answers.get(frame[2], {})]))

    def report() -> None:
        for _ in sys.stdin:
            print(heartbeats, boots, flush=True)

    async def main() -> None:
        threading.Thread(target=report, daemon=True).start()
        async with websockets.serve(serve, "127.0.0.1", port, compression=None,
                                    subprotocols=["ocpp1.6"], max_queue=16, backlog=4096):
            await asyncio.Future()

    import uvloop
    uvloop.run(main())


class Responder:
    def __init__(self, interval: float):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--respond", str(self.port), str(max(1, round(interval)))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        wait_for_port(self.port)
        self.url = f"ws://127.0.0.1:{self.port}/ocpp"

    def counts(self) -> tuple[int, int]:
        """(Heartbeats, BootNotifications) answered so far."""
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        heartbeats, boots = self.proc.stdout.readline().split()
        return int(heartbeats), int(boots)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def add_traffic_arguments(p: argparse.ArgumentParser) -> None:
    """The traffic options this script and bench_gc.py share."""
    p.add_argument("--connections", type=int, default=8000)
    p.add_argument("--ramp", type=float, default=400.0, help="connections opened a second")
    p.add_argument("--rate", type=float, default=1000.0, help="Heartbeats a second, in all")
    p.add_argument("--seconds", type=float, default=60.0)


def hub_argv(port: int) -> list[str]:
    """The bundled hub with no limit in the way of one client's many connections."""
    return [sys.executable, "-m", "hub_under_test", "--port", str(port), "--api-port", "0",
            "--rate-limit", "0", "--log-level", "ERROR", "--max-connections-per-source", "0",
            "--heartbeat-interval", "3600"]


# -- the bare client (a child process: `bench_floor.py --client URL PID ARGS`) ----------------------------------------------------
async def bare_client(url: str, a, server_pid: int) -> dict:
    """`a.connections` connections opened at `a.ramp` a second, each boots, then Heartbeats
    spread evenly over them at `a.rate` a second for `a.seconds`, every round trip timed;
    CPU per round trip of this process and of `server_pid` over that window."""
    latencies: list[float] = []
    failed = 0
    period = a.connections / a.rate
    opened = asyncio.Event()
    up = 0
    window: dict = {}
    before = {"client": rss_kib(), "server": rss_kib(server_pid)}

    def all_open() -> None:   # the last connection up (or down) starts the clock
        window["start"] = time.perf_counter() + 2.0
        window["rss"] = {"client": rss_kib(), "server": rss_kib(server_pid)}
        opened.set()

    async def one(n: int) -> None:
        nonlocal failed, up
        try:
            async with websockets.connect(f"{url}/FL{n:05d}", compression=None,
                                          ping_interval=None, subprotocols=["ocpp1.6"],
                                          max_queue=16, open_timeout=120) as ws:
                await ws.send('[2,"b","BootNotification",{"chargePointVendor":"Bench",'
                              '"chargePointModel":"Floor"}]')
                await ws.recv()
                up += 1
                if up + failed == a.connections:
                    all_open()
                await opened.wait()
                next_at = window["start"] + period * n / a.connections
                end = window["start"] + a.seconds
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
            if up + failed == a.connections and not opened.is_set():
                all_open()

    async def timed_window() -> tuple[float, float]:
        await opened.wait()
        await asyncio.sleep(max(0.0, window["start"] - time.perf_counter()))
        c0, s0 = time.process_time(), _proc_cpu(server_pid)
        await asyncio.sleep(a.seconds)
        return time.process_time() - c0, _proc_cpu(server_pid) - s0

    timer = asyncio.ensure_future(timed_window())
    tasks = []
    for n in range(a.connections):
        tasks.append(asyncio.ensure_future(one(n)))
        await asyncio.sleep(1 / a.ramp)
    await asyncio.gather(*tasks)
    client_cpu, server_cpu = await timer
    latencies.sort()
    n = max(1, len(latencies))
    up_conns = max(1, up)
    return {"round_trips": len(latencies), "failed": failed,
            "p50_ms": _percentile(latencies, 0.50), "p99_ms": _percentile(latencies, 0.99),
            "worst_ms": latencies[-1] if latencies else float("nan"),
            "client_us": client_cpu / n * 1e6, "server_us": server_cpu / n * 1e6,
            "client_kib": (window["rss"]["client"] - before["client"]) / up_conns,
            "server_kib": (window["rss"]["server"] - before["server"]) / up_conns}


def _client_in_child(url: str, server_pid: int, a) -> dict:
    """The bare client in a fresh process: its memory per connection is its own."""
    out = subprocess.run([sys.executable, __file__, "--client", url, str(server_pid),
                          json.dumps(vars(a))], capture_output=True, text=True, cwd=ROOT,
                         timeout=a.seconds + a.connections / a.ramp + 300)
    if out.returncode != 0:
        raise RuntimeError(f"bare client failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.splitlines()[-1])


def run_bare(a, server: str) -> dict:
    if server == "responder":
        responder = Responder(a.connections / a.rate)
        try:
            return _client_in_child(responder.url, responder.proc.pid, a)
        finally:
            responder.close()
    port = free_port()
    hub = subprocess.Popen(hub_argv(port), cwd=ROOT)
    try:
        wait_for_port(port)
        return _client_in_child(f"ws://127.0.0.1:{port}/ocpp", hub.pid, a)
    finally:
        hub.terminate()
        hub.wait(30)


# -- our stations (a child process: `bench_floor.py --stations URL N RAMP`) ----------------
async def our_stations(url: str, count: int, ramp: float) -> None:
    """Start `count` engine stations, print one line when all are up, then idle (their
    Heartbeats run on the interval the CSMS set) until stdin closes."""
    from simulator.dialects import make_station
    from simulator.station import StationOptions

    # no WebSocket pings: the bare client sends none either
    options = StationOptions(call_timeout=60, config={"WebSocketPingInterval": "0"})
    print(json.dumps({"ready": True}), flush=True)   # imported: the parent reads our RSS
    sys.stdin.readline()
    stations, starts = [], []
    for n in range(count):
        st = make_station(f"FS{n:05d}", url, options)
        stations.append(st)
        starts.append(asyncio.ensure_future(st.start(timeout=None)))
        await asyncio.sleep(1 / ramp)
    done = await asyncio.gather(*starts, return_exceptions=True)
    print(json.dumps({"up": sum(not isinstance(d, BaseException) for d in done)}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await asyncio.gather(*(st.stop() for st in stations), return_exceptions=True)


def run_stations(a) -> dict:
    interval = a.connections / a.rate
    responder = Responder(interval)
    server_before = rss_kib(responder.proc.pid)
    proc = subprocess.Popen([sys.executable, __file__, "--stations", responder.url,
                             str(a.connections), str(a.ramp)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        proc.stdout.readline()            # imported (not a cost per station)
        client_before = rss_kib(proc.pid)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        up = json.loads(proc.stdout.readline())["up"]
        time.sleep(interval + 2)          # every station is past its first Heartbeat
        rss = rss_kib(proc.pid), rss_kib(responder.proc.pid)
        (h0, b0), c0, s0 = responder.counts(), _proc_cpu(proc.pid), _proc_cpu(responder.proc.pid)
        time.sleep(a.seconds)
        (h1, b1), c1, s1 = responder.counts(), _proc_cpu(proc.pid), _proc_cpu(responder.proc.pid)
        n = max(1, h1 - h0)
        return {"round_trips": h1 - h0, "failed": a.connections - up, "boots": b1 - b0,
                "p50_ms": float("nan"), "p99_ms": float("nan"),
                "client_us": (c1 - c0) / n * 1e6, "server_us": (s1 - s0) / n * 1e6,
                "client_kib": (rss[0] - client_before) / max(1, up),
                "server_kib": (rss[1] - server_before) / max(1, up)}
    finally:
        proc.stdin.close()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        responder.close()


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--respond":
        respond(int(sys.argv[2]), int(sys.argv[3]))
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "--client":
        import uvloop
        tune_for_many_connections()
        a = argparse.Namespace(**json.loads(sys.argv[4]))
        print(json.dumps(uvloop.run(bare_client(sys.argv[2], a, int(sys.argv[3])))))
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "--stations":
        from simulator.transport.websocket import use_uvloop
        tune_for_many_connections()
        use_uvloop()
        asyncio.run(our_stations(sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_traffic_arguments(p)
    a = p.parse_args()
    tune_for_many_connections()
    runs = [("bare client -> bare responder", run_bare(a, "responder")),
            ("bare client -> chargesim hub", run_bare(a, "hub")),
            ("chargesim stations -> bare responder", run_stations(a))]
    print(f"{a.connections} connections, {a.rate:g} Heartbeats/s, {a.seconds:g} s timed, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end")
    print("| run | round trips | failed | p50 / p99 ms | client µs / rt | server µs / rt "
          "| client KiB / conn | server KiB / conn |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in runs:
        print(f"| {name} | {r['round_trips']:,} | {r['failed']} | {r['p50_ms']:.1f} / "
              f"{r['p99_ms']:.1f} | {r['client_us']:.0f} | {r['server_us']:.0f} | "
              f"{r['client_kib']:.1f} | {r['server_kib']:.1f} |")
    print("BENCH_FLOOR " + json.dumps({name: r for name, r in runs}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
