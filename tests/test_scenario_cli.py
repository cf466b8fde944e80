"""`chargesim run PATH...` and the pytest plugin, as a user runs them (subprocesses)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

GOOD = "name: good one\nsteps:\n  - send: {action: Heartbeat}\n"
BAD = ("name: bad one\nsteps:\n  - csms: {action: ClearCache, payload: {}, "
       "expect: {status: Rejected}}\n")
BROKEN = "name: broken\nsteps:\n  - plug_in: CS1\n  - plugin: {connector: 1}\n"


def chargesim(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator.cli", "run", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_run_reports_passes_and_failures_and_writes_reports(tmp_path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "a_good.yaml").write_text(GOOD)
    (folder / "b_bad.yaml").write_text(BAD)
    junit, report, rec = tmp_path / "j.xml", tmp_path / "r.json", tmp_path / "frames.jsonl"
    result = chargesim(str(folder), "--junit", str(junit), "--json", str(report),
                       "--record", str(rec))
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "PASS good one" in out and "FAIL bad one" in out
    assert f"FAILED bad one  ({folder / 'b_bad.yaml'}:3)" in out
    assert "1 passed, 1 failed" in out
    assert ET.parse(junit).getroot().find("testsuite").get("failures") == "1"
    assert json.loads(report.read_text())["summary"]["passed"] == 1
    lines = rec.read_text().splitlines()
    assert json.loads(lines[0])["format"] == "chargesim-recording"
    assert {json.loads(x)["scenario"] for x in lines[1:]} == {"good one", "bad one"}


def test_run_with_a_filter_and_fail_fast(tmp_path):
    (tmp_path / "a.yaml").write_text(BAD)
    (tmp_path / "b.yaml").write_text(GOOD)
    only_good = chargesim(str(tmp_path), "-k", "good")
    assert only_good.returncode == 0 and "1 passed, 0 failed" in only_good.stdout
    fast = chargesim(str(tmp_path), "--fail-fast")
    assert fast.returncode == 1 and "0 passed, 1 failed" in fast.stdout


def test_exclude_leaves_out_scenarios_by_name_or_tag(tmp_path):
    (tmp_path / "a.yaml").write_text(BAD.replace("name: bad one", "name: bad one\ntags: [slow]"))
    (tmp_path / "b.yaml").write_text(GOOD)
    by_tag = chargesim(str(tmp_path), "--exclude", "slow")
    assert by_tag.returncode == 0 and "1 passed, 0 failed" in by_tag.stdout
    assert "bad one" not in by_tag.stdout
    both = chargesim(str(tmp_path), "--exclude", "SLOW", "--exclude", "good one")
    assert both.returncode == 2 and "no scenarios found" in both.stdout


def test_a_broken_file_stops_the_run_before_anything_connects(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "broken.yaml").write_text(BROKEN)
    result = chargesim(str(tmp_path))
    assert result.returncode == 2
    assert f"{tmp_path / 'broken.yaml'}:4:5: unknown step 'plugin' (did you mean 'plug_in'?)" in result.stdout
    assert "PASS" not in result.stdout and "nothing was run" in result.stdout
    missing = chargesim(str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "no such file or folder" in missing.stdout


# Autoloading off, the plugin named: the test does not depend on the entry point being
# installed, and no other installed plugin changes the outcome.
PLUGIN = ["-m", "pytest", "-p", "simulator.scenario.pytest_plugin", "-p", "no:cacheprovider", "-q"]


def test_pytest_plugin_collects_scenarios_only_when_asked(tmp_path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "good.yaml").write_text(GOOD)
    (folder / "bad.yaml").write_text(BAD)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")

    def pytest(*args):
        env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        return subprocess.run([sys.executable, *PLUGIN, *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
    off = pytest("scenarios")
    assert off.returncode == 5, off.stdout  # no tests collected: not enabled
    on = pytest("--scenarios", "scenarios", "-rA")
    assert on.returncode == 1, on.stdout
    assert "1 failed, 1 passed" in on.stdout
    assert "FAILED scenarios/bad.yaml::bad one" in on.stdout
    assert "is not 'Rejected'" in on.stdout
    (folder / "broken.yaml").write_text(BROKEN)
    broken = pytest("--scenarios", "scenarios")
    assert broken.returncode == 2
    assert "broken.yaml:4:5: unknown step 'plugin'" in broken.stdout


async def test_run_against_another_csms_with_a_trigger_given_on_the_command_line():
    import asyncio
    from pathlib import Path

    from tests.hub_helpers import running_hub
    case = (Path(__file__).resolve().parents[1] / "scenarios" / "conformance" / "ocpp16-csms"
            / "TC_012_CSMS_remote_stop_charging_session.yaml")
    async with running_hub(tags={"OCTT-TAG-1": "Accepted"}) as hub:
        async def run(*extra):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "simulator.cli", "run", str(case), "--csms", hub.url,
                *extra, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                stdin=asyncio.subprocess.DEVNULL)
            out, err = await asyncio.wait_for(proc.communicate(), 120)
            return proc.returncode, out.decode() + err.decode()
        code, out = await run("--trigger-http",
                              f"{hub.api_url}/stations/${{station}}/commands/${{action}}")
        assert code == 0, out
        assert "PASS TC_012_CSMS Remote Stop Charging Session" in out
        code, out = await run()  # no trigger, no terminal: the step says what to configure
        assert code == 1 and "configure `csms.trigger`" in out
