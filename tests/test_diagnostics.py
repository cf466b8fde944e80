"""GetDiagnostics and GetLog, modelled on the OCA 1.6 compliance cases: the file is
uploaded (and is real), upload failed (bad location, server error), the trigger reporting
the current status; and the hub's upload / firmware file endpoints."""
from __future__ import annotations

import asyncio

import orjson
from ocpp.v16 import call

from simulator.station import Station, StationOptions
from simulator.dialects import make_station
from tests.hub_helpers import Api, running_hub
from tests.ocpp_lib_csms import FAST
from tests.test_firmware import csms, until  # noqa: F401  (the fixture)
from tests.transfer_helpers import file_server, iso_in


def fast(**kw) -> StationOptions:
    return StationOptions(**{**FAST, **kw})


def diagnostics_of(hub, station_id: str) -> list:
    seen = []
    hub.events.subscribe("diagnostics.status", lambda e: seen.append(
        (e.message.status, e.message.request_id)) if e.station_id == station_id else None)
    return seen


# -- against our hub ---------------------------------------------------------------------------
async def test_get_diagnostics_uploads_a_real_file_to_the_hub():
    async with running_hub() as hub:
        seen = diagnostics_of(hub, "DG-1")
        uploaded = []
        hub.events.subscribe("files.uploaded", lambda e: uploaded.append(e.message))
        station = make_station("DG-1", hub.url, fast(config={"ConnectionTimeOut": "45"}))
        await station.start()
        try:
            r = await hub.send("DG-1", "GetDiagnostics", {
                "location": f"{hub.api_url}/uploads/DG-1", "retries": 1, "retryInterval": 1})
            name = r["fileName"]
            assert name.startswith("DG-1-diagnostics-") and name.endswith(".json")
            await until(lambda: len(seen) == 2)
            assert [s for s, _ in seen] == ["Uploading", "Uploaded"]
            async with Api(hub) as api:
                status, files = await api.get("/uploads/DG-1")
                assert status == 200 and [f["name"] for f in files] == [name]
                status, text = await api.get(f"/uploads/DG-1/{name}", raw=True)
                report = orjson.loads(text)
                _, detail = await api.get("/stations/DG-1")
                assert detail["diagnostics_status"] == "Uploaded"
            assert report["station"] == "DG-1"
            assert report["configuration"]["ConnectionTimeOut"] == "45"
            assert "AuthorizationKey" not in report["configuration"]   # write-only: left out
            assert any(e["kind"] == "boot" for e in report["events"])
            assert uploaded[0].name == name and uploaded[0].size == len(text.encode())
            # idle afterwards: the triggered notification says so
            await until(lambda: station.diagnostics_status == "Idle")
            await hub.send("DG-1", "TriggerMessage", {"requestedMessage": "DiagnosticsStatusNotification"})
            await until(lambda: len(seen) == 3)
            assert seen[-1][0] == "Idle"
        finally:
            await station.stop()


async def test_time_window_filters_the_event_log():
    async with running_hub() as hub:
        seen = diagnostics_of(hub, "DG-2")
        station = make_station("DG-2", hub.url, fast())
        await station.start()
        try:
            r = await hub.send("DG-2", "GetDiagnostics", {
                "location": f"{hub.api_url}/uploads/DG-2", "startTime": iso_in(-3600),
                "stopTime": iso_in(-1800)})
            await until(lambda: len(seen) == 2)
            report = orjson.loads(hub.files.read_upload("DG-2", r["fileName"]))
            assert report["events"] == [] and report["window"]["stop"] is not None
        finally:
            await station.stop()


async def test_upload_failed_server_error_after_retries_and_ftp_at_once():
    async with running_hub() as hub, file_server() as files:
        seen = diagnostics_of(hub, "DG-3")
        station = make_station("DG-3", hub.url, fast())
        await station.start()
        try:
            files.status = 500
            await hub.send("DG-3", "GetDiagnostics", {
                "location": f"{files.url}/diag", "retries": 2, "retryInterval": 1})
            await until(lambda: len(seen) == 2)
            assert [s for s, _ in seen] == ["Uploading", "UploadFailed"]
            assert [m for m, _ in files.requests] == ["PUT", "PUT", "PUT"]   # 1 + 2 retries
            reason = next(e for e in station.events.recent if e.kind == "diagnostics_failed")
            assert "HTTP 500" in reason.text

            await hub.send("DG-3", "GetDiagnostics", {"location": "ftp://ftp.example/diag",
                                                      "retries": 3, "retryInterval": 60})
            await until(lambda: len(seen) == 4)
            assert [s for s, _ in seen][2:] == ["Uploading", "UploadFailed"]
            reason = [e for e in station.events.recent if e.kind == "diagnostics_failed"][-1]
            assert "ftp://" in reason.text and "http:// and https:// only" in reason.text
        finally:
            await station.stop()


