"""Hub workers: `chargesim hub --workers N` (`serve_workers`).

```
stations ─▶ N worker processes, one OCPP port (SO_REUSEPORT: the kernel spreads connections)
              │  each a whole Hub: adapters, sessions, its own manager and cache (the hot
              │  path — Heartbeat, StatusNotification, known-tag Authorize — never leaves it)
              ├─▶ the shared store (a SQLite file or PostgreSQL): stations, tags,
              │   transactions, meter values
              └─▶ RabbitMQ: domain events on the topic exchange (amqp_bus.py), and
                  `<exchange>.commands`, a direct exchange: one exclusive queue per worker
                  (`<exchange>.commands.worker-<n>`) with a binding per station it holds
                  (`s.<station>`) and one for broadcasts (`%workers`) — never a queue per charger
front (the supervising process): HTTP API, the operator's manager over the same store;
            a CSMS-initiated command is published with the station's key (mandatory: no
            binding → 404 at once) and answered on the front's own queue (`%front`), where
            the workers also announce the stations they take and leave (the directory
            behind GET /stations and /health)
```

A worker that dies (SIGKILL, a crash) loses its broker connection, so its exclusive queue
and every binding of its stations go with it; its stations reconnect (the kernel gives them
to the survivors), the survivor adopts each one's running transactions from the store, and
the station's StopTransaction completes them there.  Lost with the worker: the meter values
still in its write-behind queue (at most `write_delay`, 20 ms, of them) and the connector
statuses and last-seen times not yet flushed (`flush_interval`).  A dead worker is logged and
reported in `GET /health` (`workers`); it is not restarted.

Metrics: the workers run prometheus-client in multi-process mode (PROMETHEUS_MULTIPROC_DIR,
a temporary directory the supervisor makes and removes); the front's `/metrics` sums the
workers' counters and histograms (`MultiProcessCollector`) beside its own gauges: stations
by protocol (the directory), workers alive, running transactions (the store), broker state,
and each worker's write-behind depth and event backlog (live sums).
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import multiprocessing
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from simulator.protocol import ErrorCode, OcppError
from simulator.protocol.codec import CallError
from simulator.protocol.errors import parse_error_code
from simulator.session import CallErrorReceived, CallTimeout, InvalidResponse, SessionClosed

from .commands import Command, RawCommand, RawResult, Result
from .errors import HubError, StationNotConnected, UnknownAction
from .hub import Hub, HubConfig, close_services
from .manager import ConnectorState, Manager
from .messages import MESSAGES, from_dict, parse_time, to_dict
from .store import Store

if TYPE_CHECKING:
    from .server import StationConnection

log = logging.getLogger(__name__)

DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
BROADCAST = "%workers"   # every worker's queue is bound to it
FRONT = "%front"         # the front's queue: replies and station presence
_ESCAPE = str.maketrans({"%": "%25"})


class WorkerUsageError(ValueError):
    """A configuration workers cannot run with (the CLI says it in one line, exit 2)."""


def station_key(station_id: str) -> str:
    """The routing key of a station's commands: `s.<id>` ('%' escaped, so no station is
    ever `%workers`); ids too long for a routing key (255 bytes) go by their hash."""
    key = "s." + station_id.translate(_ESCAPE)
    if len(key.encode()) > 255:
        key = "h." + hashlib.sha256(station_id.encode()).hexdigest()
    return key


def command_exchange(events_exchange: str) -> str:
    return f"{events_exchange}.commands"


# -- errors over the wire --------------------------------------------------------------------

def encode_error(e: BaseException) -> dict:
    """What a worker answers when a command failed (decode_error rebuilds it at the front)."""
    if isinstance(e, CallErrorReceived):
        return {"error": "CallErrorReceived", "action": e.action, "code": e.error.code_text,
                "description": e.error.description, "details": e.error.details,
                "unique_id": e.error.unique_id}
    if isinstance(e, CallTimeout):
        return {"error": "CallTimeout", "action": e.action, "unique_id": e.unique_id,
                "timeout": e.timeout}
    if isinstance(e, OcppError):   # InvalidResponse too
        return {"error": type(e).__name__ if isinstance(e, InvalidResponse) else "OcppError",
                "code": e.code.name, "description": e.description, "details": e.details}
    for cls in (SessionClosed, StationNotConnected, UnknownAction, TypeError, ValueError,
                LookupError):
        if isinstance(e, cls):
            return {"error": cls.__name__, "message": str(e)}
    return {"error": "HubError", "message": f"{type(e).__name__}: {e}"}


_PLAIN_ERRORS = {c.__name__: c for c in (SessionClosed, StationNotConnected, UnknownAction,
                                         TypeError, ValueError, LookupError, HubError)}


def decode_error(d: dict) -> BaseException:
    kind = d.get("error")
    if kind == "CallErrorReceived":
        return CallErrorReceived(d["action"], CallError(
            d.get("unique_id", ""), parse_error_code(d["code"]), d["code"],
            d.get("description", ""), d.get("details") or {}))
    if kind == "CallTimeout":
        return CallTimeout(d["action"], d.get("unique_id", ""), d["timeout"])
    if kind in ("OcppError", "InvalidResponse"):
        cls = InvalidResponse if kind == "InvalidResponse" else OcppError
        return cls(ErrorCode[d["code"]], d.get("description", ""), d.get("details"))
    return _PLAIN_ERRORS.get(kind, HubError)(d.get("message", str(d)))


# -- the worker side ---------------------------------------------------------------------------

class WorkerLink:
    """A worker's link to the others over RabbitMQ: its command queue with one binding per
    station it holds, station presence for the front, and the control messages (a tag or a
    station registration changed in the store)."""

    def __init__(self, hub: Hub, instance: str, url: str, exchange: str):
        self.hub = hub
        self.instance = instance
        self.url = url
        self.events_exchange = exchange
        self.exchange_name = command_exchange(exchange)
        self.queue_name = f"{self.exchange_name}.{instance}"
        self.wanted: set[str] = set()      # station ids connected here
        self.bound: set[str] = set()       # their keys bound on the queue
        self._presence: deque[tuple[str, dict]] = deque()   # (key, announcement), in order
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._conn = self._channel = self._exchange = self._queue = None
        self._jobs: set[asyncio.Task] = set()
        self.handled = 0

    async def start(self) -> None:
        import aio_pika
        import aiormq.exceptions
        self._conn = await aio_pika.connect_robust(
            self.url, timeout=10,
            client_properties={"connection_name": f"chargesim hub {self.instance}"})
        self._channel = await self._conn.channel()
        self._exchange = await self._channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.DIRECT, durable=True)
        # exclusive: it and its bindings vanish with this process's connection
        try:
            self._queue = await self._channel.declare_queue(self.queue_name, exclusive=True)
        except aiormq.exceptions.ChannelLockedResource:
            await self._conn.close()
            raise WorkerUsageError(
                f"{self.instance}: the broker already has a {self.queue_name!r} queue held by "
                f"another connection: another hub with workers is using the exchange "
                f"{self.events_exchange!r} on this broker; stop it, or give this hub its own "
                f"--amqp-exchange") from None
        await self._queue.bind(self._exchange, BROADCAST)
        await self._queue.consume(self._on_message, no_ack=True)
        self._conn.reconnect_callbacks.add(self._rebind)
        self._task = asyncio.create_task(self._run(), name=f"worker-link {self.instance}")

    def ready(self) -> None:
        """The worker serves the OCPP port."""
        self._announce({"op": "ready"})

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for job in list(self._jobs):
            job.cancel()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 2)
            self._conn = None

    # called by the OCPP server
    def attached(self, conn: "StationConnection") -> None:
        self.wanted.add(conn.station_id)
        self._announce({"op": "connected", "station": conn.station_id,
                        "protocol": conn.version, "remote": conn.remote,
                        "connected_at": conn.connected_at})
        # across workers too the new connection wins: one whose old socket another worker
        # has not seen die yet (its network blipped) is closed there
        self._announce({"op": "evict", "station": conn.station_id,
                        "connected_at": conn.connected_at}, BROADCAST)

    def detached(self, station_id: str) -> None:
        self.wanted.discard(station_id)
        self._announce({"op": "disconnected", "station": station_id})

    def _announce(self, message: dict, key: str = FRONT) -> None:
        message.update(worker=self.instance, pid=os.getpid())
        self._presence.append((key, message))
        self._wake.set()

    async def _run(self) -> None:
        """Bind and unbind station keys to match the stations held, then tell the front
        (a station is announced only once its commands can reach it)."""
        import aio_pika
        while True:
            try:
                # robust=False: aio-pika would keep each binding to restore it and walk them
                # all on every unbind (10,000 stations: ~10 ms an unbind, a mass disconnect
                # held the loop for seconds); `_rebind` binds them again after a reconnect
                for station_id in list(self.wanted - self.bound):
                    await self._queue.bind(self._exchange, station_key(station_id), robust=False)
                    self.bound.add(station_id)
                for station_id in list(self.bound - self.wanted):
                    await self._queue.unbind(self._exchange, station_key(station_id))
                    self.bound.discard(station_id)
                while self._presence:
                    key, message = self._presence[0]
                    await self._exchange.publish(aio_pika.Message(orjson.dumps(message)), key)
                    self._presence.popleft()
            except asyncio.CancelledError:
                raise
            except Exception as exc:   # the robust connection comes back; try again then
                log.warning("worker %s: broker link: %s; retrying", self.instance, exc)
                await asyncio.sleep(0.5)
                continue
            self._wake.clear()
            if self.wanted != self.bound:
                continue
            await self._wake.wait()

    def _rebind(self, *_args) -> None:
        """The broker connection is back: the exclusive queue was declared anew with only
        its robust bindings, so every station key is bound again."""
        self.bound.clear()
        self._wake.set()

    async def _on_message(self, message) -> None:
        try:
            body = orjson.loads(message.body)
        except orjson.JSONDecodeError:
            log.warning("worker %s: unreadable message on its queue", self.instance)
            return
        job = asyncio.create_task(self._handle(body, message.reply_to, message.correlation_id))
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)

    async def _handle(self, body: dict, reply_to: str | None, correlation_id: str | None) -> None:
        import aio_pika
        op, hub = body.get("op"), self.hub
        station_id = body.get("station")
        answer: dict[str, Any] | None
        try:
            if op in ("send", "execute", "frames") and station_id not in hub.connections:
                answer = {"status": "not_here"}   # a binding a moment stale
            elif op == "send":
                self.handled += 1
                answer = {"status": "ok", "response": await hub.send(
                    station_id, body["action"], body["payload"], body.get("timeout"))}
            elif op == "execute":
                self.handled += 1
                command = from_dict(MESSAGES[body["type"]], body["command"])
                result = await hub.execute(station_id, command, body.get("timeout"))
                answer = {"status": "ok", "type": type(result).__name__, "result": to_dict(result)}
            elif op == "frames":
                from .api import frame_json
                frames = hub.server.frames.get(station_id, body.get("limit"))
                answer = {"status": "ok",
                          "frames": None if frames is None else [frame_json(f) for f in frames]}
            elif op == "stations":   # the front (re)builds its directory
                for conn in list(hub.connections.values()):
                    self.attached(conn)
                answer = None
            elif op == "evict":   # the station connected to another worker
                conn = hub.connections.get(station_id)
                if conn is not None and body.get("worker") != self.instance \
                        and conn.connected_at <= body.get("connected_at", 0):
                    from .server import REPLACED_REASON
                    log.warning("%s: connected to %s now; closing the connection here",
                                station_id, body.get("worker"))
                    hub.metrics.replaced.inc()
                    await conn.session.close(1000, REPLACED_REASON)
                answer = None
            elif op == "forget_tag":
                hub.manager.forget_tag(body["tag"])
                answer = None
            elif op == "forget_station":
                hub.manager.forget_station(station_id)
                answer = None
            elif op == "forget_password":
                hub.security.forget(station_id)
                answer = None
            else:
                log.warning("worker %s: unknown operation %r", self.instance, op)
                answer = None
        except Exception as e:
            answer = {"status": "error", **encode_error(e)}
        if answer is not None and reply_to:
            answer["worker"] = self.instance
            try:
                await self._exchange.publish(
                    aio_pika.Message(orjson.dumps(answer), correlation_id=correlation_id),
                    reply_to)
            except Exception as exc:
                log.warning("worker %s: could not answer %s for %s: %s", self.instance, op,
                            station_id, exc)


# -- the front side ----------------------------------------------------------------------------

@dataclass
class RemoteConnection:
    """A station connected to one of the workers, as the front knows it."""
    station_id: str
    version: str
    remote: str | None
    worker: str
    connected_at: float = field(default_factory=time.time)

    def summary(self) -> dict:
        return {"id": self.station_id, "protocol": self.version, "remote": self.remote,
                "worker": self.worker,
                "connected_for": round(time.time() - self.connected_at, 3)}


@dataclass
class WorkerInfo:
    instance: str
    pid: int | None = None
    alive: bool = True
    exitcode: int | None = None


class _NotRouted(Exception):
    pass


class CommandRouter:
    """The front's end of the command exchange: requests to a station's worker, answers
    and station presence on the front's own queue."""

    def __init__(self, url: str, exchange: str, on_presence):
        self.url = url
        self.exchange_name = command_exchange(exchange)
        self.queue_name = f"{self.exchange_name}.front-{uuid.uuid4().hex[:8]}"
        self.on_presence = on_presence
        self._pending: dict[str, asyncio.Queue] = {}   # correlation id → answers
        self._conn = self._channel = self._exchange = None
        self.connected = False

    async def start(self) -> None:
        import aio_pika
        self._conn = await aio_pika.connect_robust(
            self.url, timeout=10, client_properties={"connection_name": "chargesim hub front"})
        self._channel = await self._conn.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await self._channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.DIRECT, durable=True)
        queue = await self._channel.declare_queue(self.queue_name, exclusive=True)
        await queue.bind(self._exchange, FRONT)
        await queue.bind(self._exchange, self.queue_name)   # answers to this front
        await queue.consume(self._on_message, no_ack=True)
        self.connected = True

    async def close(self) -> None:
        self.connected = False
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 2)
            self._conn = None

    async def _on_message(self, message) -> None:
        try:
            body = orjson.loads(message.body)
        except orjson.JSONDecodeError:
            return
        if message.correlation_id:
            answers = self._pending.get(message.correlation_id)
            if answers is not None:
                answers.put_nowait(body)
            return
        try:
            self.on_presence(body)
        except Exception:
            log.exception("station presence %r could not be read", body)

    async def broadcast(self, body: dict) -> None:
        """To every worker (none yet: nothing to tell)."""
        import aio_pika
        from aio_pika.exceptions import DeliveryError
        with contextlib.suppress(DeliveryError):
            await self._exchange.publish(aio_pika.Message(orjson.dumps(body)), BROADCAST)

    async def request(self, station_id: str, body: dict, timeout: float) -> dict:
        """Send `body` to the worker holding the station; its answer.  Raises
        StationNotConnected when no worker has the station bound."""
        import aio_pika
        from aio_pika.exceptions import DeliveryError
        loop = asyncio.get_running_loop()
        correlation_id = uuid.uuid4().hex
        answers = self._pending[correlation_id] = asyncio.Queue()
        try:
            try:
                await self._exchange.publish(
                    aio_pika.Message(orjson.dumps({**body, "station": station_id}),
                                     correlation_id=correlation_id, reply_to=self.queue_name),
                    station_key(station_id), mandatory=True)
            except DeliveryError:
                raise StationNotConnected(f"station {station_id!r} is not connected") from None
            deadline = loop.time() + timeout
            answer = await asyncio.wait_for(answers.get(), timeout)
            # a worker whose binding was a moment stale says so; the holder still answers
            while answer.get("status") == "not_here":
                try:
                    answer = await asyncio.wait_for(answers.get(),
                                                    max(0.0, min(1.0, deadline - loop.time())))
                except asyncio.TimeoutError:
                    raise StationNotConnected(f"station {station_id!r} is not connected") \
                        from None
            return answer
        finally:
            self._pending.pop(correlation_id, None)


