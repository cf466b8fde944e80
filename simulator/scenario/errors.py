"""Errors of the scenario driver: a broken file (before anything connects) and a failed step."""
from __future__ import annotations


class ScenarioFileError(Exception):
    """A scenario file cannot be used: YAML syntax, schema, unknown step, bad reference.
    Always names the file and, when known, the line and column."""

    def __init__(self, path: str, message: str, line: int | None = None, column: int | None = None):
        self.path, self.message, self.line, self.column = str(path), message, line, column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class StepFailed(Exception):
    """A step did not do what the scenario says it should (an assertion, a timeout, an error
    from the station or the CSMS)."""


class TemplateError(StepFailed):
    """A `${...}` reference that cannot be resolved when the step runs."""
