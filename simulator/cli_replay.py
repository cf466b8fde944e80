"""`chargesim replay FILE...`: replay captured charger logs against a CSMS and report how its
answers diverge from the recorded ones (docs/replay.md).  Exit 0: no divergence, 1:
divergence (or a station could not be replayed), 2: bad input."""
from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

EXIT_OK, EXIT_DIVERGED, EXIT_BAD_INPUT = 0, 1, 2


def add_replay_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("replay", help="replay recorded charger logs against a CSMS, report divergence",
                       description="Re-send what each recorded station sent, answer the CSMS as "
                                   "the station did, and compare every answer with the recording.")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="recordings or logs (chargesim JSONL, hub export, OCPP-J text lines)")
    p.add_argument("--csms", metavar="URL",
                   help="CSMS endpoint; the station id is appended (default: the bundled hub, "
                        "in-process, seeded with the recording's tags)")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=1.0, metavar="X",
                      help="recorded timing divided by X (default 1: as recorded)")
    pace.add_argument("--fast", action="store_true", help="as fast as the answers come")
    p.add_argument("--raw", action="store_true",
                   help="send the recorded bytes as they are (whitespace, key order, case, "
                        "several CALLs in flight); default: re-encode and validate")
    p.add_argument("--id-map", action="append", default=[], metavar="OLD=NEW",
                   help="replay station OLD as NEW (repeatable)")
    p.add_argument("--id-prefix", default="", metavar="P", help="replay station X as PX")
    p.add_argument("--tag-map", action="append", default=[], metavar="OLD=NEW",
                   help="send id tag NEW where OLD was recorded (repeatable)")
    p.add_argument("--station", metavar="ID", help="station id of frames the log names none for")
    p.add_argument("--protocol", default=None, metavar="VERSION",
                   help="protocol of frames the log does not say (default ocpp1.6)")
    p.add_argument("--layout", default=None, help="the logs' layout (default: detected)")
    p.add_argument("--perspective", choices=("station", "csms"), default=None,
                   help="whose log a text log is (default: inferred)")
    p.add_argument("--no-time-shift", action="store_true",
                   help="send recorded date-times as recorded (default: shifted to now)")
    p.add_argument("--call-timeout", type=float, default=10.0, metavar="S")
    p.add_argument("--request-wait", type=float, default=1.0, metavar="S",
                   help="how long to wait for a recorded CSMS request before going on")
    p.add_argument("--timing-tolerance", type=float, default=None, metavar="MS",
                   help="an answer slower than recorded + MS is a divergence (default: off)")
    p.add_argument("--lenient", action="store_true", help="repair known quirks in the CSMS's answers")
    p.add_argument("--ignore-problems", action="store_true",
                   help="replay what could be read even when lines of a log could not")
    p.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    p.add_argument("--json", metavar="FILE", help="write a JSON report")
    from .record_cli import add_record_args   # --record FILE of the replay's own frames
    add_record_args(p)
    p.add_argument("--to-scenario", metavar="OUT.yaml",
                   help="write a YAML scenario reproducing the station's side instead of replaying")
    p.add_argument("--anonymize", metavar="OUT",
                   help="write the logs as one chargesim recording with station ids, tags and "
                        "serial numbers replaced consistently, instead of replaying")
    p.add_argument("-v", "--verbose", action="store_true", help="list every exchange")
    return p


def _say(text: str = "") -> None:
    print(text, flush=True)


def load(args):
    """The logs read and turned into per-station scripts; raises ValueError on bad input."""
    from .replay import LogError, read_log
    from .replay.script import build
    reads = []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise ValueError(f"{name}: no such file")
        try:
            read = read_log(path, layout=args.layout, perspective=args.perspective,
                            station=args.station, protocol=args.protocol)
        except LogError as e:
            raise ValueError(f"{name}: {e}") from e
        reads.append(read)
    problems = [p for r in reads for p in r.problems]
    if problems and not args.ignore_problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise ValueError(f"{len(problems)} line(s) could not be understood:\n{lines}\n"
                         f"(--ignore-problems replays what could be read)")
    for p in problems:
        _say(f"skipped {p}")
    return reads, build(reads, station=args.station, protocol=args.protocol)


