"""Our station speaking OCPP 2.0.1 against the bundled hub, one use case per test: boot,
the device model (Get/SetVariables, reports), a transaction with meter values, remote
start and stop, reset, availability and the offline queue delivered in order with seqNo."""
from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from simulator.dialects import make_station, setting_key
from simulator.dialects.ocpp201.device_model import SETTING_KEYS, model
from simulator.station import StationOptions
from simulator.station.settings import NAMES
from tests.hub_helpers import running_hub, wait_for

TAG = "V201-TAG"
V201 = "ocpp2.0.1"


def fast(**kw) -> StationOptions:
    kw.setdefault("config", {"SampledDataCtrlr/TxUpdatedInterval": "2"})
    return StationOptions(version=V201, interval_scale=0.05, **kw)


class Commands:
    def __init__(self, hub, station_id):
        self.http = aiohttp.ClientSession(hub.api_url)
        self.station_id = station_id

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.http.close()

    async def __call__(self, action, payload):
        async with self.http.post(f"/stations/{self.station_id}/commands/{action}",
                                  json=payload) as r:
            body = await r.json()
            assert r.status == 200, body
            return body["response"]


def test_every_neutral_setting_is_a_device_model_variable():
    assert set(SETTING_KEYS) == NAMES
    keys = {s.name for s in model(2, 0).specs()}
    assert set(SETTING_KEYS.values()) <= keys
    assert setting_key(V201, "heartbeat_interval") == "OCPPCommCtrlr/HeartbeatInterval"
    # definitions are shared by every station of one shape (idle cost)
    assert model(2, 0) is model(2, 0)
    a = make_station("DM-A", "ws://127.0.0.1/ocpp", fast(connectors=2))
    b = make_station("DM-B", "ws://127.0.0.1/ocpp", fast(connectors=2))
    assert a.dialect.model is b.dialect.model


def test_every_writable_variable_is_one_the_engine_acts_on():
    from simulator.dialects.ocpp201.device_model import READ_ONLY
    settings = set(SETTING_KEYS.values())
    # the one network profile slot: a new order (of that one slot) waits for a reboot
    reboot_only = {"OCPPCommCtrlr/NetworkConfigurationPriority"}
    writable = {v.key() for v in model(2, 0).variables if v.mutability != READ_ONLY}
    assert writable - settings == reboot_only


async def test_boot_status_and_a_full_transaction_with_meter_values():
    async with running_hub(tags={TAG: "Accepted"}, flush_interval=0.1) as hub:
        st = make_station("V201-1", hub.url, fast(max_power_w=350_000))
        await st.start()
        try:
            assert hub.store.get_station("V201-1")["vendor"] == "chargesim"
            await st.plug_in(1)
            started = st.expect("tx_started", 1)
            assert await st.present_tag(1, TAG) == "Started"
            tx = (await asyncio.wait_for(started, 5)).data["transaction"]
            for _ in range(3):
                await asyncio.wait_for(st.expect("meter", 1), 5)
            assert await st.present_tag(1, TAG) == "Stopped"
            await st.unplug(1)
        finally:
            await st.stop()
        events = hub.store.v201.events("V201-1", tx)
        kinds = [e["event_type"] for e in events]
        assert kinds[0] == "Started" and kinds[-1] == "Ended" and "Updated" in kinds
        assert [e["seq_no"] for e in events] == list(range(len(events)))
        assert events[0]["trigger_reason"] == "Authorized"
        changed = [e for e in events if e["trigger_reason"] == "ChargingStateChanged"]
        assert changed and changed[0]["charging_state"] == "Charging"
        assert events[-1]["trigger_reason"] == "StopAuthorized"
        assert events[-1]["stopped_reason"] == "Local"
        assert not any(e["flags"] for e in events) and not any(e["offline"] for e in events)
        row = hub.store.get_transaction(events[0]["transaction_id"])
        assert row["id_tag"] == TAG and row["meter_stop"] > row["meter_start"]


