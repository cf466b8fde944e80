"""What `chargesim station` adds for `--control-port` and `--auto-plug`."""
from __future__ import annotations

import argparse

from ..station import Station
from .autoplug import AutoPlug
from .fleet import Fleet
from .server import ControlServer


def add_control_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--control-port", type=int, metavar="PORT",
                   help="serve the control API (HTTP + JSON) on 127.0.0.1:PORT "
                        "(0: a free port; default: off; docs/tui.md)")
    p.add_argument("--auto-plug", action="store_true",
                   help="an EV plugs in a moment after an accepted RemoteStartTransaction "
                        "and leaves after a RemoteStopTransaction")
    p.add_argument("--auto-plug-delay", type=float, default=1.0, metavar="S",
                   help="how long the EV takes (default 1 s)")


class Control:
    def __init__(self, fleet: Fleet, server: ControlServer | None, plugs: list[AutoPlug]):
        self.fleet, self.server, self.plugs = fleet, server, plugs

    async def close(self) -> None:
        for plug in self.plugs:
            plug.close()
        if self.server is not None:
            await self.server.stop()


async def control_for(stations: list[Station], args) -> Control:
    fleet = Fleet()
    for s in stations:
        fleet.add(s)
    plugs = [AutoPlug(s, args.auto_plug_delay) for s in stations] if args.auto_plug else []
    server = None
    if args.control_port is not None:
        server = ControlServer(fleet, args.control_port)
        await server.start()
        print(f"control API: {server.url}/stations", flush=True)
    return Control(fleet, server, plugs)
