"""Memory of idle RPC sessions, measured with tracemalloc on in-memory pipes.

    python loadtests/session_idle_size.py [--pairs 500]

Three figures per session: just created; running (its reader task started, no traffic);
and after one round trip each way (a station side and a hub side per pipe).  The pipes
themselves are made before counting; schemas and validators are loaded by a warm-up pair.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import tracemalloc

from simulator.protocol import CHARGE_POINT, CSMS
from simulator.session import Session
from simulator.transport.memory import pipe

TS = "2024-05-01T12:00:00Z"


async def _hub(action, payload):
    return {"currentTime": TS}


async def _charger(action, payload):
    return {"status": "Accepted"}


def _pair(a, b, n: int) -> tuple[Session, Session]:
    return (Session(a, version="ocpp1.6", role=CHARGE_POINT, name=f"CP{n}", handler=_charger),
            Session(b, version="ocpp1.6", role=CSMS, name=f"CP{n}", handler=_hub))


async def _round_trips(cp: Session, hub: Session) -> None:
    await cp.call("Heartbeat", {})
    await hub.call("ChangeAvailability", {"connectorId": 0, "type": "Operative"})


def _grown(before: tracemalloc.Snapshot) -> int:
    gc.collect()
    return sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))


async def main(pairs: int) -> None:
    a, b = pipe()
    warm = _pair(a, b, 0)
    tasks = [asyncio.create_task(s.run()) for s in warm]
    await _round_trips(*warm)
    await a.close()
    await asyncio.gather(*tasks)

    pipes = [pipe() for _ in range(pairs)]
    sessions = 2 * pairs
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    made = [_pair(a, b, n) for n, (a, b) in enumerate(pipes)]
    created = _grown(before)
    tasks = [asyncio.create_task(s.run()) for pair in made for s in pair]
    for _ in range(5):
        await asyncio.sleep(0)
    running = _grown(before)
    for pair in made:
        await _round_trips(*pair)
    for _ in range(10):
        await asyncio.sleep(0)
    for a, b in pipes:  # the test pipe's own record of what it sent is not the session's
        a.sent.clear()
        b.sent.clear()
    after = _grown(before)
    tracemalloc.stop()
    idle_tasks = len(asyncio.all_tasks()) - 1
    print(f"per session: created {created / sessions:.0f} B, running {running / sessions:.0f} B, "
          f"after a round trip each way {after / sessions:.0f} B; "
          f"{idle_tasks / sessions:g} task(s) per idle session ({sessions} sessions)")
    for a, _ in pipes:
        await a.close()
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=500)
    asyncio.run(main(ap.parse_args().pairs))
