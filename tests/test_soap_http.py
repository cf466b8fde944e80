"""OCPP 1.5 SOAP over loopback HTTP: the client, the callback endpoint and the RPC core."""
from __future__ import annotations

from simulator.protocol.catalog import CHARGE_POINT, CSMS
from simulator.protocol.rpc import CallReceived, ResultReceived
from simulator.protocol.soap.envelope import FaultCode, build_fault, parse
from simulator.protocol.soap.rpc import SoapRpcCore
from simulator.transport.soap_http import SoapEndpoint, SoapHttpClient


def station_endpoint(core: SoapRpcCore, seen: list):
    """The charge point's ChargePointService: answers RemoteStartTransaction, faults the rest."""
    async def handle(body: bytes):
        ev = core.receive_request(body)
        if not isinstance(ev, CallReceived):
            return 400, ev.reply.encode()
        seen.append((ev.call.action, core.headers(ev.call).charge_box_identity))
        if ev.call.action == "Reset":
            raise RuntimeError("handler bug")
        return 200, core.respond(ev.call, {"status": "Accepted"}).encode()

    def on_error(exc):
        return build_fault(FaultCode.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", message_id="urn:uuid:err")
    return SoapEndpoint(handle, on_error, path="/ocpp15")


async def test_http_round_trip_fault_and_crash_free_server():
    seen: list = []
    station = SoapRpcCore(CHARGE_POINT, charge_box_identity="CB-1", peer_url="http://unused/")
    endpoint = station_endpoint(station, seen)
    url = await endpoint.start()
    hub = SoapRpcCore(CSMS, charge_box_identity="CB-1", peer_url=url)
    client = SoapHttpClient(timeout=10)
    try:
        call = hub.call("RemoteStartTransaction", {"idTag": "T1"}, now=0, timeout=10)
        status, body = await client.post(url, call.frame, action="/RemoteStartTransaction")
        got = hub.receive_reply(body, call=call)
        assert status == 200 and isinstance(got, ResultReceived)
        assert got.payload == {"status": "Accepted"}
        assert seen == [("RemoteStartTransaction", "CB-1")]

        status, body = await client.post(url, b"<not xml")
        assert status == 400 and parse(body).fault.kind is FaultCode.MALFORMED

        call = hub.call("Reset", {"type": "Hard"}, now=0, timeout=10)
        status, body = await client.post(url, call.frame)
        assert status == 500 and "handler bug" in parse(body).fault.reason

        # the endpoint is still serving after both
        call = hub.call("RemoteStartTransaction", {"idTag": "T2"}, now=0, timeout=10)
        status, body = await client.post(url, call.frame)
        assert status == 200 and isinstance(hub.receive_reply(body), ResultReceived)
    finally:
        await client.close()
        await endpoint.stop()


async def test_connection_refused_is_a_clear_error():
    import pytest
    from simulator.transport.soap_http import SoapHttpError
    endpoint = SoapEndpoint(lambda b: None, lambda e: b"")
    url = await endpoint.start()
    await endpoint.stop()
    client = SoapHttpClient(timeout=5)
    try:
        with pytest.raises(SoapHttpError, match="POST"):
            await client.post(url, b"<x/>")
    finally:
        await client.close()


async def test_an_oversized_body_is_refused_and_the_handler_never_sees_it():
    seen = []

    async def handle(body):
        seen.append(len(body))
        return 200, b"<ok/>"
    endpoint = SoapEndpoint(handle, lambda e: b"", max_body=1024)
    url = await endpoint.start()
    client = SoapHttpClient(timeout=10)
    try:
        status, _ = await client.post(url, b"<x>" + b"a" * 4096 + b"</x>")
        assert status == 413 and seen == []
        status, body = await client.post(url, b"<x/>")
        assert (status, body, seen) == (200, b"<ok/>", [4])
    finally:
        await client.close()
        await endpoint.stop()
