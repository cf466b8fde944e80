"""Recording from every side in one format: the session-layer recorder (rotation, the CSMS
side's directions turned round), the hub's --record, the drivers' --record options."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hub_under_test.__main__ import parse_args
from hub_under_test.hub import Hub
from simulator.cli import main
from simulator.cli_replay import hub_config
from simulator.replay import read_log
from simulator.replay.replayer import ReplayOptions, replay
from simulator.replay.script import build
from simulator.session import Frame
from simulator.session.recording import Recorder

RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"


def test_rotation_keeps_k_complete_files(tmp_path):
    path = tmp_path / "r.jsonl"
    rec = Recorder(path, max_bytes=2048, keep=2)
    for n in range(60):
        rec.tap(Frame(1_800_000_000 + n, "CS1", "out", "ocpp1.6",
                      f'[2,"{n}","Heartbeat",{{}}]'))
    rec.close()
    assert rec.rotations > 2
    files = rec.files()
    assert [p.name for p in files] == ["r.jsonl.2", "r.jsonl.1", "r.jsonl"]
    assert not (tmp_path / "r.jsonl.3").exists()
    ids = []
    for p in files:
        assert p.stat().st_size <= 2048
        read = read_log(p)       # each file is a complete recording with its header
        assert read.problems == [] and read.header["recorder"] == "station"
        ids += [f.unique_id for f in read.frames]
    assert ids == [str(n) for n in range(60 - len(ids), 60)]   # the newest, in order


def test_csms_side_recorder_writes_station_directions(tmp_path):
    rec = Recorder(tmp_path / "h.jsonl", side="csms")
    rec.tap(Frame(1.0, "CS1", "in", "ocpp1.6", '[2,"1","Heartbeat",{}]'))
    rec.tap(Frame(2.0, "CS1", "out", "ocpp1.6", '[3,"1",{"currentTime":"x"}]'))
    rec.tap(Frame(3.0, "CS1", "in", "ocpp1.6", "", "connected"))   # a note: no record
    rec.close()
    lines = [json.loads(x) for x in (tmp_path / "h.jsonl").read_text().splitlines()]
    assert lines[0]["recorder"] == "csms"
    assert [x["direction"] for x in lines[1:]] == ["out", "in"]


def test_hub_record_option_and_round_trip(tmp_path):
    """A replay against a recording hub; the hub's recording replays with zero divergence."""
    config, _ = parse_args(["--port", "0", "--api-port", "0", "--record",
                            str(tmp_path / "hub.jsonl"), "--record-max-bytes", "100000"])
    assert config.record_path.endswith("hub.jsonl") and config.record_max_bytes == 100000
    scripts = build([read_log(RECORDINGS / "normal-session.jsonl")])
    config = hub_config(scripts, {})
    config.record_path = str(tmp_path / "hub.jsonl")

    async def go():
        async with Hub(config) as hub:
            [first] = await replay(scripts, hub.url, ReplayOptions(request_wait=0.1))
        assert first.passed
        again = build([read_log(tmp_path / "hub.jsonl")])
        async with Hub(hub_config(again, {})) as hub:
            return again, await replay(again, hub.url, ReplayOptions(request_wait=0.1))
    again, [second] = asyncio.run(go())
    sent = [e.action for e in again[0].sent]
    assert sent[0] == "BootNotification" and "StopTransaction" in sent
    assert second.passed and len(second.exchanges) == len(scripts[0].exchanges)


def test_quick_run_records_and_rotates(tmp_path, capsys):
    path = tmp_path / "run.jsonl"
    code = main(["run", "--seconds", "0.5", "--record", str(path), "--record-max-bytes", "2048",
                 "--record-keep", "1"])
    assert code == 0, capsys.readouterr().out
    assert (tmp_path / "run.jsonl.1").exists() and not (tmp_path / "run.jsonl.2").exists()
    assert read_log(path).header["format"] == "chargesim-recording"
    assert main(["replay", str(tmp_path / "run.jsonl.1"), str(path), "--fast"]) == 0
