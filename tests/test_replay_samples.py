"""Every sample in recordings/ replays against the bundled hub with zero divergence;
broken logs fail as bad input, naming the line."""
from __future__ import annotations

import pytest

from simulator.cli import main
from pathlib import Path

RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"

SAMPLES = [
    ("normal-session.jsonl", []),
    ("reboot-mid-transaction.jsonl", []),
    ("offline-backlog.jsonl", []),
    ("quirky-payloads.jsonl", ["--raw"]),
    ("multi-station.jsonl", []),
    ("ocpp201-session.jsonl", []),
    ("ocpp201-offline-queue.jsonl", []),
    ("chargesim-recording.jsonl", []),
    ("charger-1.6-session.log", ["--station", "CS-LOG"]),
    ("hub-export-CS-0042.json", ["--station", "CS-0042"]),
    ("soap15-session.jsonl", []),                  # OCPP 1.5 over SOAP
    ("soap-1.5-session.xml", []),                  # a SOAP dump
]


@pytest.mark.parametrize("name,extra", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_sample_replays_with_zero_divergence(name, extra, capsys):
    code = main(["replay", str(RECORDINGS / name), "--fast", "--request-wait", "0.1", *extra])
    out = capsys.readouterr().out
    assert code == 0, out
    assert ", 0 diverged" in out and "DIVERGED" not in out


def test_offline_backlog_keeps_its_lateness(capsys):
    """Meter values sampled offline carry their own (earlier) times when delivered: shifted
    to now, the gap between sampling and delivery stays."""
    from simulator.replay import read_log
    from simulator.replay.mapping import Mapper
    from datetime import timedelta, datetime
    read = read_log(RECORDINGS / "offline-backlog.jsonl")
    late = [f for f in read.frames if f.action == "MeterValues" and f.direction == "out"
            and f.ts - datetime.fromisoformat(
                f.message.payload["meterValue"][0]["timestamp"].replace("Z", "+00:00")
            ).timestamp() > 0.2]
    assert len(late) >= 2
    mapper = Mapper(time_offset=timedelta(days=3))
    moved = mapper.payload(late[0].message.payload)
    assert moved["meterValue"][0]["timestamp"] > late[0].message.payload["meterValue"][0]["timestamp"]


def test_soap_raw_replay_is_refused_clearly(capsys):
    assert main(["replay", str(RECORDINGS / "soap15-session.jsonl"), "--fast", "--raw"]) == 1
    assert "a SOAP (OCPP 1.5) recording is re-encoded: leave out --raw" in capsys.readouterr().out


def test_a_log_naming_no_station_asks_for_one(capsys):
    assert main(["replay", str(RECORDINGS / "charger-1.6-session.log"), "--fast"]) == 2
    assert "--station ID" in capsys.readouterr().err


def test_truncated_and_mixed_recordings_name_the_line(tmp_path, capsys):
    lines = (RECORDINGS / "normal-session.jsonl").read_text().splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:6]) + "\n" + lines[6][:40])
    assert main(["replay", str(cut), "--fast"]) == 2
    err = capsys.readouterr().err
    assert "cut.jsonl:7: truncated line" in err
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join(lines[:4] + ['[2,"x","Heartbeat",{}]'] + lines[4:]) + "\n")
    assert main(["replay", str(mixed), "--fast"]) == 2
    assert "mixed.jsonl:5: an OCPP-J frame line" in capsys.readouterr().err
    # --ignore-problems replays what could be read
    assert main(["replay", str(cut), "--fast", "--ignore-problems"]) == 0