async def test_get_log_uploads_with_request_id_and_maps_http_failures():
    async with running_hub() as hub, file_server() as files:
        seen = diagnostics_of(hub, "DG-4")
        station = make_station("DG-4", hub.url, fast(security_profile=1,
                                                authorization_key="0123456789abcdef"))
        await station.start()
        try:
            # a security event to find in the SecurityLog
            await hub.send("DG-4", "ChangeConfiguration", {"key": "AuthorizationKey",
                                                          "value": "fedcba9876543210"})
            r = await hub.send("DG-4", "GetLog", {"logType": "SecurityLog", "requestId": 7,
                                                  "log": {"remoteLocation": f"{files.url}/logs"}})
            assert r == {"status": "Accepted", "filename": "DG-4-security-7.json"}
            await until(lambda: len(seen) == 2)
            assert seen == [("Uploading", 7), ("Uploaded", 7)]
            report = orjson.loads(files.uploads["logs/DG-4-security-7.json"])
            assert report["log"] == "SecurityLog" and report["events"]
            assert {e["kind"] for e in report["events"]} == {"security_event"}
            assert "configuration" not in report
            assert hub.manager.stations["DG-4"].diagnostics_request_id == 7

            files.status = 403
            r = await hub.send("DG-4", "GetLog", {"logType": "DiagnosticsLog", "requestId": 8,
                                                  "retries": 0,
                                                  "log": {"remoteLocation": f"{files.url}/logs"}})
            assert r["status"] == "Accepted"
            await until(lambda: len(seen) == 4)
            assert seen[2:] == [("Uploading", 8), ("PermissionDenied", 8)]
        finally:
            await station.stop()


async def test_hub_file_endpoints():
    async with running_hub(firmware={"seed.bin": b"seeded"}) as hub:
        async with Api(hub) as api:
            assert (await api.put("/firmware/fw-1.bin", b"\x00\x01image"))[0] == 201
            status, listing = await api.get("/firmware")
            assert {f["name"]: f["size"] for f in listing} == {"fw-1.bin": 7, "seed.bin": 6}
            assert listing[0]["url"] == f"{hub.api_url}/firmware/fw-1.bin"
            assert await api.get("/firmware/seed.bin", raw=True) == (200, "seeded")
            status, body = await api.get("/firmware/missing.bin")
            assert status == 404 and "missing.bin" in body["message"]
            status, body = await api.put("/uploads/CP-1/..hidden", b"x")
            assert status == 400 and "not starting with '.'" in body["message"]
            assert (await api.get("/uploads/NOBODY"))[0] == 404
            assert (await api.post("/uploads/CP-1/a.txt", b"hello"))[0] == 201
            status, listing = await api.get("/uploads/CP-1")
            assert [(f["name"], f["size"]) for f in listing] == [("a.txt", 5)]


# -- against an `ocpp`-library CSMS --------------------------------------------------------------
async def test_get_diagnostics_and_log_trigger_against_ocpp_library_csms(csms):  # noqa: F811
    async with file_server() as files:
        station = make_station("DG-LIB", csms.url, fast())
        await station.start(timeout=5)
        try:
            peer = csms.peers["DG-LIB"]
            r = await peer.call(call.GetDiagnostics(location=f"{files.url}/in/"))
            found = await csms.wait_for("DiagnosticsStatusNotification", 2)
            assert [p["status"] for p in found] == ["Uploading", "Uploaded"]
            assert f"in/{r.file_name}" in files.uploads

            r = await peer.call(call.GetLog(log={"remoteLocation": f"{files.url}/logs"},
                                            log_type="DiagnosticsLog", request_id=3))
            assert r.status == "Accepted" and r.filename == "DG-LIB-diagnostics-3.json"
            found = await csms.wait_for("LogStatusNotification", 2)
            assert found == [{"status": "Uploading", "requestId": 3},
                             {"status": "Uploaded", "requestId": 3}]
            await until(lambda: station.diagnostics.log_status == "Idle")   # reply seen
            r = await peer.call(call.ExtendedTriggerMessage(requested_message="LogStatusNotification"))
            assert r.status == "Accepted"
            found = await csms.wait_for("LogStatusNotification", 3)
            assert found[-1] == {"status": "Idle"}
            r = await peer.call(call.ExtendedTriggerMessage(requested_message="LogStatusNotification",
                                                            connector_id=9))
            assert r.status == "Rejected"
        finally:
            await station.stop()


async def test_a_new_get_log_cancels_the_running_upload(csms):  # noqa: F811
    async with file_server() as files:
        files.gate = asyncio.Event()        # the first upload hangs
        station = make_station("DG-LIB2", csms.url, fast())
        await station.start(timeout=5)
        try:
            peer = csms.peers["DG-LIB2"]
            log = {"remoteLocation": f"{files.url}/logs"}
            r = await peer.call(call.GetLog(log=log, log_type="DiagnosticsLog", request_id=1))
            assert r.status == "Accepted"
            await csms.wait_for("LogStatusNotification", 1)
            r = await peer.call(call.GetLog(log=log, log_type="DiagnosticsLog", request_id=2))
            assert r.status == "AcceptedCanceled"
            await csms.wait_for("LogStatusNotification", 2)
            files.gate.set()
            found = await csms.wait_for("LogStatusNotification", 3)
            assert found == [{"status": "Uploading", "requestId": 1},
                             {"status": "Uploading", "requestId": 2},
                             {"status": "Uploaded", "requestId": 2}]
            assert "logs/DG-LIB2-diagnostics-2.json" in files.uploads
        finally:
            await station.stop()
