"""A short run of the throughput benchmark, so the script keeps working (no timing asserted)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "loadtests"))

import bench_throughput  # noqa: E402


def test_benchmark_runs_our_pair():
    rate = bench_throughput.bench_ours(stations=3, seconds=0.5)
    assert rate > 0
