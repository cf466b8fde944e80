"""Our 2.0.1 station against a CSMS written with the `ocpp` library's v201 ChargePoint
(its routing and schema validation, none of our code): boot Pending then Accepted, the
device model, authorization, a remote-started transaction and TriggerMessage."""
from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timezone

import pytest
import websockets
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action

from simulator.dialects import make_station

TAG = "LIB-201"


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Csms201(ChargePoint):
    """The CSMS end of one station's websocket; records every CALL it receives."""

    def __init__(self, station_id, ws, server):
        super().__init__(station_id, ws, response_timeout=5)
        self.server = server

    async def route_message(self, raw):
        frame = json.loads(raw)
        if frame[0] == 2:
            self.server.received.append((frame[2], frame[3]))
            self.server.changed.set()
        await super().route_message(raw)

    @on(Action.boot_notification)
    def on_boot(self, charging_station, reason, **_):
        status = self.server.boots.pop(0) if self.server.boots else "Accepted"
        return call_result.BootNotification(current_time=now(), interval=1 if status != "Accepted"
                                            else 600, status=status)

    @on(Action.heartbeat)
    def on_heartbeat(self, **_):
        return call_result.Heartbeat(current_time=now())

    @on(Action.status_notification)
    def on_status(self, **_):
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_token, **_):
        status = "Accepted" if id_token["id_token"] == TAG else "Invalid"
        return call_result.Authorize(id_token_info={"status": status})

    @on(Action.transaction_event)
    def on_tx(self, event_type, timestamp, trigger_reason, seq_no, transaction_info, **kw):
        if "id_token" in kw:
            return call_result.TransactionEvent(id_token_info={"status": "Accepted"})
        return call_result.TransactionEvent()

    @on(Action.notify_report)
    def on_report(self, **_):
        return call_result.NotifyReport()

    @on(Action.meter_values)
    def on_meter_values(self, **_):
        return call_result.MeterValues()


class Server:
    def __init__(self):
        self.received: list[tuple[str, dict]] = []
        self.boots: list[str] = []
        self.peers: dict[str, Csms201] = {}
        self.changed = asyncio.Event()

    async def serve(self, ws):
        sid = ws.request.path.rstrip("/").rsplit("/", 1)[-1]
        peer = self.peers[sid] = Csms201(sid, ws, self)
        with contextlib.suppress(websockets.ConnectionClosed):
            await peer.start()

    def calls(self, action):
        return [p for a, p in self.received if a == action]

    async def wait_for(self, action, count=1, where=None, timeout=5.0):
        async def wait():
            while True:
                found = [p for p in self.calls(action) if where is None or where(p)]
                if len(found) >= count:
                    return found
                self.changed.clear()
                await self.changed.wait()
        return await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def csms():
    server = Server()
    ws_server = await websockets.serve(server.serve, "127.0.0.1", 0, subprotocols=["ocpp2.0.1"])
    server.url = f"ws://127.0.0.1:{ws_server.sockets[0].getsockname()[1]}/ocpp"
    yield server
    ws_server.close()
    await ws_server.wait_closed()


@contextlib.asynccontextmanager
async def station(csms, sid="LIB201-1", **kw):
    st = make_station(sid, csms.url, version="ocpp2.0.1", interval_scale=0.05,
                      boot_retry_min=0.01, **kw)
    await st.start(timeout=5)
    try:
        yield st
    finally:
        await st.stop()


