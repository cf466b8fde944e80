"""What the protocol catalog knows is checked when a scenario loads (file:line, exit 2)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from simulator.scenario import ScenarioFileError, loads

BASE = "name: x\nstations: [{id: CS1, connectors: 2}]\nsteps:\n  - boot: CS1\n"


def error_of(step: str) -> ScenarioFileError:
    with pytest.raises(ScenarioFileError) as info:
        loads(BASE + "  - " + step + "\n", "s.yaml")
    return info.value


@pytest.mark.parametrize("step, words", [
    ("expect_sent: {action: MeterValue}", ["unknown ocpp1.6 action 'MeterValue'",
                                           "did you mean 'MeterValues'"]),
    ("csms: {action: GetCompositeSchedul, payload: {connectorId: 1, duration: 60}}",
     ["'GetCompositeSchedul'", "did you mean 'GetCompositeSchedule'"]),
    ("csms: {action: reset, payload: {type: Hard}}", ["did you mean 'Reset'"]),
    ("expect_request: {action: Nonsense}", ["unknown ocpp1.6 action 'Nonsense'", "the CSMS sends"]),
    ("csms: {action: BootNotification}", ["BootNotification is sent by the station, never by "
                                         "the CSMS"]),
    ("expect_request: {action: Heartbeat}", ["Heartbeat is sent by the station"]),
    ("expect_sent: {action: Reset}", ["Reset is sent by the CSMS, never by the station"]),
    ("expect_no_request: {action: MeterValues, for: 1}", ["MeterValues is sent by the station"]),
    ("expect_no_request: {action: Reset, for: 1, direction: sent}", ["Reset is sent by the CSMS"]),
    ("csms: {action: Reset, payload: {type: Hard2}}", ["payload breaks the Reset schema",
                                                      "Hard", "Soft"]),
    ("csms: {action: ChangeConfiguration, payload: {key: HeartbeatInterval}}",
     ["payload breaks the ChangeConfiguration schema", "value"]),
    ("plug_in: {connector: 3}", ["connector 3: station CS1 has 2 connectors"]),
    ("present_tag: {connector: '5', tag: T}", ["connector 5"]),
])
def test_load_time_catalog_errors_name_the_line(step, words):
    e = error_of(step)
    text = str(e)
    assert text.startswith("s.yaml:5:"), text
    for w in words:
        assert w in text, text


@pytest.mark.parametrize("step", [
    "csms: {action: Reset, payload: {type: '${kind}'}}",          # filled at run time
    "csms: {action: Reset, payload: {type: Hard2}, expect_error: FormationViolation}",
    "plug_in: {connector: 2}",
    "assert: {connector: 0, status: Available}",
    "expect_sent: {action: DataTransfer}",                           # both ways
    "csms: {action: DataTransfer, payload: {vendorId: X}}",
])
def test_what_is_right_still_loads(step):
    text = BASE.replace("steps:", "variables: {kind: Soft}\nsteps:") + "  - " + step + "\n"
    loads(text, "s.yaml")


def test_a_template_station_has_the_template_connectors():
    text = ("name: x\nstations: [{id: CS1, template: site-4x22kw}]\nsteps:\n  - boot: CS1\n"
            "  - plug_in: {connector: 4}\n  - plug_in: {connector: 5}\n")
    with pytest.raises(ScenarioFileError, match=r":6: .*connector 5: station CS1 has 4"):
        loads(text, "s.yaml")


def test_the_cli_exits_2_with_file_and_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(BASE + "  - expect_sent: {action: MeterValue}\n")
    result = subprocess.run([sys.executable, "-m", "simulator.cli", "run", str(f)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{f}:5:" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


BASE15 = "name: x\nstations: [{id: CS1, protocol: ocpp1.5}]\nsteps:\n  - boot: CS1\n"


@pytest.mark.parametrize("step, words", [
    ("expect_sent: {action: MeterValue}", ["unknown ocpp1.5 action 'MeterValue'",
                                           "did you mean 'MeterValues'"]),
    ("csms: {action: TriggerMessage, payload: {requestedMessage: Heartbeat}}",
     ["unknown ocpp1.5 action 'TriggerMessage'"]),               # 1.6 only
    ("expect_sent: {action: Reset}", ["Reset is sent by the CSMS, never by the station"]),
    ("csms: {action: UnlockConnector, payload: {connectorId: one}}",
     ["payload breaks the UnlockConnector schema"]),
    ("csms: {action: SendLocalList, payload: {listVersion: 1, updateType: Full, "
     "localAuthorizationList: []}}",                             # 1.6's spelling
     ["payload breaks the SendLocalList schema"]),
])
def test_an_ocpp15_station_is_checked_against_the_15_service_descriptions(step, words):
    with pytest.raises(ScenarioFileError) as info:
        loads(BASE15 + "  - " + step + "\n", "s.yaml")
    text = str(info.value)
    assert text.startswith("s.yaml:5:"), text
    for w in words:
        assert w in text, text


@pytest.mark.parametrize("step", [
    "send: {action: DataTransfer, payload: {vendorId: X}}",
    "csms: {action: DataTransfer, payload: {vendorId: X}}",
    "csms: {action: UnlockConnector, payload: {connectorId: 1}}",
])
def test_what_is_right_for_15_still_loads(step):
    loads(BASE15 + "  - " + step + "\n", "s.yaml")