class BrokerUnavailable(HubError):
    status = 503


class FrontManager(Manager):
    """The operator's manager at the front: tag and registration changes also tell the
    workers (their caches drop the old value)."""

    notify = None     # set by FrontHub: a broadcast to the workers
    directory: dict = {}   # FrontHub's: station id → RemoteConnection

    def require_connected(self, station_id: str) -> None:
        if station_id not in self.directory:
            raise StationNotConnected(f"station {station_id!r} is not connected")

    def refresh(self) -> None:
        """The stations' registration and connector statuses as the workers stored them
        (two queries; GET /stations and the debug page read them)."""
        for row in self.store.list_stations():
            st = self._station(row["id"])
            st.registration, st.operator = row["status"], row.get("registration")
            st.vendor, st.model = row["vendor"], row["model"]
            if row["last_seen"]:
                st.last_seen = parse_time(row["last_seen"])
        for c in self.store.all_connectors():
            self._station(c["station_id"]).connectors[c["connector_id"]] = ConnectorState(
                c["status"], c["error_code"], c["info"], c["vendor_error_code"],
                parse_time(c["updated"]))
        for station_id, st in self.stations.items():
            conn = self.directory.get(station_id)
            st.connected = conn is not None
            if conn is not None:
                st.protocol, st.remote = conn.version, conn.remote

    def station_detail(self, station_id: str) -> dict | None:
        """Read from the store each time (the workers write it; connector statuses and
        last-seen times up to `flush_interval` behind), connected from the directory."""
        self.stations.pop(station_id, None)
        row = self.store.get_station(station_id)
        if row is not None:
            st = self._station(station_id)
            st.registration, st.operator = row["status"], row.get("registration")
            st.firmware_status = row["firmware_status"]
            st.diagnostics_status = row["diagnostics_status"]
            if row["last_seen"]:
                st.last_seen = parse_time(row["last_seen"])
            for c in self.store.get_connectors(station_id):
                st.connectors[c["connector_id"]] = ConnectorState(
                    c["status"], c["error_code"], c["info"], c["vendor_error_code"],
                    parse_time(c["updated"]))
        conn = self.directory.get(station_id)
        if conn is not None:
            st = self._station(station_id)
            st.connected, st.protocol, st.remote = True, conn.version, conn.remote
        return super().station_detail(station_id)

    def put_tag(self, id_tag, status="Accepted", expiry_date=None, parent_id_tag=None):
        row = super().put_tag(id_tag, status, expiry_date, parent_id_tag)
        self.notify({"op": "forget_tag", "tag": id_tag})
        return row

    def delete_tag(self, id_tag):
        done = super().delete_tag(id_tag)
        self.notify({"op": "forget_tag", "tag": id_tag})
        return done

    def set_registration(self, station_id, status):
        super().set_registration(station_id, status)
        self.notify({"op": "forget_station", "station": station_id})


