"""Replaying recordings against the bundled hub: zero divergence on a round trip, a changed
answer caught and reported, ids the CSMS assigns learnt and mapped, bad input exit 2."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hub_under_test.hub import Hub
from simulator.cli import main
from simulator.cli_replay import hub_config
from simulator.replay import read_log
from simulator.replay.mapping import StationIds
from simulator.replay.replayer import SAME, ReplayOptions, replay
from simulator.replay.script import build

RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"


def scripts_of(*names):
    return build([read_log(RECORDINGS / n) for n in names])


async def replay_on(hub_cfg_or_hub, scripts, **options):
    opts = ReplayOptions(request_wait=0.2, **options)
    if isinstance(hub_cfg_or_hub, Hub):
        return await replay(scripts, hub_cfg_or_hub.url, opts)
    async with Hub(hub_cfg_or_hub) as hub:
        return await replay(scripts, hub.url, opts)


def test_normal_session_replays_with_zero_divergence():
    scripts = scripts_of("normal-session.jsonl")
    [result] = asyncio.run(replay_on(hub_config(scripts, {}), scripts))
    assert result.error is None
    assert [e.status for e in result.exchanges] == [SAME] * len(result.exchanges)
    assert {e.action for e in result.exchanges} >= {"BootNotification", "StartTransaction",
                                                    "MeterValues", "StopTransaction"}


def test_transaction_ids_are_learnt_from_the_new_answers():
    """Replayed twice on one hub, the second run gets another transaction id: later frames
    carry it, and the StopTransaction is still answered as recorded."""
    scripts = scripts_of("normal-session.jsonl")

    async def twice():
        async with Hub(hub_config(scripts, {})) as hub:
            first = await replay_on(hub, scripts)
            second = await replay_on(hub, scripts)
            return first, second, hub.manager
    (first,), (second,), _ = asyncio.run(twice())
    assert not first.diverged and not second.diverged
    start = next(e for e in second.exchanges if e.action == "StartTransaction")
    assert start.now.payload["transactionId"] != start.recorded.payload["transactionId"]


def test_a_blocked_tag_is_reported_as_divergence():
    scripts = scripts_of("normal-session.jsonl")
    config = hub_config(scripts, {})
    config.tags = {tag: "Blocked" for tag in config.tags}
    assert config.tags, "the recording's tag seeds the hub"
    [result] = asyncio.run(replay_on(config, scripts))
    diverged = result.diverged
    assert diverged and diverged[0].action in ("Authorize", "StartTransaction")
    assert any("idTagInfo.status: recorded 'Accepted', now 'Blocked'" in d
               for d in diverged[0].differences)


def test_station_ids_are_mapped(capsys):
    scripts = scripts_of("multi-station.jsonl")
    results = asyncio.run(replay_on(hub_config(scripts, {}), scripts,
                                    ids=StationIds({"EX-SOLO": "ALONE"}, "NEW-")))
    assert {r.replayed_as for r in results} == {"NEW-EX-FLEET-1", "NEW-EX-FLEET-2",
                                                "NEW-EX-FLEET-3", "ALONE"}
    assert all(r.passed for r in results)


def test_cli_exit_codes_and_reports(tmp_path, capsys):
    junit, report = tmp_path / "r.xml", tmp_path / "r.json"
    code = main(["replay", str(RECORDINGS / "reboot-mid-transaction.jsonl"), "--fast",
                 "--junit", str(junit), "--json", str(report)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 diverged" in out
    data = json.loads(report.read_text())
    assert data["summary"]["diverged"] == 0 and data["summary"]["exchanges"] > 10
    assert 'failures="0"' in junit.read_text()
    assert main(["replay", str(tmp_path / "nothing.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_malformed_log_is_bad_input_naming_the_line(capsys):
    code = main(["replay", str(RECORDINGS / "malformed-truncated.log"), "--fast"])
    err = capsys.readouterr().err
    assert code == 2
    assert "malformed-truncated.log:" in err and "truncated" in err


def test_the_current_hub_export_is_read_with_station_directions_and_replays(tmp_path):
    """The hub's API writes directions seen from the station plus `sender`; the reader
    takes the sender, and the export of a replayed session replays again cleanly."""
    from hub_under_test.api import frame_json
    scripts = scripts_of("normal-session.jsonl")

    async def go():
        async with Hub(hub_config(scripts, {})) as hub:
            await replay_on(hub, scripts)
            return [frame_json(f) for f in hub.server.frames.get("EX-CHARGE-1")]
    export = asyncio.run(go())
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    read = read_log(path, station="EX-CHARGE-1")
    assert read.layout == "hub-export" and read.problems == []
    boot = next(f for f in read.frames if f.action == "BootNotification")
    assert boot.direction == "out" and export[1]["sender"] == "station"
    again = build([read])
    [result] = asyncio.run(replay_on(hub_config(again, {}), again))
    assert result.passed and len(result.exchanges) == len(scripts[0].exchanges)


def test_cli_bad_options_are_bad_input(capsys):
    path = str(RECORDINGS / "normal-session.jsonl")
    assert main(["replay", path, "--id-map", "NOEQUALS"]) == 2
    assert "--id-map: expected OLD=NEW, got 'NOEQUALS'" in capsys.readouterr().err
    assert main(["replay", path, "--speed", "0"]) == 2
    assert "--speed must be above 0" in capsys.readouterr().err


def test_a_replay_records_itself_and_that_recording_replays(tmp_path, capsys):
    again = tmp_path / "again.jsonl"
    assert main(["replay", str(RECORDINGS / "multi-station.jsonl"), "--fast", "--id-prefix",
                 "R-", "--record", str(again)]) == 0
    read = read_log(again)
    assert read.problems == [] and {f.station for f in read.frames} == {
        "R-EX-FLEET-1", "R-EX-FLEET-2", "R-EX-FLEET-3", "R-EX-SOLO"}
    assert main(["replay", str(again), "--fast"]) == 0
