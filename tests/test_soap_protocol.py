"""OCPP 1.5 SOAP: our WSDLs, the envelope codec, tolerance, faults, correlation, HTTP."""
from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree

from simulator.protocol.catalog import CHARGE_POINT, CSMS
from simulator.protocol.rpc import (CallReceived, CallTimedOut, ErrorReceived, FrameRejected,
                                    InvalidResult, ResultReceived, UnmatchedReply)
from simulator.protocol.soap.envelope import (FaultCode, SoapFault, build_fault, build_request,
                                              build_response, parse)
from simulator.protocol.soap.rpc import SoapRpcCore
from simulator.protocol.soap.schema import (CENTRAL_SYSTEM_SERVICE, CHARGE_POINT_SERVICE, CP_NS,
                                            CS_NS, SERVICES, operations_initiated_by)

REF_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "ocpp-soap"
REF_FILES = {CENTRAL_SYSTEM_SERVICE: "ocpp_centralsystemservice_1.5_final.wsdl",
             CHARGE_POINT_SERVICE: "ocpp_chargepointservice_1.5_final.wsdl"}
needs_reference = pytest.mark.skipif(
    not REF_DIR.is_dir(), reason=f"reference OCPP 1.5 WSDLs not found in {REF_DIR}")
T = "2026-03-01T10:00:00Z"
ID_TAG_INFO = {"status": "Accepted", "expiryDate": T, "parentIdTag": "PARENT"}

# One full request and response per 1.5 operation (every optional field used somewhere).
SAMPLES = {
    CENTRAL_SYSTEM_SERVICE: {
        "Authorize": ({"idTag": "TAG1"}, {"idTagInfo": ID_TAG_INFO}),
        "StartTransaction": ({"connectorId": 1, "idTag": "TAG1", "timestamp": T, "meterStart": 0,
                              "reservationId": 7}, {"transactionId": 42, "idTagInfo": {"status": "Accepted"}}),
        "StopTransaction": ({"transactionId": 42, "idTag": "TAG1", "timestamp": T, "meterStop": 1200,
                             "transactionData": [{"values": [{"timestamp": T, "value": [
                                 {"value": "1200", "context": "Transaction.End", "unit": "Wh"}]}]}]},
                            {"idTagInfo": {"status": "Accepted"}}),
        "Heartbeat": ({}, {"currentTime": T}),
        "MeterValues": ({"connectorId": 1, "transactionId": 42, "values": [{"timestamp": T, "value": [
            {"value": "604.2", "measurand": "Energy.Active.Import.Register", "unit": "Wh",
             "context": "Sample.Periodic", "format": "Raw", "location": "Outlet"},
            {"value": "16", "measurand": "Current.Import", "unit": "Amp"}]}]}, {}),
        "BootNotification": ({"chargePointVendor": "Acme", "chargePointModel": "M1",
                              "chargePointSerialNumber": "S1", "chargeBoxSerialNumber": "B1",
                              "firmwareVersion": "1.0", "iccid": "8901", "imsi": "2620",
                              "meterType": "MT", "meterSerialNumber": "MS"},
                             {"status": "Accepted", "currentTime": T, "heartbeatInterval": 300}),
        "StatusNotification": ({"connectorId": 1, "status": "Occupied", "errorCode": "NoError",
                                "info": "i", "timestamp": T, "vendorId": "v", "vendorErrorCode": "e"}, {}),
        "FirmwareStatusNotification": ({"status": "Installed"}, {}),
        "DiagnosticsStatusNotification": ({"status": "Uploaded"}, {}),
        "DataTransfer": ({"vendorId": "acme", "messageId": "m", "data": "d"}, {"status": "Accepted", "data": "r"}),
    },
    CHARGE_POINT_SERVICE: {
        "UnlockConnector": ({"connectorId": 1}, {"status": "Accepted"}),
        "Reset": ({"type": "Soft"}, {"status": "Accepted"}),
        "ChangeAvailability": ({"connectorId": 0, "type": "Inoperative"}, {"status": "Scheduled"}),
        "GetDiagnostics": ({"location": "ftp://x/y", "startTime": T, "stopTime": T, "retries": 2,
                            "retryInterval": 30}, {"fileName": "diag.zip"}),
        "ClearCache": ({}, {"status": "Accepted"}),
        "UpdateFirmware": ({"retrieveDate": T, "location": "http://x/fw", "retries": 1, "retryInterval": 5}, {}),
        "ChangeConfiguration": ({"key": "HeartbeatInterval", "value": "60"}, {"status": "Accepted"}),
        "RemoteStartTransaction": ({"idTag": "TAG1", "connectorId": 1}, {"status": "Accepted"}),
        "RemoteStopTransaction": ({"transactionId": 42}, {"status": "Rejected"}),
        "CancelReservation": ({"reservationId": 7}, {"status": "Accepted"}),
        "DataTransfer": ({"vendorId": "acme"}, {"status": "UnknownVendorId"}),
        "GetConfiguration": ({"key": ["A", "B"]}, {"configurationKey": [
            {"key": "A", "readonly": True, "value": "1"}, {"key": "C", "readonly": False}],
            "unknownKey": ["B"]}),
        "GetLocalListVersion": ({}, {"listVersion": 3}),
        "ReserveNow": ({"connectorId": 1, "expiryDate": T, "idTag": "TAG1", "parentIdTag": "P",
                        "reservationId": 7}, {"status": "Occupied"}),
        "SendLocalList": ({"updateType": "Full", "listVersion": 4, "localAuthorisationList": [
            {"idTag": "TAG1", "idTagInfo": ID_TAG_INFO}, {"idTag": "TAG2"}], "hash": "h"},
            {"status": "Accepted", "hash": "h"}),
    },
}
CASES = [(svc, op) for svc, ops in SAMPLES.items() for op in ops]


