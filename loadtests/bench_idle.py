"""Memory and asyncio tasks per IDLE station: chargesim stations against the chargesim hub,
side by side with the `ocpp` library's ChargePoint against the library's hub, in one run.

Each side runs in a fresh process of its own (so one side's freed memory cannot flatter the
other), with its hub in yet another process.  A side connects a few warm-up stations first
(imports, compiled validators and caches are paid once, not per station), takes its "before"
figures, connects N more stations, lets them boot, waits until nothing moves, and takes its
"after" figures: resident memory (VmRSS) of the station process and of the hub process, and
the number of asyncio tasks in the station process.  The hub answers BootNotification with a
one-day heartbeat interval, so an idle station sends nothing but its WebSocket pings.

    python loadtests/bench_idle.py --stations 5000
    python loadtests/bench_idle.py --stations 200 --no-peer
    python loadtests/bench_idle.py --peer PATH/TO/ocpp_lib_peer.py

With --tracemalloc, a further batch of stations is connected with tracemalloc on, after the
RSS figures are taken: the Python objects each station holds, apart from the allocator's
slack and the C side (uvloop, sockets).  The last line printed is machine-readable:
`BENCH_IDLE {json}`.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_throughput import DEFAULT_PEER, ROOT, free_port, wait_for_port  # noqa: E402

HOST = "127.0.0.1"
MAX_SOCKETS = 19_000        # per process; the fd limit here is 20,000
IDLE_HEARTBEAT = 86_400     # s: the hub's BootNotification interval, so nothing is sent
SIDES = {"ours": "chargesim station / chargesim hub",
         "lib": "ocpp library ChargePoint / library hub"}


def rss_kib(pid: int | str = "self") -> int:
    """Resident set size of a process, from /proc/<pid>/status (Linux), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


# -- the two kinds of station ---------------------------------------------------------
async def _ours(url: str, n: int):
    from simulator.dialects import make_station
    from simulator.station import StationOptions
    station = make_station(f"IDLE{n:05d}", url, StationOptions(call_timeout=60))
    await station.start()
    return station.stop


async def _lib(url: str, n: int):
    """What a user of the library writes: a ChargePoint on a websockets connection, its
    reader task, one BootNotification, then nothing (the peer script's stations, idle)."""
    import websockets
    from ocpp.v16 import ChargePoint, call
    ws = await websockets.connect(f"{url}/PEER{n:05d}", subprotocols=["ocpp1.6"], compression=None)
    cp = ChargePoint(f"PEER{n:05d}", ws)
    reader = asyncio.create_task(cp.start())
    await cp.call(call.BootNotification(charge_point_model="Peer", charge_point_vendor="ocpp-lib"))

    async def stop():
        reader.cancel()
        await ws.close()
    return stop


STATIONS = {"ours": _ours, "lib": _lib}


def _hub_argv(side: str, port: int, peer: Path) -> tuple[list[str], str]:
    if side == "ours":
        return ([sys.executable, "-m", "hub_under_test", "--host", HOST, "--port", str(port),
                 "--api-port", "0", "--heartbeat-interval", str(IDLE_HEARTBEAT),
                 "--log-level", "WARNING"], f"ws://{HOST}:{port}/ocpp")
    # The library hub (interval 300 s) never calls a station, and its stations here run
    # no heartbeat loop, so they are as idle as ours.
    return [sys.executable, str(peer), "hub", "--port", str(port)], f"ws://{HOST}:{port}"


# -- one side, in its own process ----------------------------------------------------
async def _connect(make, url: str, first: int, count: int, concurrency: int, stops: list) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            stops.append(await make(url, n))
    await asyncio.gather(*(one(n) for n in range(first, first + count)))


async def _quiet(settle: float) -> None:
    """Let the last boots' follow-ups (StatusNotification …) finish, then collect."""
    await asyncio.sleep(settle)
    gc.collect()