async def test_device_model_get_set_variables_and_reports():
    import json
    async with running_hub() as hub:
        st = make_station("V201-DM", hub.url, fast(connectors=2))
        await st.start()
        try:
            async with Commands(hub, "V201-DM") as command:
                hb = {"component": {"name": "OCPPCommCtrlr"},
                      "variable": {"name": "HeartbeatInterval"}}
                reply = await command("SetVariables", {"setVariableData": [
                    {**hb, "attributeValue": "120"},
                    {"component": {"name": "TxCtrlr"}, "variable": {"name": "TxStartPoint"},
                     "attributeValue": "Authorized"},                           # read-only
                    {**hb, "attributeValue": "often"},                          # not an integer
                    {"component": {"name": "NoSuchCtrlr"}, "variable": {"name": "X"},
                     "attributeValue": "1"},
                    {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "Nope"},
                     "attributeValue": "1"},
                    {**hb, "attributeType": "MaxSet", "attributeValue": "9"},
                    {"component": {"name": "SecurityCtrlr"},
                     "variable": {"name": "BasicAuthPassword"}, "attributeValue": "short"},
                    {"component": {"name": "OCPPCommCtrlr"},
                     "variable": {"name": "NetworkConfigurationPriority"}, "attributeValue": "0"},
                ]})
                assert [r["attributeStatus"] for r in reply["setVariableResult"]] == [
                    "Accepted", "Rejected", "Rejected", "UnknownComponent", "UnknownVariable",
                    "NotSupportedAttributeType", "Rejected", "RebootRequired"]
                assert st.settings["heartbeat_interval"] == 120   # the engine reads it
                reply = await command("GetVariables", {"getVariableData": [
                    hb,
                    {"component": {"name": "EVSE", "evse": {"id": 2}},
                     "variable": {"name": "Power"}, "attributeType": "MaxSet"},
                    {"component": {"name": "EVSE", "evse": {"id": 3}},
                     "variable": {"name": "Power"}},
                    {"component": {"name": "SecurityCtrlr"},
                     "variable": {"name": "BasicAuthPassword"}},             # write-only
                ]})
                results = reply["getVariableResult"]
                assert results[0]["attributeValue"] == "120"
                assert results[1]["attributeValue"] == "11000"
                assert [r["attributeStatus"] for r in results] == [
                    "Accepted", "Accepted", "UnknownComponent", "Rejected"]

                reports = []
                st.taps.append(lambda f: reports.append(f.raw) if f.direction == "out"
                               and '"NotifyReport"' in f.raw else None)
                assert await command("GetBaseReport", {"requestId": 7,
                                                       "reportBase": "FullInventory"}) == {
                    "status": "Accepted"}
                await wait_for(lambda: any('"tbc":false' in r.replace(" ", "") for r in reports),
                               timeout=5)
                assert len(reports) > 1          # split into parts (ItemsPerMessage)
                assert await command("GetReport", {"requestId": 8, "componentVariable": [
                    {"component": {"name": "NoSuchCtrlr"}}]}) == {"status": "EmptyResultSet"}
                assert await command("GetReport", {"requestId": 9, "componentVariable": [
                    {"component": {"name": "TxCtrlr"}}]}) == {"status": "Accepted"}
                assert await command("GetReport", {"requestId": 10, "componentCriteria": [
                    "Problem"]}) == {"status": "EmptyResultSet"}      # nothing is wrong
                await command("SetVariables", {"setVariableData": [
                    {"component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "Enabled"},
                     "attributeValue": "false"}]})
                assert await command("GetReport", {"requestId": 11, "componentCriteria": [
                    "Enabled"]}) == {"status": "Accepted"}
                await wait_for(lambda: any('"requestId":11' in r.replace(" ", "")
                                           and '"tbc":false' in r.replace(" ", "")
                                           for r in reports), timeout=5)
                enabled = {item["component"]["name"] for r in reports
                           if '"requestId":11' in r.replace(" ", "")
                           for item in json.loads(r)[3]["reportData"]}
                assert "SmartChargingCtrlr" in enabled and "LocalAuthListCtrlr" not in enabled
                assert not st.settings["local_list_enabled"]     # the engine heard it
            rows = hub.store.v201.variables("V201-DM", "OCPPCommCtrlr")
            assert any(r["variable"] == "HeartbeatInterval" and r["value"] == "120" for r in rows)
        finally:
            await st.stop()


