"""Reports (summary, JUnit XML, JSON) and the frame recording of a scenario run."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from simulator.scenario import ScenarioFileError, loads, run_scenario
from simulator.scenario import recording, reports
from simulator.scenario.recording import Recorder

PASSING = "name: good\nsteps:\n  - send: {action: Heartbeat}\n"
FAILING = ("name: bad one\nsteps:\n  - send: {action: Heartbeat}\n"
           "  - csms: {action: ClearCache, payload: {}, expect: {status: Rejected}}\n")


@pytest.fixture
async def results():
    return [await run_scenario(loads(PASSING, "s/good.yaml")),
            await run_scenario(loads(FAILING, "s/bad.yaml"))]


async def test_summary_shows_the_failing_step_and_the_frames_around_it(results):
    text = reports.summary(results)
    assert "FAILED bad one  (s/bad.yaml:4)" in text
    assert "step: csms ClearCache" in text
    assert "status: 'Accepted' is not 'Rejected'" in text
    assert '"ClearCache"' in text  # the frames before the failure
    assert text.rstrip().splitlines()[-1].startswith("1 passed, 1 failed in ")


async def test_junit_xml_has_a_testcase_per_scenario_and_the_failure(results):
    invalid = [ScenarioFileError("s/broken.yaml", "unknown step 'x'", 3, 5)]
    root = ET.fromstring(reports.junit_xml(results, invalid))
    suite = root.find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "1" and suite.get("errors") == "1"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["good"].find("failure") is None
    failure = cases["bad one"].find("failure")
    assert "is not 'Rejected'" in failure.get("message")
    assert "s/bad.yaml:4" in failure.text
    assert cases["bad one"].get("line") == "4"
    assert cases["broken"].find("error").get("message") == "s/broken.yaml:3:5: unknown step 'x'"


async def test_json_report_has_every_step(results):
    data = json.loads(reports.json_report(results))
    assert data["format"] == "chargesim-scenario-report" and data["version"] == 1
    assert data["summary"] == {"passed": 1, "failed": 1, "invalid": 0,
                               "duration": data["summary"]["duration"]}
    bad = data["scenarios"][1]
    assert bad["status"] == "failed" and bad["failed_step"]["line"] == 4
    assert [s["status"] for s in bad["steps"]] == ["passed", "passed", "failed"]


async def test_recording_has_a_versioned_header_and_every_frame(tmp_path):
    path = tmp_path / "run.jsonl"
    with Recorder(path, scenario="good") as rec:
        result = await run_scenario(loads(PASSING, "good.yaml"), taps=[rec.tap])
    assert result.passed
    header, frames = recording.read(path)
    assert header["format"] == "chargesim-recording" and header["version"] == 1
    assert [f["direction"] for f in frames[:2]] == ["out", "in"]
    assert json.loads(frames[0]["raw"])[2] == "BootNotification"
    assert set(frames[0]) >= {"ts", "time", "station", "direction", "protocol", "raw", "scenario"}
    assert frames[0]["protocol"] == "ocpp1.6" and frames[0]["station"] == "CS1"
    assert any('"Heartbeat"' in f["raw"] for f in frames)
    assert len(frames) == rec.frames


def test_recording_reader_refuses_foreign_or_newer_files(tmp_path):
    foreign = tmp_path / "x.jsonl"
    foreign.write_text('{"hello": 1}\n')
    with pytest.raises(ValueError, match="not a chargesim recording"):
        recording.read(foreign)
    newer = tmp_path / "y.jsonl"
    newer.write_text('{"format": "chargesim-recording", "version": 99}\n')
    with pytest.raises(ValueError, match="version 99 is not supported"):
        recording.read(newer)