def request(svc, op, payload=None, **kw):
    kw.setdefault("charge_box_identity", "CB-1")
    kw.setdefault("message_id", "urn:uuid:m1")
    kw.setdefault("to", "http://cs.example/ocpp")
    kw.setdefault("from_url", "http://cp.example:8080/")
    return build_request(svc, op, SAMPLES[svc][op][0] if payload is None else payload, **kw)


def response(svc, op, payload=None):
    return build_response(svc, op, SAMPLES[svc][op][1] if payload is None else payload,
                          relates_to="urn:uuid:m1", message_id="urn:uuid:r1")


def fault_of(raw, mode="strict") -> SoapFault:
    with pytest.raises(SoapFault) as info:
        parse(raw, mode=mode)
    return info.value


# -- catalog ----------------------------------------------------------------------------

def test_catalog_covers_every_15_operation_with_its_initiator():
    cp = {op.name for op in operations_initiated_by(CHARGE_POINT)}
    cs = {op.name for op in operations_initiated_by(CSMS)}
    assert cp == set(SAMPLES[CENTRAL_SYSTEM_SERVICE])
    assert cs == set(SAMPLES[CHARGE_POINT_SERVICE])
    boot = SERVICES[CENTRAL_SYSTEM_SERVICE].operations["BootNotification"]
    assert (boot.request_element, boot.response_element, boot.action, boot.response_action) == (
        "bootNotificationRequest", "bootNotificationResponse", "/BootNotification",
        "/BootNotificationResponse")
    assert SERVICES[CHARGE_POINT_SERVICE].namespace == CP_NS
    assert SERVICES[CENTRAL_SYSTEM_SERVICE].namespace == CS_NS


@needs_reference
@pytest.mark.parametrize("svc", list(REF_FILES))
def test_our_wsdl_matches_the_reference_operations(svc):
    zeep = pytest.importorskip("zeep")
    ref = zeep.Client(str(REF_DIR / REF_FILES[svc])).wsdl
    (binding,) = ref.bindings.values()
    ops = SERVICES[svc].operations
    assert set(binding.all()) == set(ops)
    for name, ref_op in binding.all().items():
        assert ref_op.soapaction == ops[name].action
        assert ref_op.input.body.qname.localname == ops[name].request_element
        assert ref_op.output.body.qname.localname == ops[name].response_element


