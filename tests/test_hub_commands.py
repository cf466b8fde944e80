"""CSMS-initiated commands through the hub's layers: abstract command ⇄ 1.6 CALL in the
adapter (both ways), and the feature views reflecting what went through manager and store.
The independent station is an `ocpp`-library ChargePoint."""
from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timezone

import pytest
from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

import hub_under_test.commands as c
from hub_under_test.adapters import ocpp16_commands as wire
from hub_under_test.commands import CommandStatus
from hub_under_test.messages import (AuthorizationStatus, DataTransferResult, DataTransferStatus,
                                     IdTokenInfo, MESSAGES, from_dict, json_schema, to_dict)
from simulator.protocol import CSMS, V16, catalog
from simulator.protocol.validation import validate
from simulator.session import CallErrorReceived
from tests.hub_helpers import Api, Charger, charger, running_hub

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)
T1 = datetime(2030, 5, 1, 13, 30, 15, 250000, tzinfo=timezone.utc)
PROFILE = c.ChargingProfile(
    7, 1, "TxDefaultProfile", "Absolute",
    c.ChargingSchedule("W", [c.SchedulePeriod(0, 11000.0), c.SchedulePeriod(600, 3700.0, 1)],
                       duration=3600, start=T0, min_rate=1200.0),
    valid_from=T0, valid_to=T1)
HASH = c.CertificateHash("SHA256", "aa11", "bb22", "0c")

