"""From a capture to a test: --to-scenario writes a scenario that loads and passes on the
bundled hub; --anonymize replaces station ids, tags and serials consistently."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from simulator.cli import main
from simulator.replay import read_log
from simulator.scenario.loader import load

RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"


@pytest.mark.parametrize("name", ["normal-session.jsonl", "multi-station.jsonl",
                                  "quirky-payloads.jsonl"])
def test_to_scenario_loads_and_passes(tmp_path, capsys, name):
    out = tmp_path / "replayed.yaml"
    assert main(["replay", str(RECORDINGS / name), "--to-scenario", str(out)]) == 0
    scenario = load(out)                     # schema and loader checks
    assert scenario.stations
    data = yaml.safe_load(out.read_text())
    sends = [s["send"] for s in data["steps"] if "send" in s]
    assert sends and all("expect" in s or "expect_error" in s or s["action"] in (
        "StatusNotification", "MeterValues", "Heartbeat") for s in sends)
    capsys.readouterr()
    assert main(["run", str(out)]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("name", ["ocpp201-session.jsonl", "ocpp201-offline-queue.jsonl"])
def test_a_2_0_1_capture_to_scenario_says_its_protocol_and_passes(tmp_path, capsys, name):
    out = tmp_path / "replayed.yaml"
    assert main(["replay", str(RECORDINGS / name), "--to-scenario", str(out)]) == 0
    data = yaml.safe_load(out.read_text())
    assert [st.get("protocol") for st in data["stations"]] == ["ocpp2.0.1"]
    actions = [s["send"]["action"] for s in data["steps"] if "send" in s]
    assert "TransactionEvent" in actions and "StartTransaction" not in actions
    assert load(out).stations[0].protocol == "ocpp2.0.1"
    capsys.readouterr()
    assert main(["run", str(out)]) == 0, capsys.readouterr().out


def test_to_scenario_maps_transaction_ids_and_asserts_the_answers(tmp_path):
    out = tmp_path / "s.yaml"
    assert main(["replay", str(RECORDINGS / "normal-session.jsonl"), "--to-scenario", str(out)]) == 0
    steps = [s["send"] for s in yaml.safe_load(out.read_text())["steps"] if "send" in s]
    start = next(s for s in steps if s["action"] == "StartTransaction")
    stop = next(s for s in steps if s["action"] == "StopTransaction")
    assert start["expect"] == {"transactionId": {"type": "integer"}, "idTagInfo.status": "Accepted"}
    assert stop["payload"]["transactionId"] == f"${{{start['save']}.transactionId}}"
    assert "timestamp" not in start["payload"]      # filled with now by the station


def test_to_scenario_catches_a_changed_answer(tmp_path, capsys):
    """The scenario's assertions are real: with the tag blocked on the hub it fails."""
    out = tmp_path / "s.yaml"
    main(["replay", str(RECORDINGS / "normal-session.jsonl"), "--to-scenario", str(out)])
    data = yaml.safe_load(out.read_text())
    data["csms"]["hub"]["tags"] = {tag: "Blocked" for tag in data["csms"]["hub"]["tags"]}
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    capsys.readouterr()
    assert main(["run", str(out)]) == 1
    assert "Blocked" in capsys.readouterr().out


def test_anonymize_replaces_ids_tags_and_serials_consistently(tmp_path):
    out = tmp_path / "shared.jsonl"
    assert main(["replay", str(RECORDINGS / "quirky-payloads.jsonl"),
                 str(RECORDINGS / "multi-station.jsonl"), "--anonymize", str(out)]) == 0
    text = out.read_text()
    for secret in ("QUIRKY-7", "EX-FLEET-1", "EX-SOLO", "CARD-Q", "SN-0042"):
        assert secret not in text
    read = read_log(out)
    assert read.problems == []
    stations = {f.station for f in read.frames}
    assert stations == {f"STATION-{n:03d}" for n in range(1, 6)}
    quirky = [f.raw for f in read.frames if f.station == "STATION-001"]
    assert quirky[0].startswith('[2, "q1", "BootNotification", {')   # the bytes otherwise kept
    assert '"chargePointSerialNumber": "SERIAL-001"' in quirky[0]
    tags = {json.loads(f.raw)[3]["idTag"] for f in read.frames
            if f.action == "StartTransaction" and f.direction == "out"}
    assert tags and all(t.startswith("TAG-") for t in tags)
    assert main(["replay", str(out), "--fast", "--raw"]) == 0   # still replays cleanly
