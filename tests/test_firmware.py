"""Firmware Management, modelled on the OCA 1.6 compliance cases: an update that succeeds
(the next BootNotification carries the new version), download failed, installation failed,
the trigger reporting the current status, running transactions, and the security
extensions' SignedUpdateFirmware — our station against our hub and against an `ocpp`
library CSMS."""
from __future__ import annotations

import asyncio

import pytest
from ocpp.v16 import call

from simulator.station import Station, StationOptions
from simulator.station.firmware import firmware_version_of
from simulator.dialects import make_station
from tests.hub_helpers import Api, running_hub
from tests.ocpp_lib_csms import FAST
from tests.transfer_helpers import Manufacturer, SecurityCsms, file_server, iso_in, pem

IMAGE = b"firmware-version: 2.0.0\n\x7fELF..."


def fast(**kw) -> StationOptions:
    return StationOptions(**{**FAST, "reboot_delay": 0.5, **kw})


def statuses_of(hub, station_id: str) -> list:
    """The firmware statuses the hub records for a station, as domain events."""
    seen = []
    hub.events.subscribe("firmware.status", lambda e: seen.append(
        (e.message.status, e.message.request_id)) if e.station_id == station_id else None)
    return seen


async def until(predicate, timeout: float = 5.0) -> None:
    async def wait():
        while not predicate():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(wait(), timeout)


def test_version_rule():
    assert firmware_version_of("http://h/fw/any.bin", b"firmware-version: 3.1-rc1\nxx") == "3.1-rc1"
    assert firmware_version_of("http://h/fw/fw-2.1.0.bin", b"\x00binary") == "fw-2.1.0"
    assert firmware_version_of("https://h/a/v7.tar.gz?x=1", b"") == "v7"
    assert len(firmware_version_of("http://h/" + "x" * 80, b"")) == 50


def test_bad_firmware_options_are_refused():
    with pytest.raises(ValueError, match="firmware failure must be one of"):
        make_station("X", "ws://127.0.0.1:1/ocpp", fast(firmware_failure="Boom"))
    with pytest.raises(ValueError, match="firmware_install must be one of"):
        make_station("X", "ws://127.0.0.1:1/ocpp", fast(firmware_install="later"))


# -- against our hub ---------------------------------------------------------------------------
async def test_update_installs_and_boots_with_the_new_version():
    async with running_hub(firmware={"fw-2.0.0.bin": IMAGE}) as hub:
        seen = statuses_of(hub, "FW-1")
        station = make_station("FW-1", hub.url, fast(firmware_version="1.0.0"))
        await station.start()
        try:
            assert hub.store.get_station("FW-1")["firmware"] == "1.0.0"
            installed = station.expect("firmware_status", where=lambda e: e.data["status"] == "Installed")
            reply = await hub.send("FW-1", "UpdateFirmware", {
                "location": f"{hub.api_url}/firmware/fw-2.0.0.bin", "retrieveDate": iso_in(0)})
            assert reply == {}
            await asyncio.wait_for(installed, 10)
            await until(lambda: len(seen) == 4)
            assert [s for s, _ in seen] == ["Downloading", "Downloaded", "Installing", "Installed"]
            assert hub.store.get_station("FW-1")["firmware"] == "2.0.0"   # the new boot
            kinds = [e.kind for e in station.events.recent]
            # Installed only after the reboot's boot (as the compliance case expects)
            assert kinds.index("rebooted") < max(i for i, k in enumerate(kinds) if k == "boot")
            assert station.options.firmware_version == "2.0.0"
            async with Api(hub) as api:
                _, detail = await api.get("/stations/FW-1")
                assert detail["firmware_status"] == "Installed" and detail["firmware"] == "2.0.0"
            # afterwards the station is idle: a trigger says so
            await until(lambda: station.firmware_status == "Idle")
            await hub.send("FW-1", "TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"})
            await until(lambda: len(seen) == 5)
            assert seen[-1][0] == "Idle"
        finally:
            await station.stop()


