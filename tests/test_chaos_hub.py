"""The hub-kill chaos run in its short form (loadtests/chaos_hub.py has the long one): the
hub is SIGKILLed under charging stations and started again on its database; the stations
reconnect, their queues deliver, and every transaction message is stored exactly once.
The hub runs with its default write-behind: readings are answered after their COMMIT."""
from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "loadtests"))
import chaos_hub  # noqa: E402


def test_a_killed_hub_loses_and_duplicates_no_transaction_message(capsys):
    assert chaos_hub.main(["--stations", "50"]) == 0
    out = capsys.readouterr().out
    assert "lost 0, duplicated 0, still queued 0; 50/50 reconnected" in out
    sent, start, meter, stop, acked = map(int, re.search(
        r"sent (\d+) \(start (\d+), meter (\d+), stop (\d+)\), acked (\d+)", out).groups())
    assert (start, stop) == (50, 50) and meter > 0 and sent == acked
