"""The collector settings of processes that hold thousands of connections (gc_tuning.py),
each checked in a fresh interpreter: they change the whole process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOW = "import gc; print(*gc.get_threshold(), gc.get_freeze_count() > 0)"


def _run(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env=dict(os.environ, **env))


def _tuned(**env) -> subprocess.CompletedProcess:
    return _run("from simulator.gc_tuning import tune_for_many_connections as t; t(); " + SHOW,
                **env)


def test_start_up_objects_are_frozen_and_young_collections_are_rarer():
    done = _tuned(CHARGESIM_GC="")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["50000", "20", "10", "True"]


def test_the_environment_can_keep_or_set_the_thresholds():
    import gc
    default = " ".join(str(n) for n in gc.get_threshold())   # this interpreter's own
    assert _tuned(CHARGESIM_GC="default").stdout.strip() == f"{default} False"
    assert _tuned(CHARGESIM_GC="1000,5,5").stdout.split() == ["1000", "5", "5", "True"]
    bad = _tuned(CHARGESIM_GC="lots")
    assert bad.returncode != 0 and "CHARGESIM_GC='lots'" in bad.stderr


def test_the_chargesim_command_and_a_locust_process_are_tuned_main_alone_is_not():
    locust = _run("import simulator.swarm.locust_user; " + SHOW, CHARGESIM_GC="")
    assert locust.returncode == 0, locust.stderr[-2000:]
    assert locust.stdout.split()[-4:] == ["50000", "20", "10", "True"]
    call = ("import contextlib, io, sys, simulator.cli as cli; sys.argv = ['chargesim', "
            "'--version']\nwith contextlib.suppress(SystemExit), "
            "contextlib.redirect_stdout(io.StringIO()):\n    cli.{}()\n" + SHOW)
    assert _run(call.format("console"), CHARGESIM_GC="").stdout.split() == \
        ["50000", "20", "10", "True"]
    import gc
    default = " ".join(str(n) for n in gc.get_threshold())
    assert _run(call.format("main"), CHARGESIM_GC="").stdout.strip() == f"{default} False"


def test_a_bad_setting_stops_the_commands_with_one_line():
    for cmd in (["-m", "simulator.cli", "--version"], ["-m", "hub_under_test", "--port", "0"]):
        done = subprocess.run([sys.executable, *cmd], capture_output=True, text=True, timeout=60,
                              cwd=ROOT, env=dict(os.environ, CHARGESIM_GC="lots"))
        assert done.returncode == 2, done.stderr[-2000:]
        assert "CHARGESIM_GC='lots'" in done.stderr and "Traceback" not in done.stderr
