"""The hub's OCPP 1.5 SOAP endpoint (hub_under_test/adapters/ocpp15s*.py): a full charging
session station -> hub, every CSMS-initiated operation through the command API to a test
ChargePointService, bad input answered with faults, and a mixed 1.6 JSON + 1.5 SOAP fleet.

The test charge point is built from the project's codec (SoapRpcCore) and HTTP layer
(SoapHttpClient, SoapEndpoint); every envelope both sides send is kept and, when the
reference WSDLs are beside the repository, validated against their schemas."""
from __future__ import annotations

import asyncio
import base64
import contextlib
from pathlib import Path

import pytest
from lxml import etree

from hub_helpers import Api, charger, now, running_hub, wait_for
from simulator.protocol import CHARGE_POINT
from simulator.protocol.rpc import CallReceived, ErrorReceived, ResultReceived
from simulator.protocol.soap.envelope import SOAP_ENV, build_request, parse
from simulator.protocol.soap.rpc import SoapRpcCore, new_message_id
from simulator.protocol.soap.schema import CENTRAL_SYSTEM_SERVICE, CHARGE_POINT_SERVICE
from simulator.transport.soap_http import SoapEndpoint, SoapHttpClient

REF_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "ocpp-soap"
REF_FILES = {CENTRAL_SYSTEM_SERVICE: "ocpp_centralsystemservice_1.5_final.wsdl",
             CHARGE_POINT_SERVICE: "ocpp_chargepointservice_1.5_final.wsdl"}
NS = {"urn://Ocpp/Cs/2012/06/": CENTRAL_SYSTEM_SERVICE, "urn://Ocpp/Cp/2012/06/": CHARGE_POINT_SERVICE}

# what the test ChargePointService answers to each CSMS-initiated operation
ANSWERS = {
    "UnlockConnector": {"status": "Accepted"}, "Reset": {"status": "Accepted"},
    "ChangeAvailability": {"status": "Scheduled"}, "GetDiagnostics": {"fileName": "diag.zip"},
    "ClearCache": {"status": "Accepted"}, "UpdateFirmware": {},
    "ChangeConfiguration": {"status": "Accepted"}, "RemoteStartTransaction": {"status": "Accepted"},
    "RemoteStopTransaction": {"status": "Accepted"}, "CancelReservation": {"status": "Accepted"},
    "DataTransfer": {"status": "Accepted", "data": "pong"},
    "GetConfiguration": {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False,
                                               "value": "300"}], "unknownKey": ["Nope"]},
    "GetLocalListVersion": {"listVersion": 3}, "ReserveNow": {"status": "Accepted"},
    "SendLocalList": {"status": "Accepted", "hash": "abc"},
}
# what the command API is asked to send (1.5 payloads)
REQUESTS = {
    "UnlockConnector": {"connectorId": 1}, "Reset": {"type": "Soft"},
    "ChangeAvailability": {"connectorId": 0, "type": "Inoperative"},
    "GetDiagnostics": {"location": "ftp://diag.example/up/", "retries": 2},
    "ClearCache": {}, "UpdateFirmware": {"retrieveDate": "2026-12-04T10:00:00Z",
                                         "location": "http://fw.example/fw.bin"},
    "ChangeConfiguration": {"key": "HeartbeatInterval", "value": "60"},
    "RemoteStartTransaction": {"idTag": "TAG1", "connectorId": 1},
    "RemoteStopTransaction": {"transactionId": 1}, "CancelReservation": {"reservationId": 7},
    "DataTransfer": {"vendorId": "acme", "messageId": "ping", "data": "x"},
    "GetConfiguration": {"key": ["HeartbeatInterval", "Nope"]}, "GetLocalListVersion": {},
    "ReserveNow": {"connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "TAG1",
                   "reservationId": 7},
    "SendLocalList": {"updateType": "Full", "listVersion": 3,
                      "localAuthorisationList": [{"idTag": "TAG1", "idTagInfo": {"status": "Accepted"}}]},
}


