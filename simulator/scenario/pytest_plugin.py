"""pytest plugin: scenario files as test items.

Opt-in, so that installing chargesim does not turn every YAML file into a test:

    pytest --scenarios scenarios/                 # or, in pytest.ini / pyproject:
    [tool.pytest.ini_options]  scenarios = true

With it on, every *.yaml / *.yml file under a folder named `scenarios` that pytest collects
is loaded (a broken file is a collection error naming file and line) and each scenario is
one test item.  `--scenario-csms URL` aims them at a CSMS instead of the bundled hub.
"""
from __future__ import annotations

import asyncio

import pytest

from .errors import ScenarioFileError
from .loader import load


def pytest_addoption(parser):
    group = parser.getgroup("chargesim", "chargesim scenarios")
    group.addoption("--scenarios", action="store_true", default=None,
                    help="collect chargesim scenario files (*.yaml under a 'scenarios' folder)")
    group.addoption("--scenario-csms", metavar="URL", default=None,
                    help="run scenarios against this CSMS instead of the bundled hub")
    parser.addini("scenarios", type="bool", default=False,
                  help="collect chargesim scenario files (like --scenarios)")


# pytest-asyncio (if installed) warns at start-up when a project does not set
# asyncio_default_fixture_loop_scope.  Scenario items have no async fixtures, so in a run that
# collects scenarios outside a project configured for pytest-asyncio that warning is noise.
_ASYNCIO_SCOPE_WARNING = r'The configuration option "asyncio_default_fixture_loop_scope" is unset'


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if _enabled(config):
        import warnings
        warnings.filterwarnings("ignore", message=_ASYNCIO_SCOPE_WARNING,
                                category=pytest.PytestDeprecationWarning)


def _enabled(config) -> bool:
    flag = config.getoption("scenarios")
    return bool(flag) if flag is not None else bool(config.getini("scenarios"))


def pytest_collect_file(file_path, parent):
    if file_path.suffix not in (".yaml", ".yml") or "scenarios" not in file_path.parts[:-1]:
        return None
    if not _enabled(parent.config):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):
    def collect(self):
        try:
            scenario = load(self.path)
        except ScenarioFileError as e:
            raise self.CollectError(str(e)) from None
        yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)


class ScenarioFailed(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario, **kwargs):
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self):
        from .runner import run_scenario
        url = self.config.getoption("scenario_csms")
        result = asyncio.run(run_scenario(self.scenario, csms_url=url))
        if not result.passed:
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ScenarioFailed):
            return failure_text(excinfo.value.args[0])
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, 0, f"scenario: {self.scenario.name}"


def failure_text(result) -> str:
    """One failed scenario for pytest's report: where, which step, why, the frames before it
    (pytest counts passed and failed itself: no totals line here)."""
    step = f" step {result.failed_step.label!r}:" if result.failed_step is not None else ""
    lines = [f"{result.where}:{step} {result.failure}"]
    if result.frames:
        lines.append("frames before the failure:")
        lines += [f"  {f}" for f in result.frames]
    return "\n".join(lines)
