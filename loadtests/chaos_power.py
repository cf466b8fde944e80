"""Chaos run: power-cycle stations mid-transaction; the queued transaction messages must
survive (the offline journal) and reach the hub once each, in order.

--stations simulated stations (the real engine, with a state_dir) connect to a hub in this
process.  Each cycle, every station starts a transaction, loses the network, meters for a
while (its MeterValues wait in the offline journal), loses power, and comes back as a new
station object on the same state_dir (a process restart): it then delivers the queued
messages and the StopTransaction (PowerLoss).  After --cycles cycles the hub's store is
compared with what the stations' journals held at the power cut.

    python loadtests/chaos_power.py --stations 20 --cycles 3

Prints the messages queued (sent), delivered (acked: the journal empty again), lost (a
queued meter sample the hub never stored), duplicated (stored twice) and out of order
(stored before an earlier one of the same transaction).  Exits 1 if any is not zero.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from hub_under_test import Hub, HubConfig  # noqa: E402
from simulator.dialects import make_station  # noqa: E402
from simulator.station import StationOptions  # noqa: E402

ENERGY = "Energy.Active.Import.Register"
FAST = dict(interval_scale=0.01, boot_retry_min=0.01, reconnect_min=0.05, reconnect_max=0.5,
            call_timeout=10, max_power_w=350_000, config={"MeterValueSampleInterval": "5"})


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def cycle_one(hub, sid: str, state_dir: str, samples: int, report: dict) -> None:
    options = StationOptions(**FAST, state_dir=state_dir)
    first = make_station(sid, hub.url, options)
    await first.start(timeout=30)
    await first.plug_in(1)
    if await first.present_tag(1, f"TAG-{sid}") != "Started":
        raise SystemExit(f"{sid}: the transaction did not start")
    tx_id = first.connectors[1].transaction.transaction_id
    first.go_offline()
    for _ in range(samples):
        await asyncio.wait_for(first.expect("meter", 1), 30)
    queue = first.offline.queue
    queued = [e for e in queue.entries if e.action == "transaction_updated"]
    stamps = [_ts(s["timestamp"]) for e in queued for s in e.payload["snapshots"]
              if any(x.get("measurand", ENERGY) == ENERGY for x in s["samples"])]
    report["sent"] += len(queue.entries) + 1          # + the Stop(PowerLoss) a restart queues
    await first.power_loss()
    queue.close()
    second = make_station(sid, hub.url, StationOptions(**FAST, state_dir=state_dir))
    await second.start(timeout=30)
    try:
        deadline = time.monotonic() + 60
        while second.offline.queue.entries or hub.store.get_transaction(tx_id)["stop_reason"] is None:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        report["left"] += len(second.offline.queue.entries)
    finally:
        await second.stop()
    rows = [r for r in hub.store.meter_values(tx_id) if r["measurand"] == ENERGY]
    stored = [_ts(r["timestamp"]) for r in rows]
    seen = set()
    for t in stored:
        if t in seen:
            report["duplicated"] += 1
        seen.add(t)
    report["lost"] += sum(1 for t in stamps if t not in seen)
    report["out_of_order"] += sum(1 for a, b in zip(stored, stored[1:]) if b < a)
    report["samples"] += len(stamps)
    if hub.store.get_transaction(tx_id)["stop_reason"] != "PowerLoss":
        report["bad_stops"] += 1


async def run(a) -> int:
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    report = dict(sent=0, left=0, lost=0, duplicated=0, out_of_order=0, samples=0,
                  bad_stops=0)
    state = tempfile.TemporaryDirectory(prefix="chargesim-chaos-power-")
    hub = Hub(HubConfig(port=0, api_port=None, ping_interval=None, flush_interval=0.1,
                        tags={f"TAG-PWR-{n:04d}": "Accepted" for n in range(a.stations)}))
    await hub.start()
    started = time.monotonic()
    try:
        for c in range(a.cycles):
            before = dict(report)
            await asyncio.gather(*(cycle_one(hub, f"PWR-{n:04d}", state.name, a.samples, report)
                                   for n in range(a.stations)))
            print(f"cycle {c + 1}: {report['sent'] - before['sent']} messages queued at the "
                  f"power cut, {report['samples'] - before['samples']} meter samples checked",
                  flush=True)
    finally:
        await hub.stop()
        state.cleanup()
    delivered = report["sent"] - report["left"]
    print(f"sent {report['sent']}, acked {delivered}, lost {report['lost']}, duplicated "
          f"{report['duplicated']}, out of order {report['out_of_order']}, still queued "
          f"{report['left']}, transactions not stopped with PowerLoss {report['bad_stops']} "
          f"({a.stations} stations x {a.cycles} cycles, {time.monotonic() - started:.0f} s)")
    bad = report["lost"] + report["duplicated"] + report["out_of_order"] + report["left"] \
        + report["bad_stops"]
    return 1 if bad else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stations", type=int, default=20)
    p.add_argument("--cycles", type=int, default=3)
    p.add_argument("--samples", type=int, default=5, help="meter samples queued per cycle")
    a = p.parse_args(argv)
    if min(a.stations, a.cycles, a.samples) < 1:
        p.error("--stations, --cycles and --samples must be at least 1")
    return asyncio.run(run(a))


if __name__ == "__main__":
    sys.exit(main())
