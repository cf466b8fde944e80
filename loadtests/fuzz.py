"""The fuzz properties of tests/test_fuzz_*.py, run long: each property gets --examples
generated inputs (the test suite runs the same properties with a few dozen each).

    python loadtests/fuzz.py --examples 100000            # every property
    python loadtests/fuzz.py --examples 5000 --only hub,rpc   # names with "hub" or "rpc"

Prints, per property, the inputs it was given (examples; for batched properties also the
frames or steps inside them), the time taken and whether it held; then the totals.  A
failing property prints Hypothesis's minimal failing input and the run exits with status 1.
Hypothesis stops a property early when it has tried every input its strategy can make
(e.g. the small fixed sets), so a property may report fewer inputs than asked for.
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODULES = ["tests.test_fuzz_codec", "tests.test_fuzz_rpc", "tests.test_fuzz_hub",
           "tests.test_fuzz_parsers", "tests.test_fuzz_hub201", "tests.test_fuzz_hub_soap"]
BY_MODE = {"test_fuzz_hub_16_frames", "test_fuzz_hub_201_frames",
           "test_fuzz_hub_soap_envelopes"}   # parametrized by mode in pytest


def properties():
    """(name, callable) for every Hypothesis property of the fuzz modules."""
    import importlib
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attr in sorted(vars(module)):
            fn = getattr(module, attr)
            if attr.startswith("test_") and hasattr(fn, "hypothesis"):
                if attr in BY_MODE:
                    for mode in ("strict", "lenient"):
                        found.append((f"{attr}[{mode}]", lambda fn=fn, mode=mode: fn(mode)))
                else:
                    found.append((attr, fn))
    return found, importlib.import_module("tests.fuzz_strategies"), [
        importlib.import_module(m) for m in MODULES]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=10_000, help="inputs per property")
    p.add_argument("--only", default="", help="run only the properties whose name has one of "
                                             "these comma-separated words")
    p.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: random)")
    a = p.parse_args(argv)
    if a.examples < 1:
        p.error("--examples must be at least 1")
    settings.register_profile(
        "chargesim-long", max_examples=a.examples, deadline=None, database=None,
        suppress_health_check=list(HealthCheck), print_blob=True)
    settings.load_profile("chargesim-long")
    import logging
    for noisy in ("hub_under_test", "simulator"):   # the hub warns about every bad frame
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    found, support, modules = properties()
    words = [w for w in a.only.split(",") if w] or [""]
    chosen = [(n, f) for n, f in found if any(w in n for w in words)]
    if not chosen:
        p.error(f"no property matches {a.only!r}; known: {', '.join(n for n, _ in found)}")
    if a.seed is not None:
        from hypothesis import seed
        chosen = [(n, seed(a.seed)(f) if hasattr(f, "hypothesis") else f) for n, f in chosen]
    failures, started_all = [], time.perf_counter()
    print(f"{len(chosen)} properties, up to {a.examples} inputs each", flush=True)
    for name, fn in chosen:
        before = dict(support.COUNTS)
        started = time.perf_counter()
        try:
            fn()
            verdict = "held"
        except Exception:
            verdict = "FAILED"
            failures.append(name)
            traceback.print_exc()
        took = time.perf_counter() - started
        delta = {k: v - before.get(k, 0) for k, v in support.COUNTS.items() if v != before.get(k, 0)}
        parts = ", ".join(f"{k}: {v}" for k, v in delta.items())
        print(f"{verdict:6} {name}: {parts} ({took:.0f} s)", flush=True)
    for module in modules:
        teardown = getattr(module, "teardown_module", None)
        if teardown:
            teardown()
    counts = support.COUNTS
    batched = {"rpc: steps"} | {f"hub {v} ({m}): frames" for v in ("1.6", "2.0.1")
                                for m in ("strict", "lenient")}
    examples = sum(v for k, v in counts.items() if k not in batched)
    inner = sum(v for k, v in counts.items() if k in batched)
    print(f"total: {examples} generated inputs ({inner} frames/steps inside the batched ones), "
          f"{len(failures)} failing properties, {time.perf_counter() - started_all:.0f} s")
    if failures:
        print("failed: " + ", ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