class FrontMetrics:
    """GET /metrics at the front: the workers' counters and histograms summed
    (prometheus-client multi-process mode) and the front's gauges."""

    def __init__(self, hub: "FrontHub", directory: str | None):
        from prometheus_client import CollectorRegistry
        from prometheus_client.multiprocess import MultiProcessCollector
        self.hub = hub
        self.registry = CollectorRegistry()
        if directory:
            MultiProcessCollector(self.registry, path=directory)
        self.registry.register(self)

    def collect(self):
        from collections import Counter as Tally

        from prometheus_client.core import GaugeMetricFamily
        hub = self.hub
        up = GaugeMetricFamily("hub_up", "1 while the hub is running")
        up.add_metric([], 1 if hub.started_at else 0)
        yield up
        workers = GaugeMetricFamily("hub_workers_alive", "Worker processes running")
        workers.add_metric([], sum(w.alive for w in hub.workers.values()))
        yield workers
        stations = GaugeMetricFamily("hub_connected_stations",
                                     "Stations connected now, by protocol", labels=["protocol"])
        for protocol, n in sorted(Tally(c.version for c in hub.directory.values()).items()):
            stations.add_metric([protocol], n)
        yield stations
        if hub.store is not None:
            active = GaugeMetricFamily("hub_active_transactions", "Transactions running now")
            active.add_metric([], len(hub.store.open_transactions()))
            yield active
        broker = GaugeMetricFamily("hub_event_broker_connected",
                                   "1 while the front holds a broker connection")
        broker.add_metric([], 1 if hub.router is not None and hub.router.connected else 0)
        yield broker

    @contextlib.contextmanager
    def command(self, action: str):   # counted by the worker that sends it
        yield

    def render(self) -> str:
        from prometheus_client import generate_latest
        return generate_latest(self.registry).decode()