async def _measure(side: str, url: str, hub_pid: int, a) -> dict:
    make, stops = STATIONS[side], []
    await _connect(make, url, 0, a.warmup, a.concurrency, stops)
    await _quiet(a.settle)
    rss0, hub0, tasks0 = rss_kib(), rss_kib(hub_pid), len(asyncio.all_tasks())
    began = time.perf_counter()
    await _connect(make, url, a.warmup, a.stations, a.concurrency, stops)
    connect_s = time.perf_counter() - began
    await _quiet(a.settle)
    rss1, hub1, tasks1 = rss_kib(), rss_kib(hub_pid), len(asyncio.all_tasks())
    n = a.stations
    result = {"side": side, "stations": n, "connect_s": round(connect_s, 2),
              "station_rss_kib": round((rss1 - rss0) / n, 2),
              "station_tasks": round((tasks1 - tasks0) / n, 2),
              "hub_rss_kib": round((hub1 - hub0) / n, 2),
              "station_rss_total_mib": round(rss1 / 1024, 1),
              "hub_rss_total_mib": round(hub1 / 1024, 1)}
    if a.tracemalloc:
        tracemalloc.start()
        snap0 = tracemalloc.take_snapshot()
        await _connect(make, url, a.warmup + n, a.tracemalloc, a.concurrency, stops)
        await _quiet(a.settle)
        snap1 = tracemalloc.take_snapshot()
        tracemalloc.stop()
        grown = [s for s in snap1.compare_to(snap0, "filename") if s.size_diff > 0]
        result["station_traced_kib"] = round(
            sum(s.size_diff for s in grown) / a.tracemalloc / 1024, 2)
        result["traced_top"] = [[_short(s.traceback[0].filename),
                                 round(s.size_diff / a.tracemalloc / 1024, 2)] for s in grown[:10]]
    # Bounded teardown: the hub is killed after this anyway.
    try:
        await asyncio.wait_for(asyncio.gather(*(stop() for stop in stops),
                                              return_exceptions=True), a.settle + 30)
    except asyncio.TimeoutError:
        pass
    return result


def _short(filename: str) -> str:
    """A source file as a reader finds it: the package path of an installed module,
    repository-relative for ours, package/module for the standard library."""
    if "site-packages/" in filename:
        return filename.rpartition("site-packages/")[2]
    path = Path(filename)
    if path.is_relative_to(ROOT):
        return path.relative_to(ROOT).as_posix()
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def run_side(side: str, a) -> dict:
    """Start the side's hub process, measure the side in this process, stop the hub."""
    if a.loop == "uvloop":
        from simulator.transport.websocket import use_uvloop
        if not use_uvloop():
            raise RuntimeError("uvloop is not installed (use --loop asyncio)")
    port = free_port()
    argv, url = _hub_argv(side, port, a.peer)
    hub = subprocess.Popen(argv, cwd=ROOT)
    try:
        wait_for_port(port)
        return asyncio.run(asyncio.wait_for(_measure(side, url, hub.pid, a), a.timeout))
    finally:
        hub.terminate()
        try:
            hub.wait(10)
        except subprocess.TimeoutExpired:
            hub.kill()
            hub.wait()
        asyncio.set_event_loop_policy(None)


def _side_in_child(side: str, argv: list[str], timeout: float) -> dict:
    out = subprocess.run([sys.executable, __file__, *argv, "--side", side], cwd=ROOT,
                         capture_output=True, text=True, timeout=timeout)
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("SIDE "):
            return json.loads(line[5:])
    raise RuntimeError(f"{side} side failed (exit {out.returncode}):\n{out.stdout}{out.stderr}")


