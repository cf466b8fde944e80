"""The hub's OCPP 1.5 SOAP endpoint: http://HOST:SOAP_PORT/ocpp15/CentralSystemService.

One SOAP 1.2 endpoint (an aiohttp app, on its own port) serves the CentralSystemService to
every 1.5 charge point.  Each request is parsed once
(`simulator.protocol.soap.envelope.parse`, in the hub's strict or lenient mode), routed on
its `chargeBoxIdentity` header (in either OCPP namespace) to that station's
`SoapRpcCore` and answered by the station's `Ocpp15SoapAdapter`, which feeds the same
manager, store and domain events as the 1.6 and 2.0.1 adapters.

HTTP has no connection, so a SOAP station is "connected" from its first request until it
has been silent for the hub's idle timeout (or the hub stops); it is listed by `Hub.connections`
with the WebSocket stations, and the command API reaches it like any other station.

Calling back: each request's WS-Addressing `From` is the station's ChargePointService URL;
the latest one wins.  A request without `From` is still answered, but the hub logs a
warning naming the station, and commands to a station whose callback address the hub never
learnt fail with `NoCallbackAddress` (HTTP 409 from the command API).  Commands are POSTed
with the envelope codec; the answer is matched by `RelatesTo` (or the HTTP exchange).

Basic auth (security profile 1) as for WebSocket stations: a station with a password (or
any station, with `require_auth`) must send `Authorization: Basic` with its identity as the
user, else 401.  The message-rate limit paces a station's answers (rate_limit.py).  TLS is not
served here.  With `record_path`, the envelopes go into the hub's recording (protocol
"ocpp1.5", the XML as the frame's text).

Refused with a SOAP fault, never a crash, other stations unaffected: XML that is not
well-formed, any DOCTYPE (XXE, entity expansion), a SOAP 1.1 envelope, a body in an unknown
namespace or not a CentralSystemService request, a payload breaking the 1.5 schema, a request
without `chargeBoxIdentity`, and — with `unknown_stations="refuse"` (`--unknown-stations
refuse`) — a `chargeBoxIdentity` the operator has not registered (InvalidAddressingHeader,
"unknown station ..."; after the credentials are checked).  Status codes follow the SOAP 1.2 HTTP binding: 400 for a
Sender fault, 500 for a Receiver fault.
"""
from __future__ import annotations

import asyncio
import http
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from simulator.protocol import CSMS, ErrorCode, OcppError
from simulator.protocol.rpc import (CallReceived, ErrorReceived, FrameRejected, InvalidResult,
                                    ResultReceived)
from simulator.protocol.soap.envelope import FaultCode, SoapFault, build_fault, parse
from simulator.protocol.soap.rpc import SoapRpcCore, new_message_id
from simulator.protocol.soap.schema import (CENTRAL_SYSTEM_SERVICE, CHARGE_POINT_SERVICE,
                                            SERVICES, Operation)
from simulator.session import Frame
from simulator.session.rpc import CallErrorReceived, CallTimeout, InvalidResponse, SessionClosed
from simulator.transport.soap_http import CONTENT_TYPE, MAX_BODY, SoapHttpClient, SoapHttpError

from aiohttp import web

from ..errors import HubError
from ..rate_limit import TokenBucket
from ..security import basic_credentials
from .ocpp15s import V15, Ocpp15SoapAdapter



class SoapHub(Protocol):
    """What the SOAP endpoint needs of its hub (`Hub` satisfies it): a structural type, so
    this module names no `hub.py` (the hub builds its endpoints, not the other way round)."""
    config: Any     # hub.HubConfig
    manager: Any    # manager.Manager
    metrics: Any    # metrics.HubMetrics
    security: Any   # security.HubSecurity
    server: Any     # server.OcppServer (a station id already connected over WebSocket)

log = logging.getLogger(__name__)

SOAP_PATH = "/ocpp15/CentralSystemService"
MAX_STATION_ID = 255


class NoCallbackAddress(HubError):
    """The station never sent a WS-Addressing From header: the hub cannot call it."""
    status = 409


# -- the 1.5 operations, as the hub's command API looks them up -------------------------

