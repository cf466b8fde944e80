"""The hub's Prometheus metrics, through `prometheus-client`.

The library gives latency histograms (bucketed, aggregatable across instances, which a
hand-written sum/count summary is not) and, for hubs run as several worker processes,
multi-process aggregation; its exposition format is the reference one.  Each Hub has its own
registry (several hubs share a test process).

Two kinds of metric: those the hub updates as things happen (counters, histograms; the
per-frame path uses label children looked up once per label set), and those read at scrape
time from the hub's state (`HubCollector`: stations by protocol, transactions, cache hit
rate, and the write-behind queue depth and event backlog when the manager / event bus
expose them).
"""
from __future__ import annotations

import contextlib
import math
import time
from collections import Counter as Tally
from typing import TYPE_CHECKING, Any, Mapping, Protocol

import orjson
import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from simulator.session import Frame

CONTENT_TYPE = CONTENT_TYPE_LATEST
# No `_created` series beside every counter: twice the scrape for a timestamp nobody graphs.
prometheus_client.disable_created_metrics()
# handler times are sub-millisecond from memory, milliseconds through the store
HANDLER_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                   0.25, 1.0, math.inf)
# a command waits for the station's round trip: milliseconds to the call timeout
COMMAND_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0, math.inf)


def parse(text: str) -> dict[str, float]:
    """Read exposition text back into {'name{labels}': value} (for tests and tooling)."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        out[name] = float(value)
    return out


class _Labelled:
    """A labelled metric's children, looked up once per label set: `labels()` in the
    library builds a tuple and takes a lock each call, too much for every frame."""

    __slots__ = ("metric", "children")

    def __init__(self, metric):
        self.metric = metric
        self.children: dict[tuple[str, ...], object] = {}

    def child(self, key: tuple[str, ...]):
        child = self.children.get(key)
        if child is None:
            child = self.children[key] = self.metric.labels(*key)
        return child

    def inc(self, amount: float = 1, **labels) -> None:
        self.child(tuple(labels[n] for n in self.metric._labelnames)).inc(amount)

    def inc_key(self, key: tuple[str, ...], amount: float = 1) -> None:
        self.child(key).inc(amount)

    def observe_key(self, key: tuple[str, ...], value: float) -> None:
        self.child(key).observe(value)

    def value(self, **labels) -> float:
        """The current value (tests and the debug page)."""
        key = tuple(str(labels[n]) for n in self.metric._labelnames)
        child = self.children.get(key)
        return child._value.get() if child is not None else 0


class _Plain:
    __slots__ = ("metric",)

    def __init__(self, metric):
        self.metric = metric

    def inc(self, amount: float = 1) -> None:
        self.metric.inc(amount)

    def inc_key(self, key: tuple = (), amount: float = 1) -> None:
        self.metric.inc(amount)

    def value(self) -> float:
        return self.metric._value.get()


class HubState(Protocol):
    """What the scrape-time values are read from (`Hub` satisfies it): a structural type, so
    this module names no `hub.py` (the hub builds its metrics, not the other way round)."""
    started_at: float | None
    connections: Mapping[str, Any]  # station id -> server.StationConnection (.version)
    manager: Any                    # manager.Manager (active, counters), None before start
    store: Any                      # store.Store, None before start
    events: Any                     # events.EventBus


class HubCollector:
    """Values read from the hub's state at scrape time."""

    def __init__(self, hub: HubState):
        self.hub = hub

    def collect(self):
        hub = self.hub
        up = GaugeMetricFamily("hub_up", "1 while the hub is running")
        up.add_metric([], 1 if hub.started_at else 0)
        yield up
        by_protocol = Tally(c.version for c in hub.connections.values())
        stations = GaugeMetricFamily("hub_connected_stations", "Stations connected now, by protocol",
                                     labels=["protocol"])
        for protocol, n in sorted(by_protocol.items()):
            stations.add_metric([protocol], n)
        yield stations
        manager = hub.manager
        if manager is None:
            return
        active = GaugeMetricFamily("hub_active_transactions", "Transactions running now")
        active.add_metric([], len(manager.active))
        yield active
        counters = manager.counters
        for key, name, text in (
                ("transactions_started", "hub_transactions_started", "Transactions started"),
                ("transactions_stopped", "hub_transactions_stopped", "Transactions stopped"),
                ("meter_samples", "hub_meter_samples", "Meter samples stored"),
                ("boots", "hub_boots", "BootNotifications accepted or not")):
            if key in counters:
                family = CounterMetricFamily(name, text + " since start")
                family.add_metric([], counters[key])
                yield family
        hits, misses = counters.get("tag_cache_hits"), counters.get("tag_cache_misses")
        if hits is not None and misses is not None:
            lookups = CounterMetricFamily("hub_tag_cache_lookups",
                                          "Id tag lookups by the manager, by result (hit: from "
                                          "memory, miss: from the store)", labels=["result"])
            lookups.add_metric(["hit"], hits)
            lookups.add_metric(["miss"], misses)
            yield lookups
            rate = GaugeMetricFamily("hub_tag_cache_hit_ratio",
                                     "Share of id tag lookups answered from memory")
            rate.add_metric([], hits / (hits + misses) if hits + misses else 1.0)
            yield rate
        published = getattr(hub.events, "published", None)
        if published is not None:
            family = CounterMetricFamily("hub_events_published", "Domain events published")
            family.add_metric([], published)
            yield family
        # Exposed by the write-behind store and a broker-backed bus when they have them.
        seen: set[str] = set()
        for owner, attr, name, text in (
                (manager, "write_queue_depth", "hub_write_behind_queue_depth",
                 "Writes waiting for the write-behind store's next batch"),
                (hub.store, "write_queue_depth", "hub_write_behind_queue_depth",
                 "Writes waiting for the write-behind store's next batch"),
                (hub.events, "backlog", "hub_event_backlog",
                 "Domain events not yet confirmed by the broker (outbox)"),
                (hub.events, "connected", "hub_event_broker_connected",
                 "1 while the event bus holds a broker connection")):
            value = getattr(owner, attr, None)
            if callable(value):
                value = value()
            if value is not None and name not in seen:   # the manager's, else the store's
                seen.add(name)
                gauge = GaugeMetricFamily(name, text)
                gauge.add_metric([], float(value))
                yield gauge


