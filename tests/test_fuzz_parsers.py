"""Property-based fuzzing of the file parsers: scenario files, station templates, frame
recordings and captured charger logs.  Any text in: a parsed result or the parser's own
error naming the problem; never an unhandled exception."""
from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import orjson
import yaml
from hypothesis import given
from hypothesis import strategies as st

from simulator.replay import LogError, read_text
from simulator.scenario import recording
from simulator.scenario.errors import ScenarioFileError
from simulator.scenario.loader import loads as load_scenario
from simulator.templates.loader import StationTemplateError, load_template

from tests.fuzz_strategies import count, json_values

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "scenarios" / "examples").glob("*.yaml"))]
TEMPLATES = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "simulator" / "templates").glob("*.yaml"))]
_TMP = Path(tempfile.mkdtemp(prefix="chargesim-fuzz-"))

yaml_text = st.text(st.characters(codec="utf-8"), max_size=300) | st.lists(
    st.sampled_from(["version: 1\n", "steps:\n", "  - ", "send: ", "{", "}", "[", "]", ": ",
                     "- ", "&a ", "*a ", "!!python/object ", "'", '"', "\t", "\n", "  ",
                     "${x.y}", "stations: [{id: A}]\n", "connectors: ", "{type: AC}", "10e999",
                     "---\n", "?", "|", ">", "%TAG ! tag:x\n", "<<: *a\n"]),
    max_size=40).map("".join)


@st.composite
def mutated_document(draw, documents: list) -> dict:
    """A real file's YAML data with values replaced, keys dropped or added at random depth."""
    doc = copy.deepcopy(draw(st.sampled_from(documents)))
    for _ in range(draw(st.integers(1, 4))):
        node, key = doc, None
        for _ in range(draw(st.integers(0, 4))):
            if isinstance(node, dict) and node:
                key = draw(st.sampled_from(sorted(node, key=str)))
            elif isinstance(node, list) and node:
                key = draw(st.integers(0, len(node) - 1))
            else:
                break
            if isinstance(node[key], (dict, list)) and draw(st.booleans()):
                node = node[key]
                key = None
            else:
                break
        how = draw(st.sampled_from(["replace", "drop", "add"]))
        if key is None or how == "add":
            if isinstance(node, dict):
                node[draw(st.text(max_size=10))] = draw(json_values)
            elif isinstance(node, list):
                node.append(draw(json_values))
        elif how == "drop":
            del node[key]
        else:
            node[key] = draw(json_values)
    return doc


def _dump(doc) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


@given(yaml_text | mutated_document(SCENARIOS).map(_dump))
def test_fuzz_scenario_loader(text):
    count("parsers: scenario")
    try:
        load_scenario(text, "fuzz.yaml")
    except ScenarioFileError as e:
        assert str(e).startswith("fuzz.yaml") and e.message


@given(yaml_text | mutated_document(TEMPLATES).map(_dump))
def test_fuzz_template_loader(text):
    count("parsers: template")
    path = _TMP / "fuzz-template.yaml"
    path.write_text(text, "utf-8")
    try:
        load_template(path, station_id="FUZZ-1")
    except StationTemplateError as e:
        assert str(e)


GOOD_RECORDING = [{"format": recording.FORMAT, "version": recording.VERSION},
                  {"ts": "2026-01-01T00:00:00.000Z", "station": "A", "dir": "out",
                   "frame": [2, "1", "Heartbeat", {}]}]


@given(st.lists(json_values | st.just(GOOD_RECORDING[0]) | st.just(GOOD_RECORDING[1]), max_size=5)
       .map(lambda lines: "\n".join(orjson.dumps(x).decode() for x in lines))
       | st.text(max_size=200))
def test_fuzz_recording_reader(text):
    count("parsers: recording")
    path = _TMP / "fuzz-recording.jsonl"
    path.write_text(text, "utf-8")
    try:
        header, frames = recording.read(path)
    except ValueError as e:
        assert str(e)
    else:
        assert isinstance(header, dict) and isinstance(frames, list)


log_lines = st.sampled_from([
    '[2,"1","Heartbeat",{}]', '[3,"1",{"currentTime":"2026-01-01T00:00:00Z"}]',
    '2026-01-01T00:00:00Z >> [2,"1","BootNotification",{}]', "<< ", ">> ", "{", "[4,",
    '{"ts":"2026-01-01T00:00:00Z","dir":"in","frame":[2,"x","Heartbeat",{}]}',
    '{"format":"chargesim-frames","version":1}', "<soap:Envelope>", "<?xml version='1.0'?>",
    "\x00", "1e400", "[2,\"1\",\"Heartbeat\",{\"x\":1e400}]"])


@given(st.lists(log_lines | st.text(max_size=60), max_size=12).map("\n".join),
       st.sampled_from([None, "station", "csms"]))
def test_fuzz_log_reader(text, perspective):
    count("parsers: logs")
    try:
        result = read_text(text, source="fuzz.log", perspective=perspective)
    except LogError as e:
        assert str(e)
    else:
        assert result.layout