@dataclass(frozen=True, slots=True)
class _Spec:
    operation: Operation

    def initiated_by(self, role: str) -> bool:
        return self.operation.initiator == role


class SoapCatalog:
    """`Catalog`'s lookups over the two 1.5 services.  DataTransfer exists in both; the
    CSMS-initiated one (ChargePointService) is the one the command API means."""
    version = V15

    def __init__(self):
        self._ops: dict[str, Operation] = {}
        for name in (CENTRAL_SYSTEM_SERVICE, CHARGE_POINT_SERVICE):   # CP service wins
            self._ops.update(SERVICES[name].operations)
        self._lower = {n.lower(): n for n in self._ops}

    def get(self, name: str) -> _Spec | None:
        op = self._ops.get(name)
        return _Spec(op) if op is not None else None

    def canonical_name(self, name: str) -> str | None:
        return self._lower.get(name.lower())


CATALOG = SoapCatalog()


class SoapSession:
    """One station's SOAP relation: its correlation core and the calls to its
    ChargePointService (what `Session.call` is to a WebSocket station)."""
    catalog = CATALOG

    def __init__(self, station_id: str, core: SoapRpcCore, client: SoapHttpClient,
                 call_timeout: float, tap):
        self.name = station_id
        self.core = core
        self._client = client
        self.call_timeout = call_timeout
        self._tap = tap

    @property
    def callback_url(self) -> str | None:
        return self.core.peer_url or None

    async def call(self, action: str, payload: dict, *, timeout: float | None = None) -> dict:
        """POST a ChargePointService request; the answer's payload.  Raises what
        `Session.call` raises, and NoCallbackAddress when the hub has no URL to call."""
        core = self.core
        if not core.peer_url:
            raise NoCallbackAddress(
                f"station {self.name!r} sent no WS-Addressing From header: the hub cannot call "
                f"it back ({action} not sent)")
        if core.closed:
            raise SessionClosed(f"{self.name}: the SOAP session is closed")
        loop = asyncio.get_running_loop()
        timeout = self.call_timeout if timeout is None else timeout
        out = core.call(action, payload, now=loop.time(), timeout=timeout)  # OcppError: not sent
        url = core.peer_url
        self._tap("out", out.frame, None)
        try:
            _, body = await asyncio.wait_for(
                self._client.post(url, out.frame, action=core.remote.operations[action].action),
                timeout)
        except TimeoutError:
            core.withdraw(out)
            raise CallTimeout(action, out.unique_id, timeout) from None
        except SoapHttpError as e:
            core.withdraw(out)
            raise SessionClosed(f"{self.name}: {action} not delivered to the station's "
                                f"ChargePointService: {e}") from None
        except BaseException:
            core.withdraw(out)
            raise
        text = body.decode("utf-8", "replace")
        event = core.receive_reply(body, call=out)
        self._tap("in", text, getattr(event, "note", None))
        if isinstance(event, ResultReceived):
            return event.payload
        if isinstance(event, ErrorReceived):
            raise CallErrorReceived(action, event.error)
        if isinstance(event, InvalidResult):
            raise InvalidResponse(event.error.code, f"{action} answer: {event.error.description}",
                                  event.error.details)
        core.withdraw(out)
        raise InvalidResponse(ErrorCode.PROTOCOL_ERROR,
                              f"{action}: the station's answer is not its response ({event.note})")

    def close(self) -> None:
        self.core.close()


@dataclass(eq=False, slots=True)
class SoapStation:
    """A 1.5 SOAP station as `Hub.connections` lists it (the fields a StationConnection has
    that the API and metrics read)."""
    station_id: str
    session: SoapSession
    adapter: Ocpp15SoapAdapter
    version: str = V15
    connected_at: float = field(default_factory=time.time)
    last_request: float = field(default_factory=time.monotonic)
    warned_no_from: bool = False
    bucket: TokenBucket | None = None     # the message-rate limit (rate_limit.py)
    throttled: bool = False               # over it already (logged once)

    @property
    def remote(self) -> str | None:
        url = self.session.callback_url
        return urlsplit(url).netloc if url else None

    def summary(self) -> dict:
        return {"id": self.station_id, "protocol": self.version, "remote": self.remote,
                "callback": self.session.callback_url,
                "connected_for": round(time.time() - self.connected_at, 3)}


