"""CSMS-initiated requests (1.6 Core + Remote Trigger), sent by the `ocpp` library's
ChargePoint, answered by the station with real effects."""
from __future__ import annotations

import asyncio

import pytest
from ocpp.exceptions import OccurenceConstraintViolationError
from ocpp.v16 import call

from ocpp_lib_csms import FAST, csms, running  # noqa: F401  (fixture)
from simulator.station import KeySpec, Station, UnknownMessageId
from simulator.dialects import make_station


def statuses(csms, connector=1):
    return [s["status"] for s in csms.calls("StatusNotification",
                                            where=lambda p: p["connectorId"] == connector)]


def reply_before(csms, request: str, follow_up: str) -> bool:
    """On the wire: the station's reply to the CSMS's (last) `request` came before the first
    `follow_up` the station sent after that request."""
    frames = csms.frames
    sent_at, uid = [(i, f[1]) for i, (_, d, f) in enumerate(frames)
                    if d == "out" and f[0] == 2 and f[2] == request][-1]
    reply_at = next(i for i, (_, d, f) in enumerate(frames)
                    if d == "in" and f[0] in (3, 4) and f[1] == uid)
    follow_at = next(i for i, (_, d, f) in enumerate(frames)
                     if i > sent_at and d == "in" and f[0] == 2 and f[2] == follow_up)
    return reply_at < follow_at


# -- RemoteStartTransaction / RemoteStopTransaction ----------------------------------------
async def test_remote_start_on_a_plugged_connector(csms):
    async with running(csms, connectors=2) as st:
        await st.plug_in(2)
        peer = csms.peers["CP1"]
        started = st.expect("tx_started", 2)
        reply = await peer.call(call.RemoteStartTransaction(
            id_tag="REMOTE", connector_id=2,
            charging_profile={"chargingProfileId": 1, "stackLevel": 0,
                              "chargingProfilePurpose": "TxProfile",
                              "chargingProfileKind": "Relative",
                              "chargingSchedule": {"chargingRateUnit": "A",
                                                   "chargingSchedulePeriod": [
                                                       {"startPeriod": 0, "limit": 16}]}}))
        assert reply.status == "Accepted"
        await asyncio.wait_for(started, 5)
        [start] = csms.calls("StartTransaction")
        assert start["connectorId"] == 2 and start["idTag"] == "REMOTE"
        assert st.connectors[2].transaction.remote
        assert csms.calls("Authorize") == []          # AuthorizeRemoteTxRequests is false
        assert reply_before(csms, "RemoteStartTransaction", "StartTransaction")


async def test_remote_start_without_connector_waits_for_the_cable(csms):
    async with running(csms, connectors=2) as st:
        peer = csms.peers["CP1"]
        waiting = st.expect("waiting_for_cable")
        reply = await peer.call(call.RemoteStartTransaction(id_tag="R"))
        assert reply.status == "Accepted"
        event = await asyncio.wait_for(waiting, 5)
        assert event.connector == 1 and st.connectors[1].status == "preparing"
        await st.plug_in(1)
        assert csms.calls("StartTransaction")[0]["connectorId"] == 1
        assert st.connectors[1].status == "charging"


async def test_remote_start_prefers_the_connector_with_an_ev(csms):
    async with running(csms, connectors=3) as st:
        await st.plug_in(3)
        started = st.expect("tx_started")
        await csms.peers["CP1"].call(call.RemoteStartTransaction(id_tag="R"))
        assert (await asyncio.wait_for(started, 5)).connector == 3


async def test_remote_start_times_out_without_cable(csms):
    async with running(csms, config={"ConnectionTimeOut": "10"}) as st:
        timed_out = st.expect("start_timeout", 1)
        await csms.peers["CP1"].call(call.RemoteStartTransaction(id_tag="R", connector_id=1))
        await asyncio.wait_for(timed_out, 5)
        await csms.wait_for("StatusNotification", 4)
        assert statuses(csms) == ["Available", "Preparing", "Available"]
        assert csms.calls("StartTransaction") == []


