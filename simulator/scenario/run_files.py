"""`chargesim run PATH...`: load every scenario first (a broken file stops the run before
anything connects), run them one after the other, report."""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import reports
from .errors import ScenarioFileError
from .loader import discover, load
from .model import Scenario
from .recording import Recorder
from .runner import ScenarioResult, run_scenario

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


@dataclass
class RunConfig:
    paths: list[str]
    csms: str | None = None
    keyword: str | None = None
    exclude: list[str] = field(default_factory=list)
    fail_fast: bool = False
    junit: str | None = None
    json: str | None = None
    record: str | None = None
    record_max_bytes: int | None = None    # rotate the recording (session/recording.py)
    record_keep: int = 5
    verbose: bool = False
    trigger: dict | None = None        # for scenarios without csms.trigger (with csms)
    out: object = field(default_factory=lambda: sys.stdout)


def _matches(sc: Scenario, path: Path, text: str) -> bool:
    """TEXT in the scenario's name, its path, or one of its tags (case-insensitive)."""
    text = text.lower()
    return text in sc.name.lower() or text in str(path).lower() or any(
        text == tag.lower() for tag in sc.tags)


def load_all(paths, keyword: str | None = None, exclude: list[str] = ()
             ) -> tuple[list[Scenario], list[ScenarioFileError]]:
    scenarios, invalid = [], []
    try:
        files = discover(paths)
    except ScenarioFileError as e:
        return [], [e]
    for f in files:
        if f.name.endswith(".schema.json"):
            continue
        try:
            sc = load(f)
        except ScenarioFileError as e:
            invalid.append(e)
            continue
        if (keyword is None or _matches(sc, f, keyword)) and not any(
                _matches(sc, f, text) for text in exclude):
            scenarios.append(sc)
    return scenarios, invalid


def _printer(cfg: RunConfig):
    def say(text: str) -> None:
        print(text, file=cfg.out, flush=True)

    def progress(kind: str, data: dict) -> None:
        if kind == "scenario_start" and cfg.verbose:
            say(f"▶ {data['name']}  ({data['path']})")
        elif kind == "step_end" and cfg.verbose:
            s = data["step"]
            mark = "✓" if s.status == "passed" else "✗"
            say(f"  {'  ' * s.depth}{mark} {s.label} ({s.duration:.2f}s)"
                + (f": {s.message}" if s.message else ""))
        elif kind == "log":
            say(f"  | {data['text']}")
        elif kind == "scenario_end":
            r: ScenarioResult = data["result"]
            say(f"{'PASS' if r.passed else 'FAIL'} {r.name} ({r.duration:.1f}s)"
                + ("" if r.passed else f" — {r.where}"))
    return say, progress


async def run(cfg: RunConfig) -> int:
    say, progress = _printer(cfg)
    if not cfg.verbose:  # the bundled hub's connection warnings are noise in a scenario run
        logging.getLogger("hub_under_test").setLevel(logging.ERROR)
    scenarios, invalid = load_all(cfg.paths, cfg.keyword, cfg.exclude)
    if invalid:
        for e in invalid:
            say(f"INVALID {e}")
        say(f"\n{len(invalid)} invalid scenario file(s): nothing was run")
        _write_reports(cfg, [], invalid)
        return EXIT_INVALID
    if not scenarios:
        say("no scenarios found" + (f" matching -k {cfg.keyword!r}" if cfg.keyword else ""))
        return EXIT_INVALID
    recorder = Recorder(cfg.record, max_bytes=cfg.record_max_bytes,
                        keep=cfg.record_keep) if cfg.record else None
    results: list[ScenarioResult] = []
    try:
        for sc in scenarios:
            if recorder is not None:
                recorder.scenario = sc.name
            taps = [recorder.tap] if recorder is not None else []
            result = await run_scenario(sc, csms_url=cfg.csms, taps=taps, progress=progress,
                                        trigger=cfg.trigger)
            results.append(result)
            if cfg.fail_fast and not result.passed:
                break
    finally:
        if recorder is not None:
            recorder.close()
    say("")
    say(reports.summary(results))
    if recorder is not None:
        say(f"recorded {recorder.frames} frames to {cfg.record}")
    _write_reports(cfg, results, [])
    return EXIT_OK if all(r.passed for r in results) else EXIT_FAILED


def _write_reports(cfg: RunConfig, results, invalid) -> None:
    if cfg.junit:
        Path(cfg.junit).parent.mkdir(parents=True, exist_ok=True)
        Path(cfg.junit).write_text(reports.junit_xml(results, invalid), encoding="utf-8")
    if cfg.json:
        Path(cfg.json).parent.mkdir(parents=True, exist_ok=True)
        Path(cfg.json).write_text(reports.json_report(results, invalid), encoding="utf-8")
