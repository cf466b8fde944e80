"""The OCPP-J WebSocket endpoint: ws://HOST:PORT/ocpp/{station_id}.

Opening handshake (answered before any WebSocket frames, with a plain-text reason):
- a path other than /ocpp/{station_id}                       → 404
- no subprotocol offered and no `fallback_version` configured → 400 "no OCPP subprotocol
  offered; supported: ocpp1.6, ocpp2.0.1" (with a fallback: accepted, spoken in that version)
- several offered (e.g. "ocpp2.0.1, ocpp1.6"): the first one the hub has an adapter for, in
  the station's order of preference; 1.6 and 2.0.1 stations share the endpoint
- only subprotocols the hub has no adapter for                → 400 naming both lists
- a station id that is already connected, duplicate_policy=reject → 409

Duplicate station ids (duplicate_policy, default "replace"): a real charger whose network
blipped reconnects before the hub has noticed that the old socket died, so by default the
new connection wins: it is registered at once, the old one is closed with 1000 "replaced by
a new connection" (its pending calls fail with SessionClosed) and the replacement is logged.
"reject" refuses the newcomer with HTTP 409 instead and keeps the old connection.

Each connection gets one `simulator.session.Session` (role CSMS) whose handler is the
version's adapter.  Bad input is answered or dropped by the session; an over-long frame
(> max_size) makes websockets close with 1009, which is logged with the other close codes.
One station's failure never reaches another station's session or the server.

Limits (HubConfig): `max_connections_per_source` per remote IP (429; loopback exempt),
`handshake_timeout`, `idle_timeout` (one sweep now and then closes silent stations with
1000), and the per-station message-rate limit in front of each session's reader
(rate_limit.py: over it the station is paced, not answered).
"""
from __future__ import annotations

import asyncio
import collections
import http
import ipaddress
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import websockets
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import InvalidHeader
from websockets.headers import parse_subprotocol
from websockets.protocol import State

from simulator.protocol import CSMS, LENIENT
from simulator.session import Frame, Session

from .adapters import ADAPTERS, SUPPORTED_VERSIONS, Adapter
from .frame_audit import CallErrorLog, mark_repairs
from .rate_limit import PacedConnection, TokenBucket
from .security import server_ssl


class ServedHub(Protocol):
    """What the OCPP endpoint needs of its hub (`Hub` satisfies it): a structural type, so
    this module names no `hub.py` (the hub builds its server, not the other way round)."""
    config: Any     # hub.HubConfig
    metrics: Any    # metrics.HubMetrics
    security: Any   # security.HubSecurity (check_handshake)
    manager: Any    # manager.Manager
    link: Any       # workers.WorkerLink when the hub is one of several workers, else None

    @property
    def url(self) -> str: ...


log = logging.getLogger(__name__)

PATH_PREFIX = "/ocpp/"
MAX_STATION_ID = 255
REPLACED_REASON = "replaced by a new connection"


@dataclass(eq=False, slots=True)
class StationConnection:
    station_id: str
    version: str
    ws: ServerConnection
    paced: PacedConnection   # what the session reads: ws behind the rate limit
    session: Session
    adapter: Adapter
    remote: str | None
    connected_at: float = field(default_factory=time.time)

    def summary(self) -> dict:
        return {"id": self.station_id, "protocol": self.version, "remote": self.remote,
                "connected_for": round(time.time() - self.connected_at, 3)}


