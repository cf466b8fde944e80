"""Garbage-collector settings for a process that holds thousands of connections.

Every open connection keeps about 110 container objects alive (websockets' protocol and
buffers, the RPC session, the station or the hub's state for it).  CPython's default
thresholds (700, 10, 10) collect the youngest generation every 700 net allocations of such
objects and the whole heap each time it has grown by a quarter: all threads stop while it
is walked, ≈ 0.5 s for 8,000 connections, and those pauses are a load test's p99.  The
traffic itself makes little work for the collector (a message's objects die by reference
counting); what grows the heap is connections opening.

So a long-running process freezes what start-up made (imports, compiled schemas: never
garbage) and collects the youngest generation every 50,000 net allocations instead of 700.
Cycles left by closed connections are still collected, later.  Measured with the bundled
hub, 8,000 stations and 1,000 Heartbeats/s for 60 s (docs/benchmarks.md): 3.4 s in the
collector with the defaults (10 full collections, the longest 444 ms), 0.3 s with these
(no full collection, the longest pause 21 ms).

`CHARGESIM_GC=default` leaves the interpreter's settings alone; `CHARGESIM_GC=A,B,C` sets
those thresholds instead.
"""
from __future__ import annotations

import gc
import os

THRESHOLDS = (50_000, 20, 10)


def tune_for_many_connections() -> tuple[int, int, int] | None:
    """Apply the settings above to this process; the thresholds set (None: left alone)."""
    raw = os.environ.get("CHARGESIM_GC", "").strip()
    if raw == "default":
        return None
    thresholds = THRESHOLDS
    if raw:
        try:
            thresholds = tuple(int(part) for part in raw.split(","))
            if len(thresholds) != 3 or min(thresholds) < 0:
                raise ValueError
        except ValueError:
            raise ValueError(f"CHARGESIM_GC={raw!r}: expected 'default' or three whole numbers "
                             f"like '50000,20,10'") from None
    gc.freeze()
    gc.set_threshold(*thresholds)
    return thresholds