class FrontHub(Hub):
    """The front of a worker hub: HTTP API and manager over the shared store, no OCPP
    endpoint of its own (the workers serve `config.port`)."""

    def __init__(self, config: HubConfig, metrics_dir: str | None = None):
        super().__init__(config)
        self.directory: dict[str, RemoteConnection] = {}
        self.workers: dict[str, WorkerInfo] = {}
        self.ready: set[str] = set()   # workers serving the port
        self.router: CommandRouter | None = None
        self.metrics = FrontMetrics(self, metrics_dir)
        self._refresher: asyncio.Task | None = None

    async def start(self) -> None:
        cfg = self.config
        self.store = Store(cfg.db_path, write_delay=cfg.write_delay, max_pending=cfg.max_pending)
        from .store.files import FileStore
        if cfg.api_port is not None:
            self.files = FileStore(cfg.uploads_dir, cfg.firmware_dir, cfg.firmware)
        self.manager = FrontManager(self.store, self.events,
                                    heartbeat_interval=cfg.heartbeat_interval,
                                    unknown_stations=cfg.unknown_stations, flush_interval=0,
                                    files=self.files, shared_store=True)
        self.manager.notify = self._notify
        self.manager.directory = self.directory
        self.manager.commander = self.execute
        try:
            from .security import HubSecurity
            self.security = HubSecurity(self)   # passwords through the API
            set_password = self.security.set_password

            def set_and_tell(station_id: str, password: str | None) -> None:
                set_password(station_id, password)
                self._notify({"op": "forget_password", "station": station_id})
            self.security.set_password = set_and_tell
            for station_id in cfg.known_stations:
                self.store.set_operator_registration(station_id, "Accepted")
            await self.events.start()
            await self.manager.start()
            for id_tag, spec in cfg.tags.items():
                spec = {"status": spec} if isinstance(spec, str) else dict(spec)
                self.manager.put_tag(id_tag, spec.get("status", "Accepted"),
                                     spec.get("expiryDate"), spec.get("parentIdTag"))
            self.router = CommandRouter(cfg.amqp_url, cfg.amqp_exchange, self._presence)
            try:
                await self.router.start()
            except Exception as e:
                where = re.sub(r"//[^@/]*@", "//", cfg.amqp_url)   # no credentials
                raise RuntimeError(f"--amqp {where}: cannot reach the broker the workers "
                                   f"need ({e or type(e).__name__})") from None
            await self.router.broadcast({"op": "stations"})
            self._refresher = asyncio.create_task(self._refresh_views(), name="front-views")
            if cfg.api_port is not None:
                from .api import HubApi
                self.api = HubApi(self)
                await self.api.start(cfg.host, cfg.api_port)
        except BaseException:
            await self.stop()
            raise
        self.started_at = time.time()

    async def _refresh_views(self) -> None:
        period = 2.0
        while True:
            try:
                self.manager.refresh()
            except Exception:
                log.exception("reading the stations' state from the store failed")
            await asyncio.sleep(period)

    async def stop(self) -> None:
        if self.store is None:
            return
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
            self._refresher = None
        await close_services(self)
        if self.router is not None:   # after the API: no request routes a command now
            await self.router.close()
            self.router = None

    @property
    def port(self) -> int:
        return self.config.port

    @property
    def connections(self) -> dict[str, RemoteConnection]:
        return self.directory

    def _notify(self, body: dict) -> None:
        if self.router is not None and self.router.connected:
            task = asyncio.ensure_future(self.router.broadcast(body))
            task.add_done_callback(lambda t: t.cancelled() or t.exception() and log.warning(
                "could not tell the workers %s: %s", body, t.exception()))

    def _presence(self, body: dict) -> None:
        op, worker, station_id = body.get("op"), body.get("worker"), body.get("station")
        info = self.workers.get(worker)
        if info is None:
            info = self.workers[worker] = WorkerInfo(worker)
        if body.get("pid"):
            info.pid = body["pid"]
        if op == "ready":
            self.ready.add(worker)
        elif op == "connected":
            self.directory[station_id] = RemoteConnection(
                station_id, body.get("protocol"), body.get("remote"), worker,
                body.get("connected_at") or time.time())
        elif op == "disconnected":
            held = self.directory.get(station_id)
            if held is not None and held.worker == worker:   # not after it moved on
                del self.directory[station_id]

    def worker_gone(self, instance: str, exitcode: int | None) -> None:
        info = self.workers.setdefault(instance, WorkerInfo(instance))
        info.alive, info.exitcode = False, exitcode
        for station_id, conn in list(self.directory.items()):
            if conn.worker == instance:
                del self.directory[station_id]

    def health_extra(self) -> dict:
        return {"active_transactions": len(self.store.open_transactions()),
                "workers": [dataclasses.asdict(w) for w in sorted(
                    self.workers.values(), key=lambda w: w.instance)]}

    async def _request(self, station_id: str, body: dict, timeout: float | None) -> dict:
        if self.router is None:
            raise StationNotConnected(f"station {station_id!r} is not connected")
        timeout = self.config.call_timeout if timeout is None else timeout
        from aiormq.exceptions import AMQPError
        try:
            # the worker waits `timeout` for the station; its answer needs a moment more
            answer = await self.router.request(station_id, {**body, "timeout": timeout},
                                               timeout + 5)
        except (AMQPError, ConnectionError) as e:
            raise BrokerUnavailable(f"the broker that reaches the workers is unavailable: "
                                    f"{e or type(e).__name__}") from None
        except asyncio.TimeoutError:
            raise CallTimeout(body.get("action") or body.get("type") or body["op"], "",
                              timeout) from None
        if answer.get("status") == "error":
            raise decode_error(answer)
        return answer

    async def send(self, station_id: str, action: str, payload: dict,
                   timeout: float | None = None) -> dict:
        answer = await self._request(station_id, {"op": "send", "action": action,
                                                  "payload": payload}, timeout)
        return answer["response"]

    async def execute(self, station_id: str, command: Command,
                      timeout: float | None = None) -> Result:
        if isinstance(command, RawCommand):
            return RawResult(await self.send(station_id, command.action, command.payload, timeout))
        answer = await self._request(station_id, {"op": "execute",
                                                  "type": type(command).__name__,
                                                  "command": to_dict(command)}, timeout)
        return from_dict(MESSAGES[answer["type"]], answer["result"])

    async def remote_frames(self, station_id: str, limit: int | None) -> list[dict] | None:
        """The frame log of a station, from the worker holding it (None: not connected)."""
        try:
            answer = await self._request(station_id, {"op": "frames", "limit": limit}, 5)
        except StationNotConnected:
            return None
        return answer["frames"]


