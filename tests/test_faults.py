"""Fault injection at the transport (simulator/transport/faults.py): each fault on an
in-memory pipe, the plan's checks, the seed, the template's `faults:` block, and a station
with faults against our hub."""
from __future__ import annotations

import asyncio
import logging

import orjson
import pytest

from simulator.dialects import make_station
from simulator.protocol import V16, OcppError, validate
from simulator.session import CallErrorReceived
from simulator.station import StationOptions
from simulator.templates.loader import StationTemplateError, load_template
from simulator.transport.faults import FaultPlan, FaultyConnection, wrap
from simulator.transport.memory import pipe
from tests.hub_helpers import Api, running_hub, wait_for

FAST = dict(interval_scale=0.01, boot_retry_min=0.01, reconnect_min=0.05, reconnect_max=0.2,
            call_timeout=5)
STATUS = [2, "s1", "StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                           "status": "Available",
                                           "timestamp": "2026-01-02T03:04:05.000Z"}]


@pytest.fixture(autouse=True)
def _hub_logs_reach_caplog(monkeypatch):
    """The hub's log reaches caplog even after a driver test routed it elsewhere
    (simulator.run_options.configure_hub_log turns its propagation off for the process)."""
    monkeypatch.setattr(logging.getLogger("hub_under_test"), "propagate", True)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def faulty(config: dict, **kw) -> tuple[FaultyConnection, object]:
    """A faulty station end and the plain far end of a memory pipe."""
    station_end, far_end = pipe()
    return FaultyConnection(station_end, FaultPlan.from_config(config), name="F-1", **kw), far_end


def received(far_end) -> list:
    out = []
    while not far_end._inbox.empty():
        item = far_end._inbox.get_nowait()
        if item is not None:
            out.append(orjson.loads(item))
    return out


def frame(i: int) -> str:
    return orjson.dumps([2, f"id-{i}", "Heartbeat", {}]).decode()


# -- each fault on a pipe -------------------------------------------------------------------

async def test_drop_out_drops_every_frame_at_probability_one_and_none_at_zero():
    conn, far = faulty({"drop": {"out": 1}})
    for i in range(5):
        await conn.send(frame(i))
    assert received(far) == [] and conn.stats["dropped out"] == 5
    conn, far = faulty({"drop": 0})
    for i in range(5):
        await conn.send(frame(i))
    assert [f[1] for f in received(far)] == [f"id-{i}" for i in range(5)]


async def test_drop_in_hides_frames_from_the_session():
    conn, far = faulty({"drop": {"in": 1}})
    await far.send(frame(1))
    await far.close()
    assert [raw async for raw in conn] == []
    assert conn.stats["dropped in"] == 1


async def test_duplicate_sends_and_delivers_each_frame_twice():
    conn, far = faulty({"duplicate": 1})
    await conn.send(frame(1))
    assert [f[1] for f in received(far)] == ["id-1", "id-1"]
    await far.send(frame(2))
    await far.close()
    assert [orjson.loads(raw)[1] async for raw in conn] == ["id-2", "id-2"]
    assert conn.stats["duplicated out"] == conn.stats["duplicated in"] == 1


async def test_delay_waits_a_seeded_time_before_each_frame_and_keeps_the_order():
    waits: list[float] = []

    async def sleep(seconds):
        waits.append(seconds)

    conn, far = faulty({"delay": [0.1, 0.3], "seed": 3}, sleep=sleep)
    for i in range(20):
        await conn.send(frame(i))
    assert [f[1] for f in received(far)] == [f"id-{i}" for i in range(20)]
    assert len(waits) == 20 and all(0.1 <= w <= 0.3 for w in waits) and len(set(waits)) > 1
    again: list[float] = []

    async def sleep2(seconds):
        again.append(seconds)

    conn, far = faulty({"delay": [0.1, 0.3], "seed": 3}, sleep=sleep2)
    for i in range(20):
        await conn.send(frame(i))
    assert again == waits   # the same seed and station: the same delays


