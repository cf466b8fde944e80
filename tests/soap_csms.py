"""A small OCPP 1.5 CentralSystemService for station tests, on the project's SOAP codec.

It answers what a station sends (BootNotification Accepted, transactions numbered from
1000, ...), keeps every envelope it got, learns each station's callback address from
WS-Addressing `From`, and calls the station's ChargePointService (`call`).  Not the bundled
hub: the station is tested against the codec and the schema alone.
"""
from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timezone

from simulator.protocol.catalog import CSMS
from simulator.protocol.rpc import CallReceived, ErrorReceived, ResultReceived
from simulator.protocol.soap.envelope import FaultCode, SoapFault, build_fault, parse
from simulator.protocol.soap.rpc import SoapRpcCore, new_message_id
from simulator.transport.soap_http import SoapEndpoint, SoapHttpClient


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class SoapCallFailed(Exception):
    def __init__(self, status: int, event):
        super().__init__(f"HTTP {status}: {event}")
        self.status, self.event = status, event


class TestCentralSystem:
    __test__ = False     # not a test class

    def __init__(self, *, heartbeat_interval: int = 600, mode: str = "strict", port: int = 0):
        self.heartbeat_interval = heartbeat_interval
        self.mode = mode
        self.cores: dict[str, SoapRpcCore] = {}
        self.received: list = []          # (chargeBoxIdentity, operation, payload, Message)
        self.raw_in: list[bytes] = []     # every request body the stations sent
        self.raw_out: list[bytes] = []    # every response body the stations sent us
        self.answers: dict[str, dict] = {}   # operation -> the reply to give instead
        self.hold: set[str] = set()          # operations answered only once `release` is set
        self.release = asyncio.Event()
        self._tx = itertools.count(1000)
        self._changed = asyncio.Condition()
        self._endpoint = SoapEndpoint(self._serve, self._internal, port=port,
                                      path="/CentralSystemService")
        self._client = SoapHttpClient(timeout=10)
        self.url: str | None = None

    async def start(self) -> str:
        self.url = await self._endpoint.start()
        return self.url

    async def stop(self) -> None:
        await self._client.close()
        await self._endpoint.stop()

    @staticmethod
    def _internal(exc):
        return build_fault(FaultCode.INTERNAL_ERROR, str(exc), message_id=new_message_id())

    def reply_for(self, op: str, payload: dict) -> dict:
        if op in self.answers:
            return self.answers[op]
        accepted = {"status": "Accepted"}
        if op == "StartTransaction":
            return {"transactionId": next(self._tx), "idTagInfo": accepted}
        return {
            "BootNotification": {"status": "Accepted", "currentTime": now_iso(),
                                 "heartbeatInterval": self.heartbeat_interval},
            "Heartbeat": {"currentTime": now_iso()},
            "Authorize": {"idTagInfo": accepted},
            "StopTransaction": {"idTagInfo": accepted},
            "DataTransfer": {"status": "Accepted", "data": "pong"},
        }.get(op, {})

    async def _serve(self, body: bytes):
        self.raw_in.append(body)
        try:
            msg = parse(body, mode=self.mode)
        except SoapFault as e:
            return 400, build_fault(e.fault.kind, e.fault.reason, message_id=new_message_id(),
                                    relates_to=e.relates_to)
        cbid = msg.headers.charge_box_identity or "?"
        core = self.cores.get(cbid)
        if core is None:
            core = self.cores[cbid] = SoapRpcCore(CSMS, charge_box_identity=cbid,
                                                  peer_url="", mode=self.mode)
        if msg.headers.from_:
            core.peer_url = msg.headers.from_
        ev = core.receive_request(msg)
        if not isinstance(ev, CallReceived):
            return 400, ev.reply.encode()
        self.received.append((cbid, ev.call.action, ev.call.payload, msg))
        if ev.call.action in self.hold:
            await self.release.wait()
        reply = core.respond(ev.call, self.reply_for(ev.call.action, ev.call.payload))
        async with self._changed:
            self._changed.notify_all()
        return 200, reply.encode()

    def ops(self, cbid: str | None = None) -> list[str]:
        return [op for c, op, _, _ in self.received if cbid is None or c == cbid]

    def payloads(self, op: str) -> list[dict]:
        return [p for _, o, p, _ in self.received if o == op]

    async def wait_for(self, op: str, count: int = 1, *, where=lambda p: True,
                       timeout: float = 20) -> dict:
        """The `count`-th `op` whose payload matches `where` (a guard against a hang, not a
        timing check)."""
        async def found():
            async with self._changed:
                while True:
                    hits = [p for p in self.payloads(op) if where(p)]
                    if len(hits) >= count:
                        return hits[count - 1]
                    await self._changed.wait()
        return await asyncio.wait_for(found(), timeout)

    async def call(self, cbid: str, op: str, payload: dict) -> dict:
        """Call the station's ChargePointService at the address its `From` gave."""
        core = self.cores[cbid]
        call = core.call(op, payload, now=0, timeout=30)
        status, body = await self._client.post(core.peer_url, call.frame,
                                               action=core.remote.operations[op].action)
        self.raw_out.append(body)
        ev = core.receive_reply(body, call=call)
        if isinstance(ev, ResultReceived):
            return ev.payload
        raise SoapCallFailed(status, ev.error if isinstance(ev, ErrorReceived) else ev)

    async def post_raw(self, url: str, body: bytes) -> tuple[int, bytes]:
        return await self._client.post(url, body)