# -- processes ---------------------------------------------------------------------------------

def check_workers(config: HubConfig, workers: int) -> None:
    """Raise WorkerUsageError for what workers cannot run with."""
    if workers < 1:
        raise WorkerUsageError(f"--workers {workers}: must be at least 1")
    if config.db_path == ":memory:":
        raise WorkerUsageError("--workers needs a store the processes share: --db FILE or "
                               "--db postgresql://…, not an in-memory database")


def worker_file(path: str, instance: str) -> str:
    """`hub.jsonl` → `hub.worker-1.jsonl`: each worker records its own stations' frames."""
    stem, dot, ext = path.rpartition(".")
    if not dot or "/" in ext:
        return f"{path}.{instance}"
    return f"{stem}.{instance}.{ext}"


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound (not listening) to the OCPP port with SO_REUSEPORT: it fixes the port
    (0: a free one) for the workers and keeps it ours while they bind it too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _worker_main(config: HubConfig, instance: str, parent: int, log_level: str,
                 log_format: str) -> None:
    from . import logs
    logs.configure(log_level, log_format)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C: the supervisor stops us
    from simulator.gc_tuning import tune_for_many_connections
    tune_for_many_connections()   # a worker holds thousands of connections
    try:
        import uvloop
        run = uvloop.run
    except ImportError:
        run = asyncio.run
    try:
        run(_serve_worker(config, instance, parent))
    except WorkerUsageError as e:   # one line, not a traceback; the supervisor reports it
        log.error("%s", e)
        sys.exit(2)


