"""Round trips per second: chargesim stations against the chargesim hub, side by side with
the `ocpp` library's own ChargePoint on both ends, in one invocation.

Both pairs do the same work: N stations, each boots once and then sends Heartbeat back to
back for S seconds; the hub runs in its own process, the stations in this one.  Ours
validates every payload on both sides (request and response, compiled validators), as the
library does with jsonschema.

    python loadtests/bench_throughput.py --stations 50 --seconds 10
    python loadtests/bench_throughput.py --peer PATH/TO/ocpp_lib_peer.py

The peer baseline is the shared script `ocpp_lib_peer.py`; by default it is looked for in
../shared/bench/ beside the repository.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import time
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
    from simulator.station import Station, StationOptions
    station = Station(f"BENCH{n:05d}", url, StationOptions(call_timeout=60))
    await station.start()
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    session, count, end = station.session, 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        await session.call("Heartbeat", {})
        count += 1
    counts.append(count)
    await station.stop()


async def _stations(url: str, stations: int, seconds: float) -> int:
    counts: list[int] = []
    start_at = time.perf_counter() + 1.0 + stations * 0.002  # all booted, then measure together
    await asyncio.gather(*(_station(url, n, seconds, counts, start_at) for n in range(stations)))
    return sum(counts)


def _measure(hub_argv: list[str], port: int, stations, url: str, n: int, seconds: float) -> float:
    """Start a hub process, drive it with `stations(url, n, seconds)` here, return calls/s."""
    from simulator.transport.websocket import use_uvloop
    hub = subprocess.Popen(hub_argv, cwd=ROOT)
    try:
        wait_for_port(port)
        use_uvloop()
        calls = asyncio.run(stations(url, n, seconds))
    finally:
        hub.terminate()
        hub.wait(10)
        asyncio.set_event_loop_policy(None)
    return calls / seconds


def bench_ours(stations: int, seconds: float) -> float:
    port = free_port()
    return _measure([sys.executable, "-m", "hub_under_test", "--port", str(port), "--api-port", "0",
                     "--rate-limit", "0", "--log-level", "WARNING"], port, _stations,
                    f"ws://127.0.0.1:{port}/ocpp", stations, seconds)


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


def bench_raw(stations: int, seconds: float) -> float:
    """The ceiling: websockets + orjson with no OCPP logic and no validation at all."""
    port = free_port()
    return _measure([sys.executable, __file__, "--serve-raw", str(port)], port, _raw_stations,
                    f"ws://127.0.0.1:{port}", stations, seconds)


def bench_peer(peer: Path, stations: int, seconds: float) -> float:
    out = subprocess.run([sys.executable, str(peer), "pair", "--stations", str(stations),
                          "--seconds", str(seconds), "--port", str(free_port())],
                         capture_output=True, text=True, check=True).stdout
    match = re.search(r"rate=(\d+)", out)
    if not match:
        raise RuntimeError(f"peer baseline printed no rate:\n{out}")
    return float(match.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stations", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--peer", type=Path, default=Path(os.environ.get("OCPP_LIB_PEER", DEFAULT_PEER)),
                    help="the ocpp library baseline script (default: %(default)s)")
    ap.add_argument("--ceiling", action="store_true",
                    help="also measure raw websockets + orjson (no OCPP logic): the ceiling here")
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
    ours = bench_ours(a.stations, a.seconds)
    print(f"chargesim station <-> chargesim hub : {ours:8.0f} round trips/s", flush=True)
    peer = bench_peer(a.peer, a.stations, a.seconds)
    print(f"ocpp lib ChargePoint <-> ocpp lib  : {peer:8.0f} round trips/s", flush=True)
    print(f"ratio                               : {ours / peer:8.2f}x "
          f"({a.stations} stations, {a.seconds:g} s each, full validation on both sides)")
    if a.ceiling:
        raw = bench_raw(a.stations, a.seconds)
        print(f"ceiling: raw websockets + orjson    : {raw:8.0f} round trips/s "
              f"({raw / peer:.2f}x the library pair; no OCPP, no validation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
