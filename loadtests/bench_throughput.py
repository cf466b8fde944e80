"""Round trips per second: chargesim stations against the chargesim hub, side by side with
the `ocpp` library's own ChargePoint on both ends, in one invocation.

Both pairs do the same work: N stations, each boots once and then sends back to back for S
seconds either Heartbeat (`--message heartbeat`, the default) or the charging mix
(`--message charging`): a StartTransaction, then MeterValues with ten sampled values and a
StatusNotification every tenth call, the same payloads as the peer script's.  With
`--message charging` our hub persists to a SQLite file (`--db`, default a temporary file)
and is started with `--accept-unknown-tags`; afterwards the rows in the file are counted,
to show that every sample was written.  The hub runs in its own process, the stations in
this one.  Ours
validates every payload on both sides (request and response, compiled validators), as the
library does with jsonschema.

    python loadtests/bench_throughput.py --stations 50 --seconds 10
    python loadtests/bench_throughput.py --message charging
    python loadtests/bench_throughput.py --peer PATH/TO/ocpp_lib_peer.py
    python loadtests/bench_throughput.py --hub-alone --message charging --stations 100
    python loadtests/bench_throughput.py --hub-alone --only ours --calls 400   # fixed work

`--hub-alone` measures the hubs without our stations: one client in this process, frames
encoded before the run, many connections, against our hub (its own process, a SQLite file
for the charging mix) and against the library's hub (`ocpp_lib_peer.py hub`).  Every figure
line is followed by the CPU time per round trip of each side (the processes' own
accounting): it moves far less than the rate when other jobs share the cores.

The peer baseline is the shared script `ocpp_lib_peer.py`; by default it is looked for in
../shared/bench/ beside the repository.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PEER = ROOT.parent / "shared" / "bench" / "ocpp_lib_peer.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on port {port} after {timeout}s")


async def _station(url: str, n: int, seconds: float, counts: list[int], start_at: float) -> None:
    from simulator.dialects import make_station
    from simulator.station import StationOptions
    station = make_station(f"BENCH{n:05d}", url, StationOptions(call_timeout=60))
    await station.start()
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    session, count, end = station.session, 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        await session.call("Heartbeat", {})
        count += 1
    counts.append(count)
    await station.stop()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _meter_value(wh: float) -> list[dict]:
    """Ten sampled values, as the peer script sends them."""
    sv = [{"value": f"{wh:.1f}", "measurand": "Energy.Active.Import.Register", "unit": "Wh",
           "context": "Sample.Periodic"},
          {"value": "11040.0", "measurand": "Power.Active.Import", "unit": "W"},
          {"value": "67", "measurand": "SoC", "unit": "Percent", "location": "EV"}]
    for ph in ("L1", "L2", "L3"):
        sv.append({"value": "16.0", "measurand": "Current.Import", "unit": "A", "phase": ph})
        sv.append({"value": "230.0", "measurand": "Voltage", "unit": "V", "phase": f"{ph}-N"})
    sv.append({"value": "50.0", "measurand": "Frequency"})
    return [{"timestamp": _now(), "sampledValue": sv}]


async def _charging_station(url: str, n: int, seconds: float, counts: list[int],
                            start_at: float) -> None:
    from simulator.dialects import make_station
    station = make_station(f"BENCH{n:05d}", url, call_timeout=60)
    await station.start()
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    session, count, end = station.session, 0, time.perf_counter() + seconds
    reply = await session.call("StartTransaction", {"connectorId": 1, "idTag": f"TAG{n:05d}",
                                                    "meterStart": 0, "timestamp": _now()})
    tx, wh = reply["transactionId"], 0.0
    while time.perf_counter() < end:
        if count % 10 == 9:
            await session.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                                      "status": "Charging"})
        else:
            wh += 3.1
            await session.call("MeterValues", {"connectorId": 1, "transactionId": tx,
                                               "meterValue": _meter_value(wh)})
        count += 1
    counts.append(count)
    await station.stop()


async def _stations(url: str, stations: int, seconds: float, one=_station) -> int:
    counts: list[int] = []
    start_at = time.perf_counter() + 1.0 + stations * 0.002  # all booted, then measure together
    await asyncio.gather(*(one(url, n, seconds, counts, start_at) for n in range(stations)))
    return sum(counts)


async def _charging_stations(url: str, stations: int, seconds: float) -> int:
    return await _stations(url, stations, seconds, _charging_station)


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


# CPU seconds per round trip of the last _measure / bench_peer: {"hub": …, "stations": …}.
# Unlike round trips per second, these hardly move when other processes take the cores.
LAST_CPU: dict[str, float] = {}


def _proc_cpu(pid: int) -> float:
    """A live process's own CPU seconds (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _measure(hub_argv: list[str], port: int, stations, url: str, n: int, seconds: float) -> float:
    """Start a hub process, drive it with `stations(url, n, seconds)` here, return calls/s."""
    from simulator.transport.websocket import use_uvloop
    hub = subprocess.Popen(hub_argv, cwd=ROOT)
    children = _cpu(resource.RUSAGE_CHILDREN)
    calls = 0
    try:
        wait_for_port(port)
        use_uvloop()
        mine, running = _cpu(resource.RUSAGE_SELF), _proc_cpu(hub.pid)
        calls = asyncio.run(stations(url, n, seconds))
        mine, running = _cpu(resource.RUSAGE_SELF) - mine, _proc_cpu(hub.pid) - running
    finally:
        hub.terminate()
        hub.wait(10)
        asyncio.set_event_loop_policy(None)
    # the hub's whole life (start-up included: a slight overstatement of its cost per call)
    LAST_CPU.clear()
    LAST_CPU.update(hub=(_cpu(resource.RUSAGE_CHILDREN) - children) / max(calls, 1),
                    hub_running=running / max(calls, 1), stations=mine / max(calls, 1))
    return calls / seconds