async def _serve_worker(config: HubConfig, instance: str, parent: int) -> None:
    from .amqp_bus import AmqpBus
    bus = AmqpBus(config.amqp_url, exchange=config.amqp_exchange,
                  instance=f"{socket.gethostname()}.{instance}.{os.getpid()}")
    hub = Hub(config, events=bus)
    hub.link = WorkerLink(hub, instance, config.amqp_url, config.amqp_exchange)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await hub.link.start()   # before the port: every station it takes is routable
    await hub.start()
    hub.link.ready()
    gauges = _WorkerGauges(hub)
    log.info("worker %s (pid %d) serving %s", instance, os.getpid(), hub.url)
    try:
        while not stop.is_set():
            if os.getppid() != parent:   # the supervisor is gone: so are we
                log.warning("worker %s: the supervisor exited; stopping", instance)
                break
            gauges.update()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        await hub.stop()
        await hub.link.close()


class _WorkerGauges:
    """A worker's own state as live-summed gauges (multi-process mode): the front adds up
    the running workers' values."""

    def __init__(self, hub: Hub):
        from prometheus_client import Counter, Gauge
        r = hub.metrics.registry
        self.hub = hub
        self.depth = Gauge("hub_write_behind_queue_depth", "Writes waiting for the "
                           "write-behind store's next batch", registry=r,
                           multiprocess_mode="livesum")
        self.backlog = Gauge("hub_event_backlog", "Domain events not yet confirmed by the "
                             "broker (outbox)", registry=r, multiprocess_mode="livesum")
        self.counters = {key: Counter(name, text, registry=r) for key, name, text in (
            ("transactions_started", "hub_transactions_started", "Transactions started"),
            ("transactions_stopped", "hub_transactions_stopped", "Transactions stopped"),
            ("meter_samples", "hub_meter_samples", "Meter samples stored"),
            ("boots", "hub_boots", "BootNotifications accepted or not"))}
        self.seen = {key: 0 for key in self.counters}

    def update(self) -> None:
        hub = self.hub
        depth = getattr(hub.store, "write_queue_depth", 0)
        self.depth.set(depth() if callable(depth) else depth or 0)
        self.backlog.set(getattr(hub.events, "backlog", 0))
        for key, counter in self.counters.items():
            now = hub.manager.counters.get(key, 0)
            if now > self.seen[key]:
                counter.inc(now - self.seen[key])
                self.seen[key] = now


