"""Locust swarms end to end: Locust (gevent) and the engine thread together, always in a
subprocess (Locust monkey-patches the interpreter; it is never imported here)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from simulator.cli_swarm import _free_port, start_hub

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "simulator" / "swarm" / "locustfile.py"


def hub_counts(api: str) -> dict[str, int]:
    text = urllib.request.urlopen(f"{api}/metrics", timeout=5).read().decode()
    counts = {}
    for action, result, value in re.findall(
            r'^hub_messages_total\{action="(\w+)",result="(\w+)"\} ([\d.]+)$', text, re.M):
        counts[action] = counts.get(action, 0) + int(float(value))
    return counts


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def report(path: Path) -> dict[str, tuple[int, int]]:
    return {e["name"]: (e["num_requests"], e["num_failures"])
            for e in json.loads(path.read_text())}


def test_locust_statistics_match_what_the_hub_saw(tmp_path):
    hub, url, api = start_hub(1)
    try:
        rc = subprocess.call(
            [sys.executable, "-m", "simulator.cli", "swarm", "--csms", url, "--stations", "25",
             "--spawn-rate", "25", "--run-time", "5s", "--profile", "smoke",
             "--report-dir", str(tmp_path)], timeout=90)
        seen = hub_counts(api)
    finally:
        stop(hub)
    assert rc == 0
    stats = report(tmp_path / "swarm.json")
    assert stats["connect"] == stats["boot"] == stats["BootNotification"] == (25, 0)
    assert {"Heartbeat", "StatusNotification", "StartTransaction", "MeterValues"} <= set(stats)
    assert {a: n for a, (n, f) in stats.items() if a[0].isupper()} == seen
    assert all(f == 0 for _, f in stats.values())
    for name in ("swarm_stats.csv", "swarm.html", "swarm_failures.csv"):
        assert (tmp_path / name).exists(), name


def test_the_bridge_survives_a_hub_restart(tmp_path):
    port, api_port = _free_port(), _free_port()
    db = ["--db", str(tmp_path / "hub.sqlite")]     # the hub comes back with its state
    hub, url, api = start_hub(1, db, port=port, api_port=api_port)
    env = dict(os.environ, CHARGESIM_PROFILE="smoke", CHARGESIM_TIME_SCALE="0.5")
    locust = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", url, "--headless",
         "-u", "20", "-r", "20", "-t", "14s", "--only-summary", "--exit-code-on-error", "0",
         "--json-file", str(tmp_path / "run"), "--loglevel", "WARNING"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    second = None
    try:
        time.sleep(4)
        stop(hub)                        # a restart: connections closed under the stations
        time.sleep(1.5)
        second, _, _ = start_hub(1, db, port=port, api_port=api_port)
        out, _ = locust.communicate(timeout=60)
        seen = hub_counts(api)
    finally:
        if locust.poll() is None:
            locust.kill()
        stop(second) if second is not None else None
        stop(hub)
    assert locust.returncode == 0, out
    assert "Traceback" not in out, out
    stats = report(tmp_path / "run.json")
    assert stats["connect"] == (20, 0)
    calls = [a for a in stats if a[0].isupper()]
    lost = sum(stats[a][1] for a in calls)              # calls cut off by the restart only
    assert lost <= 20, stats
    assert stats["reconnect"] == (20, 0)                # every station came back
    assert seen.get("Heartbeat", 0) >= 20               # and carried on with the new hub
    assert stats["Heartbeat"][0] > seen["Heartbeat"]    # requests from before the crash too


def test_smoke_swarm_of_a_few_hundred_stations(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "simulator.cli", "swarm", "--stations", "300", "--spawn-rate",
         "150", "--run-time", "10s", "--profile", "smoke", "--max-fail-ratio", "0",
         "--max-p99-ms", "5000", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "0 failed (0.00%)" in proc.stdout
    stats = report(tmp_path / "swarm.json")
    assert stats["connect"] == stats["boot"] == (300, 0)


def _python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env=dict(os.environ, **env))


def test_the_bridge_lets_other_greenlets_in_while_it_drains():
    """Records posted faster than they drain do not hold the gevent hub: Locust's heartbeat
    greenlet runs between them (the drain yields by time, whatever one callback carries)."""
    done = _python("""
import gevent, time
from simulator.swarm.gevent_bridge import Mailbox
box, order = Mailbox(), []
def ticker():
    while True:
        if not order or order[-1] != "tick":
            order.append("tick")
        gevent.sleep(0)
def slow(i):
    time.sleep(0.002); order.append(i)
t = gevent.spawn(ticker)
for i in range(50):
    box.post(slow, i)
for _ in range(1000):          # until the last callback ran (a loaded machine is slow)
    if 49 in order:
        break
    gevent.sleep(0.01)
t.kill()
print(order.index(49) == len(order) - 2 or order.index(49) == len(order) - 1,
      "tick" in order[order.index(0):order.index(49)])
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True True"     # all drained, the ticker ran in between


def test_worker_liveness_is_set_from_the_environment():
    code = ("import simulator.swarm.locust_user, locust.runners as r; "
            "print(r.HEARTBEAT_LIVENESS)")
    assert _python(code).stdout.strip() == "30"                       # the default
    assert _python(code, CHARGESIM_WORKER_LIVENESS="45").stdout.strip() == "45"
    bad = _python(code, CHARGESIM_WORKER_LIVENESS="soon")
    assert bad.returncode != 0 and "CHARGESIM_WORKER_LIVENESS='soon'" in bad.stderr


def test_a_user_stopped_before_the_engine_made_its_station_leaves_none_running():
    """Under load the engine may get to a user's start long after the user asked.  A user
    stopped meanwhile must not leave a station behind (nor die of a timeout, which makes
    Locust spawn a replacement: two stations for one user, an ever-growing swarm)."""
    done = _python("""
import gevent.monkey; gevent.monkey.patch_all()
import time, gevent
from locust.env import Environment
from simulator.swarm.fleet import Fleet
from simulator.swarm.gevent_bridge import EngineClient
from simulator.swarm.locust_user import StationUser

class U(StationUser):
    host = "ws://127.0.0.1:9/ocpp"
env = Environment(user_classes=[U], host=U.host)
client = EngineClient.shared()
async def busy():
    time.sleep(1.0)                 # the engine thread is held up: the start waits its turn
client.engine.submit(busy)
user = U(env)
g = gevent.spawn(user.run)      # on_start, then the tasks, as Locust runs a user
gevent.sleep(0.2)
g.kill()                            # Locust stops the user while its start is queued
async def count():
    return len(Fleet.stations)
print(client.run(count, timeout=30), user.swarm)
""")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["0", "None"]


def test_a_worker_parses_locusts_default_options_once_not_per_spawn_message_option():
    """Locust rebuilds its argument parser for each option of each spawn message; during a
    ramp that kept a worker's gevent thread busy past the master's heartbeat liveness."""
    done = _python("""
import simulator.swarm.locust_user
from locust import argument_parser
first = argument_parser.default_args_dict()
print(first is argument_parser.default_args_dict(), first == argument_parser.default_args_dict.__wrapped__())
""")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "True"]