def _fault_status(kind: FaultCode | None) -> int:
    return 400 if kind is None or kind.code == "Sender" else 500


def _reply_status(reply: str) -> int:
    """400 / 500 for a Sender / Receiver fault (SOAP 1.2 HTTP binding), 200 otherwise."""
    try:
        msg = parse(reply)
    except SoapFault:
        return 500
    if msg.kind != "fault":
        return 200
    return 400 if msg.fault.code == "Sender" else 500


def _callback(url: str | None) -> str | None:
    """A `From` address the hub may call: an absolute http(s) URL (not the anonymous one)."""
    if not url:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


class SoapCentralSystem:
    """The CentralSystemService for every 1.5 SOAP station of one hub."""

    def __init__(self, hub: SoapHub, port: int):
        self.hub = hub
        self.config = hub.config
        self.stations: dict[str, SoapStation] = {}
        # each call's own timeout (asyncio.wait_for) governs; the client's is only a backstop
        # above the longest one the command API accepts
        self._client = SoapHttpClient(timeout=max(self.config.call_timeout, 3600.0) + 60.0)
        self._port = port
        self._runner: web.AppRunner | None = None
        self._sweeper: asyncio.Task | None = None
        self.port: int | None = None

    async def start(self) -> None:
        # an aiohttp app of its own (not transport's SoapEndpoint): Basic auth needs the
        # request's Authorization header, which SoapEndpoint does not hand on
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(SOAP_PATH, self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.config.host, self._port).start()
        self.port = self._runner.addresses[0][1]
        idle = self.config.effective_idle_timeout
        if idle:
            self._sweeper = asyncio.create_task(self._close_idle(idle), name="hub-soap-idle")
        log.info("OCPP 1.5 SOAP endpoint on %s:%s%s", self.config.host, self.port, SOAP_PATH)

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for station_id in list(self.stations):
            self._drop(station_id, 1001, "hub shutting down")
        await self._client.close()

    def _drop(self, station_id: str, code: int | None, reason: str) -> None:
        station = self.stations.pop(station_id, None)
        if station is None:
            return
        station.session.close()
        self._frame(station_id, "out", "", f"SOAP station dropped: {reason}")
        self.hub.manager.disconnected(station_id, code, reason)

    async def _close_idle(self, idle: float) -> None:
        while True:
            await asyncio.sleep(min(idle / 4, 30.0))
            cutoff = time.monotonic() - idle
            for station in list(self.stations.values()):
                if station.last_request < cutoff:
                    log.warning("%s: no SOAP request for %gs: dropped (idle timeout)",
                                station.station_id, idle)
                    self._drop(station.station_id, 1000,
                               f"idle timeout: nothing received for {idle:g}s")

    # -- frames -------------------------------------------------------------------------
    def _frame(self, station_id: str | None, direction: str, raw: str, note: str | None) -> None:
        frame = Frame(time.time(), station_id or "?", direction, V15, raw, note)
        server = self.hub.server
        if (station_id and len(station_id) <= MAX_STATION_ID and server is not None
                and self.config.frames_kept):
            server.frames.record(frame)
        if station_id and server is not None and server.recorder is not None:
            server.recorder.tap(frame)           # --record: the envelopes, as XML text
        self.hub.metrics.on_frame(frame)

    def _tap_for(self, station_id: str):
        return lambda direction, raw, note: self._frame(station_id, direction, raw, note)

    # -- one request --------------------------------------------------------------------
    def _internal_fault(self, error: BaseException) -> bytes:
        return build_fault(FaultCode.INTERNAL_ERROR, f"internal error: {type(error).__name__}",
                           message_id=new_message_id())

    def _refuse(self, station_id: str | None, body: bytes, kind: FaultCode, reason: str,
                relates_to: str | None) -> tuple[int, bytes]:
        log.warning("SOAP request%s refused (%s): %s",
                    f" from {station_id!r}" if station_id else "", kind.subcode, reason)
        self._frame(station_id, "in", body.decode("utf-8", "replace"), f"rejected: {reason}")
        fault = build_fault(kind, reason, message_id=new_message_id(), relates_to=relates_to)
        self._frame(station_id, "out", fault.decode(), None)
        return _fault_status(kind), fault

    async def _serve(self, request: web.Request) -> web.Response:
        headers = {"Content-Type": f"{CONTENT_TYPE}; charset=utf-8"}
        try:
            body = await request.read()
            status, reply = await self._handle(body, request.headers.get("Authorization"))
        except web.HTTPException:
            raise                      # 413: the body was over MAX_BODY
        except Exception as e:        # noqa: BLE001 - a bug must not take the endpoint down
            log.exception("SOAP request handling failed")
            status, reply = 500, self._internal_fault(e)
        if status == 401:
            headers = {"WWW-Authenticate": 'Basic realm="OCPP"', "Content-Type": "text/plain"}
        return web.Response(status=status, body=reply, headers=headers)

    def _unauthorized(self, identity: str, authorization: str | None) -> tuple[int, bytes] | None:
        """Basic auth (security profile 1) as for WebSocket stations: required when the
        station has a password, or with require_auth; the user name is the identity."""
        security = self.hub.security
        if security is None or not (self.config.require_auth or security.has_password(identity)):
            return None
        creds = basic_credentials(authorization)
        if creds is None:
            reason = "no Basic auth credentials"
        elif creds[0] != identity:
            reason = f"Basic auth user {creds[0]!r} is not the chargeBoxIdentity"
        elif not security.has_password(identity):
            reason = "no password is set for this station (require_auth)"
        elif not security.check_password(identity, creds[1]):
            reason = "wrong password"
        else:
            return None
        log.warning("SOAP request from %r refused: 401 %s", identity, reason)
        self._frame(identity, "in", "", f"refused: 401 {reason}")
        return http.HTTPStatus.UNAUTHORIZED.value, f"unauthorized: {reason}\n".encode()

    def _unknown(self, identity: str) -> bool:
        """`unknown_stations="refuse"` (no auto-registration) and the operator never
        registered `identity` nor was it accepted before (security.HubSecurity.is_known)."""
        if self.config.unknown_stations != "refuse" or identity in self.stations:
            return False
        security = self.hub.security
        return security is None or not security.is_known(identity)

    async def _handle(self, body: bytes, authorization: str | None = None) -> tuple[int, bytes]:
        try:
            msg = parse(body, mode=self.config.mode)
        except SoapFault as e:
            station = e.headers.charge_box_identity if e.headers is not None else None
            return self._refuse(station, body, e.fault.kind, e.fault.reason, e.relates_to)
        headers = msg.headers
        identity = headers.charge_box_identity
        if msg.kind != "request":
            return self._refuse(identity, body, FaultCode.MALFORMED, "the CentralSystemService "
                                f"takes requests; this envelope is a {msg.kind}", headers.message_id)
        if not identity:
            return self._refuse(None, body, FaultCode.MISSING_HEADER,
                                f"no chargeBoxIdentity header: the hub cannot tell which charge "
                                f"point sent {msg.operation.name}", headers.message_id)
        if len(identity) > MAX_STATION_ID:
            return self._refuse(None, body, FaultCode.INVALID_HEADER,
                                f"chargeBoxIdentity is {len(identity)} characters long (at most "
                                f"{MAX_STATION_ID})", headers.message_id)
        if msg.operation.service != CENTRAL_SYSTEM_SERVICE:
            return self._refuse(identity, body, FaultCode.UNKNOWN_OPERATION,
                                f"{msg.operation.name} is an operation of the "
                                f"{msg.operation.service}; this endpoint serves the "
                                f"{CENTRAL_SYSTEM_SERVICE}", headers.message_id)
        refused = self._unauthorized(identity, authorization)
        if refused is not None:
            return refused
        if self._unknown(identity):   # after the credentials, as on the WebSocket endpoint
            self.hub.metrics.refused.inc(reason="unknown")
            return self._refuse(identity, body, FaultCode.INVALID_HEADER,
                                f"unknown station {identity!r} (auto-registration is off: "
                                f"register it first)", headers.message_id)
        ws = self.hub.server.connections.get(identity) if self.hub.server else None
        if ws is not None:
            return self._refuse(identity, body, FaultCode.INVALID_HEADER,
                                f"station {identity!r} is connected over WebSocket ({ws.version}); "
                                "one station id speaks one protocol at a time", headers.message_id)
        station = self.stations.get(identity) or self._register(identity, headers.from_)
        station.last_request = time.monotonic()
        if station.bucket is not None:
            wait = station.bucket.take(station.last_request)
            if wait:     # over the rate limit: the answer is paced, as a socket's reads are
                self.hub.metrics.throttled.inc()
                if not station.throttled:
                    station.throttled = True
                    log.warning("%s: over the message-rate limit (%g/s, burst %d): pacing its "
                                "SOAP requests", identity, self.config.rate_limit,
                                self.config.rate_burst)
                await asyncio.sleep(wait)
        self._learn_callback(station, headers.from_)
        core = station.session.core
        event = core.receive_request(msg)
        if isinstance(event, FrameRejected):      # the core's own checks; its fault as built
            log.warning("SOAP request from %r refused: %s", identity, event.note)
            self._frame(identity, "in", body.decode("utf-8", "replace"), event.note)
            self._frame(identity, "out", event.reply, None)
            return _reply_status(event.reply), event.reply.encode("utf-8")
        assert isinstance(event, CallReceived)
        call = event.call
        note = "; ".join(msg.repairs + msg.notes) or None
        self._frame(identity, "in", body.decode("utf-8", "replace"),
                    f"repaired: {note}" if note else None)
        started = time.perf_counter()
        ok = False
        try:
            result = await station.adapter.handle(call.action, call.payload)
            reply = core.respond(call, result)
            ok = True
        except OcppError as e:
            log.warning("%s: %s answered with a fault: %s", identity, call.action, e)
            reply = core.fail(call, e)
        except Exception as e:      # noqa: BLE001 - one station's bug never reaches the others
            log.exception("%s: %s handler failed", identity, call.action)
            reply = core.fail(call, e)
        self.hub.metrics.handled(call.action, time.perf_counter() - started, ok)
        self._frame(identity, "out", reply, None)
        return (200 if ok else _reply_status(reply)), reply.encode("utf-8")

    def _register(self, station_id: str, from_: str | None) -> SoapStation:
        cfg = self.config
        core = SoapRpcCore(CSMS, charge_box_identity=station_id, peer_url="", mode=cfg.mode)
        session = SoapSession(station_id, core, self._client, cfg.call_timeout,
                              self._tap_for(station_id))
        adapter = Ocpp15SoapAdapter(station_id, self.hub.manager)
        adapter.attach(session)
        station = SoapStation(station_id, session, adapter)
        if cfg.rate_limit:
            station.bucket = TokenBucket(cfg.rate_limit, cfg.rate_burst, time.monotonic())
        self.stations[station_id] = station
        log.info("%s: first SOAP request (%s)", station_id, V15)
        self._frame(station_id, "in", "", f"first SOAP request ({V15})")
        url = _callback(from_)
        self.hub.manager.connected(station_id, V15, urlsplit(url).netloc if url else None)
        return station

    def _learn_callback(self, station: SoapStation, from_: str | None) -> None:
        core = station.session.core
        url = _callback(from_)
        if url is None:
            if from_:
                log.warning("%s: WS-Addressing From %r is not an http(s) URL: the hub cannot "
                            "call this station back", station.station_id, from_)
            elif not core.peer_url and not station.warned_no_from:
                log.warning("%s: no WS-Addressing From header: the hub cannot call this "
                            "station back until a request carries one", station.station_id)
            station.warned_no_from = True
            return
        if url != core.peer_url:
            if core.peer_url:
                log.info("%s: callback address changed from %s to %s", station.station_id,
                         core.peer_url, url)
            core.peer_url = url
