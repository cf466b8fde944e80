"""Replaying a recorded OCPP 1.5 (SOAP) station against a CentralSystemService.

The same replay as for OCPP-J (replayer.StationReplay: order, timing, id/tag/time mapping,
comparison), on the SOAP layers instead of a websocket session: one sans-I/O
`SoapRpcCore(CHARGE_POINT)` correlates by MessageID / RelatesTo, `SoapHttpClient` POSTs the
station's requests, and a `SoapEndpoint` hosts the station's ChargePointService, whose URL
goes out as WS-Addressing `From`, so the CSMS can call the replayed station back.  Its
requests are answered as the recorded station answered them.  No station engine is
involved: nothing here decides anything a charger would.
"""
from __future__ import annotations

import asyncio
import logging
import time

from ..protocol import CHARGE_POINT, LENIENT, STRICT, ErrorCode, OcppError
from ..protocol.rpc import CallReceived, FrameRejected
from ..protocol.soap.envelope import FaultCode, build_fault
from ..protocol.soap.rpc import SoapRpcCore, new_message_id
from ..session import CallTimeout, Frame, SessionClosed
from ..session.soap_reply import soap_reply
from ..transport.soap_http import SoapEndpoint, SoapHttpClient, SoapHttpError
from .replayer import CSMS, MISSING, ExchangeResult, StationReplay

log = logging.getLogger(__name__)
VERSION = "ocpp1.5"
SERVICE_PATH = "/ChargePointService"


class SoapReplaySession:
    """What a replay needs of a session, over SOAP: `call()` raising the session's
    exceptions, `taps`, and the CSMS's requests handed to `handler(action, payload)`."""

    def __init__(self, station_id: str, url: str, handler, *, mode: str, call_timeout: float,
                 callback_host: str = "127.0.0.1"):
        self.station_id, self.url, self.handler = station_id, url, handler
        self.call_timeout = call_timeout
        self.taps: list = []
        self.closed = True
        self._mode, self._host = mode, callback_host
        self._endpoint: SoapEndpoint | None = None
        self._client: SoapHttpClient | None = None
        self.core: SoapRpcCore | None = None
        self.callback_url: str | None = None

    async def open(self) -> None:
        self._endpoint = SoapEndpoint(self._serve, _internal_fault, host=self._host, port=0,
                                      path=SERVICE_PATH)
        self.callback_url = await self._endpoint.start()
        self._client = SoapHttpClient(timeout=None)
        self.core = SoapRpcCore(CHARGE_POINT, charge_box_identity=self.station_id,
                                peer_url=self.url, own_url=self.callback_url, mode=self._mode)
        self.closed = False

    async def close(self) -> None:
        self.closed = True
        if self.core is not None:
            self.core.close()
        ep, client = self._endpoint, self._client
        self._endpoint = self._client = None
        if ep is not None:
            await ep.stop()
        if client is not None:
            await client.close()

    def _tap(self, direction: str, raw: bytes | str, note: str | None = None) -> None:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        frame = Frame(time.time(), self.station_id, direction, VERSION, text, note)
        for tap in list(self.taps):
            try:
                tap(frame)
            except Exception:  # noqa: BLE001 - a failing tap is logged, never fatal
                log.exception("frame tap failed")

    async def call(self, action: str, payload: dict, *, timeout: float | None = None) -> dict:
        core, client = self.core, self._client
        if self.closed or core is None or client is None:
            raise SessionClosed(f"{self.station_id}: not connected")
        timeout = self.call_timeout if timeout is None else timeout
        # raises OcppError when the (mapped) recorded payload breaks the 1.5 schema
        call = core.call(action, payload, now=asyncio.get_running_loop().time(), timeout=timeout)
        self._tap("out", call.frame)
        try:
            status, body = await asyncio.wait_for(
                client.post(core.peer_url, call.frame, action=core.remote.operations[action].action),
                timeout)
        except asyncio.TimeoutError:
            core.withdraw(call)
            raise CallTimeout(action, call.unique_id, timeout) from None
        except SoapHttpError as e:
            core.withdraw(call)
            raise SessionClosed(f"{self.station_id}: {e}") from None
        self._tap("in", body)
        return soap_reply(core, call, action, status, body)

    async def _serve(self, body: bytes) -> tuple[int, bytes]:
        self._tap("in", body)
        core = self.core
        if core is None or self.closed:
            reply = _internal_fault(ConnectionError("the replay is over"))
            self._tap("out", reply, "rejected: not replaying")
            return 500, reply
        event = core.receive_request(body)
        if isinstance(event, FrameRejected):
            reply = (event.reply or "").encode("utf-8")
            self._tap("out", reply, event.note)
            return 400, reply
        assert isinstance(event, CallReceived)
        call = event.call
        status = 200
        try:
            reply = core.respond(call, await self.handler(call.action, call.payload))
        except OcppError as e:
            status = 500 if e.code in (ErrorCode.INTERNAL_ERROR, ErrorCode.GENERIC_ERROR) else 400
            reply = core.fail(call, e)
        self._tap("out", reply)
        return status, reply.encode("utf-8")


def _internal_fault(exc: BaseException) -> bytes:
    return build_fault(FaultCode.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}",
                       message_id=new_message_id())


class SoapStationReplay(StationReplay):
    """A recorded 1.5 station replayed: `url` is the CentralSystemService URL as given (the
    identity is the chargeBoxIdentity header, no id is appended)."""

    def __init__(self, script, url, options, start, recorded_start):
        super().__init__(script, url, options, start, recorded_start)
        self.url = url

    async def run(self, connect=None) -> "StationResult":  # noqa: F821 - the parent's type
        began = time.perf_counter()
        if self.options.raw:
            self.result.error = ("--raw resends OCPP-J frames as recorded; a SOAP (OCPP 1.5) "
                                 "recording is re-encoded: leave out --raw")
            return self.result
        mode = LENIENT if self.options.lenient else STRICT
        self.session = session = SoapReplaySession(
            self.station_id, self.url, self._answer, mode=mode,
            call_timeout=self.options.call_timeout)
        session.taps.extend(self.options.taps)
        try:
            await session.open()
        except OSError as e:
            self.result.error = f"could not open the ChargePointService endpoint: {e}"
            return self.result
        try:
            for exchange in self.script.sent:
                await self._send(exchange)
            await self._await_requests_before(float("inf"))
        except SessionClosed as e:
            self.result.error = f"could not reach {self.url}: {e}"
        finally:
            for exchange in self._answered:
                self.result.exchanges.append(ExchangeResult(
                    exchange.source, exchange.line, self.script.station, CSMS, exchange.action,
                    MISSING, note="the CSMS did not send this request this time"))
            await session.close()
            self.result.exchanges.sort(key=lambda e: (e.line == 0, e.line))
            self.result.duration = time.perf_counter() - began
        return self.result
