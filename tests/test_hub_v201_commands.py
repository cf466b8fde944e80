"""CSMS-initiated 2.0.1: abstract commands ⇄ 2.0.1 CALLs (both ways, valid against the 2.0.1
schemas), and every CSMS-initiated 2.0.1 action through the HTTP command API."""
from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timezone

import orjson
import pytest

import hub_under_test.commands as c
from hub_under_test.adapters import ocpp201_commands as wire
from hub_under_test.messages import AuthorizationStatus, IdTokenInfo, from_dict, to_dict
from simulator.protocol import CSMS, V201, catalog
from simulator.protocol.validation import validate
from tests.hub_helpers import Api, exchange, now, raw_station, running_hub

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)
T1 = datetime(2030, 5, 1, 13, 30, 15, 250000, tzinfo=timezone.utc)
PROFILE = c.ChargingProfile(
    7, 1, "ChargePointMaxProfile", "Absolute",
    c.ChargingSchedule("W", [c.SchedulePeriod(0, 11000.0), c.SchedulePeriod(600, 3700.0, 1)],
                       duration=3600, start=T0, min_rate=1200.0),
    valid_from=T0, valid_to=T1)
HASH = c.CertificateHash("SHA256", "aa11", "bb22", "0c")
POWER = c.VariableRef("EVSE", "Power", evse_id=1, attribute_type="MaxSet")

COMMANDS = [
    c.Reset(c.ResetKind.SOFT),
    c.Reset(c.ResetKind.HARD),
    c.ChangeAvailability(2, operative=False),
    c.ChangeAvailability(0, operative=True),
    c.ClearCache(),
    c.RemoteStart("TAG-1", 1, dataclasses.replace(PROFILE, purpose="TxProfile"),
                  remote_start_id=3, token_type="ISO14443"),
    c.RemoteStart("TAG-2", remote_start_id=4, token_type="Central"),
    c.RemoteStop(42),
    c.UnlockConnector(1),
    c.TriggerMessage("StatusNotification", 1),
    c.TriggerMessage("SignChargePointCertificate"),
    c.SendDataTransfer("com.acme", "ping", {"n": 1}),
    c.ReserveNow(5, 1, "TAG-1", T1, "GROUP"),
    c.ReserveNow(6, 0, "TAG-1", T1),
    c.CancelReservation(5),
    c.SendLocalList(3, c.UpdateType.DIFFERENTIAL, [
        c.LocalListEntry("A", IdTokenInfo(AuthorizationStatus.BLOCKED, T1, "GROUP")),
        c.LocalListEntry("GONE")]),
    c.GetLocalListVersion(),
    c.SetChargingProfile(0, PROFILE),
    c.ClearChargingProfile(profile_id=7),
    c.ClearChargingProfile(connector_id=1, purpose="TxDefaultProfile", stack_level=1),
    c.GetCompositeSchedule(1, 600, "A"),
    c.UpdateFirmware("https://fw.example/img.bin", T0, 2, 30, request_id=8),
    c.UpdateFirmware("https://fw.example/img.bin", T0, 1, 10, request_id=9, install_date=T1,
                     signing_certificate="-----BEGIN CERTIFICATE-----", signature="c2ln"),
    c.GetLog("SecurityLog", 8, "https://hub.example/uploads/CS", T0, T1, 3, 60),
    c.CertificateSigned("-----BEGIN CERTIFICATE-----\n..."),
    c.InstallCertificate("ManufacturerRootCertificate", "-----BEGIN CERTIFICATE-----"),
    c.InstallCertificate("CentralSystemRootCertificate", "-----BEGIN CERTIFICATE-----"),
    c.DeleteCertificate(HASH),
    c.GetInstalledCertificates("CentralSystemRootCertificate"),
    c.GetVariables([POWER, c.VariableRef("OCPPCommCtrlr", "HeartbeatInterval")]),
    c.SetVariables([c.VariableSetting(POWER, "11000")]),
]
REMOTE = {42: "tx-42"}.get
HUB = {"tx-42": 42}.get


@pytest.mark.parametrize("command", COMMANDS, ids=lambda cmd: type(cmd).__name__)
def test_each_command_encodes_to_a_valid_201_request_and_reads_back_unchanged(command):
    action, payload = wire.encode(command, REMOTE)
    validate(V201, action, "request", payload)            # raises on a schema violation
    assert catalog(V201)[action].initiated_by(CSMS)
    assert wire.parse(action, payload, HUB) == command     # the raw API's reading of it
    assert from_dict(type(command), to_dict(command)) == command


