"""Remote Trigger of every triggerable 1.6 message (through our hub's command path, with the
station's current data, after the reply) and DataTransfer vendor hooks on both sides:
a template's canned answers on the station, `Manager.data_transfer_handlers` on the hub."""
from __future__ import annotations

import asyncio

import orjson
import pytest
from ocpp.v16 import call

from hub_under_test.messages import DataTransferResult, DataTransferStatus
from simulator.session import CallErrorReceived
from simulator.station import Station, StationError, StationOptions
from simulator.templates.loader import load_template
from simulator.dialects import make_station
from tests.hub_helpers import running_hub
from tests.ocpp_lib_csms import csms, running  # noqa: F401  (fixture)

FAST = dict(interval_scale=0.01, boot_retry_min=0.01, reconnect_min=0.05, call_timeout=5)
TAG = "TRIG-TAG"


class Wire:
    """The station's frames in wire order."""

    def __init__(self, station: Station):
        self.frames: list[tuple[str, list]] = []
        self._changed = asyncio.Event()
        station.taps.append(self._tap)

    def _tap(self, frame) -> None:
        self.frames.append((frame.direction, orjson.loads(frame.raw)))
        self._changed.set()

    def calls(self, action: str) -> list[dict]:
        return [f[3] for d, f in self.frames if d == "out" and f[0] == 2 and f[2] == action]

    async def wait(self, action: str, count: int) -> list[dict]:
        async def until():
            while len(self.calls(action)) < count:
                self._changed.clear()
                await self._changed.wait()
            return self.calls(action)
        return await asyncio.wait_for(until(), 5)

    def reply_before(self, action: str) -> bool:
        """The station's CALLRESULT to the last TriggerMessage went out before the last
        `action` CALL."""
        trigger_ids = [f[1] for d, f in self.frames if d == "in" and f[0] == 2 and f[2] == "TriggerMessage"]
        order = [(d, f) for d, f in self.frames if d == "out"]
        reply_at = next(i for i, (_, f) in enumerate(order) if f[0] == 3 and f[1] == trigger_ids[-1])
        call_at = max(i for i, (_, f) in enumerate(order) if f[0] == 2 and f[2] == action)
        return reply_at < call_at


async def trigger(hub, station_id: str, message: str, connector_id: int | None = None) -> str:
    payload = {"requestedMessage": message}
    if connector_id is not None:
        payload["connectorId"] = connector_id
    return (await hub.send(station_id, "TriggerMessage", payload))["status"]


@pytest.fixture
async def hub():
    async with running_hub(tags={TAG: "Accepted"}) as h:
        yield h


@pytest.fixture
async def station(hub):
    st = make_station("TRIG-1", hub.url, StationOptions(connectors=2, **FAST))
    await st.start(timeout=5)
    yield st
    await st.stop()


# -- TriggerMessage through our hub ----------------------------------------------------------

async def test_triggered_status_notification_reports_the_current_status(hub, station):
    wire = Wire(station)
    await station.plug_in(2)
    assert await trigger(hub, "TRIG-1", "StatusNotification", 2) == "Accepted"
    status = (await wire.wait("StatusNotification", 2))[-1]   # after the plug-in's own
    assert (status["connectorId"], status["status"]) == (2, "Preparing")
    assert wire.reply_before("StatusNotification")
    # without connectorId: every connector, 0 included
    assert await trigger(hub, "TRIG-1", "StatusNotification") == "Accepted"
    sent = await wire.wait("StatusNotification", 5)
    assert [s["connectorId"] for s in sent[2:]] == [0, 1, 2]
    assert hub.manager.stations["TRIG-1"].connectors[2].status == "Preparing"


async def test_triggered_meter_values_carry_the_current_register_and_transaction(hub, station):
    wire = Wire(station)
    await station.plug_in(1)
    started = station.expect("tx_started", 1)
    assert await station.present_tag(1, TAG) == "Started"
    tx_id = (await asyncio.wait_for(started, 5)).data["transaction_id"]
    assert await trigger(hub, "TRIG-1", "MeterValues", 1) == "Accepted"
    [mv] = await wire.wait("MeterValues", 1)
    assert mv["connectorId"] == 1 and mv["transactionId"] == tx_id
    sample = mv["meterValue"][0]["sampledValue"][0]
    assert sample["context"] == "Trigger" and sample["measurand"] == "Energy.Active.Import.Register"
    # current data: not below the transaction's start, not above the register read
    # afterwards (as the wire writes it: to 0.1 Wh, so compare like with like)
    after = float(format(station.connectors[1].meter.read().energy_wh, ".1f"))
    assert station.connectors[1].transaction.meter_start <= float(sample["value"]) <= after
    assert wire.reply_before("MeterValues")
    # connector 2 has no transaction: no transactionId; the hub stored both
    assert await trigger(hub, "TRIG-1", "MeterValues", 2) == "Accepted"
    sent = await wire.wait("MeterValues", 2)
    assert sent[-1]["connectorId"] == 2 and "transactionId" not in sent[-1]
    rows = hub.store.meter_values(station_id="TRIG-1")
    assert {r["context"] for r in rows} == {"Trigger"} and {r["connector_id"] for r in rows} == {1, 2}


