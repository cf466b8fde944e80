"""Property-based fuzzing of the hub's OCPP 1.5 SOAP endpoint over loopback HTTP: valid
CentralSystemService requests cut, spliced and overwritten byte by byte, random bytes,
random text in an envelope, wrong identities and operations.

For every input: the answer is a SOAP 1.2 envelope (a response with status 200, or a fault
with 400/500), never an InternalError fault (an unhandled exception in the hub) nor a
dropped connection; and a second station on the same hub is unaffected (answered, its
state unchanged).
"""
from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub_under_test import Hub, HubConfig
from simulator.protocol.soap.envelope import SoapFault, build_request, parse
from simulator.protocol.soap.rpc import new_message_id
from simulator.protocol.soap.schema import CENTRAL_SYSTEM_SERVICE
from simulator.transport.soap_http import SoapHttpClient

from tests.fuzz_strategies import count

NOW = "2026-01-01T00:00:00Z"
SAMPLES = [
    ("Heartbeat", {}),
    ("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}),
    ("StatusNotification", {"connectorId": 1, "status": "Available", "errorCode": "NoError"}),
    ("Authorize", {"idTag": "TAG1"}),
    ("StartTransaction", {"connectorId": 1, "idTag": "TAG1", "timestamp": NOW, "meterStart": 0}),
    ("StopTransaction", {"transactionId": 1, "timestamp": NOW, "meterStop": 10}),
    ("MeterValues", {"connectorId": 1, "values": [{"timestamp": NOW, "value": [{"value": "5"}]}]}),
    ("DataTransfer", {"vendorId": "v", "messageId": "m", "data": "d"}),
]


def _request(sample, identity: str) -> bytes:
    op, payload = sample
    return build_request(CENTRAL_SYSTEM_SERVICE, op, payload, charge_box_identity=identity,
                         message_id=new_message_id(), to="http://hub/",
                         from_url="http://127.0.0.1:1/cp")


@st.composite
def mutated_envelope(draw) -> bytes:
    raw = bytearray(_request(draw(st.sampled_from(SAMPLES)),
                             draw(st.sampled_from(["FZ-1", "FZ-2", "", "x" * 40]))))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cut", "insert", "overwrite", "truncate"]))
        at = draw(st.integers(0, len(raw)))
        if kind == "cut":
            del raw[at:at + draw(st.integers(1, 30))]
        elif kind == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=20) |
                              st.sampled_from([b"<", b">", b"&", b"<!DOCTYPE x>", b"</x>",
                                               b"\xff\xfe", b"<a:b xmlns:a='u'/>", b"]]>"]))
        elif kind == "overwrite" and at < len(raw):
            raw[at] = draw(st.integers(0, 255))
        else:
            del raw[at:]
    return bytes(raw)


in_envelope = st.builds(
    lambda text: ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
                  f'{text}</s:Body></s:Envelope>').encode(),
    st.text(max_size=60))
valid = st.builds(_request, st.sampled_from(SAMPLES), st.sampled_from(["FZ-1", "FZ-2"]))
envelopes = mutated_envelope() | st.binary(max_size=200) | in_envelope | valid


class _SoapHarness:
    def __init__(self, mode: str):
        self.loop = asyncio.new_event_loop()
        self.hub = Hub(HubConfig(port=0, api_port=None, soap_port=0, ping_interval=None,
                                 mode=mode, frames_kept=0, tags={"TAG1": "Accepted"}))
        self.loop.run_until_complete(self.hub.start())
        self.http = SoapHttpClient(timeout=10)
        for sample in SAMPLES[1:3]:
            status, body = self.post(_request(sample, "CALM"))
            assert status == 200, body
        self.calm_state = repr(self.hub.manager.stations["CALM"].connectors)

    def post(self, raw: bytes) -> tuple[int, bytes]:
        return self.loop.run_until_complete(self.http.post(self.hub.soap_url, raw))

    def bystander_ok(self) -> None:
        status, body = self.post(_request(SAMPLES[0], "CALM"))
        assert status == 200 and parse(body).kind == "response", body
        assert repr(self.hub.manager.stations["CALM"].connectors) == self.calm_state

    def close(self) -> None:
        self.loop.run_until_complete(self.http.close())
        self.loop.run_until_complete(self.hub.stop())
        self.loop.close()


_HARNESS: dict[str, _SoapHarness] = {}


def check_soap(mode: str, raw: bytes) -> None:
    if mode not in _HARNESS:
        _HARNESS[mode] = _SoapHarness(mode)
    h = _HARNESS[mode]
    status, body = h.post(raw)
    try:   # lenient: a request whose MessageID was unreadable gets a reply without RelatesTo
        msg = parse(body, mode="lenient")
    except SoapFault as e:
        raise AssertionError(f"the answer ({status}) is not a SOAP envelope: {e}: {body!r}")
    if msg.kind == "fault":
        assert status in (400, 500), (status, body)
        assert msg.fault.subcode != "InternalError", body   # an unhandled exception
    else:
        assert status == 200 and msg.kind == "response", (status, body)
    h.bystander_ok()


@pytest.mark.parametrize("mode", ["strict", "lenient"])
@given(envelopes)
def test_fuzz_hub_soap_envelopes(mode, raw):
    count(f"hub 1.5 SOAP ({mode}): envelopes")
    check_soap(mode, raw)


def teardown_module():
    for h in _HARNESS.values():
        h.close()
    _HARNESS.clear()