def bench_ours(stations: int, seconds: float) -> float:
    port = free_port()
    return _measure([sys.executable, "-m", "hub_under_test", "--port", str(port), "--api-port", "0",
                     "--rate-limit", "0", "--log-level", "WARNING"], port, _stations,
                    f"ws://127.0.0.1:{port}/ocpp", stations, seconds)


# extra options for our hub (--store-frames adds "--store-frames")
HUB_EXTRA: list[str] = []


def bench_ours_charging(stations: int, seconds: float, db: str, write_delay: float | None = None
                        ) -> tuple[float, int]:
    """The charging mix against our hub persisting to `db`: (calls/s, meter rows stored)."""
    port = free_port()
    delay = ([] if write_delay is None else ["--write-delay", str(write_delay)]) + HUB_EXTRA
    rate = _measure([sys.executable, "-m", "hub_under_test", "--port", str(port), "--api-port",
                     "0", "--rate-limit", "0", "--log-level", "WARNING", "--db", db, "--accept-unknown-tags", *delay],
                    port, _charging_stations, f"ws://127.0.0.1:{port}/ocpp", stations, seconds)
    # the hub has stopped (SIGTERM): everything is written
    if db.startswith("postgresql://"):
        import psycopg
        with psycopg.connect(db) as con:
            rows = con.execute("SELECT count(*) FROM meter_values").fetchone()[0]
    else:
        with sqlite3.connect(db) as con:
            rows = con.execute("SELECT count(*) FROM meter_values").fetchone()[0]
    return rate, rows


def bench_ours_postgres(stations: int, seconds: float, url: str) -> tuple[float, int]:
    """The charging mix with the hub on PostgreSQL, in a schema of its own (dropped after)."""
    import psycopg
    schema = f"chargesim_bench_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in url else "?"
        return bench_ours_charging(stations, seconds, f"{url}{sep}options=-csearch_path%3D{schema}")
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


async def _raw_hub(port: int) -> None:
    import orjson
    import websockets

    async def echo(ws):
        async for message in ws:
            frame = orjson.loads(message)
            await ws.send(orjson.dumps([3, frame[1], {"currentTime": "2024-01-01T00:00:00Z"}]).decode())
    async with websockets.serve(echo, "127.0.0.1", port, compression=None, subprotocols=["ocpp1.6"]):
        await asyncio.Future()


