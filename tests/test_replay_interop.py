"""Replay against an independent CSMS built on the `ocpp` library: it numbers transactions
from 100 and answers boots with its own interval, so the mapping and the comparison are
checked against code that shares none of ours."""
from __future__ import annotations

from pathlib import Path

from simulator.replay import read_log
from simulator.replay.replayer import ReplayOptions, replay
from simulator.replay.script import build
from tests.ocpp_lib_csms import csms  # noqa: F401  (fixture)

RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"


async def test_transaction_ids_of_another_csms_are_mapped(csms):  # noqa: F811
    csms.default_boot = ("Accepted", 300)          # as recorded
    scripts = build([read_log(RECORDINGS / "normal-session.jsonl")])
    [result] = await replay(scripts, csms.url, ReplayOptions(request_wait=0.1))
    assert result.passed, [e.differences for e in result.diverged]
    [start] = csms.calls("StartTransaction")
    stops = csms.calls("StopTransaction")
    meter = csms.calls("MeterValues", where=lambda p: "transactionId" in p)
    recorded_tx = next(e for e in scripts[0].sent if e.action == "StartTransaction"
                       ).reply.message.payload["transactionId"]
    assert recorded_tx != 100
    assert [s["transactionId"] for s in stops] == [100]       # learnt from the new answer
    assert meter and {m["transactionId"] for m in meter} == {100}
    assert start["timestamp"] > scripts[0].sent[0].request.timestamp.isoformat()[:19]  # shifted


async def test_a_different_answer_of_another_csms_is_a_divergence(csms):  # noqa: F811
    csms.default_boot = ("Accepted", 600)
    csms.tags["CARD-1"] = {"status": "Expired"}
    scripts = build([read_log(RECORDINGS / "normal-session.jsonl")])
    [result] = await replay(scripts, csms.url, ReplayOptions(request_wait=0.1))
    found = {e.action: e.differences for e in result.diverged}
    assert found["BootNotification"] == ["interval: recorded 300, now 600"]
    assert found["Authorize"] == ["idTagInfo.status: recorded 'Accepted', now 'Expired'"]
