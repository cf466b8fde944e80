"""Prometheus metrics in the text exposition format (version 0.0.4), written by hand.

Counters and gauges with labels; gauges may be computed at scrape time from a callable.
Updating a metric is a dict lookup and an addition: cheap enough for every frame.
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Callable, Iterable

import orjson

if TYPE_CHECKING:
    from simulator.session import Frame

    from .hub import Hub

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class Metric:
    kind = "untyped"

    def __init__(self, name: str, help: str, labels: Iterable[str] = (),
                 fn: Callable[[], float | dict[tuple[str, ...], float]] | None = None):
        self.name = name
        self.help = help
        self.labels = tuple(labels)
        self.values: dict[tuple[str, ...], float] = {}
        self.fn = fn  # computes the value(s) at scrape time instead

    def _key(self, labels: dict[str, str]) -> tuple[str, ...]:
        try:
            if len(labels) == len(self.labels):
                return tuple([str(labels[n]) for n in self.labels])
        except KeyError:
            pass
        raise ValueError(f"{self.name} takes labels {self.labels}, got {tuple(labels)}")

    def value(self, **labels) -> float:
        return self.values.get(self._key(labels), 0)

    def samples(self) -> list[tuple[tuple[str, ...], float]]:
        if self.fn is None:
            return sorted(self.values.items())
        result = self.fn()
        if isinstance(result, dict):
            return sorted(result.items())
        return [((), result)]

    def render(self) -> str:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        samples = self.samples()
        if not samples and not self.labels:
            samples = [((), 0)]
        for key, value in samples:
            if key:
                label_text = ",".join(f'{n}="{_escape(v)}"' for n, v in zip(self.labels, key))
                lines.append(f"{self.name}{{{label_text}}} {_number(value)}")
            else:
                lines.append(f"{self.name} {_number(value)}")
        return "\n".join(lines)


class Counter(Metric):
    kind = "counter"

    def inc(self, amount: float = 1, **labels) -> None:
        key = self._key(labels) if labels or self.labels else ()
        self.values[key] = self.values.get(key, 0) + amount

    def inc_key(self, key: tuple[str, ...], amount: float = 1) -> None:
        """`inc` for the per-frame hot path: the label values already in label order."""
        self.values[key] = self.values.get(key, 0) + amount


class Gauge(Metric):
    kind = "gauge"

    def set(self, value: float, **labels) -> None:
        self.values[self._key(labels) if labels or self.labels else ()] = value


class Summary(Metric):
    """Sum and count of observations (e.g. handler seconds), per label set."""
    kind = "summary"

    def __init__(self, name: str, help: str, labels: Iterable[str] = ()):
        super().__init__(name, help, labels)
        self.counts: dict[tuple[str, ...], int] = {}

    def observe(self, value: float, **labels) -> None:
        self.observe_key(self._key(labels) if labels or self.labels else (), value)

    def observe_key(self, key: tuple[str, ...], value: float) -> None:
        """`observe` for the hot path: the label values already in label order."""
        self.values[key] = self.values.get(key, 0.0) + value
        self.counts[key] = self.counts.get(key, 0) + 1

    def count(self, **labels) -> int:
        return self.counts.get(self._key(labels), 0)

    def render(self) -> str:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        for key, total in sorted(self.values.items()):
            label_text = ",".join(f'{n}="{_escape(v)}"' for n, v in zip(self.labels, key))
            braces = f"{{{label_text}}}" if label_text else ""
            lines.append(f"{self.name}_sum{braces} {_number(total)}")
            lines.append(f"{self.name}_count{braces} {self.counts[key]}")
        return "\n".join(lines)


class Registry:
    def __init__(self):
        self.metrics: dict[str, Metric] = {}

    def _add(self, metric: Metric) -> Metric:
        if metric.name in self.metrics:
            raise ValueError(f"metric {metric.name} already registered")
        self.metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help: str, labels: Iterable[str] = (), fn=None) -> Counter:
        return self._add(Counter(name, help, labels, fn))

    def gauge(self, name: str, help: str, labels: Iterable[str] = (), fn=None) -> Gauge:
        return self._add(Gauge(name, help, labels, fn))

    def summary(self, name: str, help: str, labels: Iterable[str] = ()) -> Summary:
        return self._add(Summary(name, help, labels))

    def render(self) -> str:
        return "\n".join(m.render() for m in self.metrics.values()) + "\n"


def parse(text: str) -> dict[str, float]:
    """Read exposition text back into {'name{labels}': value} (for tests and tooling)."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        out[name] = float(value)
    return out


class HubMetrics:
    """The hub's Prometheus metrics (see api.py for /metrics)."""

    def __init__(self, hub: "Hub"):
        r = self.registry = Registry()
        r.gauge("hub_up", "1 while the hub is running", fn=lambda: 1)
        r.gauge("hub_connected_stations", "Stations connected now",
                fn=lambda: len(hub.server.connections) if hub.server else 0)
        r.gauge("hub_active_transactions", "Transactions running now",
                fn=lambda: len(hub.manager.active))
        self.connections = r.counter("hub_connections_total", "WebSocket connections accepted")
        self.refused = r.counter("hub_connections_refused_total",
                                 "Opening handshakes refused, by reason", ["reason"])
        self.replaced = r.counter("hub_connections_replaced_total",
                                  "Connections replaced by a new one with the same station id")
        self.disconnects = r.counter("hub_disconnects_total", "Connections closed, by close code",
                                     ["code"])
        self.frames = r.counter("hub_frames_total", "Frames seen, by direction", ["direction"])
        self.throttled = r.counter("hub_frames_throttled_total",
                                   "Inbound frames held back by the per-station rate limit")
        self.rejected_frames = r.counter("hub_frames_rejected_total",
                                         "Inbound frames that could not be processed normally")
        self.received = r.counter("hub_messages_received_total",
                                  "Valid CALLs received from stations, by action", ["action"])
        self.handler_seconds = r.summary("hub_handler_seconds",
                                         "Time spent answering valid CALLs, by action", ["action"])
        self.call_errors = r.counter("hub_call_errors_sent_total",
                                     "CALLERRORs sent to stations, by error code", ["code"])
        self.commands = r.counter("hub_commands_total",
                                  "CSMS-initiated CALLs sent via the hub, by action and outcome",
                                  ["action", "outcome"])
        r.counter("hub_transactions_started_total", "Transactions started since start",
                fn=lambda: hub.manager.counters["transactions_started"])
        r.counter("hub_meter_samples_total", "Meter samples stored since start",
                fn=lambda: hub.manager.counters["meter_samples"])
        r.counter("hub_events_published_total", "Domain events published",
                fn=lambda: getattr(hub.events, "published", 0))

    def on_frame(self, frame: Frame) -> None:
        self.frames.inc_key((frame.direction,))
        if frame.direction == "in":
            if frame.note:
                self.rejected_frames.inc()
        elif frame.raw.startswith("[4,"):
            try:
                code = orjson.loads(frame.raw)[2]
            except Exception:
                code = "unreadable"
            self.call_errors.inc(code=str(code))

    @contextlib.contextmanager
    def command(self, action: str):
        """Count one CSMS-initiated command: outcome "ok", else the exception's class name."""
        outcome = "error"
        try:
            yield
            outcome = "ok"
        except BaseException as e:
            outcome = type(e).__name__
            raise
        finally:
            self.commands.inc(action=action, outcome=outcome)

    def render(self) -> str:
        return self.registry.render()
