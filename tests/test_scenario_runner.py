"""The scenario runner on engine stations against the bundled hub: pass and fail paths,
variables, loops and parallel blocks, scripted answers, timeouts, CSMS triggers."""
from __future__ import annotations

import json
import sys

from simulator.scenario import loads, run_scenario
from tests.hub_helpers import running_hub


async def run(text: str, **kwargs):
    return await run_scenario(loads(text, "t.yaml"), **kwargs)


async def test_a_charging_scenario_passes_with_captured_variables_loops_and_parallel_steps():
    result = await run("""
name: charging
csms: {hub: {tags: {T1: Accepted, T2: Accepted}}}
stations: [{id: A, connectors: 2}]
variables: {tag: T1}
steps:
  - start_charging: {tag: "${tag}", save: tx}
  - check: {value: "${tx.transactionId}", expect: {type: integer}}
  - csms:
      action: RemoteStopTransaction
      payload: {transactionId: "${tx.transactionId}"}
      expect: {status: Accepted}
  - expect_sent: {action: StopTransaction, expect: {transactionId: "${tx.transactionId}", reason: Remote}}
  - parallel:
      - start_charging: {connector: 2, tag: T2, save: tx2}
      - send: {action: Heartbeat, save: hb}
  - check: {value: "${tx2.connectorId}", expect: 2}
  - repeat:
      times: 3
      as: i
      steps:
        - send: {action: DataTransfer, payload: {vendorId: "v${i}"}, expect: {status: UnknownVendorId}}
  - set: {greeting: "tx ${tx.transactionId} at ${hb.currentTime}"}
  - check: {value: "${greeting}", expect: {matches: "^tx \\\\d+ at \\\\d{4}-"}}
""")
    assert result.passed, result.failure
    kinds = [s.kind for s in result.steps]
    assert kinds.count("send") == 4 and "start_charging" in kinds
    assert [s.label for s in result.steps if s.kind == "send"][1:] == ["send DataTransfer"] * 3


async def test_a_failing_assertion_names_the_step_line_and_shows_the_frames():
    result = await run("""
name: reject
csms: {hub: {tags: {T1: Accepted}}}
steps:
  - start_charging: {tag: T1}
  - csms: {action: RemoteStopTransaction, payload: {transactionId: 424242}, expect: {status: Accepted}}
  - unplug: {}
""")
    assert not result.passed
    assert result.failed_step.kind == "csms" and result.failed_step.line == 6
    assert result.where == "t.yaml:6"
    assert "status: 'Rejected' is not 'Accepted'" in result.failure
    assert any("RemoteStopTransaction" in f for f in result.frames)
    assert "unplug" not in [s.kind for s in result.steps]  # the run stopped at the failure


async def test_waiting_for_a_request_that_never_comes_times_out_with_the_reason():
    result = await run("name: t\nsteps:\n  - expect_request: {action: Reset, timeout: 0.2}\n")
    assert not result.passed
    assert result.failure == "no Reset CSMS request within 0.2s"


async def test_within_is_a_timing_assertion():
    result = await run("name: t\nsteps:\n  - sleep: 0.3\n    within: 0.05\n")
    assert not result.passed and "more than within: 0.05" in result.failure
    early = await run("name: t\nsteps:\n  - sleep: 0.01\n    at_least: 5\n")
    assert not early.passed and "less than at_least: 5" in early.failure


async def test_the_whole_scenario_has_a_timeout():
    result = await run("name: t\noptions: {timeout: 0.5}\nsteps:\n  - sleep: 5\n")
    assert not result.passed and "did not finish within 0.5s" in result.failure


async def test_scripted_answers_replace_the_model_once():
    result = await run("""
name: answers
steps:
  - answer: {action: Reset, reply: {status: Rejected}}
  - answer: {action: GetConfiguration, error: {code: NotSupported, description: not today}}
  - csms: {action: Reset, payload: {type: Soft}, expect: {status: Rejected}}
  - expect_request: {action: Reset, expect: {type: Soft}, reply: {status: Rejected}}
  - csms: {action: GetConfiguration, payload: {}, expect_error: {code: NotSupported, description: not today}}
  - name: the model answers again
    csms: {action: GetConfiguration, payload: {key: [HeartbeatInterval]}, expect: {configurationKey.0.key: HeartbeatInterval}}
""")
    assert result.passed, result.failure


async def test_send_any_message_with_defaults_filled_and_callerrors_expected():
    result = await run("""
name: send
steps:
  - send: {action: StatusNotification, payload: {status: Faulted, errorCode: OtherError}}
  - expect_sent: {action: StatusNotification, expect: {connectorId: 1, status: Faulted, timestamp: {type: string}}}
  - send: {action: Heartbeat, payload: {unexpected: 1}, validate: false, expect_error: FormationViolation}
  - send: {action: Heartbeat, expect: {currentTime: {exists: true}}}
""")
    assert result.passed, result.failure
    wrong = await run("name: t\nsteps:\n  - send: {action: Heartbeat, expect_error: NotSupported}\n")
    assert not wrong.passed and "expected CALLERROR NotSupported" in wrong.failure


