"""The command line's template and fleet options (`--template`, `--fleet`, `chargesim templates`).

Kept out of cli.py so that the shared command module only calls in here.  With --template or
--fleet the stations' identity, connectors, configuration and quirks come from the YAML;
--lenient, --call-timeout and --password still apply on top.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys

from .station import StationOptions


def add_template_args(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--template", metavar="NAME|PATH",
                       help="station template: a bundled name (see `chargesim templates`) or a "
                            "YAML file; replaces --connectors/--vendor/--model/--max-power")
    group.add_argument("--fleet", metavar="PATH",
                       help="fleet YAML: groups of stations from templates (ids, count, "
                            "overrides, csms); replaces --stations/--id/--id-pattern")


def print_templates(out=sys.stdout) -> int:
    from .templates.loader import bundled_templates
    found = bundled_templates()
    width = max(map(len, found), default=0)
    for name, description in found.items():
        print(f"{name:<{width}}  {description}", file=out)
    print("\nuse: chargesim run --template NAME  |  chargesim station --template NAME --id ID"
          "  |  --fleet FILE (docs/templates.md)", file=out)
    return 0


def _apply_flags(options: StationOptions, args, station_id: str) -> StationOptions:
    changes = {"call_timeout": args.call_timeout}
    if args.lenient:
        changes["mode"] = "lenient"
    if getattr(args, "state_dir", None):
        changes["state_dir"] = args.state_dir
    if getattr(args, "password", None):
        changes["basic_auth"] = (station_id, args.password)
    from .cli import protocol_options   # --protocol, the 1.5 callback endpoint
    changes.update(protocol_options(args))
    return dataclasses.replace(options, **changes)


def stations_from_yaml(args, default_ids: list[str]) -> list[tuple[str, StationOptions]] | None:
    """[(station_id, options)] from --fleet or --template, or None when neither is given.
    A fleet's csms URL is used when --csms is not.  A bad file ends the command (exit 2)
    with its file:line message."""
    from .templates.loader import StationTemplateError
    try:
        return _stations(args, default_ids)
    except StationTemplateError as e:
        print(f"chargesim: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def _stations(args, default_ids):
    from .templates.loader import load_fleet, load_template
    if getattr(args, "fleet", None):
        fleet = load_fleet(args.fleet)
        if not args.csms and fleet.csms:
            args.csms = fleet.csms
        return [(sid, _apply_flags(o, args, sid)) for sid, o in fleet]
    if getattr(args, "template", None):
        return [(sid, _apply_flags(load_template(args.template, station_id=sid, n=n), args, sid))
                for n, sid in enumerate(default_ids, 1)]
    return None