async def test_remote_start_stop_with_remote_start_id_and_availability():
    async with running_hub(tags={TAG: "Accepted"}) as hub:
        st = make_station("V201-RC", hub.url, fast(connectors=2))
        statuses = []
        st.taps.append(lambda f: statuses.append(f.raw) if f.direction == "out"
                       and '"StatusNotification"' in f.raw else None)
        await st.start()
        try:
            async with Commands(hub, "V201-RC") as command:
                await st.plug_in(2)
                started = st.expect("tx_started", 2)
                assert await command("RequestStartTransaction", {
                    "idToken": {"idToken": TAG, "type": "Central"}, "remoteStartId": 77,
                    "evseId": 2}) == {"status": "Accepted"}
                tx = (await asyncio.wait_for(started, 5)).data["transaction"]
                assert st.transaction(tx).id_token.type == "Central"
                stopped = st.expect("tx_stopped", 2)
                assert await command("RequestStopTransaction", {"transactionId": tx}) == {
                    "status": "Accepted"}
                assert (await asyncio.wait_for(stopped, 5)).data["reason"] == "remote"
                assert await command("RequestStopTransaction", {"transactionId": "nope"}) == {
                    "status": "Rejected"}
                assert (await command("UnlockConnector", {"evseId": 9, "connectorId": 1})
                        )["status"] == "UnknownConnector"
                assert await command("ChangeAvailability", {
                    "operationalStatus": "Inoperative", "evse": {"id": 1}}) == {
                    "status": "Accepted"}
                await wait_for(lambda: st.connectors[1].status.value == "unavailable")
                await wait_for(lambda: any('"Unavailable"' in f and '"evseId":1' in
                                           f.replace(" ", "") for f in statuses))
                reply = await command("GetVariables", {"getVariableData": [
                    {"component": {"name": "EVSE", "evse": {"id": evse}},
                     "variable": {"name": name}}
                    for evse in (1, 2) for name in ("AvailabilityState", "Available")]})
                assert [r["attributeValue"] for r in reply["getVariableResult"]] == [
                    "Unavailable", "false", "Occupied", "true"]
        finally:
            await st.stop()
        events = hub.store.v201.events("V201-RC", tx)
        assert events[0]["trigger_reason"] == "RemoteStart"
        assert events[-1]["trigger_reason"] == "RemoteStop"
        assert events[-1]["stopped_reason"] == "Remote"


async def test_reset_immediate_reboots_and_boots_again_with_its_reason():
    async with running_hub() as hub:
        st = make_station("V201-RS", hub.url, fast())
        boots = []
        st.taps.append(lambda f: boots.append(f.raw) if f.direction == "out"
                       and '"BootNotification"' in f.raw else None)
        await st.start()
        try:
            async with Commands(hub, "V201-RS") as command:
                rebooted = st.expect("rebooted")
                assert await command("Reset", {"type": "Immediate"}) == {"status": "Accepted"}
                await asyncio.wait_for(rebooted, 5)
                await wait_for(lambda: len(boots) == 2 and st.view.online, timeout=5)
                assert '"PowerUp"' in boots[0] and '"RemoteReset"' in boots[1]
                assert (await command("Reset", {"type": "Immediate", "evseId": 9})
                        )["status"] == "Rejected"
                assert await command("Reset", {"type": "Immediate", "evseId": 1}) == {
                    "status": "Accepted"}      # idle: nothing to stop
        finally:
            await st.stop()


async def test_reset_on_idle_waits_for_the_transaction_to_end():
    async with running_hub(tags={TAG: "Accepted"}) as hub:
        st = make_station("V201-IDLE", hub.url, fast())
        await st.start()
        try:
            async with Commands(hub, "V201-IDLE") as command:
                await st.plug_in(1)
                assert await st.present_tag(1, TAG) == "Started"
                assert (await command("Reset", {"type": "OnIdle", "evseId": 1})
                        )["status"] == "Rejected"
                assert await command("Reset", {"type": "OnIdle"}) == {"status": "Scheduled"}
                assert st.view.online    # still up: the transaction runs on
                rebooted = st.expect("rebooted")
                assert await st.present_tag(1, TAG) == "Stopped"
                await asyncio.wait_for(rebooted, 5)
        finally:
            await st.stop()


async def test_reset_of_one_evse_stops_its_transaction_only():
    async with running_hub(tags={TAG: "Accepted", "TAG-2": "Accepted"}) as hub:
        st = make_station("V201-EVR", hub.url, fast(connectors=2))
        await st.start()
        try:
            async with Commands(hub, "V201-EVR") as command:
                for c in (1, 2):
                    await st.plug_in(c)
                    assert await st.present_tag(c, TAG if c == 1 else "TAG-2") == "Started"
                stopped = st.expect("tx_stopped", 1)
                assert await command("Reset", {"type": "Immediate", "evseId": 1}) == {
                    "status": "Accepted"}
                event = await asyncio.wait_for(stopped, 5)
                assert event.data["reason"] == "hard_reset" and st.view.online
                assert st.connectors[2].transaction is not None   # the other EVSE charges on
        finally:
            await st.stop()
        ended = [e for e in hub.store.v201.events("V201-EVR") if e["event_type"] == "Ended"]
        assert ended[0]["stopped_reason"] == "ImmediateReset"
        assert ended[0]["trigger_reason"] == "ResetCommand"


