"""Reports of a scenario run: a readable summary, JUnit XML (one testsuite, one testcase per
scenario) and JSON (every scenario with every step)."""
from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from .errors import ScenarioFileError
from .runner import ScenarioResult


def summary(results: list[ScenarioResult], invalid: list[ScenarioFileError] = ()) -> str:
    lines = []
    for e in invalid:
        lines.append(f"INVALID {e}")
    for r in results:
        if r.passed:
            continue
        lines += ["", f"FAILED {r.name}  ({r.where})"]
        if r.failed_step is not None:
            lines.append(f"  step: {r.failed_step.label}")
        lines.append(f"  {r.failure}")
        if r.frames:
            lines.append("  frames before the failure:")
            lines += [f"    {f}" for f in r.frames]
    passed = sum(r.passed for r in results)
    failed = len(results) - passed
    total = sum(r.duration for r in results)
    tail = f"{passed} passed, {failed} failed"
    if invalid:
        tail += f", {len(invalid)} invalid"
    lines += ["", f"{tail} in {total:.1f}s"]
    return "\n".join(lines).lstrip("\n")


def junit_xml(results: list[ScenarioResult], invalid: list[ScenarioFileError] = (),
              suite: str = "chargesim scenarios") -> str:
    failures = sum(not r.passed for r in results)
    root = ET.Element("testsuites")
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(results) + len(invalid)),
                       failures=str(failures), errors=str(len(invalid)), skipped="0",
                       time=f"{sum(r.duration for r in results):.3f}",
                       timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                       hostname=socket.gethostname())
    for r in results:
        case = ET.SubElement(ts, "testcase", name=r.name, classname=_classname(r.path),
                             file=r.path, time=f"{r.duration:.3f}")
        if r.failed_step is not None:
            case.set("line", str(r.failed_step.line))
        if not r.passed:
            fail = ET.SubElement(case, "failure", message=(r.failure or "failed")[:500],
                                 type="ScenarioFailure")
            detail = [f"{r.where}", f"step: {r.failed_step.label}" if r.failed_step else "",
                      r.failure or "", "", *r.frames]
            fail.text = "\n".join(x for x in detail if x is not None)
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(f"{'  ' * s.depth}{s.status.upper():7} {s.label} "
                             f"({s.duration:.3f}s){' — ' + s.message if s.message else ''}"
                             for s in r.steps)
    for e in invalid:
        case = ET.SubElement(ts, "testcase", name=Path(e.path).stem, classname=_classname(e.path),
                             file=e.path, time="0")
        err = ET.SubElement(case, "error", message=str(e), type="ScenarioFileError")
        err.text = str(e)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _classname(path: str) -> str:
    p = Path(path)
    return ".".join([*p.parent.parts[-2:], p.stem]).replace(" ", "_")


def json_report(results: list[ScenarioResult], invalid: list[ScenarioFileError] = ()) -> str:
    data = {
        "format": "chargesim-scenario-report", "version": 1,
        "summary": {"passed": sum(r.passed for r in results),
                    "failed": sum(not r.passed for r in results), "invalid": len(invalid),
                    "duration": round(sum(r.duration for r in results), 3)},
        "invalid": [{"path": e.path, "line": e.line, "column": e.column, "message": e.message}
                    for e in invalid],
        "scenarios": [{
            "name": r.name, "path": r.path, "status": r.status, "tags": r.tags,
            "duration": round(r.duration, 3), "failure": r.failure,
            "failed_step": ({"label": r.failed_step.label, "kind": r.failed_step.kind,
                             "line": r.failed_step.line} if r.failed_step else None),
            "frames": r.frames,
            "steps": [{"label": s.label, "kind": s.kind, "line": s.line, "depth": s.depth,
                       "status": s.status, "duration": round(s.duration, 4),
                       "message": s.message} for s in r.steps],
        } for r in results],
    }
    return json.dumps(data, indent=2) + "\n"
