"""The bundled hub: configuration, assembly, lifecycle.

    hub = Hub(HubConfig(port=0, api_port=0, tags={"TAG1": "Accepted"}))
    await hub.start()
    ... stations connect to f"{hub.url}/{station_id}"; commands via hub.send(...) or
        POST {hub.api_url}/stations/{id}/commands/{Action} ...
    await hub.stop()
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime

from simulator.protocol import CSMS, LENIENT, STRICT

from .adapters import SUPPORTED_VERSIONS
from .commands import Command, RawCommand, RawResult, Result
from .errors import HubError, StationNotConnected, UnknownAction
from .events import EventBus, InProcessBus
from .manager import UNKNOWN_STATION_POLICIES, Manager
from .metrics import HubMetrics
from .pki import CertificateAuthority
from .security import HubSecurity
from .server import OcppServer, StationConnection
from .store import Store
from .store.files import FileStore

log = logging.getLogger(__name__)

__all__ = ["Hub", "HubConfig", "HubError", "StationNotConnected", "UnknownAction",
           "serve_forever"]

DUPLICATE_POLICIES = ("replace", "reject")


@dataclass
class HubConfig:
    host: str = "127.0.0.1"
    port: int = 9000                   # 0: pick a free port
    api_port: int | None = 9001        # 0: pick a free port; None: no HTTP API
    soap_port: int | None = None       # OCPP 1.5 SOAP CentralSystemService (adapters/
    #                                    ocpp15s_server.py); 0: a free port; None: off
    db_path: str = ":memory:"          # or a SQLite file path, or a postgresql:// URL
    heartbeat_interval: int = 300      # seconds, sent in BootNotification replies
    unknown_stations: str = "accept"   # accept | pending | reject (BootNotification answer)
    fallback_version: str | None = None  # version for clients that offer no subprotocol
    duplicate_policy: str = "replace"  # replace | reject (a station id already connected)
    mode: str = STRICT                 # strict | lenient inbound validation
    call_timeout: float = 30.0         # seconds to wait for a station's reply to a command
    tags: dict[str, str | dict] = field(default_factory=dict)
    # ^ seed tags: {"TAG": "Accepted"} or {"TAG": {"status", "expiryDate", "parentIdTag"}}
    known_stations: tuple[str, ...] = ()  # seed: registered (Accepted) station ids
    ping_interval: float | None = 60.0  # WebSocket pings (and ping timeout); None: off
    close_timeout: float = 5.0
    max_frame: int = 64 * 1024         # larger frames close the connection with 1009
    handshake_timeout: float = 10.0    # TCP accepted → WebSocket open, else dropped
    idle_timeout: float | None = None  # no frame from a station for this long → closed;
    #                                    None: 3 × heartbeat_interval; 0: never
    max_connections_per_source: int = 1000  # per remote IP address (429 above); 0: no limit
    source_limit_exempt: tuple[str, ...] = ("127.0.0.0/8", "::1/128")  # networks not limited
    max_queue: int = 16                # frames buffered per connection before back-pressure
    # per-station message-rate limit (rate_limit.py): frames a second and the burst allowed
    # above it; over it the hub paces the station (stops reading it).  None or 0: no limit.
    # A charger sends about one message in ten seconds and a burst at boot; load tests that
    # drive one connection flat out turn it off (--rate-limit 0).
    rate_limit: float | None = 20.0
    rate_burst: int = 200
    frames_kept: int = 100             # per station, for GET /stations/{id}/frames; 0: off
    frames_total: int = 20_000         # frames kept for all stations together (≈ 5 MiB)
    store_frames: bool = False         # also write every frame to the store (table frames),
    #                                    behind, with the meter values; off by default: see
    #                                    docs/benchmarks.md for its cost
    flush_interval: float = 5.0        # seconds between write-behind flushes of the cache
    write_delay: float = 0.02          # meter values: one transaction per this many seconds
    #                                    (20 ms: ≈ 800 rows a COMMIT at 4,000 MeterValues/s;
    #                                    the index on transaction_id costs 4.8 µs a row in
    #                                    batches of 200, 3.8 in batches of 800)
    max_pending: int = 20_000          # rows queued at most before they are written at once
    allow_concurrent_tags: bool = False  # one tag may charge at several connectors (load tests)
    accept_unknown_tags: bool = False  # tags the hub does not know are Accepted (load tests)
    # security profiles (security.py) and certificate authority (pki.py); PEM text or paths
    station_passwords: dict[str, str] = field(default_factory=dict, repr=False)  # Basic auth, seed
    require_auth: bool = False         # refuse stations that have no password (401)
    tls_cert: str | None = None        # serve wss:// (profile 2)
    tls_key: str | None = None
    tls_client_ca: str | None = None   # require client certificates, CN = station id (3)
    ca_cert: str | None = None         # the CA that signs SignCertificate CSRs; without
    ca_key: str | None = None          # one (and no auto_ca) SignCertificate is NotSupported
    auto_ca: bool = False              # no ca_cert/ca_key: make a throwaway CA at start
    # store/files.py: where station uploads (GetDiagnostics / GetLog) and firmware images are kept
    # (None: a temporary directory, removed on stop); firmware seeds {name: bytes or path}
    uploads_dir: str | None = None
    firmware_dir: str | None = None
    firmware: dict[str, bytes | str] = field(default_factory=dict)
    # domain events (amqp_bus.py): on RabbitMQ with an amqp:// URL, in-process otherwise
    amqp_url: str | None = None
    amqp_exchange: str = "chargesim.events"
    # workers.py: several processes share the OCPP port (SO_REUSEPORT) and the store
    workers: int = 1                   # `serve_workers`: this many OCPP processes (main())
    reuse_port: bool = False
    shared_store: bool = False         # other processes write the store too (workers)
    # frame recording (simulator/session/recording.py, docs/recording-format.md): every
    # station's frames to this JSONL file, directions seen from the station; rotated at
    # record_max_bytes (None: never), record_keep old files kept
    record_path: str | None = None
    record_max_bytes: int | None = None
    record_keep: int = 5

    @property
    def effective_idle_timeout(self) -> float | None:
        """Seconds of silence after which a station is closed (None: never).  By default
        three heartbeat intervals: a charger sends a Heartbeat (or another message) each
        interval, so three missed ones mean it is gone or stuck, even if pongs still come."""
        if self.idle_timeout is None:
            return 3.0 * self.heartbeat_interval
        return self.idle_timeout or None

    def check(self) -> None:
        if self.unknown_stations not in UNKNOWN_STATION_POLICIES:
            raise ValueError(f"unknown_stations must be one of {', '.join(UNKNOWN_STATION_POLICIES)}")
        if self.duplicate_policy not in DUPLICATE_POLICIES:
            raise ValueError(f"duplicate_policy must be one of {', '.join(DUPLICATE_POLICIES)}")
        if self.mode not in (STRICT, LENIENT):
            raise ValueError(f"mode must be {STRICT!r} or {LENIENT!r}")
        for name in ("max_frame", "handshake_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.idle_timeout is not None and self.idle_timeout < 0:
            raise ValueError(f"idle_timeout must be >= 0 seconds (0: never), got {self.idle_timeout}")
        if self.max_connections_per_source < 0:
            raise ValueError("max_connections_per_source must be >= 0 (0: no limit), got "
                             f"{self.max_connections_per_source}")
        for network in self.source_limit_exempt:
            try:
                ipaddress.ip_network(network)
            except ValueError as e:
                raise ValueError(f"source_limit_exempt: {e}") from None
        if self.rate_limit is not None and self.rate_limit < 0:
            raise ValueError(f"rate_limit must be >= 0 frames a second (0: off), got {self.rate_limit}")
        if self.rate_limit and self.rate_burst < 1:
            raise ValueError(f"rate_burst must be at least 1, got {self.rate_burst}")
        if self.fallback_version is not None and self.fallback_version not in SUPPORTED_VERSIONS:
            raise ValueError(f"fallback_version must be one of {', '.join(SUPPORTED_VERSIONS)}")
        if not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.amqp_url is not None and not self.amqp_url.startswith(("amqp://", "amqps://")):
            raise ValueError(f"amqp_url must be an amqp:// or amqps:// URL, got {self.amqp_url!r}")


async def close_services(hub) -> None:
    """The end of a hub's services, in order: the API (no new requests), uploaded files,
    the manager (its cache flushed), the event bus (its outbox published), the store last.
    Shared by the hub and the workers' front; each stops its own connections first."""
    if hub.api is not None:
        await hub.api.stop()
        hub.api = None
    if hub.files is not None:
        hub.files.close()
    if hub.manager is not None:
        await hub.manager.stop()
    await hub.events.close()
    if hub.store is not None:
        hub.store.close()
        hub.store = None
    hub.started_at = None