def test_201_words_for_the_version_neutral_commands():
    assert wire.encode(c.Reset(c.ResetKind.HARD)) == ("Reset", {"type": "Immediate"})
    assert wire.encode(c.RemoteStop(42), REMOTE) == ("RequestStopTransaction",
                                                    {"transactionId": "tx-42"})
    _, profile = wire.encode(c.SetChargingProfile(1, PROFILE))
    assert profile["chargingProfile"]["chargingProfilePurpose"] == "ChargingStationMaxProfile"
    _, lst = wire.encode(c.SendLocalList(1, c.UpdateType.FULL, [
        c.LocalListEntry("X", IdTokenInfo(AuthorizationStatus.UNKNOWN))]))
    assert lst["localAuthorizationList"][0]["idTokenInfo"] == {"status": "Unknown"}


@pytest.mark.parametrize("command", [c.GetConfiguration(), c.ChangeConfiguration("K", "V"),
                                     c.GetDiagnostics("ftp://x")])
def test_16_only_commands_have_no_201_request(command):
    with pytest.raises(TypeError, match="OCPP 2.0.1 has no request"):
        wire.encode(command)


@pytest.mark.parametrize("action, payload", [
    ("Reset", {"type": "OnIdle", "evseId": 2}),             # one EVSE: no abstract form
    ("GetBaseReport", {"requestId": 1, "reportBase": "FullInventory"}),
    ("RequestStopTransaction", {"transactionId": "unknown"}),
    ("UnlockConnector", {"evseId": 1, "connectorId": 2}),
])
def test_requests_saying_more_than_an_abstract_command_stay_raw(action, payload):
    assert wire.parse(action, payload, HUB) == c.RawCommand(action, payload)


def test_replies_read_into_typed_results():
    report = wire.decode(c.GetVariables([POWER]), {"getVariableResult": [{
        "attributeStatus": "Rejected", "attributeStatusInfo": {"reasonCode": "ReadOnly"},
        "component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"},
        "attributeType": "MaxSet"}]})
    assert report.results == [c.VariableResult(POWER, "Rejected", None, "ReadOnly")]
    composite = wire.decode(c.GetCompositeSchedule(1, 60), {"status": "Accepted", "schedule": {
        "evseId": 1, "duration": 60, "scheduleStart": "2030-05-01T12:00:00Z",
        "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]}})
    assert composite.connector_id == 1 and composite.schedule_start == T0
    assert composite.schedule.periods == [c.SchedulePeriod(0, 16)]
    unlock = wire.decode(c.UnlockConnector(1), {"status": "OngoingAuthorizedTransaction"})
    assert unlock.status is c.CommandStatus.ONGOING_AUTHORIZED_TRANSACTION


# -- every CSMS-initiated 2.0.1 action through the command API --------------------------------

def minimal(node: dict, root: dict):
    """The smallest instance of a schema node: required fields only, first enum values."""
    while "$ref" in node:
        node = root["definitions"][node["$ref"].split("/")[-1]]
    kind = node.get("type")
    if "enum" in node:
        return node["enum"][0]
    if kind == "object":
        return {k: minimal(node["properties"][k], root) for k in node.get("required", [])}
    if kind == "array":
        return [minimal(node["items"], root) for _ in range(max(1, node.get("minItems", 1)))]
    if kind == "string":
        return now() if node.get("format") == "date-time" else "x"
    if kind == "integer":
        return max(node.get("minimum", 1), 1) if node.get("maximum", 1) >= 1 else 0
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    return "x"


async def test_every_csms_initiated_201_action_goes_through_the_command_api():
    cat = catalog(V201)
    actions = cat.initiated_by(CSMS)
    assert len(actions) == 40
    async with running_hub() as hub, Api(hub) as api:
        async with raw_station(hub, "ALL-201", subprotocols=("ocpp2.0.1",)) as ws:
            await exchange(ws, [2, "b", "BootNotification", {
                "chargingStation": {"vendorName": "Acme", "model": "Y"}, "reason": "PowerUp"}])
            received = []

            async def answer():   # the station answers every request minimally but validly
                async for text in ws:
                    frame = orjson.loads(text)
                    if frame[0] == 2:
                        received.append(frame[2])
                        schema = cat[frame[2]].response_schema
                        await ws.send(orjson.dumps([3, frame[1], minimal(schema, schema)]).decode())

            responder = asyncio.create_task(answer())
            try:
                for action in actions:
                    schema = cat[action].request_schema
                    status, body = await api.post(f"/stations/ALL-201/commands/{action}",
                                                  minimal(schema, schema))
                    assert status == 200, (action, body)
                    validate(V201, action, "response", body["response"])
            finally:
                responder.cancel()
    assert received == actions