async def test_corrupt_frames_break_the_schema():
    conn, far = faulty({"corrupt": 1, "seed": 1})
    for i in range(30):
        await conn.send(orjson.dumps([*STATUS[:1], f"s{i}", *STATUS[2:]]).decode())
    frames = received(far)
    assert len(frames) == 30 and conn.stats["corrupted"] == 30
    for f in frames:
        with pytest.raises(OcppError):
            validate(V16, "StatusNotification", "request", f[3])


async def test_clock_skew_shifts_every_timestamp_sent():
    conn, far = faulty({"clock_skew": -300})
    await conn.send(orjson.dumps(STATUS).decode())
    await conn.send(orjson.dumps([3, "x", {"currentTime": "2026-01-02T03:04:05+01:00"}]).decode())
    status, result = received(far)
    assert status[3]["timestamp"] == "2026-01-02T02:59:05.000Z"
    assert result[2]["currentTime"] == "2026-01-02T02:59:05.000+01:00"
    assert status[3]["status"] == "Available"   # nothing else changes


async def test_silent_after_reads_but_sends_nothing():
    clock = Clock()
    conn, far = faulty({"silent_after": 10}, clock=clock)
    await conn.send(frame(1))
    clock.now = 10
    await conn.send(frame(2))
    await far.send(frame(3))
    await far.close()
    assert [orjson.loads(raw)[1] async for raw in conn] == ["id-3"]   # still reading
    assert [f[1] for f in received(far)] == ["id-1"]
    assert conn.stats["silent"] == 1


async def test_start_and_stop_bound_the_random_faults():
    clock = Clock()
    conn, far = faulty({"drop": 1, "start": 5, "stop": 8}, clock=clock)
    sent = []
    for t in range(10):
        clock.now = t
        await conn.send(frame(t))
        sent.append(t)
    assert [f[1] for f in received(far)] == [f"id-{t}" for t in (0, 1, 2, 3, 4, 8, 9)]


async def test_close_at_random_cuts_the_connection():
    conn, far = faulty({"close": 1})
    await conn.send(frame(1))
    assert conn.stats["closed"] == 1
    assert far.closed   # the memory pipe has no transport to abort: closed at once


async def test_close_after_closes_on_schedule():
    station_end, far = pipe()
    conn = FaultyConnection(station_end, FaultPlan.from_config({"close_after": 0}), name="F-2")
    await asyncio.sleep(0.01)
    assert conn.stats["closed"] == 1 and far.closed


def test_the_same_seed_gives_the_same_faults_and_stations_differ():
    plan = FaultPlan.from_config({"seed": 9})
    draws = lambda name, n: [plan.rng(name, n).random() for _ in range(5)]  # noqa: E731
    assert draws("A", 1) == draws("A", 1)
    assert draws("A", 1) != draws("B", 1)
    assert draws("A", 1) != draws("A", 2)      # a reconnect is not a replay of the last one


def test_no_plan_no_wrapper():
    station_end, _ = pipe()
    assert wrap(station_end, None, "X") is station_end
    assert wrap(station_end, {}, "X") is station_end
    assert isinstance(wrap(station_end, {"drop": 0.1}, "X"), FaultyConnection)


@pytest.mark.parametrize("config, message", [
    ({"drop": 2}, "faults.drop: expected a probability between 0 and 1, got 2"),
    ({"drop": {"sideways": 0.1}}, "faults.drop: unknown direction(s) ['sideways']"),
    ({"delay": [1, 0.5]}, "faults.delay: min 1 is above max 0.5"),
    ({"delay": [1]}, "faults.delay: expected [min, max] seconds"),
    ({"delay": -1}, "faults.delay: expected a number of seconds >= 0"),
    ({"close_after": "soon"}, "faults.close_after: expected a number of seconds >= 0"),
    ({"seed": "x"}, "faults.seed: expected an integer"),
    ({"start": 5, "stop": 1}, "faults.stop (1) is before faults.start (5)"),
    ({"jitter": 1}, "faults: unknown field(s) 'jitter'; known: seed, drop"),
    ({"corrupt": True}, "faults.corrupt: expected a probability"),
])
def test_bad_plans_are_named(config, message):
    with pytest.raises(ValueError) as err:
        FaultPlan.from_config(config)
    assert message in str(err.value)


