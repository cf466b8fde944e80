"""The scenario options of `chargesim run` (the CLI adds them with one call)."""
from __future__ import annotations

import argparse


def add_scenario_args(run: argparse.ArgumentParser) -> None:
    g = run.add_argument_group("scenarios (chargesim run PATH...)")
    g.add_argument("paths", nargs="*", metavar="PATH",
                   help="scenario files or folders (*.yaml); without any, the quick charging run")
    g.add_argument("-k", dest="keyword", metavar="TEXT",
                   help="only scenarios whose name or path contains TEXT, or tagged TEXT")
    g.add_argument("--exclude", action="append", default=[], metavar="TEXT",
                   help="leave out scenarios whose name or path contains TEXT, or tagged TEXT "
                        "(repeatable; e.g. --exclude bundled-hub against another CSMS)")
    g.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    g.add_argument("--json", metavar="FILE",
                   help="write a JSON report (the quick run too: each station and the totals)")
    g.add_argument("--record", metavar="FILE.jsonl",
                   help="record every frame (docs/recording-format.md)")
    g.add_argument("--fail-fast", action="store_true", help="stop at the first failing scenario")
    g.add_argument("--trigger-http", metavar="URL",
                   help="with --csms: how `csms` steps make that CSMS act, for scenarios without "
                        "csms.trigger: POST the payload to URL (${station}, ${action} filled in)")
    g.add_argument("--trigger-command", metavar="CMD",
                   help="with --csms: a shell command that makes the CSMS act (${station}, "
                        "${action}, ${payload} filled in, shell-quoted)")


async def run_scenarios(args) -> int:
    from .run_files import RunConfig, run
    return await run(RunConfig(paths=args.paths, csms=args.csms, keyword=args.keyword,
                               exclude=args.exclude,
                               fail_fast=args.fail_fast, junit=args.junit, json=args.json,
                               record=args.record, verbose=args.verbose,
                               record_max_bytes=getattr(args, "record_max_bytes", None),
                               record_keep=getattr(args, "record_keep", 5),
                               trigger=_trigger(args)))


def _trigger(args) -> dict | None:
    if args.trigger_http:
        return {"http": {"url": args.trigger_http}}
    if args.trigger_command:
        return {"command": args.trigger_command}
    return None
