"""`${...}` references and expectations: lookups only, clear failures."""
from __future__ import annotations

import pytest

from simulator.scenario import assertions, csms_trigger
from simulator.scenario.errors import StepFailed, TemplateError
from simulator.scenario.templating import refs, render

VARS = {"tx": {"transactionId": 42, "ids": [7, 8]}, "name": "CS1", "flag": True}


def test_a_whole_reference_keeps_its_type_and_text_is_formatted():
    assert render("${tx.transactionId}", VARS) == 42
    assert render("${tx.ids.1}", VARS) == 8 and render("${tx.ids.-1}", VARS) == 8
    assert render("tx ${tx.transactionId} on ${name}", VARS) == "tx 42 on CS1"
    assert render("${tx}", VARS) == {"transactionId": 42, "ids": [7, 8]}
    assert render("all: ${tx}", VARS) == 'all: {"transactionId":42,"ids":[7,8]}'
    assert render("${flag} and $${literal}", VARS) == "true and ${literal}"
    assert render({"a": ["${name}", 1]}, VARS) == {"a": ["CS1", 1]}


def test_missing_references_fail_clearly_and_nothing_is_evaluated():
    with pytest.raises(TemplateError, match=r"undefined variable \$\{nope\}"):
        render("${nope}", VARS)
    with pytest.raises(TemplateError, match="tx has no 'missing'"):
        render("${tx.missing}", VARS)
    assert render("${__import__('os')}", VARS) == "${__import__('os')}"  # not a reference
    assert refs({"a": "${x.y} ${z}", "b": ["${w}"], "c": "$${q}"}) == {"x", "z", "w"}


@pytest.mark.parametrize("actual, expectation, problems", [
    ({"status": "Accepted"}, {"status": "Accepted"}, []),
    ({"status": "Rejected"}, {"status": "Accepted"}, ["status: 'Rejected' is not 'Accepted'"]),
    ({"a": {"b": [1, 2]}}, {"a.b.1": {"gt": 1, "lt": 3}, "a.b": {"length": 2}}, []),
    ({"a": 1}, {"b": {"exists": False}}, []),
    ({"a": 1}, {"b": 1}, ["b: is missing"]),
    ({"v": True}, {"v": 1}, ["v: True is not 1"]),
    ({"v": "12:00Z"}, {"v": {"matches": "Z$", "type": "string"}}, []),
    ({"k": [{"key": "A", "ro": False}]}, {"k": {"contains": {"key": "A"}}}, []),
    ({"s": "x"}, {"s": {"in": ["a", "b"]}}, ["s: 'x' is not one of ['a', 'b']"]),
    ({"d": {"x": 1}}, {"d": {"eq": {"x": 1}}}, []),
    (5, {".": {"ge": 5}}, []),
])
def test_expectations(actual, expectation, problems):
    assert assertions.check(actual, expectation) == problems


async def test_without_a_trigger_or_terminal_a_csms_step_says_what_to_configure():
    trigger = csms_trigger.make_trigger(None, {})
    with pytest.raises(StepFailed, match="configure `csms.trigger`"):
        await trigger.send("CS1", "Reset", {"type": "Soft"}, 1)


async def test_at_a_terminal_a_person_is_asked(monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    asked = []
    monkeypatch.setattr("builtins.input", lambda text: asked.append(text) or "")
    trigger = csms_trigger.make_trigger(None, {})
    assert isinstance(trigger, csms_trigger.PromptTrigger)
    assert await trigger.send("CS1", "Reset", {"type": "Soft"}, 1) is None
    assert "Make the CSMS send Reset to CS1" in asked[0]


async def test_a_failing_trigger_command_fails_the_step_with_its_output():
    trigger = csms_trigger.CommandTrigger("echo no such station >&2; exit 3")
    with pytest.raises(StepFailed, match="exited 3.*no such station"):
        await trigger.send("CS1", "Reset", {}, 5)
