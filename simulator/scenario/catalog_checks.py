"""Load-time checks of a scenario against what the protocol catalog already knows.

A typo in an action name, a `csms` step naming a message only a station sends, a payload
that breaks the action's schema (when it holds no `${...}` to fill in at run time), or a
connector number the station does not have would otherwise show up only as a run-time
timeout; here they are file:line errors before anything connects (exit 2).
"""
from __future__ import annotations

import difflib

from ..protocol.catalog import CHARGE_POINT, CSMS, V16, catalog
from ..protocol.errors import OcppError
from ..protocol.validation import validate
from . import templating
from .model import Scenario, Step

V15 = "ocpp1.5"   # over SOAP: its operations are in the 1.5 service descriptions

# step kind → who initiates the message it names
_ROLE = {"expect_sent": CHARGE_POINT, "send": CHARGE_POINT, "expect_request": CSMS,
         "csms": CSMS, "answer": CSMS}
_WHO = {CHARGE_POINT: "the station", CSMS: "the CSMS"}
_USE = {CHARGE_POINT: "expect_sent or send", CSMS: "csms, expect_request or answer"}


class StationFacts:
    """Protocol version and connector count of each station of a scenario."""

    def __init__(self, scenario: Scenario):
        self.versions: dict[str, str] = {}
        self.connectors: dict[str, int] = {}
        for spec in scenario.stations:
            version, connectors = spec.protocol, spec.options.get("connectors")
            if spec.template and (version is None or connectors is None):
                from .stations import load_template_options
                try:
                    base = load_template_options(spec.template, spec.id, spec.n,
                                                 spec.relative_to)
                except Exception:   # the loader reports a bad template itself
                    base = None
                if base is not None:
                    version = version or base.version
                    connectors = connectors if connectors is not None else base.connectors
            self.versions[spec.id] = version or V16
            self.connectors[spec.id] = connectors if isinstance(connectors, int) else 1

    def of(self, station: str | None) -> list[str]:
        """The stations a step may act on: the named one, or all when it is a variable."""
        if station is not None and station in self.versions:
            return [station]
        return list(self.versions)


def check_step(step: Step, station: str | None, facts: StationFacts) -> str | None:
    """The problem with `step`, or None."""
    args = step.args
    if not isinstance(args, dict):
        return None
    stations = facts.of(station)
    problem = _connector(args, stations, facts)
    if problem:
        return problem
    action = args.get("action")
    role = _ROLE.get(step.kind)
    if step.kind == "expect_no_request":
        role = CHARGE_POINT if args.get("direction") == "sent" else CSMS
    if role is None or not isinstance(action, str) or "${" in action:
        return None
    for version in sorted({facts.versions[s] for s in stations}):
        problem = _action(step, action, role, version)
        if problem:
            return problem
    return None


def _connector(args: dict, stations: list[str], facts: StationFacts) -> str | None:
    connector = args.get("connector")
    if isinstance(connector, str):
        if "${" in connector or not connector.strip().lstrip("-").isdigit():
            return None
        connector = int(connector)
    if not isinstance(connector, int) or isinstance(connector, bool):
        return None
    for sid in stations:
        count = facts.connectors[sid]
        if not 0 <= connector <= count:
            return (f"connector {connector}: station {sid} has "
                    f"{count} connector{'s' if count != 1 else ''} (1..{count}; 0 is the "
                    f"station itself)")
    return None


def _action_15(step: Step, action: str, role: str) -> str | None:
    """The same checks for an OCPP 1.5 (SOAP) station, against the 1.5 service descriptions."""
    from ..protocol.soap.envelope import SoapFault, build_request
    from ..protocol.soap.schema import SERVICES, operations_initiated_by
    ops = {op.name: op for s in SERVICES.values() for op in s.operations.values()}
    # DataTransfer is in both services: the one this role initiates
    op = next((o for s in SERVICES.values() for o in s.operations.values()
               if o.name == action and o.initiator == role), ops.get(action))
    if op is None:
        names = [o.name for o in operations_initiated_by(role)]
        hint = next(iter(difflib.get_close_matches(action, names or list(ops), 1, 0.6)), None)
        return (f"unknown ocpp1.5 action {action!r}"
                + (f" (did you mean {hint!r}?)" if hint
                   else f"; {_WHO[role]} sends: {', '.join(names)}"))
    if op.initiator != role:
        other = CSMS if role == CHARGE_POINT else CHARGE_POINT
        return (f"{action} is sent by {_WHO[other]}, never by {_WHO[role]}: "
                f"{step.kind!r} cannot name it (use {_USE[other]})")
    if step.kind == "csms" and "payload" in step.args and not step.args.get("expect_error"):
        payload = step.args["payload"]
        if isinstance(payload, dict) and not templating.refs(payload) and "${" not in repr(payload):
            try:
                build_request(op.service, action, payload, charge_box_identity="check",
                              message_id="check", to="http://check/")
            except (SoapFault, ValueError, TypeError) as e:
                return f"payload breaks the {action} schema: {e}"
    return None


def _action(step: Step, action: str, role: str, version: str) -> str | None:
    if version == V15:
        return _action_15(step, action, role)
    cat = catalog(version)
    spec = cat.get(action)
    if spec is None:
        canonical = cat.canonical_name(action)
        hint = canonical or next(iter(difflib.get_close_matches(
            action, cat.initiated_by(role) or list(cat.actions), 1, 0.6)), None)
        return (f"unknown {version} action {action!r}"
                + (f" (did you mean {hint!r}?)" if hint
                   else f"; {_WHO[role]} sends: {', '.join(cat.initiated_by(role))}"))
    if not spec.initiated_by(role):
        other = CSMS if role == CHARGE_POINT else CHARGE_POINT
        return (f"{action} is sent by {_WHO[other]}, never by {_WHO[role]}: "
                f"{step.kind!r} cannot name it (use {_USE[other]})")
    if step.kind == "csms" and "payload" in step.args and not step.args.get("expect_error"):
        payload = step.args["payload"]
        if isinstance(payload, dict) and not templating.refs(payload) and "${" not in repr(payload):
            try:
                validate(version, action, "request", payload)
            except OcppError as e:
                return f"payload breaks the {action} schema: {e.description}"
    return None