# One of every command the hub can send, with optional fields set where they exist.
COMMANDS = [
    c.Reset(c.ResetKind.SOFT),
    c.ChangeAvailability(2, operative=False),
    c.ChangeAvailability(0, operative=True),
    c.ChangeConfiguration("MeterValueSampleInterval", "30"),
    c.GetConfiguration(["HeartbeatInterval", "Nope"]),
    c.GetConfiguration(),
    c.ClearCache(),
    c.RemoteStart("TAG-1", 1, dataclasses.replace(PROFILE, purpose="TxProfile")),
    c.RemoteStart("TAG-2"),
    c.RemoteStop(42),
    c.UnlockConnector(1),
    c.TriggerMessage("StatusNotification", 1),
    c.TriggerMessage("SignChargePointCertificate"),
    c.SendDataTransfer("com.acme", "ping", "{\"n\":1}"),
    c.ReserveNow(5, 1, "TAG-1", T1, "GROUP"),
    c.CancelReservation(5),
    c.SendLocalList(3, c.UpdateType.DIFFERENTIAL, [
        c.LocalListEntry("A", IdTokenInfo(AuthorizationStatus.BLOCKED, T1, "GROUP")),
        c.LocalListEntry("GONE")]),
    c.GetLocalListVersion(),
    c.SetChargingProfile(0, PROFILE),
    c.ClearChargingProfile(profile_id=7),
    c.ClearChargingProfile(connector_id=1, purpose="TxDefaultProfile", stack_level=1),
    c.GetCompositeSchedule(1, 600, "A"),
    c.UpdateFirmware("https://fw.example/img.bin", T0, retries=2, retry_interval=30),
    c.UpdateFirmware("https://fw.example/img.bin", T0, 1, 10, request_id=9, install_date=T1,
                     signing_certificate="-----BEGIN CERTIFICATE-----", signature="c2ln"),
    c.GetDiagnostics("https://hub.example/uploads/CS", T0, T1, 1, 5),
    c.GetLog("SecurityLog", 8, "https://hub.example/uploads/CS", T0, T1, 3, 60),
    c.CertificateSigned("-----BEGIN CERTIFICATE-----\n..."),
    c.InstallCertificate("ManufacturerRootCertificate", "-----BEGIN CERTIFICATE-----"),
    c.DeleteCertificate(HASH),
    c.GetInstalledCertificates("CentralSystemRootCertificate"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda cmd: type(cmd).__name__)
def test_each_command_encodes_to_a_valid_16_request_and_reads_back_unchanged(command):
    action, payload = wire.encode(command)
    validate(V16, action, "request", payload)           # raises on a schema violation
    assert catalog(V16)[action].initiated_by(CSMS)
    assert wire.parse(action, payload) == command       # the raw API's reading of it
    assert from_dict(type(command), to_dict(command)) == command   # the bus / JSON form


def test_every_csms_initiated_16_action_has_an_abstract_command():
    encoded = {wire.encode(cmd)[0] for cmd in COMMANDS}
    assert encoded == set(catalog(V16).initiated_by(CSMS))
    assert {type(cmd) for cmd in COMMANDS} == {
        cls for cls in MESSAGES.values()
        if issubclass(cls, c.Command) and cls is not c.RawCommand
        and cls not in (c.GetVariables, c.SetVariables)}   # the 2.0.1 device model only


def test_signed_and_plain_firmware_and_both_triggers_pick_their_16_action():
    assert wire.encode(COMMANDS[22])[0] == "UpdateFirmware"
    assert wire.encode(COMMANDS[23])[0] == "SignedUpdateFirmware"
    assert wire.encode(c.TriggerMessage("MeterValues"))[0] == "TriggerMessage"
    assert wire.encode(c.TriggerMessage("LogStatusNotification"))[0] == "ExtendedTriggerMessage"
    # ExtendedTriggerMessage read raw is the same abstract command
    assert wire.parse("ExtendedTriggerMessage", {"requestedMessage": "Heartbeat"}) == \
        c.TriggerMessage("Heartbeat")


def test_unknown_token_goes_out_as_invalid_in_a_16_local_list():
    cmd = c.SendLocalList(1, c.UpdateType.FULL, [
        c.LocalListEntry("X", IdTokenInfo(AuthorizationStatus.UNKNOWN))])
    _, payload = wire.encode(cmd)
    assert payload["localAuthorizationList"] == [{"idTag": "X", "idTagInfo": {"status": "Invalid"}}]


def test_a_raw_request_with_no_abstract_form_passes_through_as_raw():
    assert wire.parse("Reset", {"type": "Sideways"}) == c.RawCommand("Reset", {"type": "Sideways"})
    assert wire.parse("ReserveNow", {"connectorId": 1}) == c.RawCommand("ReserveNow", {"connectorId": 1})
    assert wire.parse("Frobnicate", {"a": 1}) == c.RawCommand("Frobnicate", {"a": 1})
    assert wire.encode(c.RawCommand("Frobnicate", {"a": 1})) == ("Frobnicate", {"a": 1})
    assert wire.decode(c.RawCommand("Frobnicate", {}), {"b": 2}) == c.RawResult({"b": 2})


@pytest.mark.parametrize("command, reply, result", [
    (c.Reset(c.ResetKind.HARD), {"status": "Rejected"}, c.Outcome(CommandStatus.REJECTED)),
    (c.UnlockConnector(1), {"status": "UnlockFailed"}, c.Outcome(CommandStatus.UNLOCK_FAILED)),
    (COMMANDS[22], {}, c.Outcome(None)),
    (c.GetConfiguration(), {"configurationKey": [{"key": "A", "readonly": True, "value": "1"},
                                                 {"key": "B", "readonly": False}],
                            "unknownKey": ["C"]},
     c.ConfigurationReport([c.ConfigurationSetting("A", True, "1"),
                            c.ConfigurationSetting("B", False)], ["C"])),
    (c.GetLocalListVersion(), {"listVersion": -1}, c.LocalListVersion(-1)),
    (c.GetCompositeSchedule(1, 60), {
        "status": "Accepted", "connectorId": 1, "scheduleStart": "2030-05-01T12:00:00Z",
        "chargingSchedule": {"chargingRateUnit": "A", "duration": 60,
                             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 8.0}]}},
     c.CompositeSchedule(CommandStatus.ACCEPTED, 1, T0, c.ChargingSchedule(
         "A", [c.SchedulePeriod(0, 8.0)], duration=60))),
    (c.GetCompositeSchedule(1, 60), {"status": "Rejected"},
     c.CompositeSchedule(CommandStatus.REJECTED)),
    (COMMANDS[24], {"fileName": "diag.json"}, c.UploadResult(None, "diag.json")),
    (COMMANDS[25], {"status": "Accepted", "filename": "sec.log"},
     c.UploadResult(CommandStatus.ACCEPTED, "sec.log")),
    (c.GetInstalledCertificates("x"), {"status": "Accepted", "certificateHashData": [
        {"hashAlgorithm": "SHA256", "issuerNameHash": "aa11", "issuerKeyHash": "bb22",
         "serialNumber": "0c"}]}, c.InstalledCertificates(CommandStatus.ACCEPTED, [HASH])),
    (c.SendDataTransfer("v"), {"status": "UnknownMessageId", "data": "x"},
     DataTransferResult(DataTransferStatus.UNKNOWN_MESSAGE_ID, "x")),
], ids=lambda v: type(v).__name__)
def test_16_replies_read_into_typed_results(command, reply, result):
    validate(V16, wire.encode(command)[0], "response", reply)
    assert wire.decode(command, reply) == result


