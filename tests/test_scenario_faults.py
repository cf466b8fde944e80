"""Transport faults from scenarios: a station spec's `faults:` block (checked at load, with
the line) and the `set_faults` step that changes them while the scenario runs."""
from __future__ import annotations

import pytest

from simulator.scenario import ScenarioFileError, loads
from simulator.scenario.runner import ScenarioRun


def test_a_bad_station_faults_block_is_a_load_error_naming_the_field():
    with pytest.raises(ScenarioFileError, match=r"faults\.drop"):
        loads("""
name: bad faults
stations: [{id: A, faults: {drop: 2}}]
steps: [{send: {action: Heartbeat}}]
""", "t.yaml")
    spec = loads("""
name: faults
stations: [{id: A, faults: {clock_skew: -600, seed: 4}}]
steps: [{send: {action: Heartbeat}}]
""", "t.yaml").stations[0]
    assert spec.options["faults"] == {"clock_skew": -600, "seed": 4}


async def test_station_faults_apply_and_set_faults_changes_them_at_run_time():
    run = ScenarioRun(loads("""
name: faults at run time
csms: {hub: {}}
stations: [{id: F1, faults: {clock_skew: -600}}]
steps:
  - send: {action: Heartbeat}
  - set_faults: {faults: {clock_skew: -86400, duplicate: {in: 0.0}}}
  - send: {action: Heartbeat}
  - set_faults: {faults: null}
  - send: {action: Heartbeat}
""", "t.yaml"))
    result = await run.run()
    assert result.passed, result.failure
    st = run.stations["F1"]
    assert st.faults is None
    changes = [e.text for e in st.events.recent if e.kind == "faults"]
    assert changes == ["faults {'clock_skew': -86400, 'duplicate': {'in': 0.0}}",
                       "faults cleared"]
    assert st.options.faults is None


async def test_a_bad_set_faults_step_fails_naming_the_field():
    run = ScenarioRun(loads("""
name: bad step
csms: {hub: {}}
stations: [{id: F2}]
steps:
  - set_faults: {faults: {delay: [2, 1]}}
""", "t.yaml"))
    result = await run.run()
    assert not result.passed
    assert "faults.delay" in str(result.failure)
