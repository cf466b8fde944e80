"""Totals of a `chargesim run`: what the stations did, counted from their events and frames.

`RunStats.watch(station)` subscribes to the station's public events and adds a frame tap;
nothing here reaches into the station.  The numbers feed the live progress line
(run_progress.py), the summary printed at the end and the `--json` report.
"""
from __future__ import annotations

import json
import math
import random
import re
from collections import Counter

from .protocol.soap.head import soap_head

CALL, CALLRESULT, CALLERROR = 2, 3, 4
LATENCY_SAMPLES = 100_000
# [type, "unique id", "Action", ...: the head of an OCPP-J frame
_HEAD = re.compile(r'\s*\[\s*([234])\s*,\s*"((?:[^"\\]|\\.)*)"\s*(?:,\s*"([A-Za-z0-9]+)")?')


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of `values`, None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


class RunStats:
    def __init__(self, expected: int = 0):
        self.expected = expected                   # stations the run will start
        self.stations = 0
        self.online: set[str] = set()
        self._seen_online: set[str] = set()
        self.reconnects = 0
        self.transactions_started = 0
        self.transactions_stopped = 0
        self.sent: Counter[str] = Counter()       # station → CSMS CALLs, by action
        self.received: Counter[str] = Counter()   # CSMS → station CALLs, by action
        self.callerrors_received = 0
        self.callerrors_sent = 0
        self.errors = 0                            # station "error" events
        self.offline_queued = 0
        self.offline_delivered = 0
        self.offline_dropped = 0
        # s, CALL sent → its reply received: every one up to LATENCY_SAMPLES, then a uniform
        # sample of them (reservoir), so a long load run keeps bounded memory
        self.latencies: list[float] = []
        self.replies = 0
        self._rng = random.Random(0)
        self._pending: dict[tuple[str, str], float] = {}

    # -- feeding ----------------------------------------------------------------------------
    def watch(self, station) -> None:
        self.stations += 1
        station.view.subscribe(self.on_event)
        station.taps.append(self.on_frame)

    def on_event(self, event) -> None:
        kind = event.kind
        if kind == "connected":
            if event.station in self._seen_online:
                self.reconnects += 1
            self._seen_online.add(event.station)
            self.online.add(event.station)
        elif kind in ("disconnected", "stopped"):
            self.online.discard(event.station)
        elif kind == "tx_started":
            self.transactions_started += 1
        elif kind == "tx_stopped":
            self.transactions_stopped += 1
        elif kind == "error":
            self.errors += 1
        elif kind == "queued":
            self.offline_queued += 1
        elif kind == "sent_held":
            self.offline_delivered += 1
        elif kind == "dropped":
            self.offline_dropped += 1

    def on_frame(self, frame) -> None:
        # only the head of the frame (type, id, action): the payload is never decoded
        m = _HEAD.match(frame.raw)
        if m is not None:
            kind, unique_id, action = int(m.group(1)), m.group(2), m.group(3)
        else:   # OCPP 1.5 SOAP: the WS-Addressing head
            head = soap_head(frame.raw) if frame.raw.lstrip().startswith("<") else None
            if head is None:
                return
            kind, unique_id, action = head
        out = frame.direction == "out"
        key = (frame.station, unique_id)
        if kind == CALL:
            action = action or "?"
            if out:
                self.sent[action] += 1
                if len(self._pending) >= 4 * LATENCY_SAMPLES:   # calls never answered
                    self._pending.clear()
                self._pending[key] = frame.ts
            else:
                self.received[action] += 1
        elif kind in (CALLRESULT, CALLERROR):
            if kind == CALLERROR:
                if out:
                    self.callerrors_sent += 1
                else:
                    self.callerrors_received += 1
            if not out:
                started = self._pending.pop(key, None)
                if started is not None:
                    self._latency(frame.ts - started)

    def _latency(self, seconds: float) -> None:
        self.replies += 1
        if len(self.latencies) < LATENCY_SAMPLES:
            self.latencies.append(seconds)
        else:
            i = self._rng.randrange(self.replies)
            if i < LATENCY_SAMPLES:
                self.latencies[i] = seconds

    # -- reading ----------------------------------------------------------------------------
    @property
    def running(self) -> int:
        return max(0, self.transactions_started - self.transactions_stopped)

    @property
    def messages_sent(self) -> int:
        return sum(self.sent.values())

    def progress_line(self, elapsed: float) -> str:
        return (f"{elapsed:5.0f} s  {len(self.online)}/{max(self.stations, self.expected)} stations connected, "
                f"{self.running} transactions running, {self.messages_sent} messages sent, "
                f"{self.errors + self.callerrors_received} errors")

    def totals(self, outcomes=()) -> dict:
        energy = sum(o.energy_wh or 0 for o in outcomes)
        p50, p99 = percentile(self.latencies, 50), percentile(self.latencies, 99)
        return {
            "stations": self.stations,
            "energy_wh": energy,
            "transactions": {"started": self.transactions_started,
                             "stopped": self.transactions_stopped},
            "messages_sent": dict(sorted(self.sent.items())),
            "messages_received": dict(sorted(self.received.items())),
            "callerrors": {"received": self.callerrors_received, "sent": self.callerrors_sent},
            "errors": self.errors,
            "reconnects": self.reconnects,
            "offline": {"queued": self.offline_queued, "delivered": self.offline_delivered,
                        "dropped": self.offline_dropped},
            "latency_ms": {"count": self.replies,
                           "p50": None if p50 is None else round(p50 * 1000, 2),
                           "p99": None if p99 is None else round(p99 * 1000, 2)},
        }

    def summary_lines(self, outcomes=()) -> list[str]:
        t = self.totals(outcomes)
        by_action = ", ".join(f"{a} {n}" for a, n in t["messages_sent"].items()) or "none"
        received = ", ".join(f"{a} {n}" for a, n in t["messages_received"].items()) or "none"
        lat = t["latency_ms"]
        latency = (f"p50 {lat['p50']} ms, p99 {lat['p99']} ms over {lat['count']} calls"
                   if lat["count"] else "no replies")
        off = t["offline"]
        return [
            f"energy delivered: {t['energy_wh']} Wh",
            f"transactions: {t['transactions']['started']} started, "
            f"{t['transactions']['stopped']} stopped",
            f"messages sent: {self.messages_sent} ({by_action})",
            f"messages from the CSMS: {sum(self.received.values())} ({received})",
            f"CALLERRORs: {t['callerrors']['received']} received, {t['callerrors']['sent']} sent",
            f"reconnects: {t['reconnects']}",
            f"offline messages: {off['queued']} queued, {off['delivered']} delivered, "
            f"{off['dropped']} dropped",
            f"latency: {latency}",
        ]


def json_report(outcomes, stats: RunStats, *, passed: int, failed: int) -> dict:
    return {
        "passed": passed,
        "failed": failed,
        "stations": [{"station": o.station, "ok": o.ok, "error": o.error,
                      "failed_at": None if o.ok or not o.steps else o.steps[-1],
                      "transaction_id": o.transaction_id, "energy_wh": o.energy_wh,
                      "meter_values": o.meter_values} for o in outcomes],
        "totals": stats.totals(outcomes),
    }


def print_summary(outcomes, stats: RunStats, *, failed: int, json_path: str | None,
                  out=None) -> None:
    """The totals after the per-station lines; with `json_path`, the JSON report too."""
    import sys
    out = out if out is not None else sys.stdout
    print("", file=out)
    for line in stats.summary_lines(outcomes):
        print(line, file=out)
    if json_path:
        report = json_report(outcomes, stats, passed=len(outcomes) - failed, failed=failed)
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