def test_commands_and_results_are_in_the_hub_protocol_schema():
    defs = json_schema()["definitions"]
    assert {"ReserveNow", "Outcome", "ChargingProfile", "CompositeSchedule", "RawCommand"} <= set(defs)
    assert defs["Reset"]["properties"]["kind"]["enum"] == ["Hard", "Soft"]


# -- against an ocpp-library charger -----------------------------------------------------------

class FeatureCharger(Charger):
    """Answers the reservation, local list and smart charging requests, and keeps them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.list_version = 0

    @on(Action.reserve_now)
    async def on_reserve(self, **kw):
        self.received.append(("ReserveNow", kw))
        return call_result.ReserveNow(status="Occupied" if kw["connector_id"] == 2 else "Accepted")

    @on(Action.cancel_reservation)
    async def on_cancel(self, reservation_id):
        self.received.append(("CancelReservation", {"reservation_id": reservation_id}))
        return call_result.CancelReservation(status="Accepted")

    @on(Action.send_local_list)
    async def on_send_local_list(self, list_version, update_type, **kw):
        self.received.append(("SendLocalList", {"list_version": list_version,
                                                "update_type": update_type, **kw}))
        self.list_version = list_version
        return call_result.SendLocalList(status="Accepted")

    @on(Action.get_local_list_version)
    async def on_get_local_list_version(self):
        return call_result.GetLocalListVersion(list_version=self.list_version)

    @on(Action.set_charging_profile)
    async def on_set_profile(self, connector_id, cs_charging_profiles):
        self.received.append(("SetChargingProfile", {"connector_id": connector_id,
                                                     "profile": cs_charging_profiles}))
        return call_result.SetChargingProfile(status="Accepted")

    @on(Action.clear_charging_profile)
    async def on_clear_profile(self, **kw):
        return call_result.ClearChargingProfile(status="Accepted")

    @on(Action.get_composite_schedule)
    async def on_composite(self, connector_id, duration, **kw):
        return call_result.GetCompositeSchedule(
            status="Accepted", connector_id=connector_id, schedule_start="2030-05-01T12:00:00Z",
            charging_schedule={"chargingRateUnit": "W", "duration": duration,
                               "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 4000.0}]})


async def test_abstract_commands_reach_an_ocpp_library_charger_and_come_back_typed():
    async with running_hub() as hub, charger(hub, "LIB-CMD", cls=FeatureCharger) as cp:
        report = await hub.execute("LIB-CMD", c.GetConfiguration(["HeartbeatInterval", "Nope"]))
        assert report == c.ConfigurationReport(
            [c.ConfigurationSetting("HeartbeatInterval", False, "300")], ["Nope"])
        assert cp.received[-1] == ("GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]})
        assert await hub.execute("LIB-CMD", c.Reset(c.ResetKind.HARD)) == \
            c.Outcome(CommandStatus.ACCEPTED)
        assert cp.received[-1] == ("Reset", {"type": "Hard"})
        schedule = await hub.execute("LIB-CMD", c.GetCompositeSchedule(1, 90, "W"))
        assert schedule == c.CompositeSchedule(CommandStatus.ACCEPTED, 1, T0, c.ChargingSchedule(
            "W", [c.SchedulePeriod(0, 4000.0)], duration=90))
        await hub.execute("LIB-CMD", c.SetChargingProfile(0, PROFILE))
        sent = cp.received[-1][1]["profile"]
        assert (sent["charging_profile_id"], sent["valid_from"]) == (7, "2030-05-01T12:00:00.000Z")
        assert sent["charging_schedule"]["charging_schedule_period"][1] == {
            "start_period": 600, "limit": 3700.0, "number_phases": 1}
        # the metric names the 1.6 action that carried the command
        assert hub.metrics.commands.value(action="GetCompositeSchedule", outcome="ok") == 1
        # a command the charger does not implement: the CALLERROR reaches the caller
        with pytest.raises(CallErrorReceived):
            await hub.execute("LIB-CMD", c.ChangeAvailability(1, operative=False))
        assert hub.metrics.commands.value(action="ChangeAvailability",
                                          outcome="CallErrorReceived") == 1


async def test_feature_views_show_what_went_through_manager_and_store():
    async with running_hub(tags={"A": "Accepted", "B": {"status": "Blocked"}}) as hub, \
            Api(hub) as api, charger(hub, "LIB-F", cls=FeatureCharger) as cp:
        # reservations: the helper route, and a raw ReserveNow through the command API
        status, out = await api.post("/stations/LIB-F/reservations", {
            "connectorId": 1, "idTag": "A", "expiryDate": "2030-05-01T13:30:15.250Z"})
        assert status == 200 and out["response"] == {"status": "Accepted"}
        rid = out["reservation"]["id"]
        assert cp.received[-1][1]["reservation_id"] == rid
        status, out = await api.post("/stations/LIB-F/commands/ReserveNow", {
            "connectorId": 2, "idTag": "B", "expiryDate": "2030-05-01T13:30:15Z",
            "reservationId": 900})
        assert out == {"status": "ok", "response": {"status": "Occupied"}}
        _, rows = await api.get("/stations/LIB-F/reservations")
        assert [(r["id"], r["connector_id"], r["id_tag"], r["status"], r["expiry_date"])
                for r in rows] == [(rid, 1, "A", "Accepted", "2030-05-01T13:30:15.250Z"),
                                   (900, 2, "B", "Occupied", "2030-05-01T13:30:15.000Z")]
        # local list: built from the tag store by the manager; a raw one is recorded too
        result, version, entries = await hub.manager.local_lists.send_local_list("LIB-F", "Full")
        assert (result.status, version, entries) == (CommandStatus.ACCEPTED, 1, 2)
        assert cp.received[-1][1]["local_authorization_list"] == [
            {"id_tag": "A", "id_tag_info": {"status": "Accepted"}},
            {"id_tag": "B", "id_tag_info": {"status": "Blocked"}}]
        status, out = await api.post("/stations/LIB-F/commands/SendLocalList", {
            "listVersion": 5, "updateType": "Differential",
            "localAuthorizationList": [{"idTag": "Z"}]})
        assert out["response"] == {"status": "Accepted"}
        _, state = await api.get("/stations/LIB-F/local-list")
        assert (state["listVersion"], state["updateType"], state["tags"]) == (5, "Differential", ["Z"])
        assert await hub.execute("LIB-F", c.GetLocalListVersion()) == c.LocalListVersion(5)
        # charging profiles: abstract and raw both land in the view, in the API's 1.6 form
        await hub.execute("LIB-F", c.SetChargingProfile(1, PROFILE))
        raw = {"chargingProfileId": 8, "stackLevel": 0, "chargingProfilePurpose":
               "ChargePointMaxProfile", "chargingProfileKind": "Relative",
               "chargingSchedule": {"chargingRateUnit": "A",
                                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]}}
        await api.post("/stations/LIB-F/commands/SetChargingProfile",
                       {"connectorId": 0, "csChargingProfiles": raw})
        _, listed = await api.get("/stations/LIB-F/charging-profiles")
        assert [(p["connectorId"], p["chargingProfile"]) for p in listed] == [
            (0, raw), (1, wire.profile_to_wire(PROFILE))]
        assert [p["profile"] for p in hub.manager.profiles.list("LIB-F")] == [
            wire.profile_from_wire(raw), PROFILE]
        await hub.execute("LIB-F", c.ClearChargingProfile(profile_id=7))
        _, listed = await api.get("/stations/LIB-F/charging-profiles")
        assert [p["chargingProfile"]["chargingProfileId"] for p in listed] == [8]


async def test_a_reservation_for_a_station_that_is_not_connected_stores_nothing():
    async with running_hub() as hub, Api(hub) as api:
        status, out = await api.post("/stations/NOBODY/reservations", {
            "connectorId": 1, "idTag": "A", "expiryDate": "2030-05-01T13:30:15Z"})
        assert status == 404
        assert hub.manager.reservations.list("NOBODY") == []
        with pytest.raises(Exception, match="not connected"):
            await asyncio.wait_for(hub.execute("NOBODY", c.ClearCache()), 2)