async def test_offline_events_are_delivered_in_order_with_seq_no_and_offline_flag():
    async with running_hub(tags={TAG: "Accepted"}) as hub:
        st = make_station("V201-OFF", hub.url, fast(max_power_w=350_000))
        await st.start()
        try:
            await st.plug_in(1)
            started = st.expect("tx_started", 1)
            assert await st.present_tag(1, TAG) == "Started"
            tx = (await asyncio.wait_for(started, 5)).data["transaction"]
            st.go_offline()
            for _ in range(2):
                await asyncio.wait_for(st.expect("queued", 1), 5)
            assert await st.present_tag(1, TAG) == "Stopped"   # local list / cache knows it
            from simulator.dialects.ocpp201 import core
            assert await core.get_transaction_status(st, {"transactionId": tx}) == {
                "ongoingIndicator": False, "messagesInQueue": True}
            delivered = st.expect("sent_held", 1,
                                  where=lambda e: e.data.get("action") == "transaction_ended")
            st.come_online()
            await asyncio.wait_for(delivered, 10)
        finally:
            await st.stop()
        events = hub.store.v201.events("V201-OFF", tx)
        assert [e["seq_no"] for e in events] == list(range(len(events)))
        assert events[-1]["event_type"] == "Ended"
        assert events[0]["offline"] == 0 and events[-1]["offline"] == 1
        assert not any(e["flags"] for e in events)


async def test_mixed_fleet_of_16_and_201_stations_charges_on_one_hub():
    from importlib import resources

    from simulator.charging_run import run
    from simulator.templates.loader import load_fleet
    path = resources.files("simulator.templates") / "fleets" / "mixed-protocols.yaml"
    fleet = load_fleet(str(path))
    fleet = [(sid, StationOptions(**{**{f: getattr(o, f) for f in o.__slots__},
                                     "interval_scale": 0.05})) for sid, o in fleet]
    assert {o.version for _, o in fleet} == {"ocpp1.6", V201}
    async with running_hub(tags={f"MIX-{n}": "Accepted" for n in range(1, 5)}) as hub:
        outcomes = await run(hub.url, stations=len(fleet), id_pattern="X{n}", tag="MIX-{n}",
                             seconds=0.5, sample_interval=2, options=StationOptions(),
                             verbose=False, print_=lambda *_: None, fleet=fleet)
        assert all(o.ok for o in outcomes), [o.line() for o in outcomes]
        by_version = {}
        for (sid, o), out in zip(fleet, outcomes):
            row = hub.store.get_station(sid)
            assert row is not None
            by_version.setdefault(o.version, []).append(out.transaction_id)
        assert all(isinstance(t, int) for t in by_version["ocpp1.6"])
        assert all(isinstance(t, str) and hub.store.v201.events(sid, t) is not None
                   for t in by_version[V201])
        assert len(hub.store.v201.events(fleet[-1][0])) >= 2


async def test_firmware_update_and_log_upload_report_their_status_to_the_hub():
    import json

    from tests.transfer_helpers import file_server
    async with running_hub() as hub, file_server() as files:
        files.files["fw/image.bin"] = b"firmware-version: 9.9.9\n..."
        st = make_station("V201-FW", hub.url, fast(reboot_delay=0.1))
        sent = []
        st.taps.append(lambda f: sent.append(json.loads(f.raw)) if f.direction == "out"
                       and f.raw.startswith("[2") else None)
        await st.start()
        try:
            async with Commands(hub, "V201-FW") as command:
                rebooted = st.expect("rebooted")
                assert await command("UpdateFirmware", {"requestId": 11, "firmware": {
                    "location": f"{files.url}/fw/image.bin",
                    "retrieveDateTime": "2020-01-01T00:00:00Z"}}) == {"status": "Accepted"}
                await asyncio.wait_for(rebooted, 10)

                def firmware():
                    return [m[3] for m in sent if m[2] == "FirmwareStatusNotification"]
                await wait_for(lambda: any(p["status"] == "Installed" for p in firmware()),
                               timeout=10)
                assert [p["status"] for p in firmware()][:2] == ["Downloading", "Downloaded"]
                assert all(p["requestId"] == 11 for p in firmware())
                boots = [m[3]["reason"] for m in sent if m[2] == "BootNotification"]
                assert boots == ["PowerUp", "FirmwareUpdate"]
                reply = await command("GetLog", {"logType": "DiagnosticsLog", "requestId": 4,
                                                 "log": {"remoteLocation": f"{files.url}/up"}})
                assert reply["status"] == "Accepted"
                await wait_for(lambda: any(m[2] == "LogStatusNotification"
                                           and m[3]["status"] == "Uploaded" for m in sent),
                               timeout=10)
                assert any(k.startswith("up/") for k in files.uploads)
                assert st.view.config is not None
        finally:
            await st.stop()


