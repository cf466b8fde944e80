"""What a loaded scenario is: typed, checked, with the line each part came from."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Steps that contain other steps.
CONTAINERS = ("repeat", "for_each", "parallel", "do")
# Steps that act (their start is the "since: step" mark for the waits that follow them).
WAITS = ("expect_request", "expect_sent", "expect_no_request", "wait_event", "wait_status",
         "check", "assert", "log", "set", "sleep")


@dataclass
class StationSpec:
    id: str
    line: int
    group: str | None = None
    protocol: str | None = None             # None: the template's, else ocpp1.6
    template: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # StationOptions fields
    boot: bool = True
    password: str | None = None
    n: int = 1                               # number within its fleet (template serials)
    relative_to: Path | None = None          # the scenario's folder (template files)


@dataclass
class CsmsSpec:
    url: str | None = None                 # None: the bundled hub
    hub: dict[str, Any] = field(default_factory=dict)
    trigger: dict[str, Any] = field(default_factory=dict)

    @property
    def bundled(self) -> bool:
        return self.url is None


@dataclass
class Step:
    kind: str
    args: Any                              # the step's mapping (or scalar short form)
    line: int
    name: str | None = None
    within: Any = None                     # timing assertion, seconds
    at_least: Any = None                   # timing assertion, seconds
    children: list["Step"] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name or describe(self.kind, self.args)

    def arg(self, key: str, default=None):
        return self.args.get(key, default) if isinstance(self.args, dict) else default


@dataclass
class Scenario:
    path: str
    name: str
    steps: list[Step]
    stations: list[StationSpec]
    description: str = ""
    tags: list[str] = field(default_factory=list)
    csms: CsmsSpec = field(default_factory=CsmsSpec)
    options: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    # lines that use ${hub...} (the bundled hub's addresses): such a scenario needs that hub
    hub_refs: list[int] = field(default_factory=list)

    @property
    def station_ids(self) -> list[str]:
        return [s.id for s in self.stations]

    @property
    def needs_bundled_hub(self) -> bool:
        return bool(self.hub_refs)


def describe(kind: str, args) -> str:
    """A short label for a step: its kind and the arguments that tell steps apart."""
    if isinstance(args, dict):
        bits = [str(args[k]) for k in ("station", "action", "event", "tag", "status")
                if k in args and not isinstance(args[k], (dict, list))]
        return f"{kind} {' '.join(bits)}".strip()
    if isinstance(args, (str, int, float)):
        return f"{kind} {args}"
    return kind