# -- round trips and the reference schemas ----------------------------------------------

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


def body_element(raw):
    root = etree.fromstring(raw)
    return root.find("{http://www.w3.org/2003/05/soap-envelope}Body")[0]


@pytest.mark.parametrize("svc,op", CASES)
def test_request_and_response_round_trip(svc, op):
    req, resp = SAMPLES[svc][op]
    msg = parse(request(svc, op))
    assert (msg.kind, msg.operation.name, msg.payload, msg.repairs) == ("request", op, req, [])
    assert msg.headers.charge_box_identity == "CB-1"
    assert msg.headers.from_ == "http://cp.example:8080/"
    back = parse(response(svc, op))
    assert (back.kind, back.operation.name, back.payload) == ("response", op, resp)
    assert back.headers.relates_to == "urn:uuid:m1"


@pytest.mark.parametrize("svc,op", CASES)
def test_what_we_build_validates_against_the_reference_schema(svc, op, reference_schemas):
    for raw in (request(svc, op), response(svc, op)):
        el = etree.fromstring(etree.tostring(body_element(raw)))
        schema = reference_schemas[svc]
        assert schema.validate(el), schema.error_log


def _plain(value):
    """zeep's reading of a message, in our dict style (None and empty lists dropped)."""
    if isinstance(value, dict):
        out = {("value" if k == "_value_1" else k): _plain(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


@pytest.fixture(scope="module")
def reference_clients():
    zeep = pytest.importorskip("zeep")
    if not REF_DIR.is_dir():
        pytest.skip(f"reference OCPP 1.5 WSDLs not found in {REF_DIR}")
    return {svc: zeep.Client(str(REF_DIR / name)) for svc, name in REF_FILES.items()}


@pytest.mark.parametrize("svc,op", CASES)
def test_zeep_reads_our_messages_through_the_reference_wsdl_as_we_meant_them(svc, op, reference_clients):
    from zeep.helpers import serialize_object
    client = reference_clients[svc]
    for raw, payload in ((request(svc, op), SAMPLES[svc][op][0]), (response(svc, op), SAMPLES[svc][op][1])):
        node = body_element(raw)
        element = client.get_element(node.tag)
        assert _plain(serialize_object(element.parse(node, client.wsdl.types), dict) or {}) == payload


def test_odd_prefixes_we_emit_read_the_same():
    svc, op = CENTRAL_SYSTEM_SERVICE, "MeterValues"
    odd = request(svc, op, prefixes={"soap": "SOAP-ENV", "wsa": "wsa5", "ocpp": None})
    assert b"<SOAP-ENV:Envelope" in odd and b'xmlns="urn://Ocpp/Cs/2012/06/"' in odd
    assert parse(odd).payload == parse(request(svc, op)).payload
    with pytest.raises(ValueError, match="prefixes must differ"):
        request(svc, op, prefixes={"soap": "x", "wsa": "x"})


def test_the_reference_validator_can_fail(reference_schemas):
    raw = request(CENTRAL_SYSTEM_SERVICE, "Heartbeat", {}).replace(b"heartbeatRequest", b"heartbeatRequestX")
    assert not reference_schemas[CENTRAL_SYSTEM_SERVICE].validate(etree.fromstring(etree.tostring(body_element(raw))))


def test_builder_names_the_bad_field():
    with pytest.raises(ValueError, match="connectorId: expected an integer"):
        request(CENTRAL_SYSTEM_SERVICE, "StatusNotification",
                {"connectorId": "1", "status": "Available", "errorCode": "NoError"})
    with pytest.raises(ValueError, match=r"no such element\(s\).*colour"):
        request(CENTRAL_SYSTEM_SERVICE, "Heartbeat", {"colour": "red"})
    with pytest.raises(ValueError, match="status"):
        request(CENTRAL_SYSTEM_SERVICE, "StatusNotification",
                {"connectorId": 1, "status": "Charging", "errorCode": "NoError"})


# -- tolerance --------------------------------------------------------------------------

ODD_PREFIXES = b"""<?xml version="1.0"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"
  xmlns:wsa="http://www.w3.org/2005/08/addressing" xmlns:cp="urn://Ocpp/Cp/2012/06/">
 <env:Header>
  <cp:chargeBoxIdentity>  CB-1 </cp:chargeBoxIdentity>
  <wsa:Action> urn://Ocpp/Cs/2012/06/StatusNotification </wsa:Action>
  <wsa:MessageID>m7</wsa:MessageID>
  <wsa:From><wsa:Address> http://cp:1/ </wsa:Address></wsa:From>
 </env:Header>
 <env:Body>
  <statusNotificationRequest xmlns="urn://Ocpp/Cs/2012/06/">
   <connectorId>
      2
   </connectorId>
   <status> Available </status>
   <errorCode>NoError</errorCode>
  </statusNotificationRequest>
 </env:Body>
</env:Envelope>"""


def test_prefixes_whitespace_qualified_action_and_identity_in_the_other_namespace():
    msg = parse(ODD_PREFIXES)
    assert msg.operation.name == "StatusNotification"
    assert msg.payload == {"connectorId": 2, "status": "Available", "errorCode": "NoError"}
    assert msg.headers.charge_box_identity == "CB-1"     # in the Cp namespace, accepted
    assert msg.headers.from_ == "http://cp:1/"
    assert msg.notes == [] and msg.repairs == []


def test_missing_from_is_reported_not_fatal():
    raw = request(CENTRAL_SYSTEM_SERVICE, "Heartbeat", from_url=None)
    msg = parse(raw)
    assert msg.headers.from_ is None
    assert any("From" in n and "cannot call" in n for n in msg.notes)


@pytest.mark.parametrize("header", [b"MessageID", b"Action"])
def test_missing_header_is_a_fault_in_strict_and_a_note_in_lenient(header):
    root = etree.fromstring(request(CENTRAL_SYSTEM_SERVICE, "Heartbeat"))
    el = root.find(f"{{http://www.w3.org/2003/05/soap-envelope}}Header/{{http://www.w3.org/2005/08/addressing}}{header.decode()}")
    el.getparent().remove(el)
    raw = etree.tostring(root)
    assert fault_of(raw).fault.kind is FaultCode.MISSING_HEADER
    msg = parse(raw, mode="lenient")
    assert msg.operation.name == "Heartbeat" and any(header.decode() in n for n in msg.notes)


def test_missing_charge_box_identity_is_a_fault():
    raw = request(CENTRAL_SYSTEM_SERVICE, "Heartbeat").replace(b"<o:chargeBoxIdentity>CB-1</o:chargeBoxIdentity>", b"")
    assert "chargeBoxIdentity" in fault_of(raw).fault.reason


def test_action_in_the_wrong_case_is_repaired_in_lenient_only():
    raw = request(CENTRAL_SYSTEM_SERVICE, "Heartbeat").replace(b">/Heartbeat<", b">/HeartBeat<")
    assert fault_of(raw).fault.kind is FaultCode.INVALID_HEADER
    assert parse(raw, mode="lenient").repairs == ["action '/HeartBeat' read as 'Heartbeat'"]


def test_unknown_operation_and_wrong_namespace_are_faults():
    raw = request(CENTRAL_SYSTEM_SERVICE, "Heartbeat").replace(b"heartbeatRequest", b"teleportRequest")
    f = fault_of(raw)
    assert f.fault.kind is FaultCode.UNKNOWN_OPERATION and "teleportRequest" in f.fault.reason
    raw = request(CENTRAL_SYSTEM_SERVICE, "Heartbeat").replace(b"urn://Ocpp/Cs/2012/06/", b"urn://Ocpp/Cs/2010/08/")
    assert fault_of(raw).fault.kind is FaultCode.UNKNOWN_OPERATION


@pytest.mark.parametrize("raw,needle", [
    (b"<not xml", "not well-formed"),
    (b"<a/>", "not a SOAP 1.2 Envelope"),
    (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"/>', "SOAP 1.1"),
    (b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>',
     "one element in soap:Body"),
])
def test_malformed_envelopes_are_faults(raw, needle):
    f = fault_of(raw)
    assert f.fault.kind is FaultCode.MALFORMED and needle in f.fault.reason


def test_xxe_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    raw = request(CENTRAL_SYSTEM_SERVICE, "Authorize", {"idTag": "XXTAG"})
    raw = raw.replace(b"<?xml version='1.0' encoding='utf-8'?>",
                      f'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "file://{secret}">]>'.encode())
    raw = raw.replace(b"XXTAG", b"&x;")
    f = fault_of(raw, mode="lenient")
    assert f.fault.kind is FaultCode.MALFORMED and "DOCTYPE" in f.fault.reason
    assert "TOP-SECRET" not in str(f)


def test_billion_laughs_is_refused():
    raw = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
           b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&b;</s:Body></s:Envelope>')
    assert fault_of(raw).fault.kind is FaultCode.MALFORMED


def test_schema_violation_names_the_element():
    raw = request(CENTRAL_SYSTEM_SERVICE, "StatusNotification").replace(
        b"<o:status>Occupied</o:status>", b"<o:status>Charging</o:status>")
    f = fault_of(raw, mode="lenient")
    assert f.fault.kind is FaultCode.SCHEMA_VIOLATION and "Element 'status'" in f.fault.reason


# -- lenient repairs of the field quirks ------------------------------------------------

def test_values_for_value_and_split_unit_are_repaired_in_lenient():
    good = request(CENTRAL_SYSTEM_SERVICE, "MeterValues", {"connectorId": 1, "values": [
        {"timestamp": T, "value": [{"value": "604.2", "unit": "kWh"}]}]})
    raw = good.replace(b'<o:value unit="kWh">604.2</o:value>',
                       b"<o:values>604.2</o:values><o:unit>kWh</o:unit>")
    assert "Element 'values'" in fault_of(raw).fault.reason
    msg = parse(raw, mode="lenient")
    assert msg.payload == parse(good).payload
    assert len(msg.repairs) == 2 and "<values> read as <value>" in msg.repairs[0]
    assert "<unit>" in msg.repairs[1]


def test_payload_elements_in_the_other_namespace_are_repaired_in_lenient():
    raw = request(CENTRAL_SYSTEM_SERVICE, "Authorize", {"idTag": "T"}).replace(
        b"<o:idTag>T</o:idTag>", b'<cp:idTag xmlns:cp="urn://Ocpp/Cp/2012/06/">T</cp:idTag>')
    assert fault_of(raw).fault.kind is FaultCode.SCHEMA_VIOLATION
    msg = parse(raw, mode="lenient")
    assert msg.payload == {"idTag": "T"}
    assert msg.repairs == [f"authorizeRequest.idTag: element in namespace {CP_NS!r} read as {CS_NS!r}"]


def test_whitespace_in_attributes_is_trimmed():
    raw = request(CENTRAL_SYSTEM_SERVICE, "MeterValues", {"connectorId": 1, "values": [
        {"timestamp": T, "value": [{"value": "1", "unit": "kWh"}]}]}).replace(b'unit="kWh"', b'unit=" kWh "')
    assert parse(raw).payload["values"][0]["value"] == [{"value": "1", "unit": "kWh"}]


def test_elements_out_of_schema_order_are_repaired_in_lenient():
    raw = request(CENTRAL_SYSTEM_SERVICE, "StartTransaction", {"connectorId": 1, "idTag": "T", "timestamp": T, "meterStart": 5})
    raw = raw.replace(b"<o:connectorId>1</o:connectorId><o:idTag>T</o:idTag>", b"<o:idTag>T</o:idTag><o:connectorId>1</o:connectorId>")
    assert fault_of(raw).fault.kind is FaultCode.SCHEMA_VIOLATION
    msg = parse(raw, mode="lenient")
    assert msg.payload == {"connectorId": 1, "idTag": "T", "timestamp": T, "meterStart": 5}
    assert msg.repairs == ["startTransactionRequest: elements put in schema order "
                           "(connectorId, idTag, timestamp, meterStart, reservationId)"]


# -- faults both ways -------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(FaultCode))
def test_fault_round_trip(kind):
    msg = parse(build_fault(kind, "why not", message_id="f1", relates_to="m1"))
    assert msg.kind == "fault" and msg.headers.relates_to == "m1"
    assert (msg.fault.kind, msg.fault.code, msg.fault.reason) == (kind, kind.code, "why not")


# -- correlation core (no event loop) ---------------------------------------------------

def ids():
    n = iter(range(1, 1000))
    return lambda: f"urn:uuid:{next(n)}"


def pair():
    station = SoapRpcCore(CHARGE_POINT, charge_box_identity="CB-1", peer_url="http://cs/",
                          own_url="http://cp:9/", new_id=ids())
    hub = SoapRpcCore(CSMS, charge_box_identity="CB-1", peer_url="http://cp:9/", new_id=ids())
    return station, hub


def test_call_answered_by_relates_to_out_of_order():
    station, hub = pair()
    a = station.call("Heartbeat", {}, now=0, timeout=30)
    b = station.call("Authorize", {"idTag": "T"}, now=0, timeout=30)
    assert station.next_deadline() == 30 and len(station.pending()) == 2
    ev_b = hub.receive_request(b.frame)
    ev_a = hub.receive_request(a.frame)
    assert isinstance(ev_a, CallReceived) and hub.headers(ev_a.call).from_ == "http://cp:9/"
    reply_b = hub.respond(ev_b.call, {"idTagInfo": {"status": "Blocked"}})
    reply_a = hub.respond(ev_a.call, {"currentTime": T})
    got_b, got_a = station.receive_reply(reply_b), station.receive_reply(reply_a)
    assert isinstance(got_b, ResultReceived) and got_b.call is b
    assert got_b.payload == {"idTagInfo": {"status": "Blocked"}}
    assert isinstance(got_a, ResultReceived) and got_a.call is a
    assert station.next_deadline() is None


def test_timeout_then_late_reply_is_reported():
    station, hub = pair()
    call = station.call("Heartbeat", {}, now=0, timeout=10)
    assert station.expire(9.9) == []
    (timed_out,) = station.expire(10)
    assert isinstance(timed_out, CallTimedOut) and timed_out.call is call
    ev = hub.receive_request(call.frame)
    late = station.receive_reply(hub.respond(ev.call, {"currentTime": T}))
    assert isinstance(late, UnmatchedReply) and "late reply to Heartbeat" in late.note
    unknown = station.receive_reply(response(CENTRAL_SYSTEM_SERVICE, "Heartbeat"))
    assert isinstance(unknown, UnmatchedReply) and "no pending call" in unknown.note


def test_fault_reply_and_invalid_result():
    station, hub = pair()
    call = station.call("Heartbeat", {}, now=0, timeout=10)
    ev = hub.receive_request(call.frame)
    got = station.receive_reply(hub.fail(ev.call, RuntimeError("disk full")))
    assert isinstance(got, ErrorReceived) and got.call is call
    assert got.error.code_text == "InternalError" and "disk full" in got.error.description
    call = station.call("Heartbeat", {}, now=0, timeout=10)
    ev = hub.receive_request(call.frame)
    bad = build_response(CENTRAL_SYSTEM_SERVICE, "Heartbeat", {"currentTime": "yesterday"},
                         relates_to=call.unique_id, message_id="x", validate=False)
    got = station.receive_reply(bad)
    assert isinstance(got, InvalidResult) and got.call is call and "currentTime" in got.error.description


def test_inbound_rejections_carry_a_fault_reply():
    station, hub = pair()
    ev = station.receive_request(b"<garbage")
    assert isinstance(ev, FrameRejected) and parse(ev.reply).fault.kind is FaultCode.MALFORMED
    # a CentralSystemService request sent to the charge point's endpoint
    wrong = station.receive_request(request(CENTRAL_SYSTEM_SERVICE, "Heartbeat"))
    assert isinstance(wrong, FrameRejected)
    assert parse(wrong.reply).fault.kind is FaultCode.UNKNOWN_OPERATION
    assert parse(wrong.reply).headers.relates_to == "urn:uuid:m1"


def test_our_own_bad_payload_is_refused_before_sending():
    station, _ = pair()
    from simulator.protocol.errors import OcppError
    with pytest.raises(OcppError, match="idTag"):
        station.call("Authorize", {"idTag": "X" * 21}, now=0, timeout=5)
    with pytest.raises(OcppError, match="not an operation"):
        station.call("Reset", {"type": "Soft"}, now=0, timeout=5)
    assert station.pending() == []


def test_csms_call_to_station_round_trip():
    station, hub = pair()
    call = hub.call("RemoteStartTransaction", {"idTag": "T", "connectorId": 1}, now=0, timeout=5)
    ev = station.receive_request(call.frame)
    assert isinstance(ev, CallReceived) and ev.call.payload == {"idTag": "T", "connectorId": 1}
    got = hub.receive_reply(station.respond(ev.call, {"status": "Accepted"}))
    assert isinstance(got, ResultReceived) and got.payload == {"status": "Accepted"}
    with pytest.raises(ValueError):
        station.headers(ev.call)          # answered: forgotten
    assert copy.copy(hub.close()) == []


def test_mangled_envelopes_give_a_fault_or_a_message_never_another_error():
    import random
    rng = random.Random(15)
    seeds = [request(s, o) for s, o in CASES] + [response(s, o) for s, o in CASES]
    for _ in range(1500):
        raw = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(raw))
            action = rng.random()
            if action < 0.4:
                raw[i] = rng.choice(b"<>/=\"' \n&;:xXa0-")
            elif action < 0.7:
                del raw[i:i + rng.randint(1, 30)]
            else:
                j = rng.randrange(len(raw))
                raw[i:i] = raw[j:j + rng.randint(1, 40)]
        for mode in ("strict", "lenient"):
            try:
                parse(bytes(raw), mode=mode)
            except SoapFault:
                pass


def test_well_formed_but_wrong_envelopes_give_a_fault_or_a_message():
    """Tree-level mangling (the byte-level test above mostly breaks well-formedness)."""
    import random
    rng = random.Random(13)
    seeds = [request(s, o) for s, o in CASES] + [response(s, o) for s, o in CASES]
    outcomes = set()
    for _ in range(800):
        root = etree.fromstring(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            nodes = [n for n in root.iter() if n is not root]
            node = rng.choice(nodes)
            action = rng.randrange(6)
            if action == 0 and node.getparent() is not None:
                node.getparent().remove(node)
            elif action == 1:
                node.text = rng.choice(["", " ", "-1", "x" * 30, "2147483648", "true", "Accepted "])
            elif action == 2:
                q = etree.QName(node)
                node.tag = etree.QName(q.namespace, rng.choice(["value", "values", "unit", "status", "Fault"])).text
            elif action == 3 and node.getparent() is not None:
                node.getparent().append(copy.deepcopy(node))
            elif action == 4:
                node.set(rng.choice(["unit", "context", "{urn:x}y"]), rng.choice(["Hz", "Wh", ""]))
            else:
                rng.choice(nodes).append(copy.deepcopy(node))   # a copy: may land anywhere
        raw = etree.tostring(root)
        for mode in ("strict", "lenient"):
            try:
                outcomes.add(parse(raw, mode=mode).kind)
            except SoapFault as e:
                outcomes.add(e.fault.kind)
    # the mangling reached every layer: accepted messages and each kind of refusal
    assert {"request", "response", FaultCode.SCHEMA_VIOLATION, FaultCode.UNKNOWN_OPERATION} <= outcomes


def test_hub_routes_a_parsed_request_to_the_charge_points_core():
    cores = {cb: SoapRpcCore(CSMS, charge_box_identity=cb, peer_url="http://unknown/", new_id=ids())
             for cb in ("CB-1", "CB-2")}
    msg = parse(request(CENTRAL_SYSTEM_SERVICE, "Heartbeat", charge_box_identity="CB-2"))
    core = cores[msg.headers.charge_box_identity]
    ev = core.receive_request(msg)
    assert isinstance(ev, CallReceived) and core.message(ev.call).notes == []
    core.peer_url = core.headers(ev.call).from_          # the callback address is learned
    assert core.peer_url == "http://cp.example:8080/"
    back = parse(core.respond(ev.call, {"currentTime": T}))
    assert back.headers.relates_to == "urn:uuid:m1" and back.payload == {"currentTime": T}


def test_a_request_for_another_charge_point_is_refused_in_strict_noted_in_lenient():
    raw = request(CHARGE_POINT_SERVICE, "Reset", charge_box_identity="CB-9")
    strict = SoapRpcCore(CHARGE_POINT, charge_box_identity="CB-1", peer_url="http://cs/")
    ev = strict.receive_request(raw)
    assert isinstance(ev, FrameRejected) and parse(ev.reply).fault.kind is FaultCode.INVALID_HEADER
    lenient = SoapRpcCore(CHARGE_POINT, charge_box_identity="CB-1", peer_url="http://cs/", mode="lenient")
    ev = lenient.receive_request(raw)
    assert isinstance(ev, CallReceived) and "'CB-9' is not 'CB-1'" in lenient.message(ev.call).notes[0]


def test_lenient_request_without_message_id_is_answered_without_relates_to():
    root = etree.fromstring(request(CHARGE_POINT_SERVICE, "ClearCache"))
    el = root.find("{http://www.w3.org/2003/05/soap-envelope}Header/{http://www.w3.org/2005/08/addressing}MessageID")
    el.getparent().remove(el)
    core = SoapRpcCore(CHARGE_POINT, charge_box_identity="CB-1", peer_url="http://cs/", mode="lenient")
    ev = core.receive_request(etree.tostring(root))
    assert isinstance(ev, CallReceived) and ev.call.unique_id == ""
    reply = core.respond(ev.call, {"status": "Accepted"})
    assert b"RelatesTo" not in reply.encode()
    assert parse(reply, mode="lenient").payload == {"status": "Accepted"}


def test_enumeration_values_in_the_wrong_case_are_repaired_in_lenient_only():
    raw = request(CENTRAL_SYSTEM_SERVICE, "MeterValues", {"connectorId": 1, "values": [
        {"timestamp": T, "value": [{"value": "1", "unit": "kWh"}]}]}).replace(b'unit="kWh"', b'unit="KWH"')
    assert "unit" in fault_of(raw).fault.reason
    msg = parse(raw, mode="lenient")
    assert msg.payload["values"][0]["value"] == [{"value": "1", "unit": "kWh"}]
    assert msg.repairs == ["meterValuesRequest.values.value@unit: 'KWH' read as 'kWh'"]
    raw = response(CHARGE_POINT_SERVICE, "Reset").replace(b">Accepted<", b">accepted<")
    assert parse(raw, mode="lenient").repairs == ["resetResponse.status: 'accepted' read as 'Accepted'"]
    # a value outside the spec is not guessed at
    raw = response(CHARGE_POINT_SERVICE, "Reset").replace(b">Accepted<", b">Error<")
    assert fault_of(raw, mode="lenient").fault.kind is FaultCode.SCHEMA_VIOLATION