async def serve_workers(config: HubConfig, workers: int, log_level: str = "INFO",
                        log_format: str = "text") -> None:
    """Run the front and `workers` worker processes until SIGINT / SIGTERM."""
    check_workers(config, workers)
    config = dataclasses.replace(config, amqp_url=config.amqp_url or DEFAULT_AMQP,
                                 shared_store=True)
    metrics_dir = tempfile.mkdtemp(prefix="chargesim-hub-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir   # the workers inherit it
    reserved = reserve_port(config.host, config.port)
    port = reserved.getsockname()[1]
    front = FrontHub(dataclasses.replace(config, port=port), metrics_dir)
    worker_config = dataclasses.replace(config, port=port, api_port=None, reuse_port=True,
                                        tags={}, known_stations=(), firmware={},
                                        station_passwords={})   # the front seeds them
    procs: dict[str, multiprocessing.Process] = {}
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed = []
    try:
        await front.start()   # creates the store's schema before the workers open it
        ctx = multiprocessing.get_context("spawn")
        for n in range(1, workers + 1):
            instance = f"worker-{n}"
            own = worker_config
            if config.record_path:   # one recording per worker process
                own = dataclasses.replace(worker_config, record_path=worker_file(
                    config.record_path, instance))
            proc = ctx.Process(target=_worker_main, name=f"chargesim-hub-{instance}",
                               args=(own, instance, os.getpid(), log_level, log_format),
                               daemon=True)
            proc.start()
            procs[instance] = proc
            front.workers[instance] = WorkerInfo(instance, proc.pid)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
        # up when every worker serves the port (it says "ready")
        deadline = loop.time() + 60
        while not stop.is_set() and not all(i in front.ready for i in procs):
            if any(p.exitcode is not None for p in procs.values()):
                raise RuntimeError("a hub worker exited at start (see its log above)")
            if loop.time() > deadline:
                raise RuntimeError("the hub workers did not start within 60 s")
            await asyncio.sleep(0.05)
        print(f"chargesim hub: OCPP {front.url}/{{station_id}}  API {front.api_url}  "
              f"({workers} worker{'s' if workers != 1 else ''})", flush=True)
        while not stop.is_set():
            for instance, proc in procs.items():
                info = front.workers[instance]
                if info.alive and proc.exitcode is not None:
                    log.warning("hub worker %s (pid %s) exited with %s; its stations reconnect "
                                "to the others", instance, proc.pid, proc.exitcode)
                    from prometheus_client import multiprocess
                    multiprocess.mark_process_dead(proc.pid, metrics_dir)
                    front.worker_gone(instance, proc.exitcode)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        for proc in procs.values():
            if proc.exitcode is None:
                proc.terminate()   # SIGTERM: the worker flushes its store and closes
        for proc in procs.values():
            await loop.run_in_executor(None, proc.join, 60)   # it publishes its outbox first
            if proc.exitcode is None:
                proc.kill()
        await front.stop()
        reserved.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)