async def test_charging_profiles_set_reported_composite_and_cleared():
    import json
    async with running_hub() as hub:
        st = make_station("V201-SC", hub.url, fast(connectors=2))
        sent = []
        st.taps.append(lambda f: sent.append(json.loads(f.raw)) if f.direction == "out"
                       and f.raw.startswith("[2") else None)
        await st.start()
        try:
            async with Commands(hub, "V201-SC") as command:
                profile = {"id": 5, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
                           "chargingProfileKind": "Relative", "chargingSchedule": [{
                               "id": 1, "chargingRateUnit": "W",
                               "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 4000}]}]}
                assert await command("SetChargingProfile", {"evseId": 1,
                                                            "chargingProfile": profile}) == {
                    "status": "Accepted"}
                bad = {**profile, "chargingProfilePurpose": "ChargingStationExternalConstraints"}
                assert (await command("SetChargingProfile", {"evseId": 1, "chargingProfile": bad})
                        )["status"] == "Rejected"
                reply = await command("GetCompositeSchedule", {"duration": 600, "evseId": 1,
                                                              "chargingRateUnit": "W"})
                assert reply["status"] == "Accepted"
                assert reply["schedule"]["chargingSchedulePeriod"][0]["limit"] == 4000
                assert await command("GetChargingProfiles", {"requestId": 3, "chargingProfile": {
                    "chargingProfilePurpose": "TxDefaultProfile"}}) == {"status": "Accepted"}
                await wait_for(lambda: any(m[2] == "ReportChargingProfiles" for m in sent))
                report = next(m[3] for m in sent if m[2] == "ReportChargingProfiles")
                assert report["evseId"] == 1 and report["chargingProfile"][0]["id"] == 5
                assert await command("ClearChargingProfile", {"chargingProfileId": 5}) == {
                    "status": "Accepted"}
                assert await command("GetChargingProfiles", {"requestId": 4, "chargingProfile": {
                    "chargingProfileId": [5]}}) == {"status": "NoProfiles"}
                assert await command("ClearChargingProfile", {"chargingProfileId": 5}) == {
                    "status": "Unknown"}
        finally:
            await st.stop()


def test_201_field_quirks_rewrite_transaction_events_only_on_the_wire():
    from simulator.dialects.quirks import QuirkSet
    event = {"seqNo": 3, "timestamp": "2026-01-02T03:04:05.000Z", "meterValue": [
        {"timestamp": "2026-01-02T03:04:05.000Z",
         "sampledValue": [{"value": 604.2, "measurand": "Energy.Active.Import.Register"}]}]}
    action, wire = QuirkSet(["string_values", "missing_seq_no", "timestamp_no_offset"]
                            ).outbound("TransactionEvent", event)
    assert action == "TransactionEvent" and "seqNo" not in wire
    assert wire["meterValue"][0]["sampledValue"][0]["value"] == "604.2"
    assert wire["timestamp"] == wire["meterValue"][0]["timestamp"] == "2026-01-02T03:04:05.000"
    assert event["seqNo"] == 3 and event["meterValue"][0]["sampledValue"][0]["value"] == 604.2


async def test_strict_hub_refuses_string_values_and_lenient_hub_repairs_them():
    for mode, expect in (("strict", "TypeConstraintViolation"), ("lenient", None)):
        async with running_hub(tags={TAG: "Accepted"}, mode=mode) as hub:
            st = make_station(f"V201-Q-{mode}", hub.url,
                              fast(quirks=["string_values"], call_timeout=2, config={
                                  "OCPPCommCtrlr/MessageAttempts[TransactionEvent]": "1"}))
            errors = []
            st.on_event = lambda e: errors.append(e.text) if e.kind == "error" else None
            await st.start()
            try:
                await st.plug_in(1)
                if expect:
                    with pytest.raises(Exception, match=expect):
                        await st.present_tag(1, TAG)
                else:
                    assert await st.present_tag(1, TAG) == "Started"
                    events = hub.store.v201.events(f"V201-Q-{mode}")
                    assert events and events[0]["event_type"] == "Started"
            finally:
                await st.stop()


def test_chargesim_run_protocol_201_charges_three_stations_on_the_bundled_hub():
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "simulator.cli", "run", "--protocol",
                             "ocpp2.0.1", "--stations", "3", "--seconds", "1"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed, 0 failed" in result.stdout
    assert "TransactionEvent" in result.stdout and "StartTransaction" not in result.stdout
    bad = subprocess.run([sys.executable, "-m", "simulator.cli", "run", "--protocol", "ocpp2.1"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--protocol" in bad.stderr


async def test_reservation_local_list_cache_and_data_transfer():
    from datetime import datetime, timedelta, timezone
    later = (datetime.now(timezone.utc) + timedelta(minutes=10)).isoformat()
    async with running_hub(tags={TAG: "Accepted"}) as hub:
        st = make_station("V201-HC", hub.url, fast(connectors=2))
        await st.start()
        try:
            async with Commands(hub, "V201-HC") as command:
                token = {"idToken": TAG, "type": "ISO14443"}
                assert await command("ReserveNow", {"id": 1, "expiryDateTime": later,
                                                    "idToken": token, "evseId": 1}) == {
                    "status": "Accepted"}
                await wait_for(lambda: st.connectors[1].status.value == "reserved")
                assert (await command("ReserveNow", {
                    "id": 2, "expiryDateTime": later, "idToken": token, "evseId": 2,
                    "connectorType": "cCCS1"}))["status"] == "Rejected"
                assert await command("ReserveNow", {"id": 3, "expiryDateTime": later,
                                                    "idToken": token}) == {"status": "Accepted"}
                assert await command("CancelReservation", {"reservationId": 1}) == {
                    "status": "Accepted"}
                assert await command("CancelReservation", {"reservationId": 1}) == {
                    "status": "Rejected"}
                assert await command("CancelReservation", {"reservationId": 3}) == {
                    "status": "Accepted"}

                assert await command("SendLocalList", {
                    "versionNumber": 4, "updateType": "Full", "localAuthorizationList": [
                        {"idToken": {"idToken": "LOCAL-1", "type": "ISO14443"},
                         "idTokenInfo": {"status": "Accepted"}}]}) == {"status": "Accepted"}
                assert await command("GetLocalListVersion", {}) == {"versionNumber": 4}
                assert await command("GetVariables", {"getVariableData": [
                    {"component": {"name": "LocalAuthListCtrlr"},
                     "variable": {"name": "Entries"}}]}) == {"getVariableResult": [
                    {"attributeStatus": "Accepted", "attributeType": "Actual",
                     "component": {"name": "LocalAuthListCtrlr"},
                     "variable": {"name": "Entries"}, "attributeValue": "1"}]}
                assert await command("ClearCache", {}) == {"status": "Accepted"}
                reply = await command("DataTransfer", {"vendorId": "com.nobody"})
                assert reply["status"] in ("UnknownVendorId", "Rejected")
            status, _ = await st.data_transfer("com.example", "ping", "hello")
            assert status in ("Accepted", "UnknownVendorId", "Rejected", "UnknownMessageId")
            # the local list admits its card offline
            st.go_offline()
            await st.plug_in(2)
            assert await st.present_tag(2, "LOCAL-1") == "Started"
        finally:
            await st.stop()


async def test_a_restart_delivers_the_journalled_events_and_goes_on_counting(tmp_path):
    async with running_hub(tags={TAG: "Accepted"}) as hub:
        opts = fast(max_power_w=350_000, state_dir=str(tmp_path))
        st = make_station("V201-PL", hub.url, opts)
        await st.start()
        try:
            await st.plug_in(1)
            started = st.expect("tx_started", 1)
            assert await st.present_tag(1, TAG) == "Started"
            tx = (await asyncio.wait_for(started, 5)).data["transaction"]
            st.go_offline()
            await asyncio.wait_for(st.expect("queued", 1), 5)
        finally:
            await st.stop()
        # a new process: the same id and state directory
        again = make_station("V201-PL", hub.url, opts)
        delivered = again.expect("sent_held", 1,
                                 where=lambda e: e.data.get("action") == "transaction_ended")
        await again.start()
        try:
            await asyncio.wait_for(delivered, 10)
        finally:
            await again.stop()
        events = hub.store.v201.events("V201-PL", tx)
        assert [e["seq_no"] for e in events] == list(range(len(events)))
        assert events[-1]["event_type"] == "Ended"
        assert events[-1]["stopped_reason"] == "PowerLoss" and events[-1]["offline"] == 1
        assert not any(e["flags"] for e in events)


async def test_an_expired_reservation_is_reported_with_reservation_status_update():
    import json
    from datetime import datetime, timedelta, timezone
    soon = (datetime.now(timezone.utc) + timedelta(seconds=0.5)).isoformat()
    async with running_hub() as hub:
        st = make_station("V201-RSU", hub.url, fast())
        sent = []
        st.taps.append(lambda f: sent.append(json.loads(f.raw)) if f.direction == "out"
                       and f.raw.startswith("[2") else None)
        await st.start()
        try:
            async with Commands(hub, "V201-RSU") as command:
                expired = st.expect("reservation_expired")
                assert await command("ReserveNow", {
                    "id": 8, "expiryDateTime": soon, "evseId": 1,
                    "idToken": {"idToken": TAG, "type": "ISO14443"}}) == {"status": "Accepted"}
                await asyncio.wait_for(expired, 5)
                await wait_for(lambda: any(m[2] == "ReservationStatusUpdate" for m in sent))
                update = next(m[3] for m in sent if m[2] == "ReservationStatusUpdate")
                assert update == {"reservationId": 8, "reservationUpdateStatus": "Expired"}
        finally:
            await st.stop()


async def test_a_fault_is_a_faulted_status_and_a_notify_event_and_so_is_its_end():
    import json
    async with running_hub() as hub:
        st = make_station("V201-FLT", hub.url, fast())
        sent = []
        st.taps.append(lambda f: sent.append(json.loads(f.raw)) if f.direction == "out"
                       and f.raw.startswith("[2") else None)
        await st.start()
        try:
            await st.fault(1, "GroundFailure", "RCD tripped")
            await st.clear_fault(1)
            await wait_for(lambda: len([m for m in sent if m[2] == "NotifyEvent"]) == 2)
        finally:
            await st.stop()
    statuses = [m[3]["connectorStatus"] for m in sent if m[2] == "StatusNotification"]
    assert statuses[-2:] == ["Faulted", "Available"]
    first, second = [m[3]["eventData"][0] for m in sent if m[2] == "NotifyEvent"]
    assert first["actualValue"] == "Faulted" and first["techCode"] == "GroundFailure"
    assert first["component"] == {"name": "Connector", "evse": {"id": 1, "connectorId": 1}}
    assert second["cleared"] is True and second["eventId"] == first["eventId"] + 1


async def test_clock_aligned_values_follow_the_aligned_data_variables():
    async with running_hub(tags={TAG: "Accepted"}) as hub:
        st = make_station("V201-ALN", hub.url, fast(config={
            "SampledDataCtrlr/TxUpdatedInterval": "0"}))    # no periodic samples
        await st.start()
        try:
            async with Commands(hub, "V201-ALN") as command:
                await st.plug_in(1)
                started = st.expect("tx_started", 1)
                assert await st.present_tag(1, TAG) == "Started"
                tx = (await asyncio.wait_for(started, 5)).data["transaction"]
                reply = await command("SetVariables", {"setVariableData": [
                    {"component": {"name": "AlignedDataCtrlr"}, "variable": {"name": name},
                     "attributeValue": value} for name, value in (
                        ("Measurands", "Energy.Active.Import.Register,Power.Active.Import"),
                        ("Interval", "2"))]})
                assert [r["attributeStatus"] for r in reply["setVariableResult"]] == [
                    "Accepted", "Accepted"]
                await wait_for(lambda: any(e["trigger_reason"] == "MeterValueClock"
                                           for e in hub.store.v201.events("V201-ALN", tx)),
                               timeout=5)
        finally:
            await st.stop()
        clock = [e for e in hub.store.v201.events("V201-ALN", tx)
                 if e["trigger_reason"] == "MeterValueClock"]
        assert clock and not any(e["trigger_reason"] == "MeterValuePeriodic"
                                 for e in hub.store.v201.events("V201-ALN", tx))
        readings = hub.store.meter_values(clock[0]["transaction_id"])
        assert {"Energy.Active.Import.Register", "Power.Active.Import"} <= {
            r["measurand"] for r in readings if r.get("context") == "Sample.Clock"}


async def test_security_profile_1_basic_auth_and_security_events_over_201():
    key = "0123456789abcdef0123"
    async with running_hub(station_passwords={"V201-SP1": key}) as hub:
        st = make_station("V201-SP1", hub.url, fast(security_profile=1,
                                                     authorization_key="wrong-password-123"))
        with pytest.raises(Exception, match="401"):
            await st.start(timeout=5)
        # the CSMS-facing variable holds the password; once right, the event reaches the hub
        assert st.change_configuration("SecurityCtrlr/BasicAuthPassword", key) == "Accepted"
        await st.start(timeout=5)
        try:
            await wait_for(lambda: not st.security.events, 5)
            async with aiohttp.ClientSession(hub.api_url) as http:
                async with http.get("/stations/V201-SP1/security-events") as r:
                    events = await r.json()
            assert [e["type"] for e in events][:1] == ["FailedToAuthenticateAtCentralSystem"]
            async with Commands(hub, "V201-SP1") as command:
                reply = await command("SetVariables", {"setVariableData": [
                    {"component": {"name": "SecurityCtrlr"},
                     "variable": {"name": "SecurityProfile"}, "attributeValue": "0"}]})
                assert reply["setVariableResult"][0]["attributeStatus"] == "Rejected"  # lower
        finally:
            await st.stop()


async def test_too_many_items_for_one_get_variables_is_the_spec_error():
    async with running_hub() as hub:
        st = make_station("V201-MANY", hub.url, fast())
        await st.start()
        try:
            item = {"component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"}}
            async with aiohttp.ClientSession(hub.api_url) as http:
                async with http.post("/stations/V201-MANY/commands/GetVariables",
                                     json={"getVariableData": [item] * 51}) as r:
                    body = await r.json()
            assert r.status >= 400 and body["code"] == "OccurrenceConstraintViolation"
            assert "ItemsPerMessage" in body["description"] or "ItemsPerMessage" in str(body)
            assert st.view.online     # answered, not crashed
        finally:
            await st.stop()


async def test_remote_start_before_the_cable_starts_once_with_the_remote_start_id():
    # F02: RequestStartTransaction first, the cable right after: the plug-in starts the
    # transaction with the remote start's token, and the Started event names its
    # remoteStartId; the remote start's own follow-up finds nothing left to start.
    async with running_hub(tags={TAG: "Accepted"}) as hub:
        st = make_station("V201-RSF", hub.url, fast())
        events = []
        st.taps.append(lambda f: events.append(json.loads(f.raw)[3]) if f.direction == "out"
                       and '"TransactionEvent"' in f.raw else None)
        await st.start()
        try:
            async with Commands(hub, "V201-RSF") as command:
                started = st.expect("tx_started", 1)
                assert await command("RequestStartTransaction", {
                    "idToken": {"idToken": TAG, "type": "Central"}, "remoteStartId": 55,
                    "evseId": 1}) == {"status": "Accepted"}
                await st.plug_in(1)
                await asyncio.wait_for(started, 5)
                await wait_for(lambda: any(e["eventType"] == "Started" for e in events))
                first = next(e for e in events if e["eventType"] == "Started")
                assert first["transactionInfo"]["remoteStartId"] == 55
                assert first["idToken"]["idToken"] == TAG
                assert [e["eventType"] for e in events].count("Started") == 1
                assert not [e for e in st.view.recent_events if e.kind == "error"]
        finally:
            await st.stop()


async def test_install_certificate_of_a_type_not_kept_is_rejected_with_a_valid_reason():
    # A03 in the conformance pack: the answer used to break the schema (reasonCode > 20
    # characters) and went out as CALLERROR InternalError instead of Rejected.
    async with running_hub() as hub:
        st = make_station("V201-CERT", hub.url, fast())
        await st.start()
        try:
            async with Commands(hub, "V201-CERT") as command:
                reply = await command("InstallCertificate", {
                    "certificateType": "V2GRootCertificate",
                    "certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"})
                assert reply["status"] == "Rejected"
                assert len(reply["statusInfo"]["reasonCode"]) <= 20
                assert "V2GRootCertificate" in reply["statusInfo"]["additionalInfo"]
        finally:
            await st.stop()