async def test_remote_start_rejections(csms):
    async with running(csms, connectors=2) as st:
        peer = csms.peers["CP1"]
        await st.plug_in(1)
        await st.present_tag(1, "LOCAL")
        await peer.call(call.ChangeAvailability(connector_id=2, type="Inoperative"))
        for connector in (1, 2, 3, 0):   # busy, unavailable, no such connector, station
            reply = await peer.call(call.RemoteStartTransaction(id_tag="R", connector_id=connector))
            assert reply.status == "Rejected", connector
        reply = await peer.call(call.RemoteStartTransaction(id_tag="R"))  # nothing free
        assert reply.status == "Rejected"
        assert len(csms.calls("StartTransaction")) == 1


async def test_remote_start_authorizes_first_when_configured(csms):
    csms.tags = {"BAD": {"status": "Blocked"}}
    async with running(csms, config={"AuthorizeRemoteTxRequests": "true"}) as st:
        await st.plug_in(1)
        peer = csms.peers["CP1"]
        rejected = st.expect("tag_rejected", 1)
        assert (await peer.call(call.RemoteStartTransaction(id_tag="BAD", connector_id=1))
                ).status == "Accepted"
        await asyncio.wait_for(rejected, 5)
        assert csms.calls("StartTransaction") == []
        assert st.connectors[1].status == "preparing"
        started = st.expect("tx_started", 1)
        await peer.call(call.RemoteStartTransaction(id_tag="GOOD", connector_id=1))
        await asyncio.wait_for(started, 5)
        assert csms.actions().index("Authorize") < csms.actions().index("StartTransaction")
        assert [a["idTag"] for a in csms.calls("Authorize")] == ["BAD", "GOOD"]


async def test_remote_stop(csms):
    async with running(csms) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        peer = csms.peers["CP1"]
        assert (await peer.call(call.RemoteStopTransaction(transaction_id=999))).status == "Rejected"
        stopped = st.expect("tx_stopped", 1)
        assert (await peer.call(call.RemoteStopTransaction(transaction_id=100))).status == "Accepted"
        await asyncio.wait_for(stopped, 5)
        await csms.wait_for("StopTransaction")
        assert csms.calls("StopTransaction")[0]["reason"] == "Remote"
        assert reply_before(csms, "RemoteStopTransaction", "StopTransaction")


# -- Reset ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["Soft", "Hard"])
async def test_reset_stops_transactions_reboots_and_boots_again(csms, kind):
    async with running(csms) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        rebooted = st.expect("boot", where=lambda e: e.data["status"] == "accepted")
        reply = await csms.peers["CP1"].call(call.Reset(type=kind))
        assert reply.status == "Accepted"
        await asyncio.wait_for(rebooted, 5)
        await csms.wait_for("StopTransaction")
        assert csms.connections == 2 and st.registration == "accepted"
        [stop] = csms.calls("StopTransaction")
        assert stop["reason"] == f"{kind}Reset"
        actions = csms.actions()
        second_boot = [i for i, a in enumerate(actions) if a == "BootNotification"][1]
        if kind == "Soft":   # stopped gracefully before going down
            assert actions.index("StopTransaction") < second_boot
        else:                # down at once; the StopTransaction goes after the new boot
            assert actions.index("StopTransaction") > second_boot
        # the cable is still in: after the reboot the connector reports Finishing
        await csms.wait_for("StatusNotification", where=lambda p: p["status"] == "Finishing")
        assert st.connectors[1].status == "finishing"


async def test_reset_applies_reboot_required_configuration(csms):
    extra = [KeySpec("VendorMode", "str", "eco", reboot=True, allowed=frozenset({"eco", "fast"}))]
    async with running(csms, extra_keys=extra) as st:
        peer = csms.peers["CP1"]
        reply = await peer.call(call.ChangeConfiguration(key="VendorMode", value="fast"))
        assert reply.status == "RebootRequired" and st.config["VendorMode"] == "eco"
        rebooted = st.expect("boot", where=lambda e: e.data["status"] == "accepted")
        await peer.call(call.Reset(type="Soft"))
        await asyncio.wait_for(rebooted, 5)
        assert st.config["VendorMode"] == "fast"