async def _raw_stations(url: str, stations: int, seconds: float) -> int:
    import orjson
    import websockets

    async def one(n: int) -> int:
        async with websockets.connect(f"{url}/RAW{n}", compression=None, subprotocols=["ocpp1.6"]) as ws:
            count, end = 0, time.perf_counter() + seconds
            while time.perf_counter() < end:
                await ws.send(orjson.dumps([2, str(count), "Heartbeat", {}]).decode())
                orjson.loads(await ws.recv())
                count += 1
            return count
    return sum(await asyncio.gather(*(one(n) for n in range(stations))))


async def _fast_client(url: str, connections: int, seconds: float, message: str,
                       calls: int | None = None) -> int:
    """The hub alone: many connections, frames encoded before the run, replies only checked
    to be the CALLRESULT of the CALL sent (no parsing, no validation on this side)."""
    import orjson
    import websockets
    start_at = time.perf_counter() + 1.0 + connections * 0.002

    async def one(n: int) -> int:
        async with websockets.connect(f"{url}/FAST{n:05d}", compression=None, ping_interval=None,
                                      subprotocols=["ocpp1.6"], open_timeout=60) as ws:
            await ws.send(orjson.dumps([2, "b", "BootNotification", {
                "chargePointVendor": "Bench", "chargePointModel": "Fast"}]).decode())
            await ws.recv()
            if message == "charging":
                await ws.send(orjson.dumps([2, "s", "StartTransaction", {
                    "connectorId": 1, "idTag": f"TAG{n:05d}", "meterStart": 0,
                    "timestamp": _now()}]).decode())
                tx = orjson.loads(await ws.recv())[2]["transactionId"]
                # each reading its own timestamp: the hub stores a repeated one only once
                meter = _meter_value(3.1)
                meter[0]["timestamp"] = "@TS@"
                tails = [orjson.dumps(["MeterValues", {"connectorId": 1, "transactionId": tx,
                                                       "meterValue": meter}]).decode()
                         ] * 9 + [orjson.dumps(["StatusNotification", {
                             "connectorId": 1, "errorCode": "NoError", "status": "Charging"}]
                                               ).decode()]
            else:
                tails = [orjson.dumps(["Heartbeat", {}]).decode()]
            tails = [t[1:].split("@TS@") for t in tails]   # '"Action",{…}]' around the time
            base = time.time()
            await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
            count, end, k = 0, time.perf_counter() + seconds, len(tails)
            while (count < calls) if calls else (time.perf_counter() < end):
                uid = str(count)
                tail = tails[count % k]
                if len(tail) == 2:
                    tail = (tail[0], datetime.fromtimestamp(base + count / 1000, timezone.utc)
                            .isoformat(timespec="milliseconds").replace("+00:00", "Z"), tail[1])
                await ws.send('[2,"' + uid + '",' + "".join(tail))
                reply = await ws.recv()
                if not reply.startswith('[3,"' + uid + '"'):
                    raise RuntimeError(f"FAST{n:05d}: not the CALLRESULT of {uid}: {reply[:200]}")
                count += 1
            return count
    return sum(await asyncio.gather(*(one(n) for n in range(connections))))


def bench_hub_alone(peer: Path, connections: int, seconds: float, message: str, db: str,
                    calls: int | None = None, only: str | None = None
                    ) -> tuple[float, dict, float, dict]:
    """(our hub's calls/s, its CPU, the library hub's calls/s, its CPU), one fast client.
    `calls`: that many per connection instead of `seconds`; `only`: "ours" or "lib"."""
    def client(url: str, n: int, secs: float) -> "asyncio.Future":
        return _fast_client(url, n, secs, message, calls)
    if only == "lib":
        port = free_port()
        lib = _measure([sys.executable, str(peer), "hub", "--port", str(port)], port, client,
                       f"ws://127.0.0.1:{port}", connections, seconds)
        return 0.0, {}, lib, dict(LAST_CPU)
    port = free_port()
    store = ["--db", db] if message == "charging" else []
    ours = _measure([sys.executable, "-m", "hub_under_test", "--port", str(port), "--api-port",
                     "0", "--rate-limit", "0", "--log-level", "WARNING", "--accept-unknown-tags",
                     *store, *HUB_EXTRA], port, client, f"ws://127.0.0.1:{port}/ocpp", connections, seconds)
    ours_cpu = dict(LAST_CPU)
    if only == "ours":
        return ours, ours_cpu, 0.0, {}
    port = free_port()
    lib = _measure([sys.executable, str(peer), "hub", "--port", str(port)], port, client,
                   f"ws://127.0.0.1:{port}", connections, seconds)
    return ours, ours_cpu, lib, dict(LAST_CPU)