class HubMetrics:
    """The hub's metrics (GET /metrics renders them)."""

    def __init__(self, hub: HubState):
        r = self.registry = CollectorRegistry()
        r.register(HubCollector(hub))
        self.connections = _Plain(Counter("hub_connections", "WebSocket connections accepted",
                                          registry=r))
        self.refused = _Labelled(Counter("hub_connections_refused",
                                         "Opening handshakes refused, by reason", ["reason"],
                                         registry=r))
        self.replaced = _Plain(Counter("hub_connections_replaced",
                                       "Connections replaced by a new one with the same station id",
                                       registry=r))
        self.disconnects = _Labelled(Counter("hub_disconnects", "Connections closed, by close code",
                                             ["code"], registry=r))
        self.frames = _Labelled(Counter("hub_frames", "Frames seen, by sender (station | hub)",
                                        ["sender"], registry=r))
        self.throttled = _Plain(Counter("hub_frames_throttled",
                                        "Inbound frames held back by the per-station rate limit",
                                        registry=r))
        self.rejected_frames = _Plain(Counter("hub_frames_rejected",
                                              "Inbound frames that could not be processed normally",
                                              registry=r))
        self.messages = _Labelled(Counter(
            "hub_messages", "CALLs from stations handled, by action and result (ok, or the "
            "CALLERROR code answered)", ["action", "result"], registry=r))
        self.handler_seconds = _Labelled(Histogram(
            "hub_handler_seconds", "Time spent answering CALLs from stations, by action",
            ["action"], buckets=HANDLER_BUCKETS, registry=r))
        self.call_errors = _Labelled(Counter("hub_call_errors_sent",
                                             "CALLERRORs sent to stations, by error code", ["code"],
                                             registry=r))
        self.commands = _Labelled(Counter(
            "hub_commands", "CSMS-initiated CALLs sent via the hub, by action and outcome",
            ["action", "outcome"], registry=r))
        self.command_seconds = _Labelled(Histogram(
            "hub_command_seconds", "CSMS-initiated CALLs: time to the station's answer, by action",
            ["action"], buckets=COMMAND_BUCKETS, registry=r))

    def handled(self, action: str, seconds: float, ok: bool) -> None:
        """One CALL from a station through its adapter: the time; "ok" counted here, an
        error by `call_error_sent` (which sees the core's rejections too)."""
        if ok:
            self.messages.inc_key((action, "ok"))
        self.handler_seconds.observe_key((action,), seconds)

    def call_error_sent(self, action: str | None, code: str) -> None:
        """A CALLERROR answered a station's CALL (frame_audit.CallErrorLog)."""
        self.messages.inc_key((action or "unreadable", str(code)))

    def on_frame(self, frame: Frame) -> None:
        if frame.direction == "in":
            self.frames.inc_key(("station",))
            if frame.note:
                self.rejected_frames.inc()
        else:
            self.frames.inc_key(("hub",))
            if frame.raw.startswith("[4,"):
                try:
                    code = orjson.loads(frame.raw)[2]
                except Exception:
                    code = "unreadable"
                self.call_errors.inc_key((str(code),))

    @contextlib.contextmanager
    def command(self, action: str):
        """Count and time one CSMS-initiated command: outcome "ok", else the exception's
        class name."""
        outcome = "error"
        started = time.perf_counter()
        try:
            yield
            outcome = "ok"
        except BaseException as e:
            outcome = type(e).__name__
            raise
        finally:
            self.commands.inc_key((action, outcome))
            self.command_seconds.observe_key((action,), time.perf_counter() - started)

    def render(self) -> str:
        return generate_latest(self.registry).decode()
