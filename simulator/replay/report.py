"""Divergence reports of a replay: console text, JUnit XML (one testcase per recorded
station, through the scenario reports' writer) and JSON (every exchange, recorded vs now)."""
from __future__ import annotations

import json

from .replayer import DIVERGED, MISSING, SKIPPED, UNEXPECTED, Answer, StationResult

FORMAT = "chargesim-replay-report"


def summary(results: list[StationResult], verbose: bool = False) -> str:
    lines = []
    for r in results:
        counts = {s: sum(e.status == s for e in r.exchanges)
                  for s in ("same", DIVERGED, SKIPPED, MISSING, UNEXPECTED)}
        head = "PASS" if r.passed else "DIVERGED" if r.error is None else "ERROR"
        name = r.station if r.replayed_as == r.station else f"{r.station} (as {r.replayed_as})"
        lines.append(f"{head} {name}  {r.source}: {counts['same']} same, {counts[DIVERGED]} "
                     f"diverged, {counts[SKIPPED]} skipped, {counts[MISSING]} missing, "
                     f"{counts[UNEXPECTED]} unexpected ({r.duration:.1f}s)")
        if r.error:
            lines.append(f"  error: {r.error}")
        for e in r.exchanges:
            if e.status == "same" and not verbose:
                continue
            where = e.where if e.line else f"{r.source}:-"
            lines.append(f"  {e.status.upper():10} {where} {e.action} ({e.initiator})")
            lines += [f"      {d}" for d in e.differences]
            if e.note:
                lines.append(f"      {e.note}")
    diverged = sum(len(r.diverged) for r in results)
    broken = sum(r.error is not None for r in results)
    total = sum(len(r.exchanges) for r in results)
    tail = f"{len(results)} station(s), {total} exchange(s), {diverged} diverged"
    if broken:
        tail += f", {broken} station(s) could not be replayed"
    lines += ["", tail]
    return "\n".join(lines)


def _scenario_results(results: list[StationResult]):
    from ..scenario.runner import ScenarioResult, StepResult
    out = []
    for r in results:
        steps = []
        for e in r.exchanges:
            message = "; ".join(e.differences) or e.note
            steps.append(StepResult(f"{e.action} ({e.initiator}, {e.status})", e.initiator,
                                    e.line, 0, "failed" if e.status == DIVERGED else "passed",
                                    (e.now.latency or 0.0) if e.now else 0.0, message))
        sr = ScenarioResult(f"replay {r.station}", r.source, duration=r.duration, steps=steps)
        failed = [s for s, e in zip(steps, r.exchanges) if e.status == DIVERGED]
        if r.error is not None or failed:
            sr.status = "failed"
            sr.failed_step = failed[0] if failed else None
            sr.failure = r.error or f"{len(failed)} exchange(s) diverged: {failed[0].message}"
            sr.frames = [f"{e.where} {e.action}: {d}" for e in r.diverged for d in e.differences]
        out.append(sr)
    return out


def junit_xml(results: list[StationResult]) -> str:
    from ..scenario import reports
    return reports.junit_xml(_scenario_results(results), suite="chargesim replay")


def _answer(a: Answer | None):
    if a is None:
        return None
    return {"kind": a.kind, "payload": a.payload, "code": a.code,
            "description": a.description or None,
            "latency_ms": None if a.latency is None else round(a.latency * 1000, 1)}


def json_report(results: list[StationResult]) -> str:
    data = {
        "format": FORMAT, "version": 1,
        "summary": {"stations": len(results),
                    "exchanges": sum(len(r.exchanges) for r in results),
                    "diverged": sum(len(r.diverged) for r in results),
                    "errors": sum(r.error is not None for r in results)},
        "stations": [{
            "station": r.station, "replayed_as": r.replayed_as, "source": r.source,
            "status": "passed" if r.passed else "failed", "error": r.error,
            "duration": round(r.duration, 3),
            "exchanges": [{"line": e.line, "action": e.action, "initiator": e.initiator,
                           "status": e.status, "differences": e.differences, "note": e.note,
                           "recorded": _answer(e.recorded), "now": _answer(e.now)}
                          for e in r.exchanges],
        } for r in results],
    }
    return json.dumps(data, indent=2) + "\n"