class SoapChargePoint:
    """A minimal 1.5 charge point: calls the hub's CentralSystemService and hosts a
    ChargePointService answering ANSWERS.  `wire` keeps every envelope, both ways."""

    def __init__(self, hub_url: str, identity: str, *, send_from: bool = True):
        self.identity = identity
        self.hub_url = hub_url
        self.send_from = send_from
        self.received: list[tuple[str, dict]] = []
        self.wire: list[bytes] = []
        self.http = SoapHttpClient(timeout=5)
        self.endpoint = SoapEndpoint(self._serve, lambda e: b"", path="/cp")
        self.core: SoapRpcCore | None = None

    async def __aenter__(self):
        url = await self.endpoint.start()
        self.core = SoapRpcCore(CHARGE_POINT, charge_box_identity=self.identity,
                                peer_url=self.hub_url, own_url=url if self.send_from else None)
        return self

    async def __aexit__(self, *exc):
        await self.endpoint.stop()
        await self.http.close()

    async def _serve(self, body: bytes) -> tuple[int, bytes]:
        self.wire.append(body)
        event = self.core.receive_request(body)
        if not isinstance(event, CallReceived):
            return 400, event.reply.encode()
        call = event.call
        self.received.append((call.action, call.payload))
        reply = self.core.respond(call, ANSWERS[call.action]).encode()
        self.wire.append(reply)
        return 200, reply

    async def post(self, raw: bytes | str) -> tuple[int, bytes]:
        return await self.http.post(self.hub_url, raw)

    async def call(self, operation: str, payload: dict):
        out = self.core.call(operation, payload, now=0.0, timeout=5)
        self.wire.append(out.frame.encode())
        status, body = await self.http.post(self.hub_url, out.frame)
        self.wire.append(body)
        event = self.core.receive_reply(body, call=out)
        if isinstance(event, ResultReceived):
            assert status == 200
            return event.payload
        return event

    async def ok(self, operation: str, payload: dict) -> dict:
        result = await self.call(operation, payload)
        assert isinstance(result, dict), (operation, result)
        return result


def request(operation: str, payload: dict, identity: str = "SOAP-1", **kw) -> bytes:
    kw.setdefault("from_url", "http://127.0.0.1:1/cp")
    return build_request(CENTRAL_SYSTEM_SERVICE, operation, payload, charge_box_identity=identity,
                         message_id=new_message_id(), to="http://hub/", **kw)


def fault(body: bytes):
    msg = parse(body)
    assert msg.kind == "fault", body
    return msg.fault


@contextlib.asynccontextmanager
async def soap_hub(**config):
    config.setdefault("soap_port", 0)
    config.setdefault("tags", {"TAG1": "Accepted"})
    async with running_hub(**config) as hub:
        yield hub


async def charging_session(hub, cp: SoapChargePoint) -> int:
    boot = await cp.ok("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "S15",
                                            "chargeBoxSerialNumber": "SN-1", "firmwareVersion": "1.0"})
    assert boot["status"] == "Accepted" and boot["heartbeatInterval"] == hub.config.heartbeat_interval
    assert "currentTime" in await cp.ok("Heartbeat", {})
    await cp.ok("StatusNotification", {"connectorId": 1, "status": "Available", "errorCode": "NoError"})
    assert (await cp.ok("Authorize", {"idTag": "TAG1"}))["idTagInfo"]["status"] == "Accepted"
    assert (await cp.ok("Authorize", {"idTag": "NOPE"}))["idTagInfo"]["status"] == "Invalid"
    start = await cp.ok("StartTransaction", {"connectorId": 1, "idTag": "TAG1", "timestamp": now(),
                                             "meterStart": 1000})
    assert start["idTagInfo"]["status"] == "Accepted"
    tx = start["transactionId"]
    await cp.ok("StatusNotification", {"connectorId": 1, "status": "Occupied", "errorCode": "NoError"})
    await cp.ok("MeterValues", {"connectorId": 1, "transactionId": tx, "values": [
        {"timestamp": now(), "value": [{"value": "1500", "unit": "Wh",
                                        "measurand": "Energy.Active.Import.Register"}]}]})
    stop = await cp.ok("StopTransaction", {
        "transactionId": tx, "idTag": "TAG1", "timestamp": now(), "meterStop": 2500,
        "transactionData": [{"values": [{"timestamp": now(), "value": [{"value": "2500"}]}]}]})
    assert stop["idTagInfo"]["status"] == "Accepted"
    assert (await cp.ok("DataTransfer", {"vendorId": "acme", "messageId": "x", "data": "y"}))["status"]
    await cp.ok("DiagnosticsStatusNotification", {"status": "Uploaded"})
    await cp.ok("FirmwareStatusNotification", {"status": "Installed"})
    return tx


