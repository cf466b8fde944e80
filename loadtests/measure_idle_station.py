"""Memory and tasks per idle station, measured in-process (run as a script, not a test).

    python loadtests/measure_idle_station.py [N] [VERSION]   (VERSION: ocpp1.6 or ocpp2.0.1)

N stations (default 2000) boot against a CSMS stub on the in-memory transport that answers
synchronously (no task, almost no memory of its own), then sit idle; tracemalloc compares
the heap before and after, so the figure is the station, its dialect and its RPC session.
"""
from __future__ import annotations

import asyncio
import gc
import sys
import tracemalloc

import orjson

from simulator.transport import memory, websocket

ANSWERS = {"BootNotification": {"status": "Accepted", "interval": 3600,
                                "currentTime": "2026-01-01T00:00:00Z"},
           "Heartbeat": {"currentTime": "2026-01-01T00:00:00Z"}}


class StubCsms:
    """Stands in for the CSMS end's inbox: answers each CALL at once."""

    def __init__(self, station_end: memory.MemoryConnection):
        self.end = station_end

    def put_nowait(self, raw) -> None:
        if raw is None:
            return
        msg = orjson.loads(raw)
        if msg[0] == 2:
            self.end._inbox.put_nowait(orjson.dumps([3, msg[1], ANSWERS.get(msg[2], {})]).decode())


async def connect(url, **kwargs):
    station, csms = memory.MemoryConnection(), memory.MemoryConnection()
    csms._inbox = StubCsms(station)
    station.peer, csms.peer = csms, station
    return station


VERSION = sys.argv[2] if len(sys.argv) > 2 else "ocpp1.6"


def new_station(i: int):
    try:
        from simulator.dialects import make_station
    except ImportError:   # before the dialect was handed in
        from simulator.station import Station as make_station
    if VERSION != "ocpp1.6":
        return make_station(f"IDLE{i:05d}", "ws://stub/ocpp", version=VERSION)
    return make_station(f"IDLE{i:05d}", "ws://stub/ocpp")


async def main(n: int) -> None:
    websocket.connect = connect
    stations = [new_station(0)]
    await stations[0].start(timeout=5)        # imports and caches warmed up
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    tasks_before = len(asyncio.all_tasks())
    for i in range(1, n + 1):
        st = new_station(i)
        await st.start(timeout=5)
        stations.append(st)
    await asyncio.sleep(0.5)                  # settle: every StatusNotification answered
    gc.collect()
    after = tracemalloc.take_snapshot()
    tasks = len(asyncio.all_tasks()) - tasks_before
    total = sum(s.size_diff for s in after.compare_to(before, "filename"))
    print(f"{n} idle stations: {total / n / 1024:.1f} KiB and {tasks / n:.2f} tasks each")
    for stat in after.compare_to(before, "filename")[:8]:
        print(f"  {stat.size_diff / n / 1024:6.2f} KiB  {stat.traceback[0].filename}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
