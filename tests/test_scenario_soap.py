"""Scenario steps on an OCPP 1.5 SOAP station: scripted answers, faults both ways and the
requests the station got, with the bundled hub and through the HTTP trigger (where the
answer is read from the SOAP envelopes in the frame log)."""
from __future__ import annotations

from simulator.scenario import loads, run_scenario
from tests.hub_helpers import running_hub

SCENARIO = """
version: 1
name: scripted answers and faults over SOAP
stations: [{id: A15, protocol: ocpp1.5}]
steps:
  - answer: {action: Reset, reply: {status: Rejected}}
  - csms: {action: Reset, payload: {type: Hard}, expect: {status: Rejected}}
  - answer: {action: ClearCache, error: {code: NotSupported, description: "not here"}}
  - csms: {action: ClearCache, payload: {}, expect_error: ActionNotSupported}
  - send: {action: StatusNotification, payload: {status: Bogus}, validate: false,
           expect_error: SchemaViolation}
  - expect_request: {action: Reset, since: start, expect: {type: Hard}}
  - expect_request: {action: ClearCache, since: start}
"""

# Through a CSMS's HTTP trigger the answer is read from the envelopes (a fault the hub's
# API reports as HTTP 502 fails the trigger itself, as with OCPP-J: no expect_error here).
VIA_TRIGGER = """
version: 1
name: answers read from the SOAP envelopes
stations: [{id: B15, protocol: ocpp1.5}]
steps:
  - answer: {action: Reset, reply: {status: Rejected}}
  - csms: {action: Reset, payload: {type: Hard}, expect: {status: Rejected}}
  - csms: {action: GetLocalListVersion, payload: {}, expect: {listVersion: {type: integer}}}
  - csms: {action: UnlockConnector, payload: {connectorId: 1}, expect: {status: Accepted}}
  - expect_request: {action: Reset, since: start, expect: {type: Hard}}
"""


async def test_soap_steps_against_the_bundled_hub():
    result = await run_scenario(loads(SCENARIO, "s.yaml"))
    assert result.passed, f"{result.where}: {result.failure}"


async def test_soap_steps_through_the_http_trigger():
    async with running_hub(soap_port=0) as hub:
        trigger = {"http": {"url": f"{hub.api_url}/stations/${{station}}/commands/${{action}}"}}
        result = await run_scenario(loads(VIA_TRIGGER, "s.yaml"), csms_url=hub.soap_url,
                                    trigger=trigger)
    assert result.passed, f"{result.where}: {result.failure}"


async def test_a_wrong_expectation_fails_naming_what_came():
    text = SCENARIO.replace("expect: {status: Rejected}", "expect: {status: Accepted}")
    result = await run_scenario(loads(text, "s.yaml"))
    assert not result.passed
    assert "Rejected" in result.failure and result.where == "s.yaml:7"


def test_the_frame_log_reads_envelopes_as_calls_answers_and_faults():
    from simulator.protocol.soap.envelope import (FaultCode, build_fault, build_request,
                                                  build_response)
    from simulator.scenario.framelog import CALL, ERROR, RESULT, FrameLog
    from simulator.session import Frame
    log = FrameLog()
    req = build_request("CentralSystemService", "Authorize", {"idTag": "T1"},
                        charge_box_identity="S", message_id="m1", to="http://x/")
    res = build_response("CentralSystemService", "Authorize",
                         {"idTagInfo": {"status": "Accepted"}}, relates_to="m1",
                         message_id="m2")
    fault = build_fault(FaultCode.SCHEMA_VIOLATION, "bad", message_id="m3", relates_to="m1")
    for direction, raw in (("out", req), ("in", res), ("in", fault), ("in", b"<not xml")):
        log.tap(Frame(0.0, "S", direction, "ocpp1.5", raw.decode()))
    call, result, error, broken = log.entries
    assert (call.kind, call.unique_id, call.action, call.payload) == (CALL, "m1", "Authorize",
                                                                      {"idTag": "T1"})
    assert (result.kind, result.unique_id, result.payload["idTagInfo"]["status"]) == \
        (RESULT, "m1", "Accepted")
    assert (error.kind, error.action, error.payload["code"]) == (ERROR, "Authorize",
                                                                 "SchemaViolation")
    assert broken.kind is None and log.reply_to(call) is result
