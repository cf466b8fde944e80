"""The SOAP link of a 1.5 station: POSTs to the CSMS's CentralSystemService, and the
station's own ChargePointService endpoint the CSMS calls back.

There is no connection to keep: every exchange is one HTTP request and its response.  The
link runs one sans-I/O `SoapRpcCore` (MessageID / RelatesTo correlation, schema checks,
faults) and does the I/O around it.  To the station and its drivers it looks like an RPC
session (`call`, `closed`, `after_reply`, `taps`), so a scenario's `send` step and the
station's after-reply work are the same as with OCPP-J.

"Connected" means: the callback endpoint listens and the CSMS's host accepts a TCP
connection.  A POST that gets no HTTP answer is a lost link (the station backs off and
connects again, as after a dropped websocket).
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from typing import TYPE_CHECKING, Awaitable, Callable
from urllib.parse import urlsplit

from ...protocol import ErrorCode, OcppError
from ...protocol.catalog import CHARGE_POINT
from ...protocol.rpc import CallReceived, FrameRejected
from ...protocol.soap.envelope import FaultCode, build_fault, build_request, build_response
from ...protocol.soap.rpc import SoapRpcCore, new_message_id
from ...session import CallTimeout, Frame, SessionClosed
from ...session.soap_reply import soap_reply
from ...transport.soap_http import SoapEndpoint, SoapHttpClient, SoapHttpError
from .quirks import SoapQuirks

if TYPE_CHECKING:
    from ...station.station import Station

log = logging.getLogger(__name__)
VERSION = "ocpp1.5"
SERVICE_PATH = "/ChargePointService"

Handler = Callable[[str, dict], Awaitable[dict]]
# the after-reply jobs of the CSMS request being handled (one list per HTTP request)
_AFTER: contextvars.ContextVar[list | None] = contextvars.ContextVar("soap_after", default=None)


class SoapLink:
    def __init__(self, station: Station, handler: Handler):
        self.station = station
        self.handler = handler
        self.quirks = SoapQuirks(station.options.quirks)
        self.core: SoapRpcCore | None = None
        self.closed = True
        self.call_timeout = station.options.call_timeout
        self._endpoint: SoapEndpoint | None = None
        self._client: SoapHttpClient | None = None
        self._port = station.options.callback_port
        self._on_lost: Callable[[], None] | None = None
        self._stopping: asyncio.Task | None = None
        self.url: str | None = None       # our ChargePointService URL (sent as From)

    @property
    def taps(self) -> list:
        """The station's tap list itself (it is made after the dialect)."""
        return self.station.taps

    # -- link ---------------------------------------------------------------------------
    async def open(self, on_lost: Callable[[], None]) -> None:
        st, opts = self.station, self.station.options
        if self._stopping is not None:        # the endpoint an outage closed: free its port
            await self._stopping
            self._stopping = None
        await self._probe(st.csms_url)
        if self._endpoint is None:
            ep = SoapEndpoint(self._serve, self._internal_fault, host=opts.callback_host,
                              port=self._port, path=SERVICE_PATH)
            bound = await ep.start()
            self._port = int(urlsplit(bound).port)   # the same port after a reconnect
            self._endpoint = ep
            self.url = opts.callback_url or bound
        # no timeout of its own: each call's (CallTimeout) is the one that counts
        self._client = self._client or SoapHttpClient(timeout=None)
        self.core = SoapRpcCore(CHARGE_POINT, charge_box_identity=st.id, peer_url=st.csms_url,
                                own_url=None if "soap_no_from" in self.quirks else self.url,
                                mode=opts.mode)
        self._on_lost, self.closed = on_lost, False

    @staticmethod
    async def _probe(url: str) -> None:
        """Can the CSMS's host be reached at all (the HTTP exchanges come later)?"""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"an OCPP 1.5 SOAP CSMS URL is http(s)://host[:port]/path, "
                             f"got {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        _, writer = await asyncio.open_connection(parts.hostname, port)
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass

    async def close(self) -> None:
        self._shut()
        if self._stopping is not None:
            await self._stopping
            self._stopping = None
        ep, client = self._endpoint, self._client
        self._endpoint = self._client = None
        if ep is not None:
            await ep.stop()
        if client is not None:
            await client.close()

    def abort(self, notify: bool) -> None:
        """The network is gone: nothing more goes out or comes in."""
        on_lost = self._on_lost
        self._shut()
        ep, self._endpoint = self._endpoint, None
        if ep is not None:
            self._stopping = asyncio.get_running_loop().create_task(ep.stop())
        if notify and on_lost is not None:
            on_lost()

    def _shut(self) -> None:
        self.closed, self._on_lost = True, None
        if self.core is not None:
            self.core.close()

    def _lost(self, why: str) -> None:
        on_lost = self._on_lost
        self._shut()
        self.station.events.emit("error", f"SOAP link lost: {why}")
        if on_lost is not None:
            on_lost()

    def _tap(self, direction: str, raw: bytes | str, note: str | None = None) -> None:
        if not self.taps:
            return
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        frame = Frame(time.time(), self.station.id, direction, VERSION, text, note)
        for tap in list(self.taps):
            try:
                tap(frame)
            except Exception:  # noqa: BLE001 - a failing tap is logged, never fatal
                log.exception("frame tap failed")

    # -- outbound ------------------------------------------------------------------------
    async def call(self, action: str, payload: dict, *, timeout: float | None = None,
                   validate_payload: bool = True) -> dict:
        core, client = self.core, self._client
        if self.closed or core is None or client is None:
            raise SessionClosed(f"{self.station.id}: not connected")
        timeout = self.call_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        core.validate_outbound = validate_payload
        try:
            call = core.call(action, payload, now=loop.time(), timeout=timeout)
        finally:
            core.validate_outbound = True
        frame = call.frame.encode("utf-8")
        if self.quirks:
            if self.quirks.prefixes is not None:
                frame = build_request(core.remote.name, action, payload,
                                      charge_box_identity=core.charge_box_identity,
                                      message_id=call.unique_id, to=core.peer_url,
                                      from_url=core.own_url, validate=False,
                                      prefixes=self.quirks.prefixes)
            frame = self.quirks.apply(frame)
        self._tap("out", frame)
        op = core.remote.operations[action]
        try:
            status, body = await asyncio.wait_for(
                client.post(core.peer_url, frame, action=op.action), timeout)
        except asyncio.TimeoutError:
            core.withdraw(call)
            raise CallTimeout(action, call.unique_id, timeout) from None
        except SoapHttpError as e:
            core.withdraw(call)
            self._lost(str(e))
            raise SessionClosed(f"{self.station.id}: {e}") from None
        self._tap("in", body)
        return soap_reply(core, call, action, status, body)

    # -- inbound -------------------------------------------------------------------------
    def after_reply(self, job: Callable[[], object]) -> None:
        """Run `job` once the response to the CSMS request being handled is sent; outside
        a handler, at once."""
        jobs = _AFTER.get()
        if jobs is None:
            job()
        else:
            jobs.append(job)

    async def _serve(self, body: bytes) -> tuple[int, bytes]:
        self._tap("in", body)
        core = self.core
        if core is None or self.closed:
            reply = self._internal_fault(ConnectionError("the station is not connected"))
            self._tap("out", reply, "rejected: not connected")
            return 500, reply
        event = core.receive_request(body)
        if isinstance(event, FrameRejected):
            reply = (event.reply or "").encode("utf-8")
            self._tap("out", reply, event.note)
            return 400, reply
        assert isinstance(event, CallReceived)
        call = event.call
        jobs: list = []
        token = _AFTER.set(jobs)
        status = 200
        try:
            result = await self.handler(call.action, call.payload)
            reply = core.respond(call, result)
            if self.quirks:
                raw = reply.encode("utf-8")
                if self.quirks.prefixes is not None:
                    raw = build_response(core.hosted.name, call.action, result,
                                         relates_to=call.unique_id or None,
                                         message_id=new_message_id(), validate=False,
                                         prefixes=self.quirks.prefixes)
                reply = self.quirks.apply(raw).decode("utf-8")
        except OcppError as e:
            status = 500 if e.code in (ErrorCode.INTERNAL_ERROR, ErrorCode.GENERIC_ERROR) else 400
            reply = core.fail(call, e)
            jobs.clear()
        except Exception as e:  # noqa: BLE001 - a handler bug is a Receiver fault
            log.exception("%s: %s failed", self.station.id, call.action)
            reply, status = core.fail(call, e), 500
            jobs.clear()
        finally:
            _AFTER.reset(token)
        self._tap("out", reply)
        if jobs:
            loop = asyncio.get_running_loop()
            for job in jobs:          # after this response is written
                loop.call_soon(job)
        return status, reply.encode("utf-8")

    @staticmethod
    def _internal_fault(exc: BaseException) -> bytes:
        return build_fault(FaultCode.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}",
                           message_id=new_message_id())