# -- UnlockConnector ------------------------------------------------------------------------
async def test_unlock_connector(csms):
    async with running(csms, connectors=2) as st:
        peer = csms.peers["CP1"]
        assert (await peer.call(call.UnlockConnector(connector_id=1))).status == "Unlocked"
        await st.plug_in(1)
        await st.present_tag(1, "T")
        assert (await peer.call(call.UnlockConnector(connector_id=1))).status == "Unlocked"
        [stop] = csms.calls("StopTransaction")
        assert stop["reason"] == "UnlockCommand"
        # the transaction is finished before the answer (1.6 §5.18)
        assert not reply_before(csms, "UnlockConnector", "StopTransaction")
        st.connectors[2].lock_fails = True
        assert (await peer.call(call.UnlockConnector(connector_id=2))).status == "UnlockFailed"
        assert (await peer.call(call.UnlockConnector(connector_id=7))).status == "NotSupported"


async def test_unlock_without_a_lock_is_not_supported(csms):
    async with running(csms, connector_lock=False):
        reply = await csms.peers["CP1"].call(call.UnlockConnector(connector_id=1))
        assert reply.status == "NotSupported"


# -- ChangeAvailability --------------------------------------------------------------------
async def test_change_availability_of_an_idle_connector(csms):
    async with running(csms, connectors=2) as st:
        peer = csms.peers["CP1"]
        assert (await peer.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))
                ).status == "Accepted"
        await csms.wait_for("StatusNotification", where=lambda p: p["status"] == "Unavailable")
        assert st.connectors[1].status == "unavailable"
        assert reply_before(csms, "ChangeAvailability", "StatusNotification")
        await st.plug_in(1)
        assert await st.present_tag(1, "T") == "Unavailable"
        assert (await peer.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))
                ).status == "Accepted"   # already so
        became = st.expect("status", 1)
        assert (await peer.call(call.ChangeAvailability(connector_id=1, type="Operative"))
                ).status == "Accepted"
        assert (await asyncio.wait_for(became, 5)).text == "preparing"   # the cable is in
        assert (await peer.call(call.ChangeAvailability(connector_id=3, type="Operative"))
                ).status == "Rejected"


async def test_change_availability_scheduled_during_a_transaction(csms):
    async with running(csms) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        peer = csms.peers["CP1"]
        reply = await peer.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))
        assert reply.status == "Scheduled"
        await asyncio.sleep(0.05)
        assert st.connectors[1].status == "charging"
        await st.present_tag(1, "T")
        assert st.connectors[1].status == "unavailable"
        assert statuses(csms)[-3:] == ["Charging", "Finishing", "Unavailable"]


async def test_change_availability_of_the_station_scheduled(csms):
    async with running(csms, connectors=2) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        peer = csms.peers["CP1"]
        reply = await peer.call(call.ChangeAvailability(connector_id=0, type="Inoperative"))
        assert reply.status == "Scheduled"
        await csms.wait_for("StatusNotification",
                            where=lambda p: p["connectorId"] == 2 and p["status"] == "Unavailable")
        assert st.connectors[0].status == "available"       # waits for connector 1
        await st.unplug(1)                                   # EVDisconnected ends it
        assert [c.status for c in st.connectors] == ["unavailable"] * 3
        assert statuses(csms, 0)[-1] == "Unavailable"
        reply = await peer.call(call.ChangeAvailability(connector_id=0, type="Operative"))
        assert reply.status == "Accepted"
        await csms.wait_for("StatusNotification", where=lambda p: p["connectorId"] == 0
                            and p["status"] == "Available", count=2)
        await csms.wait_for("StatusNotification", where=lambda p: p["connectorId"] == 2
                            and p["status"] == "Available", count=2)


# -- GetConfiguration / ChangeConfiguration ------------------------------------------------
async def test_get_configuration_all_some_and_too_many(csms):
    async with running(csms, config={"GetConfigurationMaxKeys": "3"}) as st:
        peer = csms.peers["CP1"]
        everything = await peer.call(call.GetConfiguration())
        keys = {k["key"]: k for k in everything.configuration_key}
        assert set(keys) == set(st.config.specs)
        assert keys["NumberOfConnectors"] == {"key": "NumberOfConnectors", "readonly": True,
                                              "value": "1"}
        assert keys["HeartbeatInterval"]["readonly"] is False
        some = await peer.call(call.GetConfiguration(key=["MeterValueSampleInterval", "Nope"]))
        assert [k["key"] for k in some.configuration_key] == ["MeterValueSampleInterval"]
        assert some.unknown_key == ["Nope"]
        with pytest.raises(OccurenceConstraintViolationError):
            await peer.call(call.GetConfiguration(key=["A", "B", "C", "D"]), suppress=False)


