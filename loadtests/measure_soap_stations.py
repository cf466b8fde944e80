"""OCPP 1.5 SOAP stations against the bundled hub's CentralSystemService: how long N take to
boot, what an idle one costs, and how fast the hub calls them back (run as a script).

    python loadtests/measure_soap_stations.py [N]

N stations (default 200) boot at once against an in-process hub with its SOAP endpoint, each
hosting its own ChargePointService on an ephemeral port; then the hub sends every station a
GetConfiguration through its command path, one after the other.  tracemalloc compares the
heap before and after the stations started (hub included, so an upper bound per station).
"""
from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import time
import tracemalloc

from hub_under_test.hub import Hub, HubConfig
from simulator.dialects import make_station


async def main(n: int) -> None:
    hub = Hub(HubConfig(port=0, api_port=0, soap_port=0, ping_interval=None))
    await hub.start()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    stations = [make_station(f"S15-{i:05d}", hub.soap_url, version="ocpp1.5", seed=i,
                             call_timeout=60) for i in range(n)]
    t0 = time.perf_counter()
    await asyncio.gather(*(s.start(timeout=120) for s in stations))
    boot_s = time.perf_counter() - t0
    await asyncio.sleep(1)
    gc.collect()
    after = tracemalloc.take_snapshot()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    tracemalloc.stop()
    latencies = []
    for st in stations:
        t = time.perf_counter()
        await hub.send(st.id, "GetConfiguration", {"key": ["HeartbeatInterval"]})
        latencies.append(time.perf_counter() - t)
    await asyncio.gather(*(s.stop() for s in stations))
    await hub.stop()
    latencies.sort()
    print(f"{n} OCPP 1.5 SOAP stations booted in {boot_s:.2f} s "
          f"({n / boot_s:.0f} boots/s, each BootNotification + 2 StatusNotifications)")
    print(f"heap per idle station (hub side included): {grown / n / 1024:.1f} KiB")
    print(f"hub -> station GetConfiguration: p50 {statistics.median(latencies) * 1000:.2f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.2f} ms over {n} calls")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