class Hub:
    def __init__(self, config: HubConfig | None = None, *, events: EventBus | None = None):
        self.config = config or HubConfig()
        self.config.check()
        if events is None and self.config.amqp_url:
            from .amqp_bus import AmqpBus   # aio-pika is loaded only when a broker is used
            events = AmqpBus(self.config.amqp_url, exchange=self.config.amqp_exchange)
        self.events: EventBus = events or InProcessBus()
        self.store: Store | None = None
        self.security = None   # security.HubSecurity
        self.pki = None        # pki.Certificates (the manager's), when the hub has a CA
        self.files = None      # store.files.FileStore (with the HTTP API)
        self.manager: Manager | None = None
        self.server: OcppServer | None = None
        self.metrics = HubMetrics(self)
        self.api = None
        self.link = None       # workers.WorkerLink when this hub is one of several workers
        self.soap = None       # adapters.ocpp15s_server.SoapCentralSystem, with soap_port
        self.started_at: float | None = None

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        cfg = self.config
        self.store = Store(cfg.db_path, write_delay=cfg.write_delay, max_pending=cfg.max_pending)
        ca = None
        if (cfg.ca_cert and cfg.ca_key) or cfg.auto_ca:
            ca = CertificateAuthority(cfg.ca_cert, cfg.ca_key)
        if cfg.api_port is not None:   # uploads and firmware travel over the HTTP API
            self.files = FileStore(cfg.uploads_dir, cfg.firmware_dir, cfg.firmware)
        self.manager = Manager(self.store, self.events, heartbeat_interval=cfg.heartbeat_interval,
                               unknown_stations=cfg.unknown_stations,
                               flush_interval=cfg.flush_interval, ca=ca, files=self.files,
                               lenient=cfg.mode == LENIENT,
                               allow_concurrent_tags=cfg.allow_concurrent_tags,
                               accept_unknown_tags=cfg.accept_unknown_tags,
                               shared_store=cfg.shared_store)
        self.manager.commander = self.execute
        self.pki = self.manager.certificates if ca is not None else None
        try:
            for station_id in cfg.known_stations:
                self.store.set_operator_registration(station_id, "Accepted")
            await self.events.start()
            await self.manager.start()
            for id_tag, spec in cfg.tags.items():
                spec = {"status": spec} if isinstance(spec, str) else dict(spec)
                self.manager.put_tag(id_tag, spec.get("status", "Accepted"),
                                     spec.get("expiryDate"), spec.get("parentIdTag"))
            self.security = HubSecurity(self)
            self.server = OcppServer(self)
            await self.server.start()
            if cfg.soap_port is not None:
                from .adapters.ocpp15s_server import SoapCentralSystem
                self.soap = SoapCentralSystem(self, cfg.soap_port)
                await self.soap.start()
            if cfg.api_port is not None:
                from .api import HubApi
                self.api = HubApi(self)
                await self.api.start(cfg.host, cfg.api_port)
        except BaseException:
            await self.stop()
            raise
        self.started_at = time.time()
        log.info("hub up: %s (API %s)", self.url, self.api_url)

    async def stop(self) -> None:
        """Close all station connections (1001), the API, flush the cache, close the store.
        Idempotent; `manager` and `events` stay readable afterwards."""
        if self.store is None:
            return
        if self.server is not None:
            await self.server.stop()
        if self.soap is not None:
            await self.soap.stop()
            self.soap = None
        await close_services(self)

    async def __aenter__(self) -> "Hub":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # -- addresses --------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        """The OCPP endpoint without the station id: stations connect to f"{url}/{id}"."""
        scheme = "wss" if self.config.tls_cert else "ws"
        return f"{scheme}://{_host(self.config.host)}:{self.port}/ocpp"

    @property
    def soap_url(self) -> str | None:
        """The OCPP 1.5 SOAP CentralSystemService URL (None without soap_port)."""
        if self.soap is None:
            return None
        from .adapters.ocpp15s_server import SOAP_PATH
        return f"http://{_host(self.config.host)}:{self.soap.port}{SOAP_PATH}"

    @property
    def api_url(self) -> str | None:
        if self.api is None:
            return None
        return f"http://{_host(self.config.host)}:{self.api.port}"

    # -- stations ---------------------------------------------------------------------
    @property
    def connections(self) -> dict[str, StationConnection]:
        if self.soap is not None and self.soap.stations:   # 1.5 SOAP stations beside them
            return {**(self.server.connections if self.server else {}), **self.soap.stations}
        return self.server.connections if self.server else {}

    def connection(self, station_id: str) -> StationConnection:
        conn = self.connections.get(station_id)
        if conn is None:
            raise StationNotConnected(f"station {station_id!r} is not connected")
        return conn

    async def send(self, station_id: str, action: str, payload: dict,
                   timeout: float | None = None) -> dict:
        """Send a raw CSMS-initiated request in the station's protocol (action + payload as
        given) and return its reply payload.  The adapter reads both into the abstract
        command and result, which the manager records like any other command.

        Raises StationNotConnected, UnknownAction (not an action of the station's version, or
        not one the CSMS initiates), simulator.protocol.OcppError (our payload breaks the
        schema; nothing sent), and from the session: CallErrorReceived, CallTimeout,
        InvalidResponse (an OcppError too), SessionClosed.
        """
        conn = self.connection(station_id)
        spec = conn.session.catalog.get(action)
        if spec is None:
            canonical = conn.session.catalog.canonical_name(action)
            hint = f" (did you mean {canonical}?)" if canonical else ""
            raise UnknownAction(f"{action!r} is not an {conn.version} action{hint}")
        if not spec.initiated_by(CSMS):
            raise UnknownAction(f"{action} is not initiated by the CSMS in {conn.version}")
        with self.metrics.command(action):
            command, result, reply = await conn.adapter.send_raw(action, payload, timeout)
        self.manager.command_done(station_id, command, result)
        return reply

    async def execute(self, station_id: str, command: Command,
                      timeout: float | None = None) -> Result:
        """Send an abstract command (commands.py) through the station's adapter; the typed
        result.  Raises what `send` raises; TypeError if the station's protocol has no
        request for the command."""
        if isinstance(command, RawCommand):   # checked and sent as the raw request it is
            return RawResult(await self.send(station_id, command.action, command.payload, timeout))
        conn = self.connection(station_id)
        with self.metrics.command(conn.adapter.action_of(command)):
            result = await conn.adapter.execute(command, timeout)
        self.manager.command_done(station_id, command, result)
        return result

    def put_tag(self, id_tag: str, status: str = "Accepted", expiry_date: datetime | str | None = None,
                parent_id_tag: str | None = None) -> dict:
        return self.manager.put_tag(id_tag, status, expiry_date, parent_id_tag)


def _host(host: str) -> str:
    if host in ("0.0.0.0", "", None):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


async def serve_forever(config: HubConfig | None = None) -> None:
    """Run a hub until SIGINT / SIGTERM (or cancellation), then stop it cleanly."""
    hub = Hub(config)
    await hub.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):
            pass
    print(f"chargesim hub: OCPP {hub.url}/{{station_id}}  API {hub.api_url}", flush=True)
    if hub.soap_url:
        print(f"chargesim hub: OCPP 1.5 SOAP {hub.soap_url}", flush=True)
    try:
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await hub.stop()
