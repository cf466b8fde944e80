"""The station speaking OCPP 1.5 over SOAP: a full session against a CentralSystemService
built from the project's codec, every message checked against the reference schemas."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from lxml import etree

from simulator.dialects import make_station
from simulator.session import CallTimeout
from simulator.station import StationError
from simulator.station.lifecycle import State
from simulator.protocol.soap.envelope import SOAP_ENV, WSA, parse
from soap_csms import TestCentralSystem

REF_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "ocpp-soap"
REF_FILES = {"urn://Ocpp/Cs/2012/06/": "ocpp_centralsystemservice_1.5_final.wsdl",
             "urn://Ocpp/Cp/2012/06/": "ocpp_chargepointservice_1.5_final.wsdl"}


@pytest.fixture(scope="module")
def reference_schemas():
    if not REF_DIR.is_dir():
        pytest.skip(f"reference OCPP 1.5 WSDLs not found in {REF_DIR}")
    out = {}
    for ns, name in REF_FILES.items():
        doc = etree.parse(str(REF_DIR / name), etree.XMLParser(resolve_entities=False, no_network=True))
        schema = doc.find("{http://schemas.xmlsoap.org/wsdl/}types/{http://www.w3.org/2001/XMLSchema}schema")
        out[ns] = etree.XMLSchema(etree.fromstring(etree.tostring(schema)))
    return out


def check_against_reference(schemas, bodies) -> int:
    """Every envelope's body element validates against the reference schema of its
    namespace; returns how many were checked."""
    for raw in bodies:
        node = etree.fromstring(raw).find(f"{{{SOAP_ENV}}}Body")[0]
        ns = etree.QName(node).namespace
        if ns == SOAP_ENV:        # a fault: no OCPP schema
            continue
        schema = schemas[ns]
        doc = etree.fromstring(etree.tostring(node))
        assert schema.validate(doc), (raw.decode(), schema.error_log)
    return len(bodies)


@asynccontextmanager
async def soap_station(csms: TestCentralSystem, station_id="CP15", **options):
    opts = {"interval_scale": 0.01, "version": "ocpp1.5", "seed": 1, "call_timeout": 10,
            **options}
    st = make_station(station_id, csms.url, **opts)
    await st.start(timeout=20)
    try:
        yield st
    finally:
        await st.stop()


@pytest.fixture
async def csms():
    c = TestCentralSystem()
    await c.start()
    yield c
    await c.stop()


async def test_boot_headers_carry_ws_addressing_and_the_callback(csms):
    async with soap_station(csms) as st:
        [boot] = csms.payloads("BootNotification")
        assert boot["chargePointVendor"] == st.options.vendor
        msg = next(m for _, op, _, m in csms.received if op == "BootNotification")
        h = msg.headers
        assert h.charge_box_identity == "CP15"
        assert h.action == "/BootNotification" and h.message_id.startswith("urn:uuid:")
        assert h.to == csms.url
        assert h.reply_to == f"{WSA}/anonymous"
        assert h.from_ == st.dialect.callback_url
        assert h.from_.startswith("http://127.0.0.1:") and h.from_.endswith("/ChargePointService")
        assert msg.notes == [] and msg.repairs == []
        await csms.wait_for("StatusNotification", 2)     # connector 0 and 1
        assert {p["connectorId"]: p["status"] for p in csms.payloads("StatusNotification")} \
            == {0: "Available", 1: "Available"}


async def test_full_charging_session(csms, reference_schemas):
    async with soap_station(csms, config={"MeterValueSampleInterval": "5",
                                          "StopTxnSampledData": "Energy.Active.Import.Register"}) as st:
        await csms.wait_for("StatusNotification", 2)
        await st.plug_in(1)
        assert await st.present_tag(1, "TAG15") == "Started"
        assert csms.payloads("Authorize") == [{"idTag": "TAG15"}]
        [start] = csms.payloads("StartTransaction")
        assert (start["connectorId"], start["idTag"], start["meterStart"]) == (1, "TAG15", 0)
        tx = st.connectors[1].transaction
        assert tx.transaction_id == 1000
        await csms.wait_for("StatusNotification", where=lambda p: p["status"] == "Occupied")
        mv = await csms.wait_for("MeterValues", where=lambda p: p.get("transactionId") == 1000)
        value = mv["values"][0]["value"][0]
        assert value["measurand"] == "Energy.Active.Import.Register" and value["unit"] == "Wh"
        await asyncio.sleep(0.1)
        assert await st.present_tag(1, "TAG15") == "Stopped"
        [stop] = csms.payloads("StopTransaction")
        assert stop["transactionId"] == 1000 and stop["idTag"] == "TAG15"
        assert stop["meterStop"] >= 0 and "reason" not in stop
        assert stop["transactionData"][0]["values"][0]["value"][0]["unit"] == "Wh"
        await st.unplug(1)
        await csms.wait_for("StatusNotification", 2, where=lambda p: p["connectorId"] == 1
                            and p["status"] == "Available")
        said = [p["status"] for p in csms.payloads("StatusNotification") if p["connectorId"] == 1]
        # Preparing, Charging and Finishing are all Occupied in 1.5: said once
        assert said == ["Available", "Occupied", "Available"]
        ops = csms.ops()
        assert ops.index("StartTransaction") < ops.index("StopTransaction")
        assert await st.data_transfer("chargesim", "ping", "x") == ("Accepted", "pong")
    assert check_against_reference(reference_schemas, csms.raw_in) >= 8


async def test_heartbeats_then_a_lost_csms_and_the_station_comes_back():
    c = TestCentralSystem(heartbeat_interval=1)      # x 0.01: 10 ms
    await c.start()
    port = int(c.url.split(":")[2].split("/")[0])
    c2 = None
    try:
        async with soap_station(c, reconnect_min=0.01, reconnect_max=0.05) as st:
            await c.wait_for("Heartbeat", 2)
            lost = st.expect("disconnected")
            await c.stop()
            await asyncio.wait_for(lost, 20)      # a POST got no answer: the link is lost
            c2 = TestCentralSystem(port=port)
            await c2.start()
            await asyncio.wait_for(st.lifecycle.reached(State.ACCEPTED), 20)
            await c2.wait_for("Heartbeat")
            assert c2.received[0][0] == "CP15"
    finally:
        if c2 is not None:
            await c2.stop()


async def test_unreachable_csms_fails_the_start_clearly():
    st = make_station("CP-X", "http://127.0.0.1:9/CentralSystemService", version="ocpp1.5",
                      connect_attempts=1, interval_scale=0.01)
    with pytest.raises(Exception) as info:
        await st.start(timeout=10)
    assert "127.0.0.1:9" in str(info.value)
    await st.stop()


async def test_offline_transaction_messages_wait_and_the_endpoint_comes_back(csms):
    async with soap_station(csms, reconnect_min=0.01, reconnect_max=0.05) as st:
        await csms.wait_for("StatusNotification", 2)
        url = st.dialect.callback_url
        await st.plug_in(1)
        assert await st.present_tag(1, "OFF1") == "Started"
        tx_id = st.connectors[1].transaction.transaction_id
        st.go_offline()
        assert st.session is None                       # nothing goes out, nothing comes in
        await st.present_tag(1, "OFF1")                  # stopped while offline: queued
        assert csms.payloads("StopTransaction") == []
        back = st.expect("connected")
        st.come_online()
        await asyncio.wait_for(back, 20)
        stop = await csms.wait_for("StopTransaction")
        assert stop["transactionId"] == tx_id and stop["idTag"] == "OFF1"
        assert st.dialect.callback_url == url            # the same address after the outage
        assert await csms.call("CP15", "ClearCache", {}) == {"status": "Accepted"}


async def test_an_unanswered_call_times_out_without_losing_the_link(csms):
    async with soap_station(csms, call_timeout=0.2) as st:
        csms.hold.add("DataTransfer")
        lost = []
        st.view.subscribe(lambda e: lost.append(e) if e.kind == "disconnected" else None)
        with pytest.raises(StationError) as failed:     # the station's word for it
            await st.data_transfer("chargesim", "slow", None)
        assert isinstance(failed.value.__cause__, CallTimeout)
        csms.release.set()
        assert lost == [] and st.session is not None
        csms.hold.clear()
        assert await st.data_transfer("chargesim", "fast", None) == ("Accepted", "pong")