def hub_config(scripts, tags: dict[str, str]):
    """A bundled hub that answers as the recorded CSMS did where that is configuration:
    the recorded heartbeat interval and the id tags with their recorded status."""
    from hub_under_test.hub import HubConfig
    from .replay.seed import recorded_csms
    seen = recorded_csms(scripts, tags)
    config = HubConfig(port=0, api_port=None, tags=seen.tags, rate_limit=0)
    if seen.heartbeat_interval is not None:
        config.heartbeat_interval = seen.heartbeat_interval
    return config


@contextlib.asynccontextmanager
async def _csms(args, scripts, tags):
    if args.csms:
        yield args.csms
        return
    from hub_under_test.hub import Hub
    config = hub_config(scripts, tags)
    soap = any(s.protocol == "ocpp1.5" for s in scripts)
    if soap:                # recorded 1.5 SOAP stations: the hub's CentralSystemService
        config.soap_port = 0
    hub = Hub(config)
    await hub.start()
    _say(f"bundled hub: {hub.url}/{{station_id}}"
         + (f", OCPP 1.5 SOAP {hub.soap_url}" if soap else ""))
    try:
        if soap:
            from .charging_run import CsmsUrls
            yield (CsmsUrls(hub.url, hub.soap_url)
                   if any(s.protocol != "ocpp1.5" for s in scripts) else hub.soap_url)
        else:
            yield hub.url
    finally:
        await hub.stop()


async def run_replay(args) -> int:
    import logging
    from .replay.mapping import StationIds, parse_pairs
    from .replay.replayer import ReplayOptions, replay
    from .replay import report
    from .replay.script import ScriptError
    try:
        id_map = parse_pairs(args.id_map, "--id-map")
        tags = parse_pairs(args.tag_map, "--tag-map")
        if args.speed is not None and args.speed <= 0:
            raise ValueError(f"--speed must be above 0, not {args.speed:g}")
        reads, scripts = load(args)
    except (ValueError, ScriptError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.to_scenario:
        from .replay.to_scenario import write_scenario
        out = write_scenario(scripts, args.to_scenario, source=", ".join(args.files))
        _say(f"wrote {out}")
        return EXIT_OK
    if args.anonymize:
        from .replay.anonymize import write_anonymized
        out, count = write_anonymized(reads, args.anonymize)
        _say(f"wrote {count} frame(s) to {out}")
        return EXIT_OK
    if not args.verbose:
        logging.getLogger("hub_under_test").setLevel(logging.ERROR)
    from .record_cli import recorder_from_args
    recorder = recorder_from_args(args)
    options = ReplayOptions(speed=None if args.fast else args.speed, raw=args.raw,
                            ids=StationIds(id_map, args.id_prefix), tags=tags,
                            shift_times=not args.no_time_shift, call_timeout=args.call_timeout,
                            request_wait=args.request_wait, lenient=args.lenient,
                            timing_tolerance=None if args.timing_tolerance is None
                            else args.timing_tolerance / 1000,
                            taps=[recorder.tap] if recorder else [])
    try:
        async with _csms(args, scripts, tags) as url:
            _say(f"replaying {len(scripts)} station(s) → {url}"
                 + (" (raw)" if args.raw else ""))
            results = await replay(scripts, url, options)
    finally:
        if recorder is not None:
            recorder.close()
    _say()
    _say(report.summary(results, verbose=args.verbose))
    for path, text in ((args.junit, report.junit_xml), (args.json, report.json_report)):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text(results), encoding="utf-8")
    return EXIT_OK if all(r.passed for r in results) else EXIT_DIVERGED