async def test_missing_image_is_download_failed_after_the_retries():
    async with running_hub() as hub:
        seen = statuses_of(hub, "FW-2")
        station = make_station("FW-2", hub.url, fast(firmware_version="1.0.0"))
        await station.start()
        try:
            failed = station.expect("firmware_status", where=lambda e: e.data["status"] == "DownloadFailed")
            await hub.send("FW-2", "UpdateFirmware", {
                "location": f"{hub.api_url}/firmware/nope.bin", "retrieveDate": iso_in(0),
                "retries": 2, "retryInterval": 1})
            await asyncio.wait_for(failed, 10)
            await until(lambda: len(seen) == 2)
            assert [s for s, _ in seen] == ["Downloading", "DownloadFailed"]
            assert len([e for e in station.events.recent if e.kind == "firmware_retry"]) == 2
            reason = next(e for e in station.events.recent if e.kind == "firmware_failed")
            assert "HTTP 404" in reason.text and reason.data["attempts"] == 3
            assert station.options.firmware_version == "1.0.0" and station.registration == "accepted"
        finally:
            await station.stop()


@pytest.mark.parametrize("how", ["injected", "empty image"])
async def test_installation_failed_keeps_the_old_firmware(how):
    images = {"fw.bin": b"" if how == "empty image" else IMAGE}
    failure = "InstallationFailed" if how == "injected" else None
    async with running_hub(firmware=images) as hub:
        seen = statuses_of(hub, "FW-3")
        station = make_station("FW-3", hub.url, fast(firmware_version="1.0.0", firmware_failure=failure))
        await station.start()
        try:
            await hub.send("FW-3", "UpdateFirmware", {
                "location": f"{hub.api_url}/firmware/fw.bin", "retrieveDate": iso_in(0)})
            await until(lambda: len(seen) == 4)
            assert [s for s, _ in seen] == ["Downloading", "Downloaded", "Installing",
                                            "InstallationFailed"]
            assert station.options.firmware_version == "1.0.0"
            assert not any(e.kind == "rebooted" for e in station.events.recent)
        finally:
            await station.stop()


async def test_running_transaction_is_stopped_with_reason_reboot_when_policy_is_stop():
    async with running_hub(tags={"T1": "Accepted"}, firmware={"fw-3.bin": IMAGE}) as hub:
        station = make_station("FW-4", hub.url, fast(firmware_install="stop"))
        await station.start()
        try:
            await station.plug_in(1)
            started = station.expect("tx_started", 1)
            await station.present_tag(1, "T1")
            tx_id = (await asyncio.wait_for(started, 5)).data["transaction_id"]
            installed = station.expect("firmware_status", where=lambda e: e.data["status"] == "Installed")
            await hub.send("FW-4", "UpdateFirmware", {
                "location": f"{hub.api_url}/firmware/fw-3.bin", "retrieveDate": iso_in(0)})
            await asyncio.wait_for(installed, 10)
            assert hub.store.get_transaction(tx_id)["stop_reason"] == "Reboot"
        finally:
            await station.stop()


async def test_installation_waits_for_the_running_transaction_by_default():
    async with running_hub(tags={"T1": "Accepted"}, firmware={"fw-3.bin": IMAGE}) as hub:
        seen = statuses_of(hub, "FW-5")
        station = make_station("FW-5", hub.url, fast())
        await station.start()
        try:
            await station.plug_in(1)
            started = station.expect("tx_started", 1)
            await station.present_tag(1, "T1")
            await asyncio.wait_for(started, 5)
            waiting = station.expect("firmware_waiting")
            await hub.send("FW-5", "UpdateFirmware", {
                "location": f"{hub.api_url}/firmware/fw-3.bin", "retrieveDate": iso_in(0)})
            await asyncio.wait_for(waiting, 5)
            assert [s for s, _ in seen] == ["Downloading", "Downloaded"]
            assert station.connectors[1].transaction is not None   # not cut off
            installed = station.expect("firmware_status", where=lambda e: e.data["status"] == "Installed")
            await station.present_tag(1, "T1")                     # the driver ends it
            await asyncio.wait_for(installed, 10)
            await until(lambda: len(seen) == 4)
            assert [s for s, _ in seen] == ["Downloading", "Downloaded", "Installing", "Installed"]
            assert station.connectors[1].last_transaction.stop_reason == "local"
        finally:
            await station.stop()