async def test_send_fills_2_0_1_defaults_from_the_station():
    # a 2.0.1 station's `send` gets the 2.0.1 required fields (evseId, connectorStatus,
    # chargingStation, meterValue with unitOfMeasure), not 1.6 ones, nor none at all
    result = await run("""
name: send 2.0.1
stations: [{id: S201-SEND, protocol: ocpp2.0.1}]
steps:
  - send: {action: StatusNotification}
  - expect_sent: {action: StatusNotification, expect: {evseId: 1, connectorId: 1, connectorStatus: Available}}
  - send: {action: StatusNotification, payload: {connectorStatus: Faulted}}
  - expect_sent: {action: StatusNotification, expect: {connectorStatus: Faulted, timestamp: {type: string}}}
  - send: {action: MeterValues, expect: {}}
  - expect_sent: {action: MeterValues, expect: {evseId: 1, meterValue.0.sampledValue.0.unitOfMeasure.unit: Wh}}
  - send: {action: BootNotification, expect: {status: Accepted}}
  - expect_sent: {action: BootNotification, expect: {reason: PowerUp, chargingStation.vendorName: chargesim}}
  - send: {action: DataTransfer, expect: {status: {type: string}}}
""")
    assert result.passed, result.failure


async def test_stations_of_a_fleet_in_parallel_and_state_assertions():
    result = await run("""
name: fleet
csms: {hub: {tags: {T-F-1: Accepted, T-F-2: Accepted, T-F-3: Accepted}}}
stations: [{id: "F-{n}", count: 3, group: fleet}]
steps:
  - for_each:
      stations: fleet
      as: st
      parallel: true
      steps:
        - start_charging: {tag: "T-${st}"}
        - assert: {status: Charging, transaction: true, registration: Accepted, online: true}
  - fault: {station: F-2, error_code: HighTemperature}
  - assert: {station: F-2, status: Faulted, error_code: HighTemperature}
  - assert: {station: F-3, status: Faulted}
""")
    assert not result.passed
    assert result.failed_step.line == 15
    assert "status: 'Charging' is not 'Faulted'" in result.failure
    assert len([s for s in result.steps if s.kind == "start_charging"]) == 3


async def test_against_another_csms_the_trigger_is_a_shell_command_and_the_answer_comes_from_the_frames():
    async with running_hub() as hub:
        post = (f"{sys.executable} -c \"import sys,urllib.request as u; "
                f"u.urlopen(u.Request('{hub.api_url}/stations/'+sys.argv[1]+'/commands/'+sys.argv[2], "
                f"data=sys.argv[3].encode(), method='POST'))\" ${{station}} ${{action}} ${{payload}}")
        text = f"""
name: external
csms:
  trigger: {{command: {json.dumps(post)}}}
stations: [{{id: EXT-1}}]
steps:
  - csms: {{action: ChangeConfiguration, payload: {{key: HeartbeatInterval, value: "77"}}, expect: {{status: Accepted}}}}
  - assert: {{config: {{HeartbeatInterval: "77"}}}}
  - csms: {{action: GetConfiguration, payload: {{key: [Nope]}}, expect: {{unknownKey: [Nope]}}}}
"""
        result = await run(text, csms_url=hub.url)
        assert result.passed, result.failure


async def test_against_another_csms_an_http_trigger_and_a_missing_trigger():
    async with running_hub() as hub:
        text = f"""
name: external http
csms:
  trigger:
    http: {{url: "{hub.api_url}/stations/${{station}}/commands/${{action}}"}}
stations: [{{id: EXT-2}}]
steps:
  - csms: {{action: Reset, payload: {{type: Soft}}, expect: {{status: Accepted}}}}
  - wait_event: {{event: rebooted}}
"""
        result = await run(text, csms_url=hub.url)
        assert result.passed, result.failure
        none = await run("name: n\nsteps:\n  - csms: {action: ClearCache, payload: {}}\n",
                         csms_url=hub.url)
        assert not none.passed and "configure `csms.trigger`" in none.failure


async def test_an_unreachable_csms_fails_the_scenario_at_boot():
    result = await run("name: t\nsteps: [{sleep: 0}]\n", csms_url="ws://127.0.0.1:9/ocpp")
    assert not result.passed and result.failed_step.kind == "setup"
    assert "boot failed" in result.failure


async def test_a_station_that_boots_in_a_step_and_stays_pending():
    result = await run("""
name: pending
csms: {hub: {unknown_stations: pending}}
stations: [{id: P1, boot: false}]
steps:
  - assert: {online: false}
  - boot: {expect: Pending, timeout: 5}
  - assert: {registration: Pending, online: true}
  - for_each: {items: [a, b], as: x, steps: [{set: {last: "${x}"}}]}
  - check: {value: "${last}", expect: b}
""")
    assert result.passed, result.failure


async def test_a_quiet_period_longer_than_the_step_timeout_is_not_cut_short():
    result = await run("name: q\noptions: {step_timeout: 0.2}\nsteps:\n"
                       "  - expect_no_request: {action: Reset, for: 1.5}\n")
    assert result.passed, result.failure