# -- report --------------------------------------------------------------------------
def table(results: list[dict], target_kib: float) -> str:
    rows = [("", *(SIDES[r["side"]] for r in results)),
            ("stations (idle, after boot)", *(str(r["stations"]) for r in results)),
            ("station process, RSS KiB/station", *(f'{r["station_rss_kib"]:.1f}' for r in results)),
            ("station process, asyncio tasks/station", *(f'{r["station_tasks"]:.2f}' for r in results)),
            ("station process, traced KiB/station",
             *(f'{r["station_traced_kib"]:.1f}' if "station_traced_kib" in r else "-" for r in results)),
            ("hub process, RSS KiB/connection", *(f'{r["hub_rss_kib"]:.1f}' for r in results)),
            ("station / hub RSS at the end, MiB",
             *(f'{r["station_rss_total_mib"]:.0f} / {r["hub_rss_total_mib"]:.0f}' for r in results)),
            ("connect + boot time, s", *(f'{r["connect_s"]:.1f}' for r in results))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))) for row in rows]
    ours = next((r for r in results if r["side"] == "ours"), None)
    if ours is not None:
        verdict = lambda v: "met" if v <= target_kib else "NOT met"  # noqa: E731
        lines.append(f"target <= {target_kib:g} KiB: station {verdict(ours['station_rss_kib'])}, "
                     f"hub {verdict(ours['hub_rss_kib'])}")
    for r in results:
        if r.get("traced_top"):
            lines.append(f"where the traced KiB/station of {SIDES[r['side']]} go (top files):")
            lines += [f"  {kib:6.2f}  {name}" for name, kib in r["traced_top"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stations", type=int, default=5000, help="idle stations measured per side")
    ap.add_argument("--warmup", type=int, default=20, help="stations connected before 'before'")
    ap.add_argument("--tracemalloc", type=int, nargs="?", const=200, default=0, metavar="M",
                    help="also trace the Python objects of M more stations (default M: 200)")
    ap.add_argument("--concurrency", type=int, default=100, help="stations connecting at once")
    ap.add_argument("--settle", type=float, default=3.0, help="s to wait after the last boot")
    ap.add_argument("--timeout", type=float, default=600.0, help="s allowed per side")
    ap.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop",
                    help="event loop of the station processes (the hubs choose their own)")
    ap.add_argument("--peer", type=Path, default=Path(os.environ.get("OCPP_LIB_PEER", DEFAULT_PEER)),
                    help="the ocpp library baseline script (default: %(default)s)")
    ap.add_argument("--no-peer", action="store_true", help="measure our side only")
    ap.add_argument("--target", type=float, default=30.0, help="KiB per station (issue 7)")
    ap.add_argument("--side", choices=tuple(SIDES), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if min(a.stations, a.warmup + 1, a.concurrency, a.settle + 1, a.tracemalloc + 1) <= 0:
        ap.error("--stations and --concurrency must be positive; --warmup, --tracemalloc "
                 "and --settle not negative")
    sockets = a.warmup + a.stations + a.tracemalloc
    if sockets > MAX_SOCKETS:
        ap.error(f"{sockets} sockets per process (warm-up + stations + traced) is over "
                 f"{MAX_SOCKETS}: the fd limit here is 20,000; scale with processes instead")
    if a.side:  # one side, in this (fresh) process
        print("SIDE " + json.dumps(run_side(a.side, a)), flush=True)
        return 0
    sides = ["ours"] if a.no_peer else ["ours", "lib"]
    if "lib" in sides and not a.peer.exists():
        print(f"baseline script not found: {a.peer} (pass --peer, or --no-peer)", file=sys.stderr)
        return 2
    child_argv = ["--stations", str(a.stations), "--warmup", str(a.warmup),
                  "--tracemalloc", str(a.tracemalloc), "--concurrency", str(a.concurrency),
                  "--settle", str(a.settle), "--timeout", str(a.timeout), "--loop", a.loop,
                  "--peer", str(a.peer)]
    results = []
    for side in sides:
        print(f"measuring {SIDES[side]}: {a.stations} idle stations ...", flush=True)
        results.append(_side_in_child(side, child_argv, a.timeout + 60))
    print(table(results, a.target))
    print("BENCH_IDLE " + json.dumps({r["side"]: r for r in results}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