async def test_signed_update_verifies_the_signature_and_installs():
    maker = Manufacturer()
    image = b"firmware-version: 5.0.0-signed\n" + bytes(range(256))
    async with running_hub(firmware={"signed.bin": image}) as hub:
        seen = statuses_of(hub, "FW-6")
        station = make_station("FW-6", hub.url, fast())
        await station.start()
        try:
            r = await hub.send("FW-6", "InstallCertificate", {
                "certificateType": "ManufacturerRootCertificate", "certificate": pem(maker.root)})
            assert r == {"status": "Accepted"}
            firmware = {"location": f"{hub.api_url}/firmware/signed.bin",
                        "retrieveDateTime": iso_in(0), "signingCertificate": pem(maker.signing),
                        "signature": maker.sign(image)}
            r = await hub.send("FW-6", "SignedUpdateFirmware", {"requestId": 42, "firmware": firmware})
            assert r == {"status": "Accepted"}
            await until(lambda: seen and seen[-1][0] == "Installed", 10)
            assert seen == [(s, 42) for s in ("Downloading", "Downloaded", "SignatureVerified",
                                              "Installing", "InstallRebooting", "Installed")]
            assert hub.store.get_station("FW-6")["firmware"] == "5.0.0-signed"
            assert hub.manager.stations["FW-6"].firmware_request_id == 42

            # a signature of other bytes: InvalidSignature, nothing installed
            bad = {**firmware, "signature": maker.sign(b"something else")}
            r = await hub.send("FW-6", "SignedUpdateFirmware", {"requestId": 43, "firmware": bad})
            assert r == {"status": "Accepted"}
            await until(lambda: seen[-1][0] == "InvalidSignature", 10)
            assert [s for s, rid in seen if rid == 43] == ["Downloading", "Downloaded",
                                                            "InvalidSignature"]
            assert station.options.firmware_version == "5.0.0-signed"

            # a certificate the installed root did not issue: InvalidCertificate, no download
            other = Manufacturer("Other")
            r = await hub.send("FW-6", "SignedUpdateFirmware", {"requestId": 44, "firmware": {
                **firmware, "signingCertificate": pem(other.signing),
                "signature": other.sign(image)}})
            assert r == {"status": "InvalidCertificate"}
            await asyncio.sleep(0.1)
            assert not [s for s, rid in seen if rid == 44]
        finally:
            await station.stop()


# -- against an `ocpp`-library CSMS --------------------------------------------------------------
@pytest.fixture
async def csms():
    server = SecurityCsms()
    await server.start()
    yield server
    await server.close()


async def test_update_against_ocpp_library_csms(csms):
    async with file_server() as files:
        files.files["images/fw-9.9.9.bin"] = b"\x00\x01binary without a version line"
        files.gate = asyncio.Event()   # hold the download to trigger in the middle
        station = make_station("FW-LIB", csms.url, fast(firmware_version="1.0.0"))
        await station.start(timeout=5)
        try:
            peer = csms.peers["FW-LIB"]
            await peer.call(call.UpdateFirmware(location=f"{files.url}/images/fw-9.9.9.bin",
                                                retrieve_date=iso_in(0), retries=0))
            await csms.wait_for("FirmwareStatusNotification", 1)
            r = await peer.call(call.TriggerMessage(requested_message="FirmwareStatusNotification"))
            assert r.status == "Accepted"
            found = await csms.wait_for("FirmwareStatusNotification", 2)
            assert [p["status"] for p in found] == ["Downloading", "Downloading"]
            files.gate.set()
            found = await csms.wait_for("FirmwareStatusNotification", 5, timeout=10)
            assert [p["status"] for p in found][2:] == ["Downloaded", "Installing", "Installed"]
            boots = csms.calls("BootNotification")
            assert [b["firmwareVersion"] for b in boots] == ["1.0.0", "fw-9.9.9"]
            # the CSMS saw the new boot before Installed
            actions = csms.actions()
            assert actions.index("FirmwareStatusNotification", len(actions) - 3) > \
                max(i for i, a in enumerate(actions) if a == "BootNotification")
        finally:
            await station.stop()