async def test_pending_boot_then_accepted_and_device_model_through_the_library(csms):
    csms.boots = ["Pending"]
    async with station(csms) as st:
        boots = csms.calls("BootNotification")
        assert len(boots) == 2 and boots[0]["reason"] == "PowerUp"
        assert boots[0]["chargingStation"]["vendorName"] == "chargesim"
        peer = csms.peers["LIB201-1"]
        reply = await peer.call(call.SetVariables(set_variable_data=[
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
             "attribute_value": "42"},
            {"component": {"name": "ChargingStation"}, "variable": {"name": "Available"},
             "attribute_value": "false"}]))
        assert [r["attribute_status"] for r in reply.set_variable_result] == [
            "Accepted", "Rejected"]
        assert st.settings["heartbeat_interval"] == 42
        reply = await peer.call(call.GetVariables(get_variable_data=[
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
            {"component": {"name": "Nope"}, "variable": {"name": "X"}}]))
        assert reply.get_variable_result[0]["attribute_value"] == "42"
        assert reply.get_variable_result[1]["attribute_status"] == "UnknownComponent"
        reply = await peer.call(call.GetBaseReport(request_id=3, report_base="FullInventory"))
        assert reply.status == "Accepted"
        parts = await csms.wait_for("NotifyReport", where=lambda p: not p.get("tbc"))
        assert parts[-1]["requestId"] == 3
        assert [p["seqNo"] for p in csms.calls("NotifyReport")] == list(
            range(len(csms.calls("NotifyReport"))))


async def test_remote_start_stop_and_trigger_through_the_library(csms):
    async with station(csms, "LIB201-2") as st:
        peer = csms.peers["LIB201-2"]
        await st.plug_in(1)
        confirmed = st.expect("tx_started", 1)
        reply = await peer.call(call.RequestStartTransaction(
            id_token={"id_token": TAG, "type": "ISO14443"}, remote_start_id=5, evse_id=1))
        assert reply.status == "Accepted"
        await asyncio.wait_for(confirmed, 5)   # the CSMS answered the start
        started = await csms.wait_for("TransactionEvent",
                                      where=lambda p: p["eventType"] == "Started")
        info = started[0]["transactionInfo"]
        assert info["remoteStartId"] == 5 and started[0]["triggerReason"] == "RemoteStart"
        reply = await peer.call(call.TriggerMessage(requested_message="TransactionEvent",
                                                    evse={"id": 1}))
        assert reply.status == "Accepted"
        await csms.wait_for("TransactionEvent", where=lambda p: p["triggerReason"] == "Trigger")
        reply = await peer.call(call.GetTransactionStatus(transaction_id=info["transactionId"]))
        assert (reply.ongoing_indicator, reply.messages_in_queue) == (True, False)
        reply = await peer.call(call.RequestStopTransaction(
            transaction_id=info["transactionId"]))
        assert reply.status == "Accepted"
        ended = await csms.wait_for("TransactionEvent", where=lambda p: p["eventType"] == "Ended")
        assert ended[0]["transactionInfo"]["stoppedReason"] == "Remote"
        seqs = [p["seqNo"] for p in csms.calls("TransactionEvent")
                if p["transactionInfo"]["transactionId"] == info["transactionId"]]
        assert seqs == list(range(len(seqs)))
        reply = await peer.call(call.GetTransactionStatus(transaction_id=info["transactionId"]))
        assert (reply.ongoing_indicator, reply.messages_in_queue) == (False, False)
        reply = await peer.call(call.UnlockConnector(evse_id=1, connector_id=1))
        assert reply.status == "Unlocked"
        before = len(csms.calls("StatusNotification"))
        reply = await peer.call(call.TriggerMessage(requested_message="StatusNotification",
                                                    evse={"id": 1, "connector_id": 1}))
        assert reply.status == "Accepted"
        await csms.wait_for("StatusNotification", count=before + 1)
        reply = await peer.call(call.TriggerMessage(requested_message="BootNotification"))
        assert reply.status == "Rejected"          # already accepted (F06.FR.17)
        reply = await peer.call(call.TriggerMessage(requested_message="SignV2GCertificate"))
        assert reply.status == "NotImplemented"


async def test_local_card_is_authorized_with_its_token_type(csms):
    async with station(csms, "LIB201-3") as st:
        await st.plug_in(1)
        assert await st.present_tag(1, "WRONG") == "Rejected"
        assert await st.present_tag(1, TAG) == "Started"
        auth = csms.calls("Authorize")
        assert auth[0]["idToken"] == {"idToken": "WRONG", "type": "ISO14443"}