# -- from a template --------------------------------------------------------------------------

def test_a_template_faults_block_reaches_the_options(tmp_path):
    path = tmp_path / "flaky.yaml"
    path.write_text("protocol: ocpp1.6\nvendor: V\nmodel: M\n"
                    "faults:\n  seed: 4\n  drop: {out: 0.1}\n  delay: [0.01, 0.02]\n")
    options = load_template(path)
    assert options.faults == {"seed": 4, "drop": {"out": 0.1}, "delay": [0.01, 0.02]}
    assert load_template("ac-22kw", overrides={"faults": {"duplicate": 0.5}}).faults == {"duplicate": 0.5}


def test_a_bad_template_faults_block_names_the_file_and_line(tmp_path):
    path = tmp_path / "flaky.yaml"
    path.write_text("protocol: ocpp1.6\nvendor: V\nmodel: M\nfaults:\n  drop: lots\n")
    with pytest.raises(StationTemplateError) as err:
        load_template(path)
    assert "flaky.yaml" in str(err.value) and "faults.drop: expected a probability" in str(err.value)


# -- a station with faults against the hub ---------------------------------------------------

async def reconnect_with(hub, station, faults: dict | None) -> None:
    """Faults apply from the next connection: set them and cut the link (the station
    reconnects on its own)."""
    old = hub.server.connections[station.id]
    station.options.faults = faults
    station.dialect.abort(notify=True)
    await wait_for(lambda: hub.server.connections.get(station.id) not in (None, old), 10)
    await wait_for(lambda: station.online and station.session is not None
                   and not station.session.closed, 10)   # the station's side too


async def test_corrupt_frames_get_the_hubs_callerror_and_the_station_goes_on():
    async with running_hub() as hub:
        station = make_station("F-CORRUPT", hub.url, StationOptions(**FAST))
        await station.start(timeout=5)
        try:
            await reconnect_with(hub, station, {"corrupt": 1, "seed": 2})
            codes = set()
            for _ in range(5):
                with pytest.raises(CallErrorReceived) as err:
                    await station.dialect.heartbeat()
                codes.add(err.value.error.code_text)
            assert codes <= {"FormationViolation", "TypeConstraintViolation",
                             "OccurenceConstraintViolation", "PropertyConstraintViolation"}
            await reconnect_with(hub, station, None)
            assert await station.dialect.heartbeat() is not None   # healthy again
        finally:
            await station.stop()


async def test_a_station_closed_abruptly_reconnects(caplog):
    async with running_hub() as hub:
        station = make_station("F-CLOSE", hub.url, StationOptions(**FAST))
        await station.start(timeout=5)
        try:
            with caplog.at_level(logging.INFO):
                await reconnect_with(hub, station, {"close_after": 0.05})
                first = hub.server.connections[station.id]
                # no close frame: the hub logs 1006, and the station comes back by itself
                await wait_for(lambda: hub.server.connections.get(station.id) not in (None, first), 10)
            assert "closed by station: 1006" in caplog.text or "1006" in caplog.text
            assert "fault injected: closed (close_after 0.05s)" in caplog.text
        finally:
            station.options.faults = None
            await station.stop()


async def test_a_silent_station_makes_the_hubs_command_time_out():
    async with running_hub() as hub:
        station = make_station("F-SILENT", hub.url, StationOptions(**FAST))
        await station.start(timeout=5)
        try:
            await reconnect_with(hub, station, {"silent_after": 0})
            async with Api(hub) as api:
                status, body = await api.post("/stations/F-SILENT/commands/ClearCache?timeout=0.3", {})
            assert status == 504 and body["status"] == "timeout", body
            assert hub.manager.stations["F-SILENT"].connected   # it still reads: no drop
        finally:
            station.options.faults = None
            await station.stop()
