"""`chargesim swarm`: a Locust swarm of engine stations, with the bundled hub when no CSMS
is given, reports written and thresholds checked (docs/swarm.md).

Locust runs in its own process (it monkey-patches the interpreter with gevent); this
module only builds its command line, starts the bundled hub in a subprocess, and reads the
reports afterwards.  Options after `--` go to Locust unchanged.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BOOKKEEPING = {"connect", "boot", "reconnect"}   # entries that are not OCPP round trips


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("swarm", help="a Locust swarm of stations (headless or web UI), "
                                     "reports and thresholds",
                       description="Run a Locust swarm of chargesim stations. Options after "
                                   "`--` are passed to Locust unchanged.")
    p.add_argument("--stations", type=int, default=100, metavar="N", help="stations (users)")
    p.add_argument("--spawn-rate", type=float, default=50.0, metavar="R",
                   help="stations started per second (default 50)")
    p.add_argument("--run-time", default="1m", metavar="T",
                   help="how long to run, Locust style: 30s, 5m, 1h (default 1m)")
    p.add_argument("--csms", metavar="URL", help="CSMS endpoint; each station appends its id "
                                                  "(default: the bundled hub in a subprocess)")
    p.add_argument("--profile", default="steady",
                   help="behaviour profile (steady, morning-peak, reconnect-storm, "
                        "rolling-reboot, surge, smoke)")
    p.add_argument("--time-scale", type=float, default=None, metavar="X",
                   help="run every duration and interval of the profile X times as long "
                        "(< 1: faster)")
    p.add_argument("--locustfile", metavar="PATH",
                   help="your own locustfile (e.g. loadtests/locustfiles/morning_peak.py); "
                        "default: one StationUser with --profile")
    p.add_argument("--processes", type=int, default=None, metavar="P",
                   help="Locust processes (master + workers, forked); -1: one per core")
    p.add_argument("--web", action="store_true",
                   help="open Locust's web UI instead of running headless")
    p.add_argument("--report-dir", default="swarm-report", metavar="DIR",
                   help="where the CSV / HTML / JSON reports go (default swarm-report/)")
    p.add_argument("--max-fail-ratio", type=float, default=0.0, metavar="X",
                   help="fail (exit 1) when more than this share of requests failed "
                        "(default 0: any failure fails the run)")
    p.add_argument("--max-p99-ms", type=float, default=None, metavar="MS",
                   help="fail (exit 1) when the p99 of the OCPP round trips is above this")
    p.add_argument("--source-addresses", metavar="LIST",
                   help="local IPs the stations connect from, in turn, e.g. 127.0.0.1-4 "
                        "(one address reaches about 28,000 connections to one hub address)")
    p.add_argument("--hub-arg", action="append", default=[], metavar="ARG",
                   help="extra option for the bundled hub (repeatable), e.g. --hub-arg=--workers=2")
    p.add_argument("locust_args", nargs=argparse.REMAINDER,
                   help="-- then Locust options, passed through")
    return p


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the bundled hub exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the bundled hub did not listen on port {port} within {timeout:g}s")


def start_hub(heartbeat_interval: int, extra: list[str] = (), *, port: int | None = None,
              api_port: int | None = None) -> tuple[subprocess.Popen, str, str]:
    """The bundled hub in a subprocess, set for a load test; returns (process, url, api)."""
    port, api_port = port or _free_port(), api_port or _free_port()
    cmd = [sys.executable, "-m", "hub_under_test", "--port", str(port),
           "--api-port", str(api_port), "--heartbeat-interval", str(heartbeat_interval),
           "--accept-unknown-tags", "--allow-concurrent-tags", "--rate-limit", "0",
           "--max-connections-per-source", "0", "--log-level", "WARNING", *extra]
    proc = subprocess.Popen(cmd)
    try:
        _wait_for_port(port, proc)
    except BaseException:
        proc.terminate()
        proc.wait(10)
        raise
    return proc, f"ws://127.0.0.1:{port}/ocpp", f"http://127.0.0.1:{api_port}"


def locust_command(a, host: str, report: Path) -> list[str]:
    locustfile = a.locustfile or str(Path(__file__).parent / "swarm" / "locustfile.py")
    cmd = [sys.executable, "-m", "locust", "-f", locustfile, "--host", host,
           "-u", str(a.stations), "-r", str(a.spawn_rate)]
    if not a.web:
        cmd += ["--headless", "-t", a.run_time, "--only-summary",
                "--csv", str(report / "swarm"), "--html", str(report / "swarm.html"),
                "--json-file", str(report / "swarm"), "--exit-code-on-error", "0"]
    if a.processes is not None:
        cmd += ["--processes", str(a.processes)]
    extra = list(a.locust_args)
    if extra and extra[0] == "--":
        extra = extra[1:]
    return cmd + extra


def load_stats(report: Path) -> list[dict]:
    path = report / "swarm.json"
    if not path.exists():
        raise RuntimeError(f"Locust wrote no JSON report ({path})")
    return json.loads(path.read_text())


def percentile(histogram: dict[str, int], q: float) -> float:
    """The q-quantile of a Locust response_times histogram {rounded ms: count}."""
    items = sorted((float(k), v) for k, v in histogram.items())
    total = sum(v for _, v in items)
    if total == 0:
        return 0.0
    rank, seen = q * total, 0
    for value, count in items:
        seen += count
        if seen >= rank:
            return value
    return items[-1][0]


def summarize(stats: list[dict]) -> dict:
    """Requests, failures and p50 / p99 over the OCPP round trips (connect / boot /
    reconnect counted in requests and failures, not in the latency)."""
    requests = sum(e["num_requests"] for e in stats)
    failures = sum(e["num_failures"] for e in stats)
    merged: dict[str, int] = {}
    round_trips = 0
    for e in stats:
        if e["name"] in BOOKKEEPING:
            continue
        round_trips += e["num_requests"]
        for k, v in e["response_times"].items():
            merged[k] = merged.get(k, 0) + v
    starts = [e["start_time"] for e in stats if e["num_requests"]]
    ends = [e["last_request_timestamp"] for e in stats if e.get("last_request_timestamp")]
    seconds = (max(ends) - min(starts)) if starts and ends else 0.0
    return {"requests": requests, "failures": failures, "round_trips": round_trips,
            "fail_ratio": failures / requests if requests else 0.0,
            "p50_ms": percentile(merged, 0.50), "p99_ms": percentile(merged, 0.99),
            "round_trips_per_s": round_trips / seconds if seconds > 0 else 0.0}


def check(summary: dict, max_fail_ratio: float, max_p99_ms: float | None) -> list[str]:
    problems = []
    if summary["requests"] == 0:
        problems.append("no requests at all")
    if summary["fail_ratio"] > max_fail_ratio:
        problems.append(f"fail ratio {summary['fail_ratio']:.4f} above {max_fail_ratio:g} "
                        f"({summary['failures']} of {summary['requests']})")
    if max_p99_ms is not None and summary["p99_ms"] > max_p99_ms:
        problems.append(f"p99 {summary['p99_ms']:g} ms above {max_p99_ms:g} ms")
    return problems


def run(a) -> int:
    from .swarm.profiles import profile
    try:
        chosen = profile(a.profile)
    except ValueError as e:
        print(f"chargesim swarm: error: {e}", file=sys.stderr)
        return 2
    if a.stations < 1 or a.spawn_rate <= 0:
        print("chargesim swarm: error: --stations must be at least 1 and --spawn-rate "
              "positive", file=sys.stderr)
        return 2
    if a.time_scale is not None and a.time_scale <= 0:
        print("chargesim swarm: error: --time-scale must be positive", file=sys.stderr)
        return 2
    if a.source_addresses:
        from .swarm.profiles import parse_source_addresses
        try:
            parse_source_addresses(a.source_addresses)
        except ValueError as e:
            print(f"chargesim swarm: error: --source-addresses: {e}", file=sys.stderr)
            return 2
    report = Path(a.report_dir)
    report.mkdir(parents=True, exist_ok=True)
    hub = None
    host = a.csms
    if host is None:
        try:
            hub, host, api = start_hub(chosen.heartbeat_interval, a.hub_arg)
        except RuntimeError as e:
            print(f"chargesim swarm: error: {e}", file=sys.stderr)
            return 1
        print(f"bundled hub: {host}/{{station_id}}  (API {api})", flush=True)
    env = dict(os.environ, CHARGESIM_PROFILE=chosen.name)
    if a.time_scale is not None:
        env["CHARGESIM_TIME_SCALE"] = str(a.time_scale)
    if a.source_addresses:
        env["CHARGESIM_SOURCE_ADDRESSES"] = a.source_addresses
    try:
        rc = subprocess.call(locust_command(a, host, report), env=env)
    except KeyboardInterrupt:
        rc = 130
    finally:
        if hub is not None:
            hub.send_signal(signal.SIGINT)
            try:
                hub.wait(15)
            except subprocess.TimeoutExpired:
                hub.kill()
                hub.wait()
    if a.web or rc != 0:
        return rc
    try:
        summary = summarize(load_stats(report))
    except (RuntimeError, ValueError, KeyError) as e:
        print(f"chargesim swarm: error: {e}", file=sys.stderr)
        return 1
    print(f"\n{summary['requests']} requests, {summary['failures']} failed "
          f"({summary['fail_ratio']:.2%}); OCPP round trips {summary['round_trips']} "
          f"({summary['round_trips_per_s']:.0f}/s), p50 {summary['p50_ms']:g} ms, "
          f"p99 {summary['p99_ms']:g} ms; reports in {report}/")
    problems = check(summary, a.max_fail_ratio, a.max_p99_ms)
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0
