"""The power-cycle chaos run in its short form (loadtests/chaos_power.py has the long one):
stations lose the network and then power mid-transaction, come back from their journal, and
every queued message reaches the hub once, in order."""
from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "loadtests"))
import chaos_power  # noqa: E402


def test_power_cycles_lose_and_duplicate_nothing(capsys):
    assert chaos_power.main(["--stations", "3", "--cycles", "2", "--samples", "3"]) == 0
    out = capsys.readouterr().out
    assert "lost 0, duplicated 0, out of order 0, still queued 0" in out
    sent, acked = re.search(r"sent (\d+), acked (\d+)", out).groups()
    assert int(sent) >= 3 * 2 * 4 and sent == acked   # start, 3 samples, stop per cycle
