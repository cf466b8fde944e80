"""An independent SOAP peer: zeep, reading the reference ChargePointService WSDL and adding
its own WS-Addressing headers, calls every 1.5 CSMS-initiated operation on the station."""
from __future__ import annotations

import asyncio

import pytest

from soap_csms import TestCentralSystem
from test_soap_station import REF_DIR, soap_station
from tests.transfer_helpers import iso_in

zeep = pytest.importorskip("zeep")
REF_CP = REF_DIR / "ocpp_chargepointservice_1.5_final.wsdl"
pytestmark = pytest.mark.skipif(not REF_CP.is_file(),
                                reason=f"reference OCPP 1.5 WSDLs not found in {REF_DIR}")
CP = "CP15"


@pytest.fixture
async def csms():
    c = TestCentralSystem()
    await c.start()
    yield c
    await c.stop()


def zeep_service(url: str):
    from zeep.wsa import WsAddressingPlugin
    client = zeep.Client(str(REF_CP), plugins=[WsAddressingPlugin()])
    return client.create_service("{urn://Ocpp/Cp/2012/06/}ChargePointServiceSoap", url)


async def test_zeep_calls_every_csms_initiated_operation(csms):
    async with soap_station(csms, reboot_delay=0.5) as st:
        await csms.wait_for("StatusNotification", 2)
        service = await asyncio.to_thread(zeep_service, st.dialect.callback_url)
        header = {"ChargeBoxIdentity": CP}

        async def call(op, **kw):
            return await asyncio.to_thread(getattr(service, op), _soapheaders=header, **kw)

        got = await call("GetConfiguration", key=["HeartbeatInterval"])
        assert [(k.key, k.value) for k in got.configurationKey] == [("HeartbeatInterval", "600")]
        assert await call("ChangeConfiguration", key="HeartbeatInterval", value="300") == "Accepted"
        assert st.config["HeartbeatInterval"] == 300
        assert await call("ClearCache") == "Accepted"
        assert await call("ChangeAvailability", connectorId=1, type="Inoperative") == "Accepted"
        assert await call("ChangeAvailability", connectorId=1, type="Operative") == "Accepted"
        assert await call("UnlockConnector", connectorId=1) == "Accepted"
        got = await call("SendLocalList", updateType="Full", listVersion=5,
                         localAuthorisationList=[{"idTag": "Z9", "idTagInfo": {"status": "Accepted"}}])
        assert got.status == "Accepted"
        assert await call("GetLocalListVersion") == 5
        assert await call("ReserveNow", connectorId=1, expiryDate=iso_in(600), idTag="Z9",
                          reservationId=3) == "Accepted"
        assert await call("CancelReservation", reservationId=3) == "Accepted"
        got = await call("DataTransfer", vendorId="nobody.example", messageId="x")
        assert got.status == "UnknownVendorId"

        await st.plug_in(1)
        started = st.expect("tx_started", 1)
        assert await call("RemoteStartTransaction", idTag="Z1", connectorId=1) == "Accepted"
        await asyncio.wait_for(started, 20)
        tx_id = st.connectors[1].transaction.transaction_id
        stopped = st.expect("tx_stopped", 1)
        assert await call("RemoteStopTransaction", transactionId=tx_id) == "Accepted"
        await asyncio.wait_for(stopped, 20)
        assert (await csms.wait_for("StopTransaction"))["transactionId"] == tx_id

        name = await call("GetDiagnostics", location="ftp://example.invalid/up")
        assert name.startswith(CP)                 # the upload then fails: ftp is not served
        await csms.wait_for("DiagnosticsStatusNotification")
        assert csms.payloads("DiagnosticsStatusNotification") == [{"status": "UploadFailed"}]
        assert await call("UpdateFirmware", location="http://127.0.0.1:9/fw.bin",
                          retrieveDate=iso_in(0)) is None      # an empty response
        rebooted = st.expect("rebooted")
        assert await call("Reset", type="Soft") == "Accepted"
        await asyncio.wait_for(rebooted, 20)


async def test_zeep_sees_a_soap_fault_for_a_request_without_chargebox_identity(csms):
    async with soap_station(csms) as st:
        service = await asyncio.to_thread(zeep_service, st.dialect.callback_url)
        with pytest.raises(zeep.exceptions.Fault) as fault:
            await asyncio.to_thread(service.ClearCache)
        assert "chargeBoxIdentity" in fault.value.message
        with pytest.raises(zeep.exceptions.Fault) as fault:   # meant for another station
            await asyncio.to_thread(service.ClearCache, _soapheaders={"ChargeBoxIdentity": "CP-OTHER"})
        assert "'CP-OTHER' is not 'CP15'" in fault.value.message
        assert await asyncio.to_thread(service.ClearCache,
                                       _soapheaders={"ChargeBoxIdentity": CP}) == "Accepted"