def hub_alone(a) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        db = a.db or str(Path(tmp) / "alone.db")
        ours, ours_cpu, lib, lib_cpu = bench_hub_alone(a.peer, a.stations, a.seconds, a.message,
                                                       db, a.calls, a.only)
        stored = ""
        if a.message == "charging" and a.only != "lib":
            with sqlite3.connect(db) as con:
                rows = con.execute("SELECT count(*) FROM meter_values").fetchone()[0]
                stored = f"; SQLite file, {rows} meter rows stored"
                if a.store_frames:
                    frames = con.execute("SELECT count(*) FROM frames").fetchone()[0]
                    stored += f" and {frames} frames"
    if a.only:   # with --calls: a fixed amount of work, to time from outside
        rate = ours if a.only == "ours" else lib
        work = f"{a.stations} x {a.calls} calls" if a.calls else f"{rate:.0f} round trips/s"
        print(f"fast client -> {'our hub' if a.only == 'ours' else 'the library hub'}: {work} "
              f"({a.message}{stored})")
        return 0
    print(f"fast client -> chargesim hub        : {ours:8.0f} round trips/s ({a.message}{stored})")
    print(f"fast client -> ocpp lib hub         : {lib:8.0f} round trips/s ({a.message}, in memory)")
    print(f"ratio                               : {ours / lib:8.2f}x "
          f"({a.stations} connections, {a.seconds:g} s, pre-encoded frames)")
    h, lh = ours_cpu["hub_running"], lib_cpu["hub_running"]   # start-up left out, both
    print(f"hub CPU per round trip              : {h * 1e6:8.0f} µs ours, {lh * 1e6:.0f} µs "
          f"library hub: {lh / h if h else 0:.2f}x less CPU (client: {ours_cpu['stations'] * 1e6:.0f}"
          f" / {lib_cpu['stations'] * 1e6:.0f} µs)")
    return 0


def bench_raw(stations: int, seconds: float) -> float:
    """The ceiling: websockets + orjson with no OCPP logic and no validation at all."""
    port = free_port()
    return _measure([sys.executable, __file__, "--serve-raw", str(port)], port, _raw_stations,
                    f"ws://127.0.0.1:{port}", stations, seconds)


def bench_peer(peer: Path, stations: int, seconds: float, message: str = "heartbeat") -> float:
    children = _cpu(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, str(peer), "pair", "--stations", str(stations),
                          "--seconds", str(seconds), "--port", str(free_port()),
                          "--message", message],
                         capture_output=True, text=True, check=True).stdout
    match = re.search(r"rate=(\d+)", out)
    if not match:
        raise RuntimeError(f"peer baseline printed no rate:\n{out}")
    rate = float(match.group(1))
    LAST_CPU.clear()   # both sides together: its hub is a child of the script, reaped by it
    LAST_CPU.update(pair=(_cpu(resource.RUSAGE_CHILDREN) - children) / max(rate * seconds, 1))
    return rate


