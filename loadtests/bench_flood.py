"""Command latency for one station while another floods the hub, with and without the
per-station rate limit, in one invocation.

The hub runs in its own process; the flooding station in another (raw websockets: Heartbeat
CALLs sent flat out, never waiting for the answers); the quiet station and the operator
(POST /stations/QUIET/commands/Reset over the HTTP API, one after the other) in this one.
Three runs: no flood, flood with `--rate-limit 0` (off), flood with the hub's default limit.

    python loadtests/bench_flood.py --commands 200

Target (issue 9): the quiet station's command latency under 50 ms while the other floods.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "loadtests"))
from bench_throughput import free_port, wait_for_port  # noqa: E402

BOOT = {"chargePointVendor": "Bench", "chargePointModel": "Flood"}
RUN_SECONDS = 30   # per run at most: without the limit the quiet station may starve


async def _flood(url: str) -> None:
    """Flood until killed: Heartbeats without waiting, the answers read and dropped."""
    import websockets
    async with websockets.connect(f"{url}/FLOOD", subprotocols=["ocpp1.6"],
                                  compression=None, ping_interval=None) as ws:
        await ws.send(orjson.dumps([2, "boot", "BootNotification", BOOT]).decode())
        await ws.recv()

        async def drain():
            async for _ in ws:
                pass
        asyncio.get_running_loop().create_task(drain())
        n = 0
        while True:
            n += 1
            await ws.send(orjson.dumps([2, f"h{n}", "Heartbeat", {}]).decode())


async def _quiet(url: str, api: str, commands: int) -> list[float]:
    """Boot QUIET, answer the hub's Resets, send `commands` of them through the API."""
    import aiohttp
    import websockets
    async with websockets.connect(f"{url}/QUIET", subprotocols=["ocpp1.6"],
                                  compression=None) as ws:
        await ws.send(orjson.dumps([2, "boot", "BootNotification", BOOT]).decode())
        await ws.recv()

        async def answer():
            async for raw in ws:
                message = orjson.loads(raw)
                if message[0] == 2:
                    await ws.send(orjson.dumps([3, message[1], {"status": "Accepted"}]).decode())
        answering = asyncio.get_running_loop().create_task(answer())
        latencies, end = [], time.perf_counter() + RUN_SECONDS
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            for _ in range(commands):
                if time.perf_counter() > end:   # a starved run: report what was answered
                    break
                started = time.perf_counter()
                async with http.post(f"{api}/stations/QUIET/commands/Reset?timeout=20",
                                     data=b'{"type": "Soft"}') as resp:
                    body = await resp.json()
                latencies.append(time.perf_counter() - started)
                assert body["status"] == "ok", body
        answering.cancel()
        return latencies


def _run(rate_limit: str | None, flood: bool, commands: int) -> list[float]:
    port, api_port = free_port(), free_port()
    argv = [sys.executable, "-m", "hub_under_test", "--port", str(port), "--api-port",
            str(api_port), "--log-level", "ERROR"]
    if rate_limit is not None:
        argv += ["--rate-limit", rate_limit]
    hub = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL)
    flooder = None
    try:
        wait_for_port(port)
        wait_for_port(api_port)
        url = f"ws://127.0.0.1:{port}/ocpp"
        if flood:
            flooder = subprocess.Popen([sys.executable, __file__, "--flooder", url], cwd=ROOT,
                                       stderr=subprocess.DEVNULL)
            time.sleep(1.0)   # the flood is on before the first command
        return asyncio.run(_quiet(url, f"http://127.0.0.1:{api_port}", commands))
    finally:
        for proc in (flooder, hub):
            if proc is not None:
                proc.kill()
                proc.wait(10)


def _line(name: str, latencies: list[float]) -> str:
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return (f"| {name} | {len(ms)} | {statistics.median(ms):.1f} ms | {p99:.1f} ms | "
            f"{ms[-1]:.1f} ms |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--commands", type=int, default=200)
    p.add_argument("--flooder", metavar="URL", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.flooder:
        try:
            asyncio.run(_flood(a.flooder))
        except BaseException:
            pass
        return
    print("| quiet station's Reset via the API | answered | median | p99 | max |")
    print("|---|---|---|---|---|")
    print(_line("no flood", _run(None, False, a.commands)), flush=True)
    print(_line("flood, rate limit off (--rate-limit 0)", _run("0", True, a.commands)), flush=True)
    print(_line("flood, default rate limit", _run(None, True, a.commands)), flush=True)


if __name__ == "__main__":
    main()