async def test_triggered_meter_values_are_sent_even_with_no_sampled_measurands(hub, station):
    wire = Wire(station)
    assert station.change_configuration("MeterValuesSampledData", "") == "Accepted"
    assert await trigger(hub, "TRIG-1", "MeterValues", 1) == "Accepted"
    [mv] = await wire.wait("MeterValues", 1)
    assert [s["measurand"] for s in mv["meterValue"][0]["sampledValue"]] == [
        "Energy.Active.Import.Register"]


async def test_triggered_heartbeat_and_boot_reach_the_hub(hub, station):
    wire = Wire(station)
    boots = hub.manager.counters["boots"]
    # connectorId is not relevant to these messages: ignored (1.6 §5.17), even a wrong one
    assert await trigger(hub, "TRIG-1", "Heartbeat", 9) == "Accepted"
    await wire.wait("Heartbeat", 1)
    assert wire.reply_before("Heartbeat")
    assert await trigger(hub, "TRIG-1", "BootNotification", 1) == "Accepted"
    [boot] = await wire.wait("BootNotification", 1)
    assert boot["chargePointVendor"] == station.options.vendor
    assert wire.reply_before("BootNotification")
    for _ in range(100):
        if hub.manager.counters["boots"] > boots:
            break
        await asyncio.sleep(0.01)
    assert hub.manager.counters["boots"] == boots + 1 and station.registration == "accepted"


@pytest.mark.parametrize("message,attribute", [
    ("DiagnosticsStatusNotification", "diagnostics_status"),
    ("FirmwareStatusNotification", "firmware_status"),
])
async def test_triggered_status_notifications_say_the_current_state(hub, station, message, attribute):
    wire = Wire(station)
    assert await trigger(hub, "TRIG-1", message) == "Accepted"
    assert (await wire.wait(message, 1))[0] == {"status": "Idle"}
    current = "Uploading" if message.startswith("Diagnostics") else "Downloading"
    # the feature owns its status (the station only reads it)
    owner, field = ((station.diagnostics, "diagnostics_status") if attribute == "diagnostics_status"
                    else (station.firmware, "plain_status"))
    setattr(owner, field, current)
    assert getattr(station, attribute) == current
    assert await trigger(hub, "TRIG-1", message) == "Accepted"
    assert (await wire.wait(message, 2))[1] == {"status": current}
    assert wire.reply_before(message)
    await asyncio.sleep(0.05)   # the hub has processed it
    assert getattr(hub.manager.stations["TRIG-1"], attribute) == current


async def test_trigger_for_a_connector_that_does_not_exist_is_rejected_and_sends_nothing(hub, station):
    wire = Wire(station)
    assert await trigger(hub, "TRIG-1", "StatusNotification", 3) == "Rejected"
    assert await trigger(hub, "TRIG-1", "MeterValues", 7) == "Rejected"
    await station.data_transfer("nobody")   # one more round trip: anything triggered is out
    assert wire.calls("StatusNotification") == [] and wire.calls("MeterValues") == []


async def test_unknown_requested_message_is_not_implemented(hub, station):
    # 2.0.1 names and made-up names reach the station only in lenient mode or past a
    # schema check; the station's own answer is NotImplemented (1.6 §5.17)
    # (the station's triggers are neutral names; the extended ones are not plain triggers)
    assert station.trigger("log_status") == "NotImplemented"
    assert station.trigger("sign_certificate", 1) == "NotImplemented"
    assert station.trigger("LogStatusNotification") == "NotImplemented"
    # on the wire, a strict station answers the schema violation first
    session = hub.connection("TRIG-1").session
    with pytest.raises(CallErrorReceived) as err:
        await session.call("TriggerMessage", {"requestedMessage": "LogStatusNotification"},
                           validate_payload=False)
    assert err.value.error.code_text == "PropertyConstraintViolation"