async def test_full_charging_session_over_soap_reaches_store_and_events():
    async with soap_hub() as hub, SoapChargePoint(hub.soap_url, "SOAP-1") as cp, Api(hub) as api:
        seen = []
        hub.events.subscribe("#", lambda e: seen.append(e.topic))
        tx = await charging_session(hub, cp)
        status, txs = await api.get("/transactions?station=SOAP-1")
        assert status == 200 and len(txs) == 1
        row = txs[0]
        assert (row["id"], row["meter_start"], row["meter_stop"]) == (tx, 1000, 2500)
        samples = hub.store.meter_values(transaction_id=tx)
        assert [(m["value"], m["unit"], m["measurand"]) for m in samples] == [
            (1500, "Wh", "Energy.Active.Import.Register"), (2500, "Wh", "Energy.Active.Import.Register")]
        status, detail = await api.get("/stations/SOAP-1")
        assert detail["protocol"] == "ocpp1.5" and detail["vendor"] == "Acme"
        assert detail["firmware_status"] == "Installed" and detail["diagnostics_status"] == "Uploaded"
        assert detail["connection"]["callback"] == cp.endpoint.url
        for topic in ("station.connected", "station.booted", "transaction.started",
                      "transaction.stopped"):
            assert topic in seen, (topic, seen)
        status, frames = await api.get("/stations/SOAP-1/frames")
        assert status == 200 and any("bootNotificationRequest" in f.get("raw", "") for f in frames)


@pytest.fixture(scope="module")
def reference_schemas():
    if not REF_DIR.is_dir():
        pytest.skip(f"reference OCPP 1.5 WSDLs not found in {REF_DIR}")
    out = {}
    for svc, name in REF_FILES.items():
        doc = etree.parse(str(REF_DIR / name), etree.XMLParser(resolve_entities=False, no_network=True))
        schema = doc.find("{http://schemas.xmlsoap.org/wsdl/}types/{http://www.w3.org/2001/XMLSchema}schema")
        out[svc] = etree.XMLSchema(etree.fromstring(etree.tostring(schema)))
    return out


def check_against_reference(wire: list[bytes], schemas) -> int:
    checked = 0
    for raw in wire:
        body = etree.fromstring(raw).find(f"{{{SOAP_ENV}}}Body")[0]
        schema = schemas[NS[etree.QName(body).namespace]]
        assert schema.validate(etree.fromstring(etree.tostring(body))), (raw, schema.error_log)
        checked += 1
    return checked


async def test_every_message_of_session_and_commands_validates_against_the_reference(reference_schemas):
    async with soap_hub() as hub, SoapChargePoint(hub.soap_url, "SOAP-1") as cp, Api(hub) as api:
        await charging_session(hub, cp)
        for action, payload in REQUESTS.items():
            status, _ = await api.post(f"/stations/SOAP-1/commands/{action}", payload)
            assert status == 200, action
        assert check_against_reference(cp.wire, reference_schemas) == 2 * (12 + len(REQUESTS))   # 12 session calls


