"""The swarm's statistics without Locust: the probe on the frame tap and station events,
and swarm stations against the in-process hub (no gevent in this process)."""
from __future__ import annotations

import asyncio

import pytest

from ocpp_lib_csms import FAST
from simulator.cli_swarm import check, percentile, summarize
from simulator.session import Frame
from simulator.swarm.fleet import Fleet, SwarmStation
from simulator.swarm.profiles import PROFILES, Profile, profile
from simulator.swarm.stats import (CallErrorAnswer, ConnectionLost, NoReply, SchemaViolation,
                                   StationProbe)
from simulator.dialects import make_station
from tests.hub_helpers import running_hub


def frame(direction, raw):
    return Frame(0.0, "P-1", direction, "ocpp1.6", raw)


def probe():
    records = []
    st = make_station("P-1", "ws://127.0.0.1:1/ocpp")
    return StationProbe(st, records.append, call_timeout=5), records


def test_a_result_is_a_request_and_checked_against_the_schema():
    p, records = probe()
    p.frame(frame("out", '[2,"a1","Heartbeat",{}]'))
    p.frame(frame("in", '[3,"a1",{"currentTime":"2026-12-04T03:00:00Z"}]'))
    p.frame(frame("out", '[2,"a2","Heartbeat",{}]'))
    p.frame(frame("in", '[3,"a2",{"currentTime":42}]'))
    assert [(r.request_type, r.name) for r in records] == [("ocpp1.6", "Heartbeat")] * 2
    assert records[0].exception is None and records[0].response_length > 0
    assert isinstance(records[1].exception, SchemaViolation)
    assert "currentTime" in str(records[1].exception)
    assert p.pending == {}


def test_callerror_timeout_and_lost_connection_are_failures():
    p, records = probe()
    p.frame(frame("out", '[2,"b1","Authorize",{"idTag":"T"}]'))
    p.frame(frame("in", '[4,"b1","InternalError","boom",{}]'))
    p.frame(frame("out", '[2,"b2","Heartbeat",{}]'))
    sent = p.pending["b2"][1]
    p.sweep(sent + 4)                 # not yet
    assert len(records) == 1
    p.sweep(sent + 6)
    p.frame(frame("in", '[3,"b2",{"currentTime":"2026-12-04T03:00:00Z"}]'))  # late: dropped
    p.frame(frame("out", '[2,"b3","Heartbeat",{}]'))
    p.fail_pending(ConnectionLost)
    kinds = [(r.name, type(r.exception)) for r in records]
    assert kinds == [("Authorize", CallErrorAnswer), ("Heartbeat", NoReply),
                     ("Heartbeat", ConnectionLost)]
    assert "CALLERROR InternalError: boom" in str(records[0].exception)


def test_inbound_calls_and_our_answers_are_not_requests():
    p, records = probe()
    p.frame(frame("in", '[2,"c1","Reset",{"type":"Soft"}]'))
    p.frame(frame("out", '[3,"c1",{"status":"Accepted"}]'))
    assert records == [] and p.pending == {}


def test_profiles_are_checked():
    assert profile("smoke").heartbeat_interval == 1
    with pytest.raises(ValueError, match="unknown profile 'nope' \\(known: steady"):
        profile("nope")
    with pytest.raises(ValueError, match="idle_share must be between 0 and 1"):
        Profile("x", idle_share=2)
    assert PROFILES["steady"].replace(time_scale=0.5).time_scale == 0.5


async def test_swarm_stations_report_what_the_hub_saw():
    records = []
    fast = PROFILES["smoke"].replace(time_scale=0.2, idle_share=0.0)
    async with running_hub(heartbeat_interval=1, accept_unknown_tags=True,
                           allow_concurrent_tags=True, rate_limit=None) as hub:
        url = hub.url
        stations = [SwarmStation(n, f"SW-{n}", url, fast, records.append) for n in range(1, 6)]
        await asyncio.gather(*(s.start(timeout=10) for s in stations))
        lives = [asyncio.ensure_future(s.live()) for s in stations]
        await asyncio.sleep(1.5)
        await Fleet.stop_all()
        await asyncio.gather(*lives, return_exceptions=True)
        seen = {}
        for r in records:
            assert r.exception is None, r
            seen[r.name] = seen.get(r.name, 0) + 1
        assert seen["connect"] == seen["boot"] == seen["BootNotification"] == 5
        assert seen.get("StartTransaction", 0) >= 1
        hub_counts = {a: int(hub.metrics.messages.value(action=a, result="ok"))
                      for a in seen if a[0].isupper()}
        assert hub_counts == {a: n for a, n in seen.items() if a[0].isupper()}


async def test_a_swarm_station_keeps_a_short_event_history():
    """A swarm runs for hours at a heartbeat every few seconds: with the default ring of 200
    events, each station grew by ≈ 34 KiB of history nobody reads."""
    st = SwarmStation(1, "SW-1", "ws://127.0.0.1:1/ocpp", PROFILES["steady"], lambda r: None)
    for _ in range(300):
        st.station.events.emit("heartbeat", "Heartbeat")
    assert 0 < len(st.station.events.recent) <= 16
    assert st.station.events.recent[-1].kind == "heartbeat"


def test_summary_and_thresholds():
    stats = [
        {"name": "connect", "num_requests": 10, "num_failures": 0, "start_time": 0,
         "last_request_timestamp": 10, "response_times": {"900": 10}},
        {"name": "Heartbeat", "num_requests": 100, "num_failures": 1, "start_time": 0,
         "last_request_timestamp": 10, "response_times": {"1": 98, "20": 1, "80": 1}},
    ]
    s = summarize(stats)
    assert (s["requests"], s["failures"], s["round_trips"]) == (110, 1, 100)
    assert s["p50_ms"] == 1 and s["p99_ms"] == 20   # connect times stay out of the latency
    assert s["round_trips_per_s"] == 10
    assert check(s, 0.01, 50) == []
    assert check(s, 0.0, 10) == ["fail ratio 0.0091 above 0 (1 of 110)",
                                 "p99 20 ms above 10 ms"]
    assert percentile({}, 0.99) == 0.0
