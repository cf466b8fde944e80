"""Replay of recorded OCPP 1.5 (SOAP) stations: their requests re-sent to a
CentralSystemService, the CSMS's calls to the station answered as recorded through the
replayer's own ChargePointService (its URL sent as From), and the answers compared."""
from __future__ import annotations

import asyncio
from pathlib import Path

from simulator.dialects import make_station
from simulator.replay import read_log
from simulator.replay.replayer import CSMS, DIVERGED, SAME, ReplayOptions, replay
from simulator.replay.script import build
from simulator.session.recording import Recorder
from tests.hub_helpers import running_hub

RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"


def test_a_soap_recording_reads_as_calls_and_their_answers():
    [script] = build([read_log(RECORDINGS / "soap15-session.jsonl")])
    assert script.protocol == "ocpp1.5"
    assert [e.action for e in script.sent][:2] == ["BootNotification", "StatusNotification"]
    assert all(e.decodes and e.reply is not None for e in script.exchanges)
    start = next(e for e in script.sent if e.action == "StartTransaction")
    assert isinstance(start.reply.message.payload["transactionId"], int)


async def test_the_hubs_call_reaches_the_replayer_and_is_answered_as_recorded(tmp_path):
    path = tmp_path / "rec.jsonl"
    async with running_hub(soap_port=0) as hub:
        st = make_station("REC15", hub.soap_url, version="ocpp1.5", interval_scale=0.05)
        recorder = Recorder(path)
        st.taps.append(recorder.tap)
        await st.start(timeout=10)
        recorded = await hub.send("REC15", "GetConfiguration", {"key": ["HeartbeatInterval"]})
        await st.session.call("Heartbeat", {})
        await st.stop()
        recorder.close()
    [script] = build([read_log(path)])
    assert [e.action for e in script.answered] == ["GetConfiguration"]

    async with running_hub(soap_port=0) as hub:
        answers = []

        async def operator():   # the CSMS asks again once the replayed station is there
            while "REC15" not in hub.soap.stations:
                await asyncio.sleep(0.01)
            answers.append(await hub.send("REC15", "GetConfiguration",
                                          {"key": ["HeartbeatInterval"]}))
        task = asyncio.ensure_future(operator())
        [result] = await replay([script], hub.soap_url, ReplayOptions(request_wait=10))
        await asyncio.wait_for(task, 5)
    assert result.passed, [(e.action, e.status, e.differences, e.note) for e in result.exchanges]
    assert answers == [recorded]
    csms = [e for e in result.exchanges if e.initiator == CSMS]
    assert [(e.action, e.status) for e in csms] == [("GetConfiguration", SAME)]
    assert {e.status for e in result.exchanges} == {SAME}


async def test_a_csms_that_answers_otherwise_is_reported_as_a_divergence():
    [script] = build([read_log(RECORDINGS / "soap15-session.jsonl")])
    async with running_hub(soap_port=0, tags={}) as hub:    # the recorded tag is unknown here
        [result] = await replay([script], hub.soap_url, ReplayOptions(request_wait=0.1))
    assert not result.passed and result.error is None
    authorize = next(e for e in result.exchanges if e.action == "Authorize")
    assert authorize.status == DIVERGED
    assert any("Invalid" in d for d in authorize.differences), authorize.differences


async def test_no_csms_at_the_url_is_an_error_not_a_crash():
    [script] = build([read_log(RECORDINGS / "soap15-session.jsonl")])
    [result] = await replay([script], "http://127.0.0.1:1/ocpp15/CentralSystemService",
                            ReplayOptions(request_wait=0.1))
    assert result.error is not None and "127.0.0.1:1" in result.error


async def test_a_soap_recording_becomes_a_15_scenario_that_passes(tmp_path):
    from simulator.replay.to_scenario import write_scenario
    from simulator.scenario import load, run_scenario
    [script] = build([read_log(RECORDINGS / "soap15-session.jsonl")])
    out = write_scenario([script], tmp_path / "s.yaml", source="soap15-session.jsonl")
    sc = load(out)
    assert [s.protocol for s in sc.stations] == ["ocpp1.5"]
    result = await run_scenario(sc)
    assert result.passed, f"{result.where}: {result.failure}"
