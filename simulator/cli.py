"""The `chargesim` command."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from . import __version__

DEFAULT_TAG = "TAG-{n:05d}"


def _common_station_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csms", metavar="URL",
                   help="CSMS endpoint; each station appends its id as the last path segment "
                        "(default: start the bundled hub in-process)")
    p.add_argument("--connectors", type=int, default=1, help="connectors per station (default 1)")
    p.add_argument("--vendor", default="chargesim",
                   help="chargePointVendor sent in BootNotification (default %(default)s)")
    p.add_argument("--model", default="VirtualAC",
                   help="chargePointModel sent in BootNotification (default %(default)s)")
    p.add_argument("--max-power", type=float, default=11_000, metavar="W",
                   help="power per connector in W (default 11000)")
    p.add_argument("--password", help="HTTP Basic password (security profile 1); "
                                      "the user name is the station id")
    p.add_argument("--security-profile", type=int, choices=(0, 1, 2, 3), default=0,
                   help="1 Basic auth (--password), 2 TLS + Basic auth, 3 mutual TLS "
                        "(docs/security.md)")
    p.add_argument("--ca", action="append", default=[], metavar="PEM",
                   help="CA certificate to check the CSMS's TLS certificate (repeatable)")
    p.add_argument("--client-cert", metavar="PEM", help="client certificate (profile 3)")
    p.add_argument("--client-key", metavar="PEM", help="its private key")
    p.add_argument("--lenient", action="store_true",
                   help="repair known field quirks in CSMS messages instead of rejecting them")
    p.add_argument("--call-timeout", type=float, default=30.0, metavar="S",
                   help="seconds to wait for the CSMS's reply to a call (default 30)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every station event")
    from .dialects import PROTOCOLS
    p.add_argument("--protocol", choices=list(PROTOCOLS), default=None,
                   help="the protocol the stations speak (default ocpp1.6, or the template's); "
                        "ocpp2.0.1 speaks the 2.0.1 device model; "
                        "ocpp1.5 is OCPP 1.5 over SOAP: --csms is then the CentralSystemService "
                        "URL (http://...) and each station hosts its ChargePointService")
    p.add_argument("--callback-port", type=int, default=0, metavar="PORT",
                   help="ocpp1.5: port of the station's ChargePointService (default 0: any free "
                        "one; with several stations, station n takes PORT+n-1)")
    p.add_argument("--callback-host", default="127.0.0.1", metavar="HOST",
                   help="ocpp1.5: address the ChargePointService binds (default 127.0.0.1)")
    p.add_argument("--callback-url", metavar="URL",
                   help="ocpp1.5: the ChargePointService URL to announce as WS-Addressing From "
                        "(behind NAT or a proxy; default: the bound address)")
    p.add_argument("--state-dir", metavar="DIR",
                   help="keep each station's state in DIR across runs: the offline message "
                        "queue (<id>.offline.jsonl) and a client certificate the CSMS signed "
                        "(<id>.client-cert.pem, <id>.client-key.pem); default: memory only")
    from .template_cli import add_template_args  # --template / --fleet (docs/templates.md)
    add_template_args(p)
    from .run_options import add_watch_args  # --hub-log
    add_watch_args(p)


def _options(a):
    from .station import StationOptions
    return StationOptions(connectors=a.connectors, vendor=a.vendor, model=a.model,
                          max_power_w=a.max_power, mode="lenient" if a.lenient else "strict",
                          call_timeout=a.call_timeout, security_profile=a.security_profile,
                          authorization_key=a.password if a.security_profile in (1, 2) else None,
                          ca_certs=a.ca, client_cert=a.client_cert, client_key=a.client_key,
                          state_dir=a.state_dir, **protocol_options(a))


def spread_callback_ports(fleet):
    """Station n of a fleet with a fixed callback port takes port + n - 1 (one port each)."""
    if not fleet:
        return fleet
    import dataclasses
    return [(sid, dataclasses.replace(o, callback_port=o.callback_port + i) if o.callback_port
             else o) for i, (sid, o) in enumerate(fleet)]


def protocol_options(a) -> dict:
    """--protocol and the 1.5 callback endpoint, as StationOptions fields (only those given)."""
    out = {}
    if getattr(a, "protocol", None):
        out["version"] = a.protocol
    if getattr(a, "callback_port", 0):
        out["callback_port"] = a.callback_port
    if getattr(a, "callback_host", "127.0.0.1") != "127.0.0.1":
        out["callback_host"] = a.callback_host
    if getattr(a, "callback_url", None):
        out["callback_url"] = a.callback_url
    return out


def build_parser() -> argparse.ArgumentParser:
    from .cli_checks import OneLineParser
    parser = OneLineParser(prog="chargesim",
                                     description="Virtual OCPP charging stations and a bundled CSMS.")
    parser.add_argument("--version", action="version", version=f"chargesim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    hub = sub.add_parser("hub", help="run the bundled hub (CSMS) until Ctrl-C",
                         add_help=False)
    hub.add_argument("hub_args", nargs=argparse.REMAINDER)

    from .run_options import RUN_DESCRIPTION, RUN_EPILOG, add_run_watch_args
    run = sub.add_parser("run", help="boot stations, run one charging session on each, report",
                         description=RUN_DESCRIPTION, epilog=RUN_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    _common_station_args(run)
    run.add_argument("--stations", type=int, default=1, metavar="N",
                     help="how many stations (default 1)")
    run.add_argument("--id-pattern", default="SIM-{n:05d}",
                     help="station ids, with {n} the station number (default SIM-{n:05d})")
    run.add_argument("--tag", default=DEFAULT_TAG,
                     help="id tag each station charges with, {n} the station number (default "
                          "%(default)s; one tag per station, as a tag may be in one transaction "
                          "at a time). Seeded into the bundled hub; must be known to any other CSMS")
    run.add_argument("--seconds", type=float, default=5.0, metavar="S",
                     help="how long each session charges (default 5 s)")
    run.add_argument("--sample-interval", type=int, default=1, metavar="S",
                     help="MeterValueSampleInterval during the run (default 1 s)")
    run.add_argument("--spawn-rate", type=float, default=200.0, metavar="R",
                     help="stations started per second (default 200; 0: all at once); a "
                          "station that cannot connect is retried with jittered backoff")
    # With paths, `run` runs YAML scenarios (simulator/scenario) instead of the quick run.
    from .scenario.cli_args import add_scenario_args
    add_scenario_args(run)
    from .record_cli import add_record_args  # --record-max-bytes / --record-keep
    add_record_args(run, with_path=False)
    add_run_watch_args(run)  # --progress

    sub.add_parser("templates", help="list the bundled station templates")
    from .cli_swarm import add_parser as add_swarm_parser  # chargesim swarm (docs/swarm.md)
    add_swarm_parser(sub)
    station = sub.add_parser("station", help="keep stations online, answering the CSMS, until Ctrl-C")
    _common_station_args(station)
    station.add_argument("--id", action="append", dest="ids", metavar="ID",
                         help="station id (repeatable); default SIM-00001")
    add_record_args(station)
    from .cli_replay import add_replay_parser  # chargesim replay (docs/replay.md)
    add_replay_parser(sub)
    from .control.run import add_control_args  # --control-port, --auto-plug (docs/tui.md)
    add_control_args(station)
    tui = sub.add_parser("tui", help="a terminal UI: be the charger and the driver, watch "
                                     "every frame (docs/tui.md)")
    _common_station_args(tui)
    from .tui.cli import add_tui_args
    add_tui_args(tui)
    return parser


def console() -> int:
    """The `chargesim` command.  Its process may hold thousands of connections (`run`,
    `swarm`, `hub`): the collector is set for that first (gc_tuning.py); `main()` alone
    leaves the interpreter as it is (tests call it in their own process)."""
    from .gc_tuning import tune_for_many_connections
    try:
        tune_for_many_connections()
    except ValueError as e:   # a bad CHARGESIM_GC: one line, as for a bad option
        print(f"chargesim: {e}", file=sys.stderr)
        return 2
    return main()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "hub":  # the hub owns its options
        from hub_under_test.__main__ import main as hub_main
        hub_main(argv[1:], prog="chargesim hub")
        return 0
    args = build_parser().parse_args(argv)
    from .cli_checks import UsageError, check_station_args, report
    prog = f"chargesim {args.command}"
    try:
        if args.command in ("run", "station"):
            check_station_args(args, args.command)
    except UsageError as e:
        return report(prog, e)
    if args.command == "templates":
        from .template_cli import print_templates
        return print_templates()
    if args.command == "swarm":  # Locust in its own process (gevent), the hub in another
        from .cli_swarm import run as run_swarm
        return run_swarm(args)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from .run_options import configure_hub_log
    try:
        restore_hub_log = configure_hub_log(args)   # the hub's log apart from the stations'
    except UsageError as e:
        return report(prog, e)
    try:
        return _dispatch(args, prog)
    finally:
        restore_hub_log()


def _dispatch(args, prog: str) -> int:
    from .cli_checks import UsageError, report
    if args.command == "tui":  # Textual runs its own event loop
        from .tui.cli import run_tui
        return run_tui(args, _options)
    from .transport.websocket import use_uvloop
    use_uvloop()
    try:
        if args.command == "run" and args.paths:
            from .scenario.cli_args import run_scenarios
            return asyncio.run(run_scenarios(args))
        if args.command == "run":
            return asyncio.run(_run(args))
        if args.command == "replay":
            from .cli_replay import run_replay
            return asyncio.run(run_replay(args))
        return asyncio.run(_station(args))
    except UsageError as e:
        return report(prog, e)
    except KeyboardInterrupt:
        return 130


@contextlib.asynccontextmanager
async def _csms(args, tags: dict[str, str], soap: bool | str = False):
    """The CSMS URL to use: the given one, or a bundled hub started here for the run
    (`soap`: its OCPP 1.5 CentralSystemService URL; "mixed": a CsmsUrls, one per protocol)."""
    if args.csms:
        yield args.csms
        return
    from hub_under_test.hub import Hub, HubConfig
    hub = Hub(HubConfig(port=0, api_port=0, tags=tags, **({"soap_port": 0} if soap else {})))
    await hub.start()
    if soap == "mixed":   # 1.5 SOAP and OCPP-J stations: each gets its protocol's URL
        from .charging_run import CsmsUrls
        print(f"bundled hub: {hub.url}/{{station_id}}, OCPP 1.5 SOAP {hub.soap_url}  "
              f"(API {hub.api_url})")
        url = CsmsUrls(hub.url, hub.soap_url)
    elif soap:
        print(f"bundled hub: OCPP 1.5 SOAP {hub.soap_url}  (API {hub.api_url})")
        url = hub.soap_url
    else:
        print(f"bundled hub: {hub.url}/{{station_id}}  (API {hub.api_url})")
        url = hub.url
    try:
        yield url
    finally:
        await hub.stop()


def _wants_soap(args, fleet) -> bool | str:
    """Do the stations speak OCPP 1.5 SOAP (--protocol, or every template of the fleet)?"""
    if getattr(args, "protocol", None):
        return args.protocol == "ocpp1.5"
    if fleet and any(o.version == "ocpp1.5" for _, o in fleet) \
            and not all(o.version == "ocpp1.5" for _, o in fleet):
        return "mixed"
    return bool(fleet) and all(o.version == "ocpp1.5" for _, o in fleet)


async def _run(args) -> int:
    from .charging_run import run
    from .template_cli import stations_from_yaml
    fleet = stations_from_yaml(args, [args.id_pattern.format(n=n)
                                      for n in range(1, args.stations + 1)])
    from .state_files import keep_signed_certificates, with_saved_certificate
    if fleet is None and (args.state_dir or args.callback_port):   # per-station options
        fleet = [(args.id_pattern.format(n=n), _options(args))
                 for n in range(1, args.stations + 1)]
    fleet = spread_callback_ports(fleet)
    if fleet is not None:
        fleet = [(sid, with_saved_certificate(o, sid)) for sid, o in fleet]
    count = len(fleet) if fleet is not None else args.stations
    from .cli_checks import probe_options
    sid, first = fleet[0] if fleet else (args.id_pattern.format(n=1), _options(args))
    probe_options(first, args.csms or "ws://127.0.0.1/ocpp", sid)
    tags = {args.tag.format(n=n): "Accepted" for n in range(1, count + 1)}
    from .record_cli import recorder_from_args
    recorder = recorder_from_args(args)
    from .run_progress import Progress
    from .run_summary import RunStats
    stats = RunStats(expected=count)
    # with -v, log lines go to the terminal too: plain progress lines, no line redrawn over them
    progress = Progress(stats, interval=args.progress, live=False if args.verbose else None)
    async with _csms(args, tags, _wants_soap(args, fleet)) as url:
        print(f"{count} station(s) → {url}")
        progress.start()
        try:
            outcomes = await run(url, stations=args.stations, id_pattern=args.id_pattern,
                                 tag=args.tag, seconds=args.seconds,
                                 sample_interval=args.sample_interval, options=_options(args),
                                 verbose=args.verbose, fleet=fleet, print_=progress.print,
                                 taps=[recorder.tap] if recorder else [],
                                 observe=lambda st: (stats.watch(st), keep_signed_certificates(
                                     st, st.options.state_dir)),
                                 spawn_rate=args.spawn_rate)
        finally:
            await progress.stop()
            if recorder is not None:
                recorder.close()
                print(f"recorded {recorder.frames} frames to {args.record}")
    print()
    for outcome in outcomes:
        print(outcome.line())
    failed = sum(not o.ok for o in outcomes)
    print(f"\n{len(outcomes) - failed} passed, {failed} failed")
    from .run_summary import print_summary
    print_summary(outcomes, stats, failed=failed, json_path=args.json)
    return 1 if failed else 0


async def _station(args) -> int:
    from .dialects import make_station
    ids = args.ids or ["SIM-00001"]
    from .template_cli import stations_from_yaml
    fleet = stations_from_yaml(args, ids)
    if fleet is None and args.callback_port:
        fleet = [(i, _options(args)) for i in ids]
    fleet = spread_callback_ports(fleet)
    from .state_files import keep_signed_certificates, with_saved_certificate
    from .cli_checks import probe_options
    sid, first = fleet[0] if fleet else (ids[0], _options(args))
    probe_options(first, args.csms or "ws://127.0.0.1/ocpp", sid)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    from .record_cli import recorder_from_args
    recorder = recorder_from_args(args)
    async with _csms(args, {}, _wants_soap(args, fleet)) as url, _closing(recorder):
        stations = []
        for station_id, options in fleet or [(i, None) for i in ids]:
            if options is None:
                options = _options(args)
                if args.password:
                    options.basic_auth = (station_id, args.password)
            options = with_saved_certificate(options, station_id)   # from --state-dir
            from .charging_run import url_for
            station = make_station(station_id, url_for(url, options), options)
            keep_signed_certificates(station, options.state_dir)
            station.on_event = lambda e: print(f"{e}", flush=True)
            if recorder is not None:
                station.taps.append(recorder.tap)
            stations.append(station)
        from .control.run import control_for
        control = await control_for(stations, args)   # --control-port / --auto-plug
        # A real charger never gives up: each station connects whenever its CSMS is there
        # (and boots again while Pending); Ctrl-C stops it in any state.
        starting = asyncio.gather(*(s.start(timeout=None) for s in stations),
                                  return_exceptions=True)
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            await control.close()
            await asyncio.gather(*(s.stop() for s in stations), return_exceptions=True)
            await starting
            print("stopped", flush=True)
            return 0
        stopping.cancel()
        results = starting.result()
        failed = [(s, r) for s, r in zip(stations, results) if isinstance(r, BaseException)]
        for s, r in failed:
            print(f"{s.id}: could not come online: {r}", file=sys.stderr)
        if len(failed) == len(stations):
            await control.close()
            return 1
        print(f"{len(stations) - len(failed)} station(s) online at {url}; Ctrl-C to stop", flush=True)
        try:
            await stop.wait()
        finally:
            await control.close()
            await asyncio.gather(*(s.stop() for s in stations), return_exceptions=True)
    return 0


@contextlib.asynccontextmanager
async def _closing(recorder):
    try:
        yield recorder
    finally:
        if recorder is not None:
            recorder.close()


if __name__ == "__main__":
    sys.exit(console())
