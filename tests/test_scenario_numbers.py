"""Numbers in scenarios: numeric comparison of numeric strings, `${= ...}` arithmetic and
unit conversions (parsed, never evaluated as code), custom check messages that keep the
values."""
from __future__ import annotations

import pytest

from simulator.scenario import ScenarioFileError, assertions, loads, run_scenario
from simulator.scenario.errors import TemplateError
from simulator.scenario.templating import refs, render

VARS = {"mv1": {"v": "0.6"}, "mv2": {"v": "1.2"}, "p": {"value": "7400"}, "n": 3,
        "e": {"kwh": 2.5}, "word": "abc", "flag": True}


@pytest.mark.parametrize("actual, expectation, problems", [
    ("1.2", {"gt": "0.6"}, []),                 # 1.6 sampled values are strings
    ("10", {"gt": "9"}, []),                    # numerically, not as text ("10" < "9")
    ("1.2", {"gt": 0.6, "lt": 2}, []),
    (1.2, {"ge": "1.2"}, []),
    ("0.6", {"gt": "1.2"}, ["'0.6' is not > '1.2'"]),
    ("abc", {"gt": 1}, ["'abc' is not > 1"]),   # not a number: never ordered
    (True, {"gt": 0}, ["True is not > 0"]),
    ("1.2", {"eq": 1.2}, ["'1.2' is not 1.2"]),  # eq stays exact
])
def test_order_comparisons_are_numeric_when_both_sides_read_as_numbers(actual, expectation,
                                                                        problems):
    assert assertions.match(actual, expectation) == problems


@pytest.mark.parametrize("text, value", [
    ("${= mv2.v - mv1.v}", 0.6),
    ("${= to_kw(p.value)}", 7.4),
    ("${= to_w(to_kw(p.value))}", 7400),
    ("${= to_wh(e.kwh)}", 2500),
    ("${= to_kwh(2500)}", 2.5),
    ("${= (n + 1) * 2 - -1}", 9),
    ("${= n // 2 + n % 2}", 2),
    ("${= max(mv1.v, mv2.v, 1)}", 1.2),
    ("${= abs(mv1.v - mv2.v)}", 0.6),
    ("${= round(2 / 3, 2)}", 0.67),
    ("${=1e3}", 1000.0),
    ("used ${= n * 2} kWh", "used 6 kWh"),
    ("$${= n}", "${= n}"),
])
def test_expressions(text, value):
    assert render(text, VARS) == value


@pytest.mark.parametrize("text, error", [
    ("${= word + 1}", "${word} is 'abc', not a number"),
    ("${= flag + 1}", "${flag} is True, not a number"),
    ("${= mv1 + 1}", "not a number"),
    ("${= n / 0}", "division by zero"),
    ("${= __import__(1)}", "unknown function __import__()"),
    ("${= open(1)}", "unknown function open()"),
    ("${= n.__class__}", "n has no '__class__'"),
    ("${= 'a' * 3}", "cannot read"),
    ("${= n +}", "ends too early"),
    ("${= (n}", "ends too early"),
    ("${= (n))}", "unexpected ')'"),
    ("${= max(n n)}", "expected ')', found 'n'"),
    ("${= n n}", "unexpected 'n'"),
    ("${= round()}", "takes 1 to 2 argument(s)"),
    ("${= nope + 1}", "undefined variable ${nope}"),
])
def test_anything_else_is_a_clear_error_and_nothing_is_evaluated(text, error):
    with pytest.raises(TemplateError) as info:
        render(text, VARS)
    assert error in str(info.value)


def test_expressions_name_their_variables_for_the_loader():
    assert refs("${= a.b - c.d + max(e, 1)}") == {"a", "c", "e"}
    with pytest.raises(ScenarioFileError, match=r"t.yaml:4: .*\$\{x\} is not defined"):
        loads("name: t\nsteps:\n  - set: {y: 1}\n  - check: {value: '${= x + 1}', expect: 1}\n",
              "t.yaml")
    with pytest.raises(ScenarioFileError, match=r"t.yaml:3: .*unknown function bogus"):
        loads("name: t\nsteps:\n  - check: {value: '${= bogus(1)}', expect: 1}\n", "t.yaml")


async def test_energy_grows_between_two_sampled_values_and_a_message_keeps_the_values():
    result = await run_scenario(loads("""
name: energy grows
csms: {hub: {tags: {T1: Accepted}}}
stations: [{id: A, config: {MeterValueSampleInterval: 2, MeterValuesSampledData: Energy.Active.Import.Register}}]
steps:
  - start_charging: {tag: T1, save: tx}
  - expect_sent: {action: MeterValues, save: mv1}
  - expect_sent: {action: MeterValues, save: mv2}
  - check:
      value: "${mv2.meterValue.0.sampledValue.0.value}"
      expect: {gt: "${mv1.meterValue.0.sampledValue.0.value}"}
  - check:
      value: "${= mv2.meterValue.0.sampledValue.0.value - mv1.meterValue.0.sampledValue.0.value}"
      expect: {gt: 0, lt: 1000}
  - check:
      value: "${= to_kwh(mv2.meterValue.0.sampledValue.0.value)}"
      expect: {lt: 1}
  - check:
      value: "${mv2.meterValue.0.sampledValue.0.value}"
      expect: {lt: 0}
      message: energy cannot be negative
""", "t.yaml"))
    assert not result.passed
    assert result.failed_step.line == 18, result.failure     # only the last check fails
    assert result.failure.startswith("energy cannot be negative (check failed: ")
    assert "is not < 0" in result.failure