@pytest.mark.parametrize("key,value,status", [
    ("MeterValuesSampledData", "Energy.Active.Import.Register,SoC", "Accepted"),
    ("MeterValuesSampledData", "Energy.Active.Import.Register,Bogus", "Rejected"),
    ("ConnectionTimeOut", "abc", "Rejected"),
    ("NumberOfConnectors", "9", "Rejected"),
    ("VendorMode", "fast", "RebootRequired"),
    ("UnknownKey", "1", "NotSupported"),
])
async def test_change_configuration_answers(csms, key, value, status):
    extra = [KeySpec("VendorMode", "str", "eco", reboot=True)]
    async with running(csms, extra_keys=extra) as st:
        before = st.config.get(key)
        reply = await csms.peers["CP1"].call(call.ChangeConfiguration(key=key, value=value))
        assert reply.status == status
        if status == "Accepted":
            assert st.config.text(key) == value
        else:
            assert st.config.get(key) == before


async def test_changed_sample_interval_restarts_the_sampler(csms):
    async with running(csms) as st:          # 60 s × 0.01 = 0.6 s
        await st.plug_in(1)
        await st.present_tag(1, "T")
        reply = await csms.peers["CP1"].call(
            call.ChangeConfiguration(key="MeterValueSampleInterval", value="5"))
        assert reply.status == "Accepted"
        await csms.wait_for("MeterValues", 3, timeout=0.55)   # faster than the old interval


async def test_changed_ping_interval_reaches_the_websocket(csms):
    async with running(csms) as st:
        peer = csms.peers["CP1"]
        keepalive = st.dialect.link.keepalive
        assert keepalive.interval == 60
        await peer.call(call.ChangeConfiguration(key="WebSocketPingInterval", value="15"))
        assert keepalive.interval == 15
        await peer.call(call.ChangeConfiguration(key="WebSocketPingInterval", value="0"))
        assert keepalive.interval is None


# -- ClearCache ----------------------------------------------------------------------------
async def test_clear_cache(csms):
    async with running(csms) as st:
        await st.plug_in(1)
        await st.present_tag(1, "T")
        assert "T" in st.auth_cache
        peer = csms.peers["CP1"]
        assert (await peer.call(call.ClearCache())).status == "Accepted"
        assert len(st.auth_cache) == 0
        await peer.call(call.ChangeConfiguration(key="AuthorizationCacheEnabled", value="false"))
        assert (await peer.call(call.ClearCache())).status == "Rejected"


# -- DataTransfer --------------------------------------------------------------------------
async def test_data_transfer_vendor_registry(csms):
    async with running(csms) as st:
        async def acme(message_id, data):
            if message_id != "echo":
                raise UnknownMessageId(message_id)
            return "Accepted", data.upper()
        st.register_vendor("com.acme", acme)
        st.register_vendor("com.plain", lambda message_id, data: "Rejected")
        peer = csms.peers["CP1"]
        r = await peer.call(call.DataTransfer(vendor_id="com.acme", message_id="echo", data="hi"))
        assert (r.status, r.data) == ("Accepted", "HI")
        r = await peer.call(call.DataTransfer(vendor_id="com.acme", message_id="nope"))
        assert r.status == "UnknownMessageId"
        r = await peer.call(call.DataTransfer(vendor_id="com.other"))
        assert r.status == "UnknownVendorId"
        r = await peer.call(call.DataTransfer(vendor_id="com.plain", data="x"))
        assert (r.status, r.data) == ("Rejected", None)


