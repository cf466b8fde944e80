"""The bundled hub's file server from a scenario: `csms.hub.firmware` publishes images,
`${hub.api_url}` names the hub's HTTP API, and using it without the bundled hub is a clear
error (at load when the file names another CSMS, before anything connects when the run does)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulator.scenario import ScenarioFileError, load, loads, run_scenario
from simulator.scenario.runner import ScenarioRun

PACK = Path(__file__).resolve().parents[1] / "scenarios" / "conformance" / "ocpp16-csms"

FIRMWARE_UPDATE = """
name: fw
csms:
  hub:
    firmware:
      fw-3.1.4.bin: {file: images/fw.bin}
stations: [{id: FW-1}]
steps:
  - check: {value: "${hub.api_url}", expect: {matches: "^http://127\\\\.0\\\\.0\\\\.1:\\\\d+$"}}
  - check: {value: "${hub.url}", expect: "${csms.url}"}
  - csms:
      action: UpdateFirmware
      payload: {location: "${hub.api_url}/firmware/fw-3.1.4.bin", retrieveDate: "2020-01-01T00:00:00Z"}
  - expect_sent: {action: FirmwareStatusNotification, expect: {status: Downloaded}}
  - expect_sent: {action: BootNotification, expect: {firmwareVersion: "3.1.4-from-file"}}
  - expect_sent: {action: FirmwareStatusNotification, expect: {status: Installed}}
"""

USES_HUB = """name: uses hub
steps:
  - send: {action: Heartbeat}
  - csms: {action: GetDiagnostics, payload: {location: "${hub.api_url}/uploads/CS1"}}
"""


async def test_hub_api_url_and_firmware_from_a_file_next_to_the_scenario(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "fw.bin").write_bytes(b"firmware-version: 3.1.4-from-file\n\x00\x01")
    path = tmp_path / "fw.yaml"
    path.write_text(FIRMWARE_UPDATE)
    sc = load(path)
    assert sc.needs_bundled_hub and sc.hub_refs == [9, 10, 11]   # the steps' lines
    result = await run_scenario(sc)
    assert result.passed, f"{result.where}: {result.failure}"


async def test_hub_firmware_given_as_text_is_the_image():
    result = await run_scenario(loads("""
name: fw text
csms: {hub: {firmware: {"fw-2.0.0.bin": "firmware-version: 2.0.0\\nimage\\n"}}}
steps:
  - csms:
      action: UpdateFirmware
      payload: {location: "${hub.api_url}/firmware/fw-2.0.0.bin", retrieveDate: "2020-01-01T00:00:00Z"}
  - expect_sent: {action: BootNotification, expect: {firmwareVersion: 2.0.0}}
  - expect_sent: {action: FirmwareStatusNotification, expect: {status: Installed}}
""", "t.yaml"))
    assert result.passed, f"{result.where}: {result.failure}"


async def test_get_diagnostics_success_case_leaves_the_file_on_the_hub():
    sc = load(PACK / "TC_045_1_CSMS_get_diagnostics_upload_succeeded.yaml")
    listed = []

    def progress(kind, data):   # the hub is still up at the last step's end
        if kind == "step_end" and data["step"].kind == "wait_event":
            listed.extend(run.hub.files.uploaded("OCTT-CP-0451"))
    run = ScenarioRun(sc, progress=progress)
    result = await run.run()
    assert result.passed, f"{result.where}: {result.failure}"
    assert [f["name"] for f in listed] == [run.root["diagnostics"]["fileName"]]
    assert listed[0]["size"] > 0


async def test_hub_variable_against_another_csms_fails_before_anything_connects():
    # an unreachable CSMS: the scenario must fail on ${hub...}, not at boot
    result = await run_scenario(loads(USES_HUB, "dir/t.yaml"), csms_url="ws://127.0.0.1:9/ocpp")
    assert not result.passed
    assert result.failed_step.kind == "setup" and result.where == "dir/t.yaml:4"
    assert "${hub...} (line 4) is the bundled hub's address" in result.failure
    assert "ws://127.0.0.1:9/ocpp" in result.failure and "boot failed" not in result.failure
    assert [s.kind for s in result.steps] == ["setup"]


def test_hub_variable_in_a_scenario_that_names_another_csms_is_a_load_error():
    text = USES_HUB.replace("name: uses hub\n", "name: x\ncsms: {url: 'ws://csms.example/ocpp'}\n")
    with pytest.raises(ScenarioFileError) as info:
        loads(text, "x.yaml")
    assert str(info.value).startswith("x.yaml:5: ${hub...} is the bundled hub's address")
    assert "'ws://csms.example/ocpp'" in str(info.value)
    # in `variables` too, with the variable's line
    with pytest.raises(ScenarioFileError, match=r"^x.yaml:3: \$\{hub"):
        loads("name: x\ncsms: {url: 'ws://c/ocpp'}\nvariables: {fw: '${hub.api_url}/firmware/a'}\n"
              "steps: [{log: '${fw}'}]\n", "x.yaml")


@pytest.mark.parametrize("text, line, fragment", [
    ("name: a\nvariables: {hub: 1}\nsteps: [{sleep: 0}]\n", 2, "`hub` is a built-in variable"),
    ("name: a\nsteps:\n  - send: {action: Heartbeat, save: hub}\n", 3, "`hub` is a built-in"),
    ("name: a\nsteps:\n  - set: {hub: 1}\n", 3, "`hub` is a built-in"),
    ("name: a\nsteps:\n  - repeat: {times: 1, as: hub, steps: [{sleep: 0}]}\n", 3,
     "`hub` is a built-in"),
    ("name: a\ncsms: {hub: {firmware: {fw.bin: {file: nope.bin}}}}\nsteps: [{sleep: 0}]\n", 2,
     "csms.hub.firmware.fw.bin: no such file"),
    ("name: a\ncsms: {hub: {firmware: {../fw.bin: x}}}\nsteps: [{sleep: 0}]\n", 2,
     "does not match"),
    ("name: a\ncsms: {hub: {firmware: {fw.bin: {path: x}}}}\nsteps: [{sleep: 0}]\n", 2,
     "fw.bin"),
])
def test_broken_hub_files_configuration_names_line_and_problem(text, line, fragment):
    with pytest.raises(ScenarioFileError) as info:
        loads(text, "dir/b.yaml")
    assert info.value.line == line, str(info.value)
    assert fragment in str(info.value), str(info.value)


def test_chargesim_run_against_another_csms_names_the_problem(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(USES_HUB)
    result = subprocess.run([sys.executable, "-m", "simulator.cli", "run", str(path),
                             "--csms", "ws://127.0.0.1:9/ocpp"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL uses hub" in result.stdout and f"{path}:4" in result.stdout
    assert "is the bundled hub's address" in result.stdout
