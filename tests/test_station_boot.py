"""Registration and the link: BootNotification Accepted / Pending / Rejected, heartbeat,
reconnect — against a CSMS built on the `ocpp` library."""
from __future__ import annotations

import asyncio

import pytest
from ocpp.exceptions import GenericError
from ocpp.v16 import call

from ocpp_lib_csms import FAST, csms, running  # noqa: F401  (fixture)
from simulator.dialects import dialect_for, make_station
from simulator.station import BootRejected, ConnectFailed, NotRegistered, Station


async def test_the_caller_hands_the_station_its_dialect(csms):
    st = Station("CP-D", csms.url, dialect=dialect_for("ocpp1.6"), **FAST)
    assert st.dialect.version == "ocpp1.6"
    await st.start(timeout=5)
    await st.stop()
    with pytest.raises(ValueError, match="no dialect for 'ocpp9'"):
        make_station("CP-X", csms.url, version="ocpp9")


def test_a_station_needs_a_dialect():
    with pytest.raises(TypeError, match="dialect"):
        Station("CP-U", "ws://127.0.0.1:9/ocpp")   # it could not even name its settings


async def test_boot_accepted_then_status_for_every_connector(csms):
    async with running(csms, "CP-A", connectors=2) as st:
        assert st.registration == "accepted"
        boots = csms.calls("BootNotification")
        assert boots == [{"chargePointVendor": "chargesim", "chargePointModel": "VirtualAC",
                          "firmwareVersion": st.options.firmware_version}]
        statuses = await csms.wait_for("StatusNotification", 3)
        assert [(s["connectorId"], s["status"], s["errorCode"]) for s in statuses] == [
            (0, "Available", "NoError"), (1, "Available", "NoError"), (2, "Available", "NoError")]
        assert all(s["timestamp"].endswith("Z") for s in statuses)
        # BootNotification came first; the station id is the last path segment
        assert csms.actions()[0] == "BootNotification"
        assert csms.paths == ["/ocpp/CP-A"]


async def test_boot_pending_then_accepted_answers_requests_while_pending(csms):
    csms.boot_plan = [("Pending", 10)]            # retry after 10 s × 0.05
    st = make_station("CP-P", csms.url, **{**FAST, "interval_scale": 0.05})  # 0.5 s of pending
    starting = asyncio.create_task(st.start(timeout=5))
    await csms.wait_for("BootNotification")
    peer = csms.peers["CP-P"]
    # While Pending the station answers the CSMS ...
    reply = await peer.call(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert reply.configuration_key[0]["key"] == "HeartbeatInterval"
    assert st.registration == "pending"
    # ... but sends nothing of its own: no StatusNotification before Accepted.
    assert csms.actions() == ["BootNotification"]
    with pytest.raises(NotRegistered):
        await st.present_tag(1, "TAG")
    await starting
    try:
        assert st.registration == "accepted"
        assert csms.actions()[:3] == ["BootNotification", "BootNotification", "StatusNotification"]
    finally:
        await st.stop()


async def test_boot_pending_interval_zero_uses_configured_default(csms):
    csms.boot_plan = [("Pending", 0), ("Pending", 0)]
    async with running(csms, boot_retry_default=5):  # 5 s × 0.01
        assert len(csms.calls("BootNotification")) == 3


async def test_boot_rejected_is_retried_and_requests_refused_meanwhile(csms):
    csms.boot_plan = [("Rejected", 30), ("Rejected", 30)]   # 0.3 s each
    st = make_station("CP-R", csms.url, **FAST)
    starting = asyncio.create_task(st.start(timeout=5))
    await csms.wait_for("BootNotification")
    while st.registration != "rejected":  # the station has read the answer
        await asyncio.sleep(0.01)
    peer = csms.peers["CP-R"]
    with pytest.raises(GenericError):
        await peer.call(call.GetConfiguration(), suppress=False)
    await starting
    try:
        assert len(csms.calls("BootNotification")) == 3
        assert st.registration == "accepted"
    finally:
        await st.stop()


async def test_rejected_past_the_timeout_raises(csms):
    csms.default_boot = ("Rejected", 10)
    st = make_station("CP-X", csms.url, **FAST)
    with pytest.raises(BootRejected, match="rejected"):
        await st.start(timeout=0.5)
    assert len(csms.calls("BootNotification")) >= 2
    assert not st.online


async def test_connect_failure_raises_clearly():
    st = make_station("CP-Z", "ws://127.0.0.1:9/ocpp", **FAST)  # discard port: refused
    with pytest.raises(ConnectFailed, match="CP-Z: cannot connect to ws://127.0.0.1:9/ocpp/CP-Z"):
        await st.start(timeout=2)


async def test_heartbeat_every_interval_from_boot(csms):
    csms.default_boot = ("Accepted", 10)               # 10 s × 0.01 = 0.1 s
    async with running(csms) as st:
        assert st.config["HeartbeatInterval"] == 10    # the CSMS's interval is the key's value
        await csms.wait_for("Heartbeat", 3)


async def test_heartbeat_interval_key_restarts_the_timer(csms):
    async with running(csms) as st:                    # 600 s × 0.01: no heartbeat soon
        peer = csms.peers["CP1"]
        reply = await peer.call(call.ChangeConfiguration(key="HeartbeatInterval", value="5"))
        assert reply.status == "Accepted"
        await csms.wait_for("Heartbeat", 2, timeout=2)
        reply = await peer.call(call.ChangeConfiguration(key="HeartbeatInterval", value="0"))
        count = len(csms.calls("Heartbeat"))
        await asyncio.sleep(0.2)
        assert len(csms.calls("Heartbeat")) <= count + 1   # at most one already under way
        assert st.config["HeartbeatInterval"] == 0


async def test_reconnects_after_a_drop_without_a_new_boot(csms):
    async with running(csms) as st:
        await csms.wait_for("StatusNotification", 2)
        connected = st.expect("connected")
        await csms.peers["CP1"]._connection.close()
        await asyncio.wait_for(connected, 5)
        await csms.wait_connections(2)
        # the connectors are reported again, the registration stands
        await csms.wait_for("StatusNotification", 4)
        assert len(csms.calls("BootNotification")) == 1
        assert st.registration == "accepted" and st.online


async def test_taps_see_every_frame_and_survive_reconnect(csms):
    frames = []
    st = make_station("CP-T", csms.url, **FAST)
    st.taps.append(frames.append)
    await st.start(timeout=5)
    try:
        assert frames[0].direction == "out" and '"BootNotification"' in frames[0].raw
        assert st.session.taps is st.taps
        connected = st.expect("connected")
        await csms.peers["CP-T"]._connection.close()
        await asyncio.wait_for(connected, 5)
        await csms.wait_for("StatusNotification", 4)
        assert st.session.taps is st.taps
        assert sum('"StatusNotification"' in f.raw and f.direction == "out" for f in frames) == 4
    finally:
        await st.stop()


async def test_stop_closes_and_cancels_everything(csms):
    csms.default_boot = ("Accepted", 10)
    st = make_station("CP-S", csms.url, **FAST)
    await st.start(timeout=5)
    await st.plug_in(1)
    await st.present_tag(1, "T")
    await st.stop()
    assert not st.online and not st.tasks.running
    beats = len(csms.calls("Heartbeat"))
    await asyncio.sleep(0.25)
    assert len(csms.calls("Heartbeat")) == beats
