"""From a capture to a test: a YAML scenario (docs/scenarios.md) that sends what each
recorded station sent, with assertions on the CSMS's answers.

- every CALL the station sent becomes a `send` step with the recorded payload; top-level
  date-times are left out (the station fills them with now), a payload that breaks the
  schema keeps `validate: false`;
- its expectation: every `status` in the recorded answer (`idTagInfo.status: Accepted`),
  the JSON type of values the CSMS assigns (`transactionId: {type: integer}`), or the
  recorded CALLERROR code (`expect_error`);
- a CSMS-assigned value is saved from its answer and used in later payloads
  (`transactionId: ${r6.transactionId}`), so the scenario passes against a CSMS that
  numbers differently;
- the CSMS's requests become `answer` steps (the recorded reply, one-shot);
- the bundled hub is seeded with the recorded tags (`csms.hub.tags`).
Frames that do not decode, or name an action the protocol does not have, are listed in
the description and left out.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from ..protocol import V16, OcppError, catalog, validate
from .mapping import ASSIGNED, is_time
from .replayer import recorded_answer
from .script import CSMS, StationScript

_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _expectations(payload, path: str = "") -> dict:
    out = {}
    if isinstance(payload, dict):
        for key, value in payload.items():
            sub = f"{path}.{key}" if path else key
            if key == "status" and isinstance(value, str):
                out[sub] = value
            elif key in ASSIGNED and type(value) in _TYPES:
                out[sub] = {"type": _TYPES[type(value)]}
            elif isinstance(value, dict):
                out.update(_expectations(value, sub))
    return out


def _assigned(payload, path: str = ""):
    """(key, value, dotted path) of every CSMS-assigned value in an answer."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            sub = f"{path}.{key}" if path else key
            if key in ASSIGNED and type(value) in _TYPES:
                yield key, value, sub
            elif isinstance(value, dict):
                yield from _assigned(value, sub)


def _substitute(value, refs: dict, key: str | None = None):
    if isinstance(value, dict):
        return {k: _substitute(v, refs, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, refs, key) for v in value]
    if key in ASSIGNED and (key, value) in refs:
        return refs[(key, value)]
    return value


def scenario_of(scripts: list[StationScript], *, source: str, tags: dict[str, str] | None = None
                ) -> dict:
    left_out: list[str] = []
    steps: list[dict] = []
    refs: dict[str, dict] = {s.station: {} for s in scripts}
    exchanges = [e for s in scripts for e in s.exchanges]
    if all(e.request.ts is not None for e in exchanges):
        exchanges.sort(key=lambda e: e.request.ts)
    protocol = {s.station: s.protocol for s in scripts}
    for n, e in enumerate(exchanges, 1):
        if not e.decodes:
            left_out.append(f"{e.where} (does not decode)")
            continue
        version = protocol[e.station]
        if version == "ocpp1.5":        # SOAP: the 1.5 service descriptions' operations
            from .soap import operation_name as canonical_15
            action = canonical_15(e.action)
        else:
            action = catalog(version).canonical_name(e.action)
        if action is None or action != e.action:
            left_out.append(f"{e.where} ({e.action!r} is not an {version} action)")
            continue
        answer = recorded_answer(e)
        if e.initiator == CSMS:
            step = {"station": e.station, "action": action}
            if answer.kind == "result":
                step["reply"] = answer.payload
            elif answer.kind == "error":
                step["error"] = {"code": answer.code, "description": answer.description or ""}
            else:
                continue
            steps.append({"name": f"answer {action} as recorded ({e.where})", "answer": step})
            continue
        payload = {k: v for k, v in e.request.message.payload.items() if not is_time(v)}
        payload = _substitute(payload, refs[e.station])
        step = {"station": e.station, "action": action, "payload": payload}
        try:
            if version != "ocpp1.5":    # a recorded 1.5 request was read by the 1.5 codec
                validate(version, action, "request", e.request.message.payload)
        except OcppError:
            step["validate"] = False
        if answer.kind == "result":
            expect = _expectations(answer.payload)
            if expect:
                step["expect"] = expect
            found = list(_assigned(answer.payload))
            if found:
                name = f"r{n}"
                step["save"] = name
                for key, value, path in found:
                    refs[e.station][(key, value)] = f"${{{name}.{path}}}"
        elif answer.kind == "error":
            step["expect_error"] = answer.code
        steps.append({"name": f"{action} as recorded ({e.where})", "send": step})
    description = f"Written by chargesim replay --to-scenario from {source}."
    if left_out:
        description += " Left out: " + "; ".join(left_out) + "."
    scenario = {
        "version": 1,
        "name": f"replay of {', '.join(s.station for s in scripts)}",
        "description": description,
        "tags": ["replay"],
    }
    if tags:
        scenario["csms"] = {"hub": {"tags": tags}}
    # a station that spoke another version than the default 1.6 says so (2.0.1, ...)
    scenario["stations"] = [{"id": s.station, **({"protocol": s.protocol}
                                                 if s.protocol != V16 else {})}
                            for s in scripts]
    scenario["steps"] = steps
    return scenario


def write_scenario(scripts: list[StationScript], out, *, source: str) -> Path:
    from .seed import recorded_csms
    tags = recorded_csms(scripts).tags
    data = scenario_of(scripts, source=source, tags=tags)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = "# yaml-language-server: $schema=scenario.schema.json\n" + yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, width=100)
    out.write_text(text, encoding="utf-8")
    return out
