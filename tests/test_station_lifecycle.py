"""The station's lifecycle machine (station/lifecycle.py): its table, and the station
behaving as a real charger — connecting whenever the CSMS is there, booting again while
Pending, stopping in any state."""
from __future__ import annotations

import asyncio
import socket

import pytest

from ocpp_lib_csms import FAST, csms  # noqa: F401  (fixture)
from simulator.dialects import make_station
from simulator.station import ConnectFailed
from simulator.station.lifecycle import (TRANSITIONS, IllegalLifecycleMove, Lifecycle, State)
from tests.hub_helpers import running_hub


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]     # nothing listens here once closed


def test_moves_follow_the_table_and_are_reported():
    seen = []
    life = Lifecycle(lambda old, new, why: seen.append((old, new, why)))
    life.move(State.CONNECTING, "started")
    life.move(State.BOOTING)
    life.move(State.PENDING)
    life.move(State.PENDING)                 # another Pending answer
    life.move(State.ACCEPTED)
    life.move(State.OFFLINE, "lost")
    with pytest.raises(IllegalLifecycleMove, match="offline -> pending"):
        life.move(State.PENDING)             # no boot answer without a link
    assert life.state == State.OFFLINE and life.running
    life.move(State.OFF)
    life.move(State.OFF)                     # a second stop is no move
    assert [(str(o), str(n)) for o, n, _ in seen] == [
        ("off", "connecting"), ("connecting", "booting"), ("booting", "pending"),
        ("pending", "pending"), ("pending", "accepted"), ("accepted", "offline"),
        ("offline", "off")]
    assert not life.running


def test_every_state_can_be_switched_off_and_lose_power():
    for state, targets in TRANSITIONS.items():
        assert State.OFF in targets or state == State.OFF
        assert State.POWERED_OFF in targets or state == State.POWERED_OFF


async def test_reached_wakes_on_the_move():
    life = Lifecycle()
    waiting = asyncio.ensure_future(life.reached(State.ACCEPTED))
    life.move(State.CONNECTING)
    life.move(State.BOOTING)
    await asyncio.sleep(0)
    assert not waiting.done()
    life.move(State.ACCEPTED)
    await asyncio.wait_for(waiting, 1)
    await asyncio.wait_for(life.reached(State.ACCEPTED), 1)   # already there


async def test_started_before_its_csms_it_connects_when_the_csms_comes_up():
    port = free_port()
    st = make_station("LC-1", f"ws://127.0.0.1:{port}/ocpp", **FAST)
    failed = st.expect("error")
    starting = asyncio.ensure_future(st.start(timeout=None))
    await asyncio.wait_for(failed, 5)           # the first attempt found nobody
    assert st.lifecycle == State.CONNECTING and not starting.done()
    async with running_hub(port=port) as hub:
        try:
            await asyncio.wait_for(starting, 10)   # backoff: it tries again, and gets in
            assert st.lifecycle == State.ACCEPTED and "LC-1" in hub.connections
        finally:
            await st.stop()
    assert st.lifecycle == State.OFF


async def test_connect_attempts_caps_the_start():
    st = make_station("LC-2", f"ws://127.0.0.1:{free_port()}/ocpp", connect_attempts=2, **FAST)
    errors = []
    st.on_event = lambda e: errors.append(e) if e.kind == "error" else None
    with pytest.raises(ConnectFailed, match="LC-2: cannot connect"):
        await st.start(timeout=None)
    assert len(errors) == 2 and st.lifecycle == State.OFF


async def test_a_station_held_in_pending_keeps_booting_until_accepted(csms):
    csms.boot_plan = [("Pending", 1)] * 4        # four Pending answers, then Accepted
    st = make_station("LC-3", csms.url, **FAST)
    moves = []
    st.on_event = lambda e: moves.append(e.data["state"]) if e.kind == "lifecycle" else None
    try:
        await st.start(timeout=None)
        assert len(csms.calls("BootNotification")) == 5
        assert moves == ["connecting", "booting", "pending", "pending", "pending", "pending",
                         "accepted"]
    finally:
        await st.stop()


async def test_stop_during_boot_ends_a_waiting_start(csms):
    csms.boot_plan = [("Pending", 1000)] * 3     # it would wait a long time
    st = make_station("LC-4", csms.url, **FAST)
    starting = asyncio.ensure_future(st.start(timeout=None))
    await csms.wait_for("BootNotification")
    await st.stop()
    with pytest.raises(Exception, match="stopped before the CSMS accepted it"):
        await asyncio.wait_for(starting, 5)
    assert st.lifecycle == State.OFF and not st.online


# -- the view and the event hub ------------------------------------------------------------
async def test_view_subscribers_and_lazy_event_text(csms):
    st = make_station("LC-V", csms.url, connectors=2, **FAST)
    heard_a, heard_b = [], []
    view = st.view
    stop_a = view.subscribe(heard_a.append)
    view.subscribe(heard_b.append)
    try:
        await st.start(timeout=5)
        assert view.state == State.ACCEPTED and view.registration == "accepted" and view.online
        assert [c.status for c in view.connectors] == ["available"] * 3
        assert view.connector(1).evse_id == 1 and view.connector(1).transaction_id is None
        assert view.config["HeartbeatInterval"] == "600"
        assert "AuthorizationKey" not in view.config              # write-only: never shown
        stop_a()
        await st.plug_in(1)
        assert await st.present_tag(1, "T") == "Started"
        assert view.connector(1).transaction_id == "100"          # opaque text for drivers
        assert not any(e.kind == "plugged_in" for e in heard_a)   # unsubscribed
        assert any(e.kind == "plugged_in" for e in heard_b)
        assert heard_b[-1] is view.recent_events[-1]
    finally:
        await st.stop()
    from simulator.station.events import EventLog, Text
    log = EventLog("X")
    e = log.emit("meter", Text("{energy_wh:.1f} Wh"), 1, energy_wh=12.345)
    assert e.message.template == "{energy_wh:.1f} Wh"              # kept unformatted ...
    assert e.text == "12.3 Wh" and str(e) == "X #1 meter: 12.3 Wh"  # ... until read


async def test_a_connection_that_opens_while_the_station_stops_is_closed(csms):
    """stop() while the connect is finishing (a swarm's end, 50,000 stations): the link that
    came up is closed and nothing boots; it used to fail with 'off -> booting'."""
    st = make_station("LC-5", csms.url, **FAST)
    real_connect, real_close = st.dialect.connect, st.dialect.close
    gate = asyncio.Event()
    errors = []
    st.on_event = lambda e: errors.append(e.text) if e.kind == "error" else None

    async def connect_slowly(on_lost):
        await real_connect(on_lost)    # the link is up, the call not yet returned
        await gate.wait()

    async def close_while_connecting():
        gate.set()                     # the connect returns while stop() is closing
        for _ in range(5):
            await asyncio.sleep(0)
        await real_close()
    st.dialect.connect, st.dialect.close = connect_slowly, close_while_connecting
    starting = asyncio.ensure_future(st.start(timeout=None))
    for _ in range(200):
        if st.dialect.link is not None and getattr(st.dialect.link, "session", None):
            break
        await asyncio.sleep(0.01)
    await st.stop()
    with pytest.raises(Exception, match="stopped before the CSMS accepted it"):
        await asyncio.wait_for(starting, 5)
    await asyncio.sleep(0.2)
    assert st.lifecycle == State.OFF and not st.online
    assert errors == [] and not csms.calls("BootNotification")
