"""Scenarios against an independent CSMS (the `ocpp` library's ChargePoint): the runner
drives our station against code that shares none of ours, and scripted answers are frames
that peer accepts."""
from __future__ import annotations

import asyncio

import pytest
from ocpp.exceptions import NotSupportedError
from ocpp.v16 import call

from simulator.scenario import loads, run_scenario
from tests.ocpp_lib_csms import csms  # noqa: F401  (fixture)

SCENARIO = """
name: interop
stations: [{id: LIB-1}]
steps:
  - start_charging: {tag: ANY-TAG, save: tx}
  - expect_sent: {action: StartTransaction, since: start, reply: {transactionId: "${tx.transactionId}"}}
  - answer: {action: GetConfiguration, error: {code: NotSupported, description: scripted}}
  - answer: {action: Reset, reply: {status: Rejected}}
  - log: ready
  - expect_request: {action: GetConfiguration, timeout: 5}
  - expect_request: {action: Reset, expect: {type: Hard}, reply: {status: Rejected}, timeout: 5}
  - stop_charging: {tag: ANY-TAG}
  - expect_sent: {action: StopTransaction, expect: {transactionId: "${tx.transactionId}"}, reply: {}}
"""


async def test_a_scenario_against_the_ocpp_library_csms(csms):  # noqa: F811
    ready = asyncio.Event()

    def progress(kind, data):
        if kind == "log" and data["text"] == "ready":
            ready.set()
    run = asyncio.create_task(run_scenario(loads(SCENARIO, "interop.yaml"), csms_url=csms.url,
                                           progress=progress))
    await asyncio.wait_for(ready.wait(), 10)
    peer = csms.peers["LIB-1"]
    with pytest.raises(NotSupportedError):
        await peer.call(call.GetConfiguration(key=["HeartbeatInterval"]), suppress=False)
    reply = await peer.call(call.Reset(type="Hard"))
    assert reply.status == "Rejected"
    result = await asyncio.wait_for(run, 20)
    assert result.passed, result.failure
    assert csms.calls("StartTransaction")[0]["idTag"] == "ANY-TAG"
    assert csms.calls("StopTransaction")[0]["transactionId"] == 100  # the library CSMS's id