# -- DataTransfer: the station's vendor hooks ------------------------------------------------

async def test_template_canned_vendor_answers_through_our_hub(hub):
    st = make_station("DT-1", hub.url, load_template("dc-150kw"), **FAST)
    await st.start(timeout=5)
    try:
        async def dt(**payload):
            return await hub.send("DT-1", "DataTransfer", payload)
        assert await dt(vendorId="com.ampero", messageId="GetCableTemperature") == {
            "status": "Accepted", "data": "38.0"}
        assert await dt(vendorId="com.ampero", messageId="Anything") == {"status": "Rejected"}
        assert await dt(vendorId="com.other") == {"status": "UnknownVendorId"}
        assert st.vendors["com.ampero"].received == [("GetCableTemperature", None), ("Anything", None)]
    finally:
        await st.stop()


async def test_canned_vendor_without_wildcard_answers_unknown_message_id(csms):  # noqa: F811
    # the `ocpp` library's CSMS as the independent peer
    async with running(csms, "DT-LIB", **{f: getattr(load_template("dc-50kw"), f)
                                          for f in ("vendor_responses", "connectors")}) as st:
        peer = csms.peers["DT-LIB"]
        r = await peer.call(call.DataTransfer(vendor_id="com.ampero", message_id="SetDisplayMessage",
                                              data="Welcome"))
        assert (r.status, r.data) == ("Accepted", None)
        r = await peer.call(call.DataTransfer(vendor_id="com.ampero", message_id="Reboot"))
        assert r.status == "UnknownMessageId"
        assert st.vendors["com.ampero"].received[0] == ("SetDisplayMessage", "Welcome")


def test_bad_canned_vendor_status_is_refused():
    with pytest.raises(ValueError, match="status 'Sure'"):
        make_station("DT-X", "ws://127.0.0.1:1/ocpp",
                StationOptions(vendor_responses={"v": {"*": ["Sure", None]}}))


async def test_register_vendor_handler_with_station_data(hub, station):
    async def handler(message_id, data):
        if message_id != "GetEnergy":
            from simulator.station import UnknownMessageId
            raise UnknownMessageId(message_id)
        return "Accepted", f"{station.connectors[int(data)].meter.read().energy_wh:.0f}"
    station.register_vendor("com.sim", handler)
    reply = await hub.send("TRIG-1", "DataTransfer", {"vendorId": "com.sim", "messageId": "GetEnergy",
                                                      "data": "1"})
    assert reply == {"status": "Accepted", "data": "0"}
    reply = await hub.send("TRIG-1", "DataTransfer", {"vendorId": "com.sim", "messageId": "Other"})
    assert reply == {"status": "UnknownMessageId"}


# -- DataTransfer: the hub's vendor hooks ------------------------------------------------------

async def test_hub_data_transfer_handlers_answer_the_station(hub, station):
    seen = []

    async def acme(msg):
        seen.append((msg.station_id, msg.message_id, msg.data))
        if msg.message_id == "Price":
            return DataTransferResult(DataTransferStatus.ACCEPTED, {"eur_per_kwh": 0.39})
        return DataTransferResult(DataTransferStatus.UNKNOWN_MESSAGE_ID)

    hub.manager.data_transfer_handlers["com.acme"] = acme
    events = []
    hub.events.subscribe("datatransfer.*", lambda e: events.append((e.station_id, e.message.vendor_id)))
    status, data = await station.data_transfer("com.acme", "Price", "AC")
    assert status == "Accepted" and orjson.loads(data) == {"eur_per_kwh": 0.39}  # JSON text in 1.6
    assert await station.data_transfer("com.acme", "Nope") == ("UnknownMessageId", None)
    assert await station.data_transfer("com.unknown") == ("UnknownVendorId", None)
    assert seen == [("TRIG-1", "Price", "AC"), ("TRIG-1", "Nope", None)]
    for _ in range(100):   # every DataTransfer is also published on the event bus
        if len(events) == 3:
            break
        await asyncio.sleep(0.01)
    assert events == [("TRIG-1", "com.acme")] * 2 + [("TRIG-1", "com.unknown")]


async def test_a_failing_hub_handler_is_an_internal_error_for_the_station(hub, station):
    async def broken(msg):
        raise RuntimeError("backend down")
    hub.manager.data_transfer_handlers["com.broken"] = broken
    with pytest.raises(StationError, match="InternalError"):
        await station.data_transfer("com.broken", "x")
    assert station.online   # the session goes on
    assert await station.data_transfer("com.none") == ("UnknownVendorId", None)