class FrameLog:
    """The last `per_station` frames in and out of each station (the debug view), within
    `total` frames for the whole hub.

    The total bounds the memory whatever the fleet: a fixed ring per station would cost
    every idle station its full ring (heartbeats fill it: ≈ 20 KiB at 100 frames), so past
    the total the least recently active station gives up its oldest frame.  A few stations
    keep `per_station` each; thousands keep a short recent history each."""

    def __init__(self, per_station: int = 100, total: int = 20_000):
        self.per_station = per_station
        self.total = total
        self._count = 0
        self._frames: collections.OrderedDict[str, collections.deque[Frame]] = collections.OrderedDict()

    def record(self, frame: Frame) -> None:
        if self.per_station <= 0 or self.total <= 0:
            return
        frames = self._frames
        buf = frames.get(frame.station)
        if buf is None:
            buf = frames[frame.station] = collections.deque()
        else:
            frames.move_to_end(frame.station)
        if len(buf) >= self.per_station:
            buf.popleft()
            self._count -= 1
        buf.append(frame)
        self._count += 1
        while self._count > self.total:   # trim the least recently active station
            station, oldest = next(iter(frames.items()))
            oldest.popleft()
            self._count -= 1
            if not oldest:
                del frames[station]

    def note(self, station_id: str, direction: str, version: str, text: str) -> None:
        """Record an event that is not a frame (connect, close) in the station's log."""
        self.record(Frame(time.time(), station_id, direction, version, "", text))

    def get(self, station_id: str, limit: int | None = None) -> list[Frame] | None:
        buf = self._frames.get(station_id)
        if buf is None:
            return None
        frames = list(buf)
        return frames[-limit:] if limit else frames


def _refuse(connection: ServerConnection, status: http.HTTPStatus, reason: str):
    log.warning("refused %s %s from %s: %s", connection.request.path if connection.request else "?",
                status.value, _remote(connection), reason)
    return connection.respond(status, reason + "\n")


def _remote_ip(connection: ServerConnection) -> str | None:
    try:
        addr = connection.remote_address
    except Exception:
        return None
    return addr[0] if addr else None


def _remote(connection: ServerConnection) -> str | None:
    try:
        addr = connection.remote_address
    except Exception:
        return None
    return f"{addr[0]}:{addr[1]}" if addr else None


