"""A Locust swarm against the bundled hub, measured: stations held, round trips per second,
p50 / p99, CPU per message on the simulator side, memory per station and per hub connection.

    python loadtests/bench_swarm.py --stations 5000 --spawn-rate 250 --run-time 2m \
        --processes 2 --profile steady --heartbeat-interval 10

The hub runs in its own process (pass hub options with --hub-arg, e.g. --hub-arg=--workers=4
once the hub has workers); Locust runs with --processes.  Memory is sampled (RSS) once the
fleet is up, CPU from the processes' own accounting.  Prints one Markdown table row.
`BENCH_LOCUST_LOGLEVEL=INFO` shows Locust's own log (workers counted missing, spawning).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.cli_swarm import start_hub, summarize  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return out


def rss(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE
        except OSError:
            pass
    return total


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def steady_cpu(history: Path, track: list[tuple[float, float]], started: float, *,
               ramp_end: float, end: float) -> float | None:
    """CPU µs per message once the fleet is up: Locust's cumulative request count (the
    history CSV, Aggregated rows) against the sampled CPU, from the end of the ramp to
    just before the end of the run."""
    import csv
    rows = []
    if not history.exists():
        return None
    with history.open() as f:
        for row in csv.DictReader(f):
            if row["Name"] == "Aggregated":
                rows.append((float(row["Timestamp"]), int(row["Total Request Count"]),
                             row.get("99%")))
    window = [(t, n) for t, n, _ in rows if ramp_end <= t <= end]
    if len(window) < 2 or len(track) < 2:
        return None
    (t1, n1), (t2, n2) = window[0], window[-1]

    def cpu_at(t):
        return min(track, key=lambda x: abs(x[0] - t))[1]
    messages = 2 * (n2 - n1)
    return round((cpu_at(t2) - cpu_at(t1)) / messages * 1e6, 1) if messages > 0 else None


def steady_window(history: Path, *, ramp_end: float, end: float) -> tuple[float | None, float | None]:
    """Once the fleet is up: (requests per second, the worst p99 Locust reported).  Each
    history row's "99%" is over the last few seconds' requests, so the largest of them
    bounds every window's p99."""
    import csv
    if not history.exists():
        return None, None
    worst, counts = None, []
    with history.open() as f:
        for row in csv.DictReader(f):
            if row["Name"] != "Aggregated" or not ramp_end <= float(row["Timestamp"]) <= end:
                continue
            counts.append((float(row["Timestamp"]), int(row["Total Request Count"])))
            try:
                p99 = float(row["99%"])
            except (KeyError, ValueError):   # "N/A" before the first request
                continue
            worst = p99 if worst is None else max(worst, p99)
    rate = None
    if len(counts) >= 2 and counts[-1][0] > counts[0][0]:
        rate = (counts[-1][1] - counts[0][1]) / (counts[-1][0] - counts[0][0])
    return rate, worst


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stations", type=int, default=2000)
    p.add_argument("--spawn-rate", type=float, default=200)
    p.add_argument("--run-time", default="60s")
    p.add_argument("--processes", type=int, default=None)
    p.add_argument("--profile", default="steady")
    p.add_argument("--heartbeat-interval", type=int, default=None,
                   help="for the hub (default: the profile's)")
    p.add_argument("--hub-arg", action="append", default=[])
    p.add_argument("--source-addresses", metavar="LIST", default=None,
                   help="local IPs the stations connect from, e.g. 127.0.0.1-4 (one source "
                        "address reaches about 28,000 connections to one destination)")
    p.add_argument("--sample-at", type=float, default=0.8,
                   help="share of the run time at which memory is sampled")
    a = p.parse_args()
    from simulator.swarm.profiles import profile
    chosen = profile(a.profile)
    seconds = float(a.run_time.rstrip("s")) if a.run_time.endswith("s") else (
        float(a.run_time.rstrip("m")) * 60)
    hub, url, _api = start_hub(a.heartbeat_interval or chosen.heartbeat_interval, a.hub_arg)
    time.sleep(1.0)                       # hub workers (--hub-arg=--workers=N) are up
    hub_rss0 = rss(descendants(hub.pid))
    report = Path(tempfile.mkdtemp(prefix="bench-swarm-"))
    cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "simulator/swarm/locustfile.py"),
           "--host", url, "--headless", "-u", str(a.stations), "-r", str(a.spawn_rate),
           "-t", a.run_time, "--only-summary", "--json-file", str(report / "swarm"),
           "--exit-code-on-error", "0", "--loglevel", os.environ.get("BENCH_LOCUST_LOGLEVEL", "WARNING"),
           "--csv", str(report / "swarm"), "--csv-full-history"]
    if a.processes:
        cmd += ["--processes", str(a.processes)]
    env = dict(os.environ, CHARGESIM_PROFILE=chosen.name)
    if a.source_addresses:
        env["CHARGESIM_SOURCE_ADDRESSES"] = a.source_addresses
    started = time.time()
    locust = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    sample: dict = {}
    cpu_seen: dict[int, float] = {}   # last CPU time seen per Locust process (workers too)
    cpu_track: list[tuple[float, float]] = []   # (time, CPU of all Locust processes)

    def take_samples():
        sample_at = started + seconds * a.sample_at
        while locust.poll() is None:
            for pid in descendants(locust.pid):
                try:
                    cpu_seen[pid] = cpu_seconds(pid)
                except (OSError, IndexError, ValueError):
                    pass
            cpu_track.append((time.time(), sum(cpu_seen.values())))
            if "locust_rss" not in sample and time.time() >= sample_at:
                sample["locust_rss"] = rss(descendants(locust.pid))
                sample["hub_rss"] = rss(descendants(hub.pid))
            time.sleep(0.2)
    sampler = threading.Thread(target=take_samples, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(locust.pid, 0)
    locust.returncode = os.waitstatus_to_exitcode(status)
    sampler.join(1)
    hub_cpu = sum(cpu_seconds(p) for p in descendants(hub.pid) if Path(f"/proc/{p}").exists())
    hub.send_signal(signal.SIGINT)
    try:
        hub.wait(120)          # tens of thousands of connections take a while to close
    except subprocess.TimeoutExpired:
        print("bench_swarm: the hub did not stop within 120 s; killed", file=sys.stderr)
        hub.kill()
        hub.wait()
    stats = json.loads((report / "swarm.json").read_text())
    steady = steady_cpu(report / "swarm_stats_history.csv", cpu_track, started,
                        ramp_end=started + a.stations / a.spawn_rate + 5,
                        end=started + seconds - 2)
    rate_steady, p99_steady = steady_window(report / "swarm_stats_history.csv",
                                            ramp_end=started + a.stations / a.spawn_rate + 5,
                                            end=started + seconds - 2)
    s = summarize(stats)
    held = next((e["num_requests"] - e["num_failures"] for e in stats if e["name"] == "boot"), 0)
    # Locust master + forked workers (sampled up to 0.2 s before each ended)
    sim_cpu = max(sum(cpu_seen.values()), usage.ru_utime + usage.ru_stime)
    messages = s["round_trips"] * 2                  # each round trip: a CALL and its reply
    result = {
        "stations": a.stations, "held": held, "processes": a.processes or 1,
        "requests": s["requests"], "failures": s["failures"],
        "round_trips_per_s": round(s["round_trips_per_s"]),
        "p50_ms": s["p50_ms"], "p99_ms": s["p99_ms"],
        "sim_cpu_us_per_message": round(sim_cpu / messages * 1e6, 1) if messages else None,
        "steady_cpu_us_per_message": steady,
        "steady_requests_per_s": round(rate_steady) if rate_steady else None,
        "steady_messages_per_minute": round(rate_steady * 2 * 60) if rate_steady else None,
        "steady_p99_ms_worst_window": p99_steady,
        "hub_cpu_s": round(hub_cpu, 1),
        "locust_kib_per_station": round(sample.get("locust_rss", 0) / max(held, 1) / 1024, 1),
        "hub_kib_per_connection": round((sample.get("hub_rss", 0) - hub_rss0)
                                        / max(held, 1) / 1024, 1),
        "wall_s": round(time.time() - started, 1),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}",
        "load_before": os.getloadavg()[0],
    }
    print(json.dumps(result, indent=2))
    print(f"| {time.strftime('%Y-%m-%d')} | {a.stations} ({held} held) | {a.processes or 1} | "
          f"{a.profile} | {result['round_trips_per_s']} | {s['p50_ms']:g} / {s['p99_ms']:g} | "
          f"{s['failures']} | {result['sim_cpu_us_per_message']} ({steady} steady) | "
          f"{result['locust_kib_per_station']} | {result['hub_kib_per_connection']} |")
    return 0 if locust.returncode == 0 else locust.returncode


if __name__ == "__main__":
    sys.exit(main())