async def test_ftp_location_and_extended_trigger_against_ocpp_library_csms(csms):
    station = make_station("FW-LIB2", csms.url, fast(security_profile=0))
    await station.start(timeout=5)
    try:
        peer = csms.peers["FW-LIB2"]
        await peer.call(call.UpdateFirmware(location="ftp://files.example/fw.bin",
                                            retrieve_date=iso_in(0), retries=3, retry_interval=60))
        found = await csms.wait_for("FirmwareStatusNotification", 2)
        assert [p["status"] for p in found] == ["Downloading", "DownloadFailed"]  # no retries
        failed = next(e for e in station.events.recent if e.kind == "firmware_failed")
        assert "ftp://" in failed.text and "http:// and https:// only" in failed.text
        await until(lambda: station.firmware.status == "Idle")   # DownloadFailed acknowledged
        r = await peer.call(call.ExtendedTriggerMessage(requested_message="FirmwareStatusNotification"))
        assert r.status == "Accepted"
        found = await csms.wait_for("SignedFirmwareStatusNotification", 1)
        assert found == [{"status": "Idle"}]
        r = await peer.call(call.ExtendedTriggerMessage(requested_message="StatusNotification",
                                                        connector_id=1))
        assert r.status == "Accepted"                 # still security.py's other triggers
        await csms.wait_for("StatusNotification", 3)
    finally:
        await station.stop()


async def test_supported_feature_profiles_lists_firmware_management(csms):
    async with file_server():
        station = make_station("FW-LIB3", csms.url, fast())
        await station.start(timeout=5)
        try:
            r = await csms.peers["FW-LIB3"].call(call.GetConfiguration(key=["SupportedFeatureProfiles"]))
            assert "FirmwareManagement" in r.configuration_key[0]["value"].split(",")
        finally:
            await station.stop()


async def test_a_new_signed_update_cancels_the_running_one(csms):
    maker = Manufacturer()
    image = b"firmware-version: 6.0\n" + b"\x00" * 64
    async with file_server() as files:
        files.files["fw.bin"] = image
        files.gate = asyncio.Event()        # the first download hangs
        station = make_station("FW-LIB4", csms.url, fast())
        await station.start(timeout=5)
        try:
            peer = csms.peers["FW-LIB4"]
            r = await peer.call(call.InstallCertificate(
                certificate_type="ManufacturerRootCertificate", certificate=pem(maker.root)))
            assert r.status == "Accepted"
            firmware = {"location": f"{files.url}/fw.bin", "retrieveDateTime": iso_in(0),
                        "signingCertificate": pem(maker.signing), "signature": maker.sign(image)}
            r = await peer.call(call.SignedUpdateFirmware(request_id=1, firmware=firmware))
            assert r.status == "Accepted"
            await csms.wait_for("SignedFirmwareStatusNotification", 1)
            r = await peer.call(call.SignedUpdateFirmware(request_id=2, firmware=firmware))
            assert r.status == "AcceptedCanceled"
            await csms.wait_for("SignedFirmwareStatusNotification", 2)
            files.gate.set()
            found = await csms.wait_for("SignedFirmwareStatusNotification", 7, timeout=10)
            assert found[0] == {"status": "Downloading", "requestId": 1}
            assert [p["status"] for p in found[1:] if p["requestId"] == 2] == [
                "Downloading", "Downloaded", "SignatureVerified", "Installing",
                "InstallRebooting", "Installed"]
            assert [b["firmwareVersion"] for b in csms.calls("BootNotification")][-1] == "6.0"
        finally:
            await station.stop()
