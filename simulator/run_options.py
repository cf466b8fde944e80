"""Options of `chargesim run` / `chargesim station` about watching a run: progress, the
summary's JSON, the in-process hub's log.  cli.py adds them with one call each."""
from __future__ import annotations

import argparse
import logging
import sys

RUN_DESCRIPTION = """\
Two modes:
  chargesim run [options]          the quick charging run: boot --stations N stations, run one
                                   charging session on each (plug in, present the tag, charge
                                   --seconds S with meter values, present it again, unplug),
                                   then print each station's outcome and the run's totals
  chargesim run PATH... [options]  YAML scenarios with assertions (docs/scenarios.md)
Without --csms, the bundled hub is started in-process for the run.
"""

RUN_EPILOG = """\
exit codes:
  0  every station (or scenario) passed
  1  a station's session (or a scenario) failed
  2  a bad option value or an invalid scenario / template file
  130 interrupted (Ctrl-C)
"""


def add_watch_args(p: argparse.ArgumentParser) -> None:
    """run and station: the bundled hub's log."""
    p.add_argument("--hub-log", metavar="FILE",
                   help="write the log of the bundled hub started in-process to FILE "
                        "(default: its warnings on stderr, prefixed [hub]; with -v its info too)")


def add_run_watch_args(run: argparse.ArgumentParser) -> None:
    run.add_argument("--progress", type=float, metavar="S",
                     help="seconds between progress updates: a live line on a terminal "
                          "(default 0.5), a plain line otherwise (default 10); 0: none")


def configure_hub_log(args):
    """Keep the in-process hub's log lines apart from the stations' output: a [hub] prefix
    on stderr, or --hub-log FILE.  Returns the undo, so a command run in-process (tests,
    the pytest plugin) leaves the logging setup as it found it."""
    hub = logging.getLogger("hub_under_test")
    before = hub.propagate, list(hub.handlers), hub.level
    path = getattr(args, "hub_log", None)
    if path:
        try:
            handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
        except OSError as e:
            from .cli_checks import UsageError
            raise UsageError(f"--hub-log {path}: cannot write it ({e.strerror})") from None
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        hub.setLevel(logging.INFO)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(
            "[hub] %(asctime)s %(levelname)s %(name)s: %(message)s"))
        hub.setLevel(logging.INFO if getattr(args, "verbose", False) else logging.WARNING)
    hub.propagate = False
    for old in before[1]:
        hub.removeHandler(old)
    hub.addHandler(handler)

    def restore() -> None:
        hub.removeHandler(handler)
        handler.close()
        hub.propagate, hub.level = before[0], before[2]
        for old in before[1]:
            hub.addHandler(old)
    return restore
