"""`chargesim tui [--csms URL] [--template NAME | --fleet PATH] [--id ID ...]`."""
from __future__ import annotations

import argparse


def add_tui_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--id", action="append", dest="ids", metavar="ID",
                   help="station id (repeatable); default SIM-00001")
    p.add_argument("--tag", action="append", default=[], dest="tags", metavar="TAG",
                   help="a tag the bundled hub accepts (repeatable; default CARD-1)")
    p.add_argument("--control-port", type=int, metavar="PORT",
                   help="also serve the control API on 127.0.0.1:PORT (docs/tui.md)")
    p.add_argument("--auto-plug", action="store_true",
                   help="an EV plugs in a moment after an accepted RemoteStartTransaction "
                        "and leaves after a RemoteStopTransaction")


def run_tui(args, options_for) -> int:
    """`options_for(args)`: the StationOptions of the command line's station flags."""
    from ..template_cli import stations_from_yaml
    from .app import ChargesimTui
    from .engine import DEFAULT_TAG, Engine
    ids = args.ids or ["SIM-00001"]
    fleet = stations_from_yaml(args, ids)
    base = options_for(args)
    # a live power chart wants samples more often than a charger's usual minute
    from ..dialects import setting_key
    interval_key = setting_key(base.version, "meter_interval")   # 1.6 key or 2.0.1 variable
    if interval_key not in base.config:
        import dataclasses
        base = dataclasses.replace(base, config={**base.config, interval_key: "5"})
    stations = []
    for station_id, options in fleet or [(i, None) for i in ids]:
        if options is None:
            options = base
            if args.password:
                import dataclasses
                options = dataclasses.replace(base, basic_auth=(station_id, args.password))
        stations.append((station_id, options))
    tags = {t: "Accepted" for t in (args.tags or [DEFAULT_TAG])}
    ChargesimTui(Engine(args.csms, tags, args.control_port,
                         1.0 if args.auto_plug else None), stations, options=base).run()
    return 0