def _cpu_line(ours: dict, peer: dict) -> str:
    total = ours.get("hub", 0) + ours.get("stations", 0)
    pair = peer.get("pair", 0)
    return (f"CPU per round trip (both sides)     : {total * 1e6:8.0f} µs ours (hub "
            f"{ours.get('hub', 0) * 1e6:.0f} + stations {ours.get('stations', 0) * 1e6:.0f}), "
            f"{pair * 1e6:.0f} µs library pair: {pair / total if total else 0:.2f}x less CPU")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stations", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--peer", type=Path, default=Path(os.environ.get("OCPP_LIB_PEER", DEFAULT_PEER)),
                    help="the ocpp library baseline script (default: %(default)s)")
    ap.add_argument("--ceiling", action="store_true",
                    help="also measure raw websockets + orjson (no OCPP logic): the ceiling here")
    ap.add_argument("--message", choices=("heartbeat", "charging"), default="heartbeat",
                    help="the traffic: Heartbeat, or the charging mix (MeterValues with ten "
                         "sampled values, a StatusNotification every tenth call)")
    ap.add_argument("--db", default=None,
                    help="charging mix: the hub's SQLite file (default: a temporary file)")
    ap.add_argument("--write-through", action="store_true",
                    help="charging mix: also measure our hub committing every MeterValues")
    ap.add_argument("--postgres", metavar="URL", default=None,
                    help="charging mix: also measure our hub on this PostgreSQL database")
    ap.add_argument("--hub-alone", action="store_true",
                    help="the hubs alone: one fast client (pre-encoded frames, --stations "
                         "connections) against our hub and the library's hub "
                         "(`ocpp_lib_peer.py hub`), on --message's traffic")
    ap.add_argument("--calls", type=int, default=None, metavar="N",
                    help="--hub-alone with --only: N calls per connection instead of "
                         "--seconds, a fixed amount of work to time from outside")
    ap.add_argument("--only", choices=("ours", "lib"), default=None,
                    help="--hub-alone: run against one hub only")
    ap.add_argument("--store-frames", action="store_true",
                    help="our hub also persists every frame (its --store-frames)")
    ap.add_argument("--serve-raw", type=int, metavar="PORT", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve_raw:  # the ceiling's hub process
        from simulator.transport.websocket import use_uvloop
        use_uvloop()
        asyncio.run(_raw_hub(a.serve_raw))
        return 0
    if not a.peer.exists():
        print(f"baseline script not found: {a.peer} (pass --peer)", file=sys.stderr)
        return 2
    if a.store_frames:
        HUB_EXTRA.append("--store-frames")
    if a.calls and not (a.hub_alone and a.only):
        ap.error("--calls needs --hub-alone and --only")
    if a.hub_alone:
        return hub_alone(a)
    if a.message == "charging":
        return charging(a)
    ours = bench_ours(a.stations, a.seconds)
    ours_cpu = dict(LAST_CPU)
    print(f"chargesim station <-> chargesim hub : {ours:8.0f} round trips/s", flush=True)
    peer = bench_peer(a.peer, a.stations, a.seconds)
    print(f"ocpp lib ChargePoint <-> ocpp lib  : {peer:8.0f} round trips/s", flush=True)
    print(f"ratio                               : {ours / peer:8.2f}x "
          f"({a.stations} stations, {a.seconds:g} s each, full validation on both sides)")
    print(_cpu_line(ours_cpu, LAST_CPU))
    if a.ceiling:
        raw = bench_raw(a.stations, a.seconds)
        print(f"ceiling: raw websockets + orjson    : {raw:8.0f} round trips/s "
              f"({raw / peer:.2f}x the library pair; no OCPP, no validation)")
    return 0


def charging(a) -> int:
    def fresh(tmp: str, name: str) -> str:
        db = a.db or str(Path(tmp) / name)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        return db

    with tempfile.TemporaryDirectory() as tmp:
        if a.write_through:
            slow, rows = bench_ours_charging(a.stations, a.seconds, fresh(tmp, "through.db"), 0)
            print(f"chargesim hub, write-through        : {slow:8.0f} round trips/s "
                  f"(a COMMIT per MeterValues; {rows} meter rows stored)", flush=True)
        ours, rows = bench_ours_charging(a.stations, a.seconds, fresh(tmp, "behind.db"))
        ours_cpu = dict(LAST_CPU)
    print(f"chargesim station <-> chargesim hub : {ours:8.0f} round trips/s "
          f"(charging mix, SQLite file, write-behind; {rows} meter rows stored)", flush=True)
    if a.postgres:
        pg, pg_rows = bench_ours_postgres(a.stations, a.seconds, a.postgres)
        print(f"chargesim hub on PostgreSQL         : {pg:8.0f} round trips/s "
              f"(write-behind; {pg_rows} meter rows stored)", flush=True)
    peer = bench_peer(a.peer, a.stations, a.seconds, "charging")
    print(f"ocpp lib ChargePoint <-> ocpp lib  : {peer:8.0f} round trips/s (charging mix, "
          "in memory)", flush=True)
    print(f"ratio                               : {ours / peer:8.2f}x "
          f"({a.stations} stations, {a.seconds:g} s each, full validation on both sides)")
    print(_cpu_line(ours_cpu, LAST_CPU))
    return 0


if __name__ == "__main__":
    sys.exit(main())