class OcppServer:
    def __init__(self, hub: ServedHub):
        self.hub = hub
        self.config = hub.config
        self.connections: dict[str, StationConnection] = {}
        self.frames = FrameLog(hub.config.frames_kept, hub.config.frames_total)
        self._server = None
        self.recorder = None   # session.recording.Recorder, with config.record_path
        self._sweeper: asyncio.Task | None = None
        self._closing: set[asyncio.Task] = set()
        self._per_source: collections.Counter[str] = collections.Counter()  # remote IP → open
        self._exempt = [ipaddress.ip_network(n) for n in hub.config.source_limit_exempt]
        if self.config.fallback_version is not None and self.config.fallback_version not in ADAPTERS:
            raise ValueError(f"fallback_version {self.config.fallback_version!r} has no adapter; "
                             f"supported: {', '.join(SUPPORTED_VERSIONS)}")

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        cfg = self.config
        if cfg.record_path:
            from simulator.session.recording import Recorder
            self.recorder = Recorder(cfg.record_path, side="csms", max_bytes=cfg.record_max_bytes,
                                     keep=cfg.record_keep)
        self._server = await websockets.serve(
            self._serve_connection, cfg.host, cfg.port,
            process_request=self._process_request, select_subprotocol=self._select_subprotocol,
            compression=None, max_size=cfg.max_frame, max_queue=cfg.max_queue,
            open_timeout=cfg.handshake_timeout,
            ping_interval=cfg.ping_interval, ping_timeout=cfg.ping_interval,
            close_timeout=cfg.close_timeout, server_header="chargesim-hub",
            ssl=server_ssl(cfg), reuse_port=cfg.reuse_port or None)
        log.info("OCPP endpoint %s/{station_id} (%s)", self.hub.url, ", ".join(SUPPORTED_VERSIONS))

        idle = cfg.effective_idle_timeout
        if idle:
            self._sweeper = asyncio.create_task(self._close_idle(idle), name="hub-idle-sweeper")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._server is None:
            return
        self._server.close(code=1001, reason="hub shutting down")
        await self._server.wait_closed()
        for task in list(self._closing):
            task.cancel()
        self._server = None
        if self.recorder is not None:
            self.recorder.close()

    async def _close_idle(self, idle: float) -> None:
        """Close stations that sent nothing for `idle` seconds.  One sweep now and then over
        all connections costs less than a timer reset per frame."""
        while True:
            await asyncio.sleep(min(idle / 4, 30.0))
            cutoff = time.monotonic() - idle
            for conn in list(self.connections.values()):
                if conn.paced.last_frame < cutoff and conn.ws.state is State.OPEN:
                    log.warning("%s: nothing received for %gs: closing (idle timeout)",
                                conn.station_id, idle)
                    self._close_later(conn, 1000, f"idle timeout: nothing received for {idle:g}s")

    def _source_full(self, ip: str | None) -> bool:
        limit = self.config.max_connections_per_source
        if not limit or ip is None or self._per_source[ip] < limit:
            return False
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return True
        return not any(address in network for network in self._exempt)

    # -- opening handshake ------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request):
        metrics = self.hub.metrics
        path = urlsplit(request.path).path
        station_id = unquote(path[len(PATH_PREFIX):]) if path.startswith(PATH_PREFIX) else ""
        if not station_id or "/" in station_id or len(station_id) > MAX_STATION_ID:
            metrics.refused.inc(reason="path")
            return _refuse(connection, http.HTTPStatus.NOT_FOUND,
                           f"not found: {path!r}; the OCPP endpoint is {PATH_PREFIX}{{station_id}}")
        refused = self.hub.security.check_handshake(connection, request, station_id)  # 401 / 403
        if refused is not None:
            return refused
        try:
            offered = [p for value in request.headers.get_all("Sec-WebSocket-Protocol")
                       for p in parse_subprotocol(value)]
        except InvalidHeader as e:
            metrics.refused.inc(reason="subprotocol")
            return _refuse(connection, http.HTTPStatus.BAD_REQUEST, f"bad Sec-WebSocket-Protocol: {e}")
        supported = ", ".join(SUPPORTED_VERSIONS)
        # the station lists its subprotocols most preferred first: the first one we speak
        version = next((p for p in offered if p in ADAPTERS), None)
        if version is None:
            if offered:
                metrics.refused.inc(reason="subprotocol")
                return _refuse(connection, http.HTTPStatus.BAD_REQUEST,
                               f"none of the offered subprotocols ({', '.join(offered)}) is "
                               f"supported; supported: {supported}")
            if self.config.fallback_version is None:
                metrics.refused.inc(reason="subprotocol")
                return _refuse(connection, http.HTTPStatus.BAD_REQUEST,
                               f"no OCPP subprotocol offered; supported: {supported}")
            version = self.config.fallback_version
            log.warning("%s offered no subprotocol; speaking %s (fallback_version)", station_id,
                        version)
        ip = _remote_ip(connection)
        if self._source_full(ip):
            metrics.refused.inc(reason="per_source")
            response = _refuse(connection, http.HTTPStatus.TOO_MANY_REQUESTS,
                               f"too many connections from {ip} (limit "
                               f"{self.config.max_connections_per_source})")
            response.headers["Retry-After"] = "60"
            return response
        if station_id in self.connections and self.config.duplicate_policy == "reject":
            metrics.refused.inc(reason="duplicate")
            return _refuse(connection, http.HTTPStatus.CONFLICT,
                           f"station {station_id!r} is already connected")
        connection.ocpp_route = (station_id, version)
        return None

    @staticmethod
    def _select_subprotocol(connection: ServerConnection, offered):
        _, version = getattr(connection, "ocpp_route", (None, None))
        return version if version in offered else None

    # -- one connection ---------------------------------------------------------------
    async def _serve_connection(self, ws: ServerConnection) -> None:
        station_id, version = ws.ocpp_route
        try:
            await self._run_station(ws, station_id, version)
        except Exception:  # never let one station take the server down
            log.exception("%s: connection handler failed", station_id)

    async def _run_station(self, ws: ServerConnection, station_id: str, version: str) -> None:
        cfg, hub = self.config, self.hub
        adapter = ADAPTERS[version](station_id, hub.manager)
        metrics = hub.metrics

        async def handle(action: str, payload: dict) -> dict:
            started = time.perf_counter()
            try:
                answer = await adapter.handle(action, payload)
            except BaseException:
                metrics.handled(action, time.perf_counter() - started, False)
                raise
            metrics.handled(action, time.perf_counter() - started, True)
            return answer

        bucket = None
        if cfg.rate_limit:
            bucket = TokenBucket(cfg.rate_limit, cfg.rate_burst, time.monotonic())

        def throttled(first: bool, wait: float) -> None:
            metrics.throttled.inc()
            if first:
                log.warning("%s: over the message-rate limit (%g/s, burst %d): pacing its "
                            "frames", station_id, cfg.rate_limit, cfg.rate_burst)
                self.frames.note(station_id, "in", version,
                                 f"over the rate limit ({cfg.rate_limit:g}/s): frames paced")

        paced = PacedConnection(ws, bucket, throttled)
        session = Session(paced, version=version, role=CSMS, handler=handle, name=station_id,
                          mode=cfg.mode, call_timeout=cfg.call_timeout)
        adapter.attach(session)   # commands go out through the adapter
        if cfg.frames_kept:
            session.taps.append(self._record_marked if cfg.mode == LENIENT else self.frames.record)
        session.taps.append(metrics.on_frame)
        if cfg.store_frames:
            session.taps.append(hub.store.add_frame)
        if self.recorder is not None:
            session.taps.append(self.recorder.tap)
        session.taps.append(CallErrorLog(station_id, metrics.call_error_sent))
        conn = StationConnection(station_id, version, ws, paced, session, adapter, _remote(ws))

        old = self.connections.get(station_id)
        if old is not None and cfg.duplicate_policy == "reject":
            # Two handshakes raced past the 409 check; the first one keeps the station.
            log.warning("%s: duplicate connection from %s refused", station_id, conn.remote)
            metrics.refused.inc(reason="duplicate")
            await ws.close(1008, f"station {station_id!r} is already connected")
            return
        self.connections[station_id] = conn
        if old is not None:
            log.warning("%s: new connection from %s replaces the one from %s", station_id,
                        conn.remote, old.remote)
            metrics.replaced.inc()
            self.frames.note(station_id, "in", version, f"connection from {conn.remote} replaces "
                                                        f"the one from {old.remote}")
            self._close_later(old, 1000, REPLACED_REASON)
        hub.manager.connected(station_id, version, conn.remote)
        if hub.link is not None:   # a worker: commands for the station now come here
            hub.link.attached(conn)
        metrics.connections.inc()
        ip = _remote_ip(ws)
        if ip is not None:
            self._per_source[ip] += 1
        self.frames.note(station_id, "in", version, f"connected from {conn.remote} ({version})")
        log.info("%s: connected from %s (%s)", station_id, conn.remote, version)
        try:
            await session.run()
        finally:
            if ip is not None:
                self._per_source[ip] -= 1
                if not self._per_source[ip]:
                    del self._per_source[ip]
            code, reason, by = _close_info(ws)
            level = logging.WARNING if code not in (1000, 1001) else logging.INFO
            log.log(level, "%s: connection from %s closed by %s: %s", station_id, conn.remote,
                    by, f"{code} {reason or ''}".rstrip())
            metrics.disconnects.inc(code=str(code))
            self.frames.note(station_id, "out" if by == "hub" else "in", version,
                             f"closed by {by}: {code} {reason or ''}".rstrip())
            if self.connections.get(station_id) is conn:
                del self.connections[station_id]
                hub.manager.disconnected(station_id, code, reason)
                if hub.link is not None:
                    hub.link.detached(station_id)

    def _record_marked(self, frame: Frame) -> None:
        """Lenient mode: the frame log marks what was repaired."""
        self.frames.record(mark_repairs(frame))

    def _close_later(self, conn: StationConnection, code: int, reason: str) -> None:
        task = asyncio.create_task(conn.session.close(code, reason), name=f"close-{conn.station_id}")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


def _close_info(ws: ServerConnection) -> tuple[int | None, str, str]:
    """(code, reason, who closed first: 'hub' | 'station' | 'network')."""
    proto = ws.protocol
    sent, rcvd = proto.close_sent, proto.close_rcvd
    if sent is not None and (rcvd is None or proto.close_rcvd_then_sent is False):
        return sent.code, sent.reason, "hub"
    if rcvd is not None:
        return rcvd.code, rcvd.reason, "station"
    return 1006, "connection lost without a close frame", "network"
