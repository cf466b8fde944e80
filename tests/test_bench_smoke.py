"""A short run of the throughput benchmark, so the script keeps working (no timing asserted)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "loadtests"))

import bench_throughput  # noqa: E402


def test_benchmark_runs_our_pair():
    rate = bench_throughput.bench_ours(stations=3, seconds=0.5)
    assert rate > 0


def test_benchmark_runs_our_charging_mix(tmp_path):
    """The charging mix end to end: every meter sample it sent is in the hub's file."""
    rate, rows = bench_throughput.bench_ours_charging(stations=2, seconds=0.5,
                                                      db=str(tmp_path / "hub.db"))
    assert rate > 0 and rows > 0


def test_idle_benchmark_reports_positive_figures():
    """bench_idle end to end with 20 stations: each side reports memory and tasks per
    station (only that they are there and positive: no memory threshold here)."""
    import json
    import subprocess

    import bench_idle
    peer = [] if bench_idle.DEFAULT_PEER.exists() else ["--no-peer"]
    out = subprocess.run([sys.executable, bench_idle.__file__, "--stations", "20", "--warmup", "5",
                          "--settle", "0.5", "--tracemalloc", "5", "--timeout", "60", *peer],
                         capture_output=True, text=True, timeout=150)
    assert out.returncode == 0, out.stderr
    last = out.stdout.splitlines()[-1]
    assert last.startswith("BENCH_IDLE "), out.stdout
    sides = json.loads(last.removeprefix("BENCH_IDLE "))
    assert set(sides) == {"ours"} | ({"lib"} if not peer else set())
    for side in sides.values():
        assert side["stations"] == 20
        for figure in ("station_rss_kib", "station_tasks", "station_traced_kib", "hub_rss_kib"):
            assert side[figure] > 0, (figure, side)


def test_hub_alone_fast_client_against_our_hub(tmp_path):
    """--hub-alone's client on the charging mix: every CALL answered by its CALLRESULT (the
    client raises otherwise), every sample in the file, the hub's CPU accounted."""
    import sqlite3
    port = bench_throughput.free_port()
    db = str(tmp_path / "alone.db")

    def client(url, n, secs):
        return bench_throughput._fast_client(url, n, secs, "charging")
    rate = bench_throughput._measure(
        [sys.executable, "-m", "hub_under_test", "--port", str(port), "--api-port", "0",
         "--rate-limit", "0", "--log-level", "WARNING", "--accept-unknown-tags", "--db", db],
        port, client, f"ws://127.0.0.1:{port}/ocpp", 2, 0.5)
    calls = round(rate * 0.5)
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT count(*) FROM meter_values").fetchone()[0]
    # ten samples a MeterValues, nine MeterValues in ten calls
    assert calls > 0 and rows > 0 and rows % 10 == 0 and rows <= 10 * calls
    assert bench_throughput.LAST_CPU["hub"] > 0 and bench_throughput.LAST_CPU["stations"] > 0


def test_floor_benchmark_runs_its_three_runs():
    """bench_floor end to end with 40 connections: the three runs report their round trips
    and positive CPU figures (no threshold), and our stations sent their Heartbeats."""
    import json
    import subprocess

    import bench_floor
    out = subprocess.run([sys.executable, bench_floor.__file__, "--connections", "40",
                          "--rate", "20", "--seconds", "4", "--ramp", "200"],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    last = out.stdout.splitlines()[-1]
    assert last.startswith("BENCH_FLOOR "), out.stdout
    runs = json.loads(last.removeprefix("BENCH_FLOOR "))
    assert len(runs) == 3
    for name, r in runs.items():
        assert r["failed"] == 0, name
        assert r["round_trips"] > 0 and r["client_us"] > 0, (name, r)
    stations = runs["chargesim stations -> bare responder"]
    assert stations["boots"] == 0          # nobody reconnected inside the window
    assert stations["round_trips"] >= 40   # each station beats at least once in 4 s (2 s interval)