async def test_every_csms_initiated_operation_through_the_command_api():
    async with soap_hub() as hub, SoapChargePoint(hub.soap_url, "SOAP-1") as cp, Api(hub) as api:
        await cp.ok("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "S15"})
        for action, payload in REQUESTS.items():
            status, body = await api.post(f"/stations/SOAP-1/commands/{action}", payload)
            assert status == 200, (action, body)
            assert body == {"status": "ok", "response": ANSWERS[action]}, action
            assert cp.received[-1] == (action, payload)
        # MessageID / RelatesTo: each answer related to its own request
        requests = [parse(w) for w in cp.wire if b"Response" not in w and b"Request" in w]
        ids = [m.headers.message_id for m in requests if m.operation.service == CHARGE_POINT_SERVICE]
        assert len(set(ids)) == len(REQUESTS)


async def test_abstract_commands_reach_a_soap_station():
    """The hub's own feature routes (reservations, local list) go through the adapter too."""
    async with soap_hub() as hub, SoapChargePoint(hub.soap_url, "SOAP-1") as cp:
        await cp.ok("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "S15"})
        from hub_under_test import commands as c
        result = await hub.execute("SOAP-1", c.Reset(c.ResetKind.HARD))
        assert result.status is c.CommandStatus.ACCEPTED and cp.received[-1] == ("Reset", {"type": "Hard"})
        report = await hub.execute("SOAP-1", c.GetConfiguration(["HeartbeatInterval"]))
        assert report.unknown_keys == ["Nope"] and report.settings[0].key == "HeartbeatInterval"
        with pytest.raises(TypeError, match="1.5 has no request for TriggerMessage"):
            await hub.execute("SOAP-1", c.TriggerMessage("Heartbeat"))


async def test_command_errors_are_clear():
    async with soap_hub() as hub, SoapChargePoint(hub.soap_url, "SOAP-1") as cp, Api(hub) as api:
        await cp.ok("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "S15"})
        status, body = await api.post("/stations/SOAP-1/commands/TriggerMessage", {})
        assert status == 400 and "not an ocpp1.5 action" in body["message"]
        status, body = await api.post("/stations/SOAP-1/commands/Heartbeat", {})
        assert status == 400 and "not initiated by the CSMS" in body["message"]
        status, body = await api.post("/stations/SOAP-1/commands/reset", {"type": "Soft"})
        assert status == 400 and "did you mean Reset" in body["message"]
        status, body = await api.post("/stations/SOAP-1/commands/Reset", {"type": "Sideways"})
        assert status == 400 and body["status"] == "invalid" and "Sideways" in body["description"]
        assert cp.received == []
        await cp.endpoint.stop()           # the station's ChargePointService is gone
        status, body = await api.post("/stations/SOAP-1/commands/Reset", {"type": "Soft"})
        assert status == 502 and body["status"] == "disconnected" and "ChargePointService" in body["message"]


async def test_missing_from_is_answered_but_the_hub_cannot_call_back(caplog):
    async with soap_hub() as hub, SoapChargePoint(hub.soap_url, "NOFROM", send_from=False) as cp, \
            Api(hub) as api:
        boot = await cp.ok("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "S15"})
        assert boot["status"] == "Accepted"
        assert any("NOFROM" in r.getMessage() and "cannot call this station back" in r.getMessage()
                   for r in caplog.records)
        status, body = await api.post("/stations/NOFROM/commands/Reset", {"type": "Soft"})
        assert status == 409 and "NOFROM" in body["message"] and "cannot call it back" in body["message"]


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing">
<s:Header><a:Action>/Authorize</a:Action><a:MessageID>urn:uuid:1</a:MessageID>
<chargeBoxIdentity xmlns="urn://Ocpp/Cs/2012/06/">EVIL</chargeBoxIdentity></s:Header>
<s:Body><authorizeRequest xmlns="urn://Ocpp/Cs/2012/06/"><idTag>&xxe;</idTag></authorizeRequest></s:Body>
</s:Envelope>"""
SOAP11 = (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
          b'<heartbeatRequest xmlns="urn://Ocpp/Cs/2012/06/"/></e:Body></e:Envelope>')


def _cp_request() -> bytes:
    """A ChargePointService request (the hub's to make, not to serve)."""
    return build_request(CHARGE_POINT_SERVICE, "Reset", {"type": "Soft"}, charge_box_identity="SOAP-1",
                         message_id=new_message_id(), to="http://hub/")


@pytest.mark.parametrize("name,raw,subcode,needle", [
    ("xxe", XXE, "MalformedEnvelope", "DOCTYPE"),
    ("not xml", b"<s:Envelope", "MalformedEnvelope", "not well-formed"),
    ("soap 1.1", SOAP11, "MalformedEnvelope", "SOAP 1.1"),
    ("wrong namespace", request("Heartbeat", {}).replace(b"urn://Ocpp/Cs/2012/06/", b"urn://Other/"),
     "ActionNotSupported", "not an OCPP 1.5 one"),
    ("unknown operation", request("Heartbeat", {}).replace(b"heartbeatRequest", b"teleportRequest"),
     "ActionNotSupported", "teleportRequest"),
    ("other service", _cp_request(), "ActionNotSupported", "ChargePointService"),
    ("schema", request("StatusNotification", {"connectorId": 1, "status": "Available",
                                              "errorCode": "NoError"}).replace(b">Available<", b">Sideways<"),
     "SchemaViolation", "Element 'status'"),
    ("no identity", request("Heartbeat", {}).replace(b"chargeBoxIdentity", b"somethingElse"),
     "MessageAddressingHeaderRequired", "chargeBoxIdentity"),
])
async def test_bad_input_gets_a_fault_and_other_stations_carry_on(name, raw, subcode, needle):
    async with soap_hub() as hub, SoapChargePoint(hub.soap_url, "GOOD") as good:
        await good.ok("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "S15"})
        status, body = await good.post(raw)
        assert status == 400, body
        f = fault(body)
        assert f.subcode == subcode and needle in f.reason, f
        assert b"root:" not in body          # the XXE was not resolved
        assert "currentTime" in await good.ok("Heartbeat", {})
        assert "EVIL" not in hub.connections


async def test_lenient_hub_takes_a_missing_identity_as_a_fault_and_repairs_quirks():
    async with soap_hub(mode="lenient") as hub, SoapChargePoint(hub.soap_url, "LEN") as cp:
        raw = request("Heartbeat", {}).replace(b"chargeBoxIdentity", b"somethingElse")
        status, body = await cp.post(raw)
        assert status == 400 and "chargeBoxIdentity" in fault(body).reason
        # a status in the wrong case: repaired, then stored
        raw = request("StatusNotification", {"connectorId": 1, "status": "Available",
                                             "errorCode": "NoError"}, identity="LEN")
        raw = raw.replace(b">Available<", b">available<")
        status, body = await cp.post(raw)
        assert status == 200 and parse(body).kind == "response"
        assert hub.manager.stations["LEN"].connectors[1].status == "Available"
        # <values> for <value>, and its unit as a sibling element: repaired, then stored
        raw = request("MeterValues", {"connectorId": 1, "values": [
            {"timestamp": now(), "value": [{"value": "1.5", "unit": "kWh"}]}]}, identity="LEN")
        assert b'<o:value unit="kWh">1.5</o:value>' in raw
        raw = raw.replace(b'<o:value unit="kWh">1.5</o:value>', b"<o:values>1.5</o:values><o:unit>kWh</o:unit>")
        status, body = await cp.post(raw)
        assert status == 200, body
        assert [(m["value"], m["unit"]) for m in hub.store.meter_values(station_id="LEN")] == [(1.5, "kWh")]


async def test_namespaces_not_prefixes_whitespace_qualified_action_identity_in_cp_namespace():
    async with soap_hub() as hub, SoapChargePoint(hub.soap_url, "ODD") as cp, Api(hub) as api:
        raw = request("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "S15"},
                      identity="ODD", from_url=cp.endpoint.url,
                      prefixes={"soap": "env", "wsa": "wsa", "ocpp": None})
        raw = raw.replace(b">/BootNotification<", b">urn://Ocpp/Cs/2012/06/BootNotification<")
        raw = raw.replace(b">Acme<", b">\n   Acme  \n<")
        ident = b'<chargeBoxIdentity xmlns="urn://Ocpp/Cp/2012/06/">  ODD </chargeBoxIdentity>'
        start = raw.index(b"<chargeBoxIdentity")
        end = raw.index(b"</chargeBoxIdentity>") + len(b"</chargeBoxIdentity>")
        raw = raw[:start] + ident + raw[end:]
        status, body = await cp.post(raw)
        assert status == 200, body
        assert parse(body).payload["status"] == "Accepted"
        status, detail = await api.get("/stations/ODD")
        assert detail["vendor"] == "Acme"
        status, body = await api.post("/stations/ODD/commands/ClearCache", {})
        assert status == 200 and cp.received == [("ClearCache", {})]


async def test_mixed_fleet_soap_15_json_16_and_201_on_one_hub():
    from test_hub_v201 import station201
    async with soap_hub() as hub, SoapChargePoint(hub.soap_url, "SOAP-1") as soap, \
            charger(hub, "JSON-1") as json_cp, station201(hub, "V201-1") as v201, Api(hub) as api:
        await soap.ok("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "S15"})
        status, stations = await api.get("/stations")
        assert {(s["id"], s["protocol"]) for s in stations} == {
            ("SOAP-1", "ocpp1.5"), ("JSON-1", "ocpp1.6"), ("V201-1", "ocpp2.0.1")}
        for station, received, kind in (("SOAP-1", soap.received, "Hard"),
                                        ("JSON-1", json_cp.received, "Hard"),
                                        ("V201-1", v201.received, "Immediate")):
            status, body = await api.post(f"/stations/{station}/commands/Reset", {"type": kind})
            assert status == 200 and body["response"] == {"status": "Accepted"}, (station, body)
            assert received[-1][0] == "Reset"
        status, health = await api.get("/health")
        assert health["stations"] == 3
        status, text = await api.get("/metrics", raw=True)
        assert 'protocol="ocpp1.5"' in text


async def test_a_station_answering_with_a_fault_gives_a_callerror():
    async with soap_hub() as hub, SoapChargePoint(hub.soap_url, "SOAP-1") as cp, Api(hub) as api:
        await cp.ok("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "S15"})

        async def refuse(body: bytes):
            event = cp.core.receive_request(body)
            from simulator.protocol import ErrorCode, OcppError
            return 400, cp.core.fail(event.call, OcppError(ErrorCode.NOT_SUPPORTED, "no resets here")).encode()
        cp.endpoint._handler = refuse
        status, body = await api.post("/stations/SOAP-1/commands/Reset", {"type": "Soft"})
        assert status == 502 and body["status"] == "callerror" and body["description"] == "no resets here"

        async def not_soap(body: bytes):
            return 404, b"<html><body>no such service</body></html>"
        cp.endpoint._handler = not_soap
        status, body = await api.post("/stations/SOAP-1/commands/Reset", {"type": "Soft"})
        assert status == 502 and body["status"] == "invalid_response", body
        assert "not a SOAP 1.2 Envelope" in body["description"]


async def test_a_station_that_does_not_answer_in_time_gives_a_timeout():
    async with soap_hub() as hub, SoapChargePoint(hub.soap_url, "SOAP-1") as cp, Api(hub) as api:
        await cp.ok("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "S15"})
        never = asyncio.Event()

        async def stuck(body: bytes):
            await never.wait()
            return 500, b""
        cp.endpoint._handler = stuck
        status, body = await api.post("/stations/SOAP-1/commands/Reset?timeout=0.2", {"type": "Soft"})
        assert status == 504 and body["status"] == "timeout"
        never.set()                            # let the stuck handler end
        cp.endpoint._handler = cp._serve       # and the next command goes through
        status, body = await api.post("/stations/SOAP-1/commands/ClearCache", {})
        assert status == 200 and body["response"] == {"status": "Accepted"}


async def test_an_id_connected_over_websocket_is_refused_over_soap():
    async with soap_hub() as hub, charger(hub, "TWIN") as _, SoapChargePoint(hub.soap_url, "TWIN") as cp:
        result = await cp.call("Heartbeat", {})
        assert isinstance(result, ErrorReceived) and "connected over WebSocket" in result.error.description
        assert hub.connections["TWIN"].version == "ocpp1.6"


async def test_zeep_built_requests_from_the_reference_wsdl_are_served(reference_schemas):
    """An independent peer: zeep builds the envelopes from the reference WSDL (no From, as
    zeep sends none); the hub answers them, and its answers validate against the reference."""
    zeep = pytest.importorskip("zeep")
    client = zeep.Client(str(REF_DIR / REF_FILES[CENTRAL_SYSTEM_SERVICE]))
    service = client.bind("CentralSystemService", "CentralSystemServiceSoap12")
    async with soap_hub() as hub, Api(hub) as api:
        http = SoapHttpClient(timeout=5)
        try:
            for op, kw in (("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "Z"}),
                           ("Heartbeat", {}), ("Authorize", {"idTag": "TAG1"})):
                envelope = client.create_message(service, op, _soapheaders={"ChargeBoxIdentity": "ZEEP-1"},
                                                 **kw)
                status, body = await http.post(hub.soap_url, etree.tostring(envelope))
                assert status == 200, body
                assert check_against_reference([body], reference_schemas) == 1
                reply = parse(body)
                assert reply.operation.name == op and reply.headers.relates_to
        finally:
            await http.close()
        status, detail = await api.get("/stations/ZEEP-1")
        assert detail["registration"] == "Accepted" and detail["connection"]["callback"] is None


async def test_a_silent_soap_station_is_dropped_and_comes_back_with_its_next_request():
    async with soap_hub(idle_timeout=0.2) as hub, SoapChargePoint(hub.soap_url, "SOAP-1") as cp:
        gone = []
        hub.events.subscribe("station.disconnected", lambda e: gone.append(e.station_id))
        await cp.ok("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "S15"})
        assert "SOAP-1" in hub.connections
        await wait_for(lambda: "SOAP-1" not in hub.connections, timeout=5)
        assert gone == ["SOAP-1"] and not hub.manager.stations["SOAP-1"].connected
        await cp.ok("Heartbeat", {})
        assert hub.connections["SOAP-1"].version == "ocpp1.5"
        assert hub.manager.stations["SOAP-1"].connected


async def test_a_pending_station_is_answered_rejected_as_15_has_no_pending():
    async with soap_hub(unknown_stations="pending") as hub, SoapChargePoint(hub.soap_url, "NEW") as cp:
        boot = await cp.ok("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "S15"})
        assert boot["status"] == "Rejected" and boot["heartbeatInterval"] > 0


async def test_debug_page_lists_the_15_commands():
    async with soap_hub() as hub, Api(hub) as api:
        status, names = await api.get("/debug/commands?protocol=ocpp1.5")
        assert status == 200 and sorted(names) == sorted(REQUESTS)


def basic(user: str, password: str) -> dict:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_basic_auth_as_for_websocket_stations():
    import aiohttp
    boot = request("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "S15"},
                   identity="SEC")
    ctype = {"Content-Type": "application/soap+xml; charset=utf-8"}
    async with soap_hub(station_passwords={"SEC": "s3cret"}) as hub, aiohttp.ClientSession() as http:
        for auth, expected in (({}, 401), (basic("SEC", "wrong"), 401), (basic("OTHER", "s3cret"), 401),
                               (basic("SEC", "s3cret"), 200)):
            async with http.post(hub.soap_url, data=boot, headers={**ctype, **auth}) as resp:
                assert resp.status == expected, (auth, await resp.text())
                if expected == 401:
                    assert resp.headers["WWW-Authenticate"].startswith("Basic")
        # a station without a password is served, unless the hub requires auth
        async with http.post(hub.soap_url, data=request("Heartbeat", {}, identity="OPEN"),
                             headers=ctype) as resp:
            assert resp.status == 200
    async with soap_hub(require_auth=True) as hub, aiohttp.ClientSession() as http:
        async with http.post(hub.soap_url, data=request("Heartbeat", {}, identity="OPEN"),
                             headers={**ctype, **basic("OPEN", "x")}) as resp:
            assert resp.status == 401 and "no password" in await resp.text()
        assert "OPEN" not in hub.connections


async def test_a_flooding_soap_station_is_paced_and_still_answered():
    async with soap_hub(rate_limit=5, rate_burst=1) as hub, SoapChargePoint(hub.soap_url, "FLOOD") as cp:
        answers = await asyncio.gather(*(cp.ok("Heartbeat", {}) for _ in range(3)))
        assert all("currentTime" in a for a in answers)
        assert hub.metrics.throttled.value() > 0
    async with soap_hub(rate_limit=0) as hub, SoapChargePoint(hub.soap_url, "FREE") as cp:
        for _ in range(3):
            await cp.ok("Heartbeat", {})
        assert hub.metrics.throttled.value() == 0


async def test_record_writes_the_soap_envelopes(tmp_path):
    import json
    path = tmp_path / "hub.jsonl"
    async with soap_hub(record_path=str(path)) as hub, SoapChargePoint(hub.soap_url, "REC") as cp:
        await cp.ok("Heartbeat", {})
    records = [r for r in map(json.loads, path.read_text().splitlines()) if "station" in r]
    assert [(r["station"], r["protocol"], r["direction"]) for r in records] == [
        ("REC", "ocpp1.5", "out"), ("REC", "ocpp1.5", "in")]   # the station's directions
    assert "heartbeatRequest" in records[0]["raw"] and "heartbeatResponse" in records[1]["raw"]


async def test_unknown_stations_are_refused_over_soap_when_auto_registration_is_off():
    async with soap_hub(unknown_stations="refuse", known_stations=("SOAP-KNOWN",)) as hub, \
            SoapChargePoint(hub.soap_url, "SOAP-STRANGER") as stranger, \
            SoapChargePoint(hub.soap_url, "SOAP-KNOWN") as known:
        status, body = await stranger.post(request("Heartbeat", {}, identity="SOAP-STRANGER"))
        f = fault(body)
        assert status == 400 and f.subcode == "InvalidAddressingHeader"
        assert "unknown station 'SOAP-STRANGER'" in f.reason and "auto-registration" in f.reason
        assert "SOAP-STRANGER" not in hub.soap.stations
        boot = await known.ok("BootNotification", {"chargePointVendor": "Acme",
                                                   "chargePointModel": "S15"})
        assert boot["status"] == "Accepted"
        assert "currentTime" in await known.ok("Heartbeat", {})
    async with soap_hub(unknown_stations="accept") as hub, \
            SoapChargePoint(hub.soap_url, "SOAP-NEW") as cp:
        assert "currentTime" in await cp.ok("Heartbeat", {})
