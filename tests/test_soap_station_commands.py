"""Every OCPP 1.5 CSMS-initiated operation, called on the station's own ChargePointService
endpoint, with the same behaviour as 1.6; bad envelopes get SOAP faults, never a crash."""
from __future__ import annotations

import asyncio

import pytest

from simulator.protocol.soap.envelope import FaultCode, parse
from soap_csms import SoapCallFailed, TestCentralSystem
from test_soap_station import check_against_reference, reference_schemas, soap_station  # noqa: F401
from tests.transfer_helpers import file_server, iso_in  # noqa: F401

CP = "CP15"


@pytest.fixture
async def csms():
    c = TestCentralSystem()
    await c.start()
    yield c
    await c.stop()


def statuses(csms, connector=1):
    return [p["status"] for p in csms.payloads("StatusNotification") if p["connectorId"] == connector]


async def test_configuration_cache_availability_and_data_transfer(csms, reference_schemas):
    async with soap_station(csms) as st:
        await csms.wait_for("StatusNotification", 2)
        got = await csms.call(CP, "GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]})
        assert got == {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False,
                                             "value": "600"}], "unknownKey": ["Nope"]}
        assert (await csms.call(CP, "ChangeConfiguration",
                                {"key": "HeartbeatInterval", "value": "120"})) == {"status": "Accepted"}
        assert st.config["HeartbeatInterval"] == 120
        assert (await csms.call(CP, "ChangeConfiguration",
                                {"key": "NoSuchKey", "value": "1"})) == {"status": "NotSupported"}
        assert (await csms.call(CP, "ChangeConfiguration",
                                {"key": "HeartbeatInterval", "value": "soon"})) == {"status": "Rejected"}
        everything = await csms.call(CP, "GetConfiguration", {})
        assert len(everything["configurationKey"]) > 20
        assert await csms.call(CP, "ClearCache", {}) == {"status": "Accepted"}

        assert (await csms.call(CP, "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
                == {"status": "Accepted"})
        await csms.wait_for("StatusNotification", where=lambda p: p["status"] == "Unavailable")
        assert st.connectors[1].status == "unavailable"
        assert (await csms.call(CP, "ChangeAvailability", {"connectorId": 1, "type": "Operative"})
                == {"status": "Accepted"})
        await csms.wait_for("StatusNotification", 2, where=lambda p: p["connectorId"] == 1
                            and p["status"] == "Available")

        assert (await csms.call(CP, "DataTransfer", {"vendorId": "nobody.example"}))["status"] \
            == "UnknownVendorId"
        assert await csms.call(CP, "UnlockConnector", {"connectorId": 1}) == {"status": "Accepted"}
        assert await csms.call(CP, "UnlockConnector", {"connectorId": 9}) == {"status": "Rejected"}
    assert check_against_reference(reference_schemas, csms.raw_out) >= 11


async def test_remote_start_and_stop(csms, reference_schemas):
    async with soap_station(csms) as st:
        await csms.wait_for("StatusNotification", 2)
        await st.plug_in(1)
        started = st.expect("tx_started", 1)
        got = await csms.call(CP, "RemoteStartTransaction", {"idTag": "REMOTE1", "connectorId": 1})
        assert got == {"status": "Accepted"}
        await asyncio.wait_for(started, 20)
        [start] = csms.payloads("StartTransaction")
        assert (start["idTag"], start["connectorId"]) == ("REMOTE1", 1)
        tx_id = st.connectors[1].transaction.transaction_id
        assert (await csms.call(CP, "RemoteStopTransaction", {"transactionId": tx_id + 50})
                == {"status": "Rejected"})
        assert (await csms.call(CP, "RemoteStopTransaction", {"transactionId": tx_id})
                == {"status": "Accepted"})
        stop = await csms.wait_for("StopTransaction")
        assert stop["transactionId"] == tx_id
        assert st.connectors[1].transaction is None
        assert st.connectors[1].last_transaction.stop_reason == "remote"
    assert check_against_reference(reference_schemas, csms.raw_out + csms.raw_in) > 6


async def test_local_list_and_reservations(csms, reference_schemas):
    async with soap_station(csms) as st:
        await csms.wait_for("StatusNotification", 2)
        got = await csms.call(CP, "SendLocalList", {
            "updateType": "Full", "listVersion": 3,
            "localAuthorisationList": [{"idTag": "LOCAL1", "idTagInfo": {"status": "Accepted"}},
                                       {"idTag": "LOCAL2", "idTagInfo": {"status": "Blocked"}}]})
        assert got == {"status": "Accepted"}
        assert await csms.call(CP, "GetLocalListVersion", {}) == {"listVersion": 3}
        assert (await csms.call(CP, "SendLocalList", {"updateType": "Differential", "listVersion": 2})
                == {"status": "VersionMismatch"})
        assert len(st.local_list) == 2

        got = await csms.call(CP, "ReserveNow", {"connectorId": 1, "expiryDate": iso_in(600),
                                                 "idTag": "RES1", "reservationId": 7})
        assert got == {"status": "Accepted"}
        await csms.wait_for("StatusNotification", where=lambda p: p["status"] == "Reserved")
        assert await csms.call(CP, "CancelReservation", {"reservationId": 8}) == {"status": "Rejected"}
        assert await csms.call(CP, "CancelReservation", {"reservationId": 7}) == {"status": "Accepted"}
        await csms.wait_for("StatusNotification", 2, where=lambda p: p["connectorId"] == 1
                            and p["status"] == "Available")
        assert statuses(csms) == ["Available", "Reserved", "Available"]
    assert check_against_reference(reference_schemas, csms.raw_out) >= 6


async def test_reset_reboots_and_boots_again(csms):
    async with soap_station(csms, reboot_delay=0.5) as st:
        await csms.wait_for("StatusNotification", 2)
        rebooted = st.expect("rebooted")
        assert await csms.call(CP, "Reset", {"type": "Soft"}) == {"status": "Accepted"}
        await asyncio.wait_for(rebooted, 20)
        await csms.wait_for("BootNotification", 2)
        # the callback address survives the reboot: the CSMS can still call
        assert await csms.call(CP, "ClearCache", {}) == {"status": "Accepted"}


async def test_update_firmware_and_get_diagnostics(csms, reference_schemas):
    async with file_server() as files:
        await _firmware_and_diagnostics(csms, files)
    assert check_against_reference(reference_schemas, csms.raw_out + csms.raw_in) > 8


async def _firmware_and_diagnostics(csms, file_server):
    file_server.files["fw/image-2.bin"] = b"firmware-version: 2.0.0\n..."
    async with soap_station(csms, reboot_delay=0.5) as st:
        await csms.wait_for("StatusNotification", 2)
        got = await csms.call(CP, "UpdateFirmware", {"retrieveDate": iso_in(0),
                                                     "location": f"{file_server.url}/fw/image-2.bin"})
        assert got == {}
        await csms.wait_for("FirmwareStatusNotification", where=lambda p: p["status"] == "Installed")
        said = [p["status"] for p in csms.payloads("FirmwareStatusNotification")]
        assert said == ["Downloaded", "Installed"]      # 1.5 has no Downloading / Installing
        boots = csms.payloads("BootNotification")
        assert boots[-1]["firmwareVersion"] == "2.0.0"

        got = await csms.call(CP, "GetDiagnostics", {"location": f"{file_server.url}/upload"})
        assert got["fileName"].startswith(CP)
        await csms.wait_for("DiagnosticsStatusNotification")
        assert csms.payloads("DiagnosticsStatusNotification") == [{"status": "Uploaded"}]
        assert f"upload/{got['fileName']}" in file_server.uploads
        got = await csms.call(CP, "GetDiagnostics", {"location": "ftp://example.invalid/x"})
        await csms.wait_for("DiagnosticsStatusNotification", 2)
        assert csms.payloads("DiagnosticsStatusNotification")[-1] == {"status": "UploadFailed"}


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:o="urn://Ocpp/Cp/2012/06/">
<s:Header/><s:Body><o:changeConfigurationRequest><o:key>&x;</o:key><o:value>1</o:value>
</o:changeConfigurationRequest></s:Body></s:Envelope>"""


def envelope(body: str, ns: str = "urn://Ocpp/Cp/2012/06/", action: str = "/Reset") -> bytes:
    return (f'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            f'xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:o="{ns}"><s:Header>'
            f'<o:chargeBoxIdentity>{CP}</o:chargeBoxIdentity><a:Action>{action}</a:Action>'
            f'<a:MessageID>urn:uuid:1</a:MessageID></s:Header><s:Body>{body}</s:Body>'
            f'</s:Envelope>').encode()


BAD = {
    "not xml": (b"<s:Envelope", FaultCode.MALFORMED),
    "empty": (b"", FaultCode.MALFORMED),
    "xxe": (XXE, FaultCode.MALFORMED),
    "soap 1.1": (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/>'
                 b'</e:Envelope>', FaultCode.MALFORMED),
    "unknown operation": (envelope("<o:rebootNowRequest/>"), FaultCode.UNKNOWN_OPERATION),
    "wrong namespace": (envelope("<o:resetRequest><o:type>Soft</o:type></o:resetRequest>",
                                 ns="urn://Ocpp/Cp/2010/08/"), FaultCode.UNKNOWN_OPERATION),
    "the CSMS's own operation": (envelope("<o:heartbeatRequest/>", ns="urn://Ocpp/Cs/2012/06/",
                                          action="/Heartbeat"), FaultCode.UNKNOWN_OPERATION),
    "schema violation": (envelope("<o:resetRequest><o:type>Medium</o:type></o:resetRequest>"),
                         FaultCode.SCHEMA_VIOLATION),
    "no headers": (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                   b'xmlns:o="urn://Ocpp/Cp/2012/06/"><s:Body><o:clearCacheRequest/></s:Body>'
                   b'</s:Envelope>', FaultCode.MISSING_HEADER),
}


async def test_bad_envelopes_get_soap_faults_and_the_station_carries_on(csms):
    async with soap_station(csms) as st:
        await csms.wait_for("StatusNotification", 2)
        url = st.dialect.callback_url
        for name, (body, kind) in BAD.items():
            status, reply = await csms.post_raw(url, body)
            fault = parse(reply).fault
            assert (status, fault.kind) == (400, kind), (name, fault)
            assert "root:" not in fault.reason           # no file was read
        with pytest.raises(SoapCallFailed) as failed:   # too many keys: a fault, not a crash
            await csms.call(CP, "GetConfiguration", {"key": [f"K{i}" for i in range(60)]})
        assert failed.value.status == 400
        assert "GetConfigurationMaxKeys" in failed.value.event.description
        assert await csms.call(CP, "ClearCache", {}) == {"status": "Accepted"}
        assert st.lifecycle.state.value == "accepted"
