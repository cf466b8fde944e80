"""YAML scenarios with assertions: load (checked before anything connects), run on engine
stations against the bundled hub or any CSMS, report (text, JUnit XML, JSON), record frames.

    from simulator.scenario import load, run_scenario
    result = asyncio.run(run_scenario(load("scenarios/examples/charging_session.yaml")))

Names are imported lazily, so `python -m simulator.scenario.schema` runs without warnings.
"""
from importlib import import_module

_EXPORTS = {"ScenarioFileError": "errors", "StepFailed": "errors", "discover": "loader",
            "load": "loader", "loads": "loader", "Scenario": "model", "Step": "model",
            "StationSpec": "model", "ScenarioResult": "runner", "StepResult": "runner",
            "run_scenario": "runner"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
