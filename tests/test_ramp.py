"""Ramp and retry (simulator/ramp.py): start slots at a rate, connect attempts with the
station's jittered backoff, and "could not connect" reported as such."""
from __future__ import annotations

import asyncio
import socket

import pytest

from ocpp_lib_csms import FAST
from simulator.charging_run import run
from simulator.dialects import make_station
from simulator.ramp import CouldNotConnect, Ramp, connect_policy, could_not_connect, start_station
from simulator.station import ConnectFailed, StationOptions
from tests.hub_helpers import running_hub


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_slots_are_spaced_by_the_rate():
    now = [100.0]
    ramp = Ramp(4, clock=lambda: now[0])
    assert [ramp.reserve() for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]
    now[0] = 110.0          # idle for a while: no burst saved up, the next slot is now
    assert ramp.reserve() == 0.0
    assert ramp.reserve() == 0.25
    assert ramp.granted == 6


def test_no_rate_means_all_at_once_and_bad_rates_are_named():
    ramp = Ramp(None)
    assert {ramp.reserve() for _ in range(10)} == {0.0}
    assert Ramp(0).rate is None
    with pytest.raises(ValueError, match="spawn rate must be a positive number"):
        Ramp(-5)


async def test_wait_sleeps_for_the_slot():
    slept = []

    async def sleep(s):
        slept.append(s)
    ramp = Ramp(10, clock=lambda: 0.0, sleep=sleep)
    for _ in range(3):
        await ramp.wait()
    assert slept == [0.1, 0.2]   # the first slot is now


def test_connect_policy_caps_only_uncapped_options():
    assert connect_policy(StationOptions(), 4).connect_attempts == 4
    assert connect_policy(StationOptions(connect_attempts=2), 4).connect_attempts == 2
    assert connect_policy(StationOptions(), None).connect_attempts is None
    with pytest.raises(ValueError, match="at least 1"):
        connect_policy(StationOptions(), 0)


def test_reason_drops_the_station_prefix():
    e = ConnectFailed("S-1: cannot connect to ws://x/S-1: ConnectionRefusedError: no")
    assert could_not_connect(e, "S-1") == \
        "could not connect: cannot connect to ws://x/S-1: ConnectionRefusedError: no"


async def test_start_station_reports_could_not_connect():
    st = make_station("RAMP-1", f"ws://127.0.0.1:{free_port()}/ocpp", connect_attempts=2, **FAST)
    with pytest.raises(CouldNotConnect) as info:
        await start_station(st, Ramp(None), timeout=10)
    assert str(info.value).startswith("could not connect: cannot connect to ws://127.0.0.1:")
    assert info.value.station_id == "RAMP-1"


async def test_a_hub_that_comes_up_late_is_reached_by_retrying():
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ocpp"
    options = StationOptions(**FAST)
    tags = {f"TAG-{n}": "Accepted" for n in range(1, 21)}

    async def late_hub(started: asyncio.Event):
        await asyncio.sleep(0.5)      # every station has failed at least once by then
        async with running_hub(port=port, tags=tags):
            started.set()
            await stop.wait()

    stop, started = asyncio.Event(), asyncio.Event()
    hub = asyncio.ensure_future(late_hub(started))
    try:
        outcomes = await run(url, stations=20, id_pattern="LATE-{n}", tag="TAG-{n}", seconds=0.1,
                             sample_interval=1, options=options, verbose=False,
                             print_=lambda *_: None, spawn_rate=100, connect_attempts=50)
    finally:
        stop.set()
        await hub
    assert started.is_set()
    assert [o.error for o in outcomes if not o.ok] == []
    assert all(o.transaction_id is not None for o in outcomes)


async def test_a_run_without_a_hub_says_could_not_connect_not_a_protocol_failure():
    url = f"ws://127.0.0.1:{free_port()}/ocpp"
    outcomes = await run(url, stations=3, id_pattern="NONE-{n}", tag="T", seconds=0.1,
                         sample_interval=1, options=StationOptions(**FAST), verbose=False,
                         print_=lambda *_: None, spawn_rate=50, connect_attempts=2)
    assert [o.ok for o in outcomes] == [False] * 3
    for o in outcomes:
        assert o.error.startswith("could not connect: cannot connect to ws://127.0.0.1:"), o.error
        assert "FAILED at boot: could not connect" in o.line()


def test_chargesim_run_300_stations_against_the_in_process_hub():
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "run", "--stations", "300",
                           "--seconds", "0.5", "--spawn-rate", "300"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "300 passed, 0 failed" in proc.stdout