# -- TriggerMessage ------------------------------------------------------------------------
@pytest.mark.parametrize("message,expected", [
    ("BootNotification", "BootNotification"),
    ("DiagnosticsStatusNotification", "DiagnosticsStatusNotification"),
    ("FirmwareStatusNotification", "FirmwareStatusNotification"),
    ("Heartbeat", "Heartbeat"),
    ("MeterValues", "MeterValues"),
    ("StatusNotification", "StatusNotification"),
])
async def test_trigger_message_sends_after_the_reply(csms, message, expected):
    async with running(csms, connectors=2):
        before = len(csms.calls(expected))
        reply = await csms.peers["CP1"].call(call.TriggerMessage(requested_message=message))
        assert reply.status == "Accepted"
        await csms.wait_for(expected, before + 1)
        assert reply_before(csms, "TriggerMessage", expected)
    if message == "DiagnosticsStatusNotification":
        assert csms.calls(expected) == [{"status": "Idle"}]


async def test_trigger_message_connector_handling(csms):
    async with running(csms, connectors=2) as st:
        await csms.wait_for("StatusNotification", 3)
        peer = csms.peers["CP1"]
        reply = await peer.call(call.TriggerMessage(requested_message="StatusNotification",
                                                    connector_id=2))
        assert reply.status == "Accepted"
        await csms.wait_for("StatusNotification", 4)
        assert csms.calls("StatusNotification")[3]["connectorId"] == 2
        reply = await peer.call(call.TriggerMessage(requested_message="StatusNotification",
                                                    connector_id=5))
        assert reply.status == "Rejected"
        await st.plug_in(1)
        await st.present_tag(1, "T")
        await peer.call(call.TriggerMessage(requested_message="MeterValues", connector_id=1))
        [mv] = await csms.wait_for("MeterValues")
        assert mv["connectorId"] == 1 and mv["transactionId"] == 100
        assert mv["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
        assert reply_before(csms, "TriggerMessage", "MeterValues")


async def test_trigger_during_pending_is_answered_and_sent(csms):
    csms.boot_plan = [("Pending", 50)]
    st = make_station("CP-P", csms.url, **{**FAST, "interval_scale": 0.01})
    starting = asyncio.create_task(st.start(timeout=5))
    await csms.wait_for("BootNotification")
    reply = await csms.peers["CP-P"].call(call.TriggerMessage(
        requested_message="StatusNotification", connector_id=1))
    assert reply.status == "Accepted"
    [status] = await csms.wait_for("StatusNotification")
    assert status["connectorId"] == 1 and st.registration == "pending"
    # a triggered BootNotification that is accepted ends the pending state early
    await csms.peers["CP-P"].call(call.TriggerMessage(requested_message="BootNotification"))
    await asyncio.wait_for(starting, 5)
    try:
        assert st.registration == "accepted"
    finally:
        await st.stop()


# -- coverage --------------------------------------------------------------------------------
async def test_every_csms_initiated_16_request_has_a_handler():
    from simulator.protocol import CSMS, catalog

    dialect = make_station("CP-COVER", "ws://127.0.0.1:9/ocpp").dialect
    assert sorted(set(catalog("ocpp1.6").initiated_by(CSMS)) - set(dialect._handlers)) == []


async def test_every_station_intent_has_a_16_message():
    import dataclasses
    import typing

    from simulator.station import intents
    st = make_station("CP-INTENTS", "ws://127.0.0.1:9/ocpp")
    said = []

    async def call(action, payload):
        said.append((action, payload))
        return {"status": "Accepted"}
    st.dialect.link.call = call
    for kind in typing.get_args(intents.Intent):
        fields = {f.name: {"request_id": 7, "signed": False}.get(f.name, "x")
                  for f in dataclasses.fields(kind)}
        await st.send(kind(**fields))
    assert [a for a, _ in said] == ["FirmwareStatusNotification",
                                    "DiagnosticsStatusNotification", "LogStatusNotification",
                                    "SecurityEventNotification", "SignCertificate"]
    assert said[2][1] == {"status": "x", "requestId": 7}
    assert said[3][1] == {"type": "x", "timestamp": "x", "techInfo": "x"}

    class Unknown:
        pass
    with pytest.raises(TypeError, match="cannot say Unknown"):
        await st.send(Unknown())
