"""Scenario files: the schema, and errors that name file, line and problem before anything
connects."""
from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from simulator.scenario import ScenarioFileError, load, loads
from simulator.scenario.loader import discover
from simulator.scenario.schema import SCHEMA, SCHEMA_FILE, schema_json


def error_of(text: str, name: str = "x.yaml") -> ScenarioFileError:
    with pytest.raises(ScenarioFileError) as info:
        loads(text, name)
    return info.value


def test_schema_file_is_in_sync_with_the_python_schema():
    # regenerate with: python -m simulator.scenario.schema --write
    assert SCHEMA_FILE.read_text() == schema_json()
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_every_shipped_scenario_loads_and_validates_against_the_json_schema():
    files = discover([SCHEMA_FILE.parent])
    assert len(files) >= 30
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    for f in files:
        load(f)  # semantic checks too
        errors = list(validator.iter_errors(yaml.safe_load(f.read_text())))
        assert not errors, f"{f}: {errors[0].message}"


def test_a_valid_scenario_becomes_typed_steps_with_lines():
    sc = loads("name: ok\nstations: [{id: A, connectors: 2, config: {HeartbeatInterval: 5}}]\n"
               "steps:\n  - plug_in: {connector: 2}\n  - repeat:\n      times: 2\n"
               "      steps:\n        - send: {action: Heartbeat, save: hb}\n"
               "  - check: {value: '${hb.currentTime}', expect: {type: string}}\n")
    assert [s.kind for s in sc.steps] == ["plug_in", "repeat", "check"]
    assert [s.line for s in sc.steps] == [4, 5, 9]
    assert sc.steps[1].children[0].kind == "send" and sc.steps[1].children[0].line == 8
    assert sc.stations[0].options == {"connectors": 2, "config": {"HeartbeatInterval": "5"}}


def test_fleet_expands_ids_and_groups():
    sc = loads("name: f\nstations: [{id: 'F-{n:02d}', count: 3, group: g}, {id: X}]\n"
               "steps: [{for_each: {stations: g, as: s, steps: [{plug_in: {}}]}}]\n")
    assert sc.station_ids == ["F-01", "F-02", "F-03", "X"]
    assert sc.groups == {"g": ["F-01", "F-02", "F-03"]}


@pytest.mark.parametrize("text, line, fragment", [
    ("name: a\nsteps:\n  - plug_in: [CS1\n", 4, "YAML syntax"),
    ("name: a\nsteps:\n  - plug_in: CS1\n  - plugin: {connector: 1}\n", 4,
     "unknown step 'plugin' (did you mean 'plug_in'?)"),
    ("name: a\nsteps:\n  - present_tag: {tag: X, conector: 2}\n", 3,
     "unknown field 'conector' (did you mean 'connector'?)"),
    ("name: a\nsteps:\n  - fault: {error_code: Broken}\n", 3, "'Broken' is not one of"),
    ("name: a\nstations: [{id: A}, {id: B}]\nsteps:\n  - plug_in: {station: C}\n", 4,
     "unknown station 'C'"),
    ("name: a\nstations: [{id: A}, {id: B}]\nsteps:\n  - plug_in: {connector: 1}\n", 4,
     "which station?"),
    ("name: a\nsteps:\n  - send: {action: Heartbeat}\n  - check: {value: '${tx.id}', expect: 1}\n",
     4, "${tx} is not defined here"),
    ("name: a\nsteps:\n  - check: {value: '${late}', expect: 1}\n  - set: {late: 1}\n", 3,
     "${late} is not defined"),
    ("name: a\nsteps:\n  - plug_in: CS1\n    unplug: CS1\n", 4, "one step kind per step"),
    ("name: a\nsteps:\n  - sleep: 1\n  - sleep: 2\nsteps: []\n", 5, "duplicate key 'steps'"),
    ("name: a\nstations: [{id: A, count: 2}]\nsteps: [{sleep: 1}]\n", 2, "needs {n}"),
    ("steps: [{sleep: 1}]\n", 1, "'name' is a required property"),
    ("name: a\nsteps:\n  - for_each: {stations: nogroup, as: s, steps: [{sleep: 1}]}\n", 3,
     "neither a station nor a group"),
    ("name: a\nstations: [{id: A, template: no-such-template}]\nsteps: [{sleep: 1}]\n", 2,
     "no-such-template"),
])
def test_broken_files_name_the_file_line_and_problem(text, line, fragment):
    e = error_of(text, "dir/broken.yaml")
    assert e.path == "dir/broken.yaml"
    assert e.line == line, str(e)
    assert fragment in str(e), str(e)
    assert str(e).startswith(f"dir/broken.yaml:{line}")


def test_variables_saved_in_a_loop_or_parallel_branch_are_defined_after_it():
    loads("name: a\nsteps:\n  - parallel:\n      - send: {action: Heartbeat, save: a}\n"
          "      - do:\n          - set: {b: 2}\n"
          "  - check: {value: '${a.currentTime}', expect: {exists: true}}\n"
          "  - check: {value: '${b}', expect: 2}\n")


def test_missing_file_and_empty_file(tmp_path):
    with pytest.raises(ScenarioFileError, match="no such file"):
        discover([tmp_path / "nope.yaml"])
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ScenarioFileError, match="empty file"):
        load(empty)
