"""--raw: the recorded bytes go out as they are, several CALLs in flight as recorded;
without it the frames are re-encoded and validated (the quirky ones are not sent)."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hub_under_test.hub import Hub
from simulator.cli_replay import hub_config
from simulator.replay import read_log
from simulator.replay.replayer import SAME, SKIPPED, ReplayOptions, replay
from simulator.replay.script import build

RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"
QUIRKY = RECORDINGS / "quirky-payloads.jsonl"


def run(raw: bool, hub_taps=None):
    scripts = build([read_log(QUIRKY)])
    seen = []

    async def go():
        async with Hub(hub_config(scripts, {})) as hub:
            results = await replay(scripts, hub.url, ReplayOptions(raw=raw, request_wait=0.1,
                                                                   taps=[seen.append]))
            return results, hub.server.frames.get("QUIRKY-7")
    (result,), hub_frames = asyncio.run(go())
    return scripts[0], result, seen, hub_frames


def test_raw_sends_the_recorded_bytes_and_matches_every_answer():
    script, result, seen, hub_frames = run(raw=True)
    assert [e.status for e in result.exchanges] == [SAME] * 9
    recorded = [e.request.raw for e in script.sent]
    received = [f.raw for f in hub_frames if f.direction == "in" and f.raw]
    assert received == recorded   # whitespace, key order, "1200" as a string, "heartbeat"
    assert recorded[0].startswith('[2, "q1", "BootNotification", {')
    # q4 and q5 were in flight together, as recorded: q5 went out before q4's answer came
    order = [(f.direction, json.loads(f.raw)[1]) for f in seen]
    assert order.index(("out", "q5")) < order.index(("in", "q4"))
    errors = {e.action: e.now.code for e in result.exchanges if e.now.kind == "error"}
    assert errors == {"heartbeat": "NotImplemented", "StartTransaction": "TypeConstraintViolation"}


def test_without_raw_frames_are_re_encoded_and_validated():
    script, result, seen, hub_frames = run(raw=False)
    skipped = {e.line: e.note for e in result.exchanges if e.status == SKIPPED}
    assert sorted(skipped) == [6, 12]
    assert "--raw sends it as is" in skipped[6]
    assert not result.diverged
    received = [f.raw for f in hub_frames if f.direction == "in" and f.raw]
    assert all(" " not in raw.split("{")[0] for raw in received)   # re-encoded, compact
    assert not any('"1200"' in raw or '"heartbeat"' in raw for raw in received)
