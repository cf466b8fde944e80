"""The hub speaks OCPP 2.0.1: the `ocpp` library's v201 ChargePoint as the independent
charger (boot, authorization, a transaction Started / Updated / Ended with meter values,
status, commands through the HTTP command API), and a mixed fleet of 1.6 and 2.0.1
stations on one hub at once."""
from __future__ import annotations

import asyncio
import contextlib

import websockets
from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint, call, call_result

from tests.hub_helpers import Api, charger, now, running_hub, wait_for


class Charger201(ChargePoint):
    """An `ocpp`-library 2.0.1 charging station that answers a few CSMS requests."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received: list[tuple[str, dict]] = []
        self.variables = {("OCPPCommCtrlr", "HeartbeatInterval"): "300"}

    @on("RequestStartTransaction")
    async def on_request_start(self, id_token, remote_start_id, **kwargs):
        self.received.append(("RequestStartTransaction", {"id_token": id_token,
                                                          "remote_start_id": remote_start_id,
                                                          **kwargs}))
        return call_result.RequestStartTransaction(status="Accepted")

    @on("RequestStopTransaction")
    async def on_request_stop(self, transaction_id, **kwargs):
        self.received.append(("RequestStopTransaction", {"transaction_id": transaction_id}))
        return call_result.RequestStopTransaction(status="Accepted")

    @on("GetVariables")
    async def on_get_variables(self, get_variable_data, **kwargs):
        self.received.append(("GetVariables", {"get_variable_data": get_variable_data}))
        results = []
        for item in get_variable_data:
            key = (item["component"]["name"], item["variable"]["name"])
            value = self.variables.get(key)
            results.append({"attribute_status": "Accepted" if value is not None else "UnknownVariable",
                            "component": item["component"], "variable": item["variable"],
                            **({"attribute_value": value} if value is not None else {})})
        return call_result.GetVariables(get_variable_result=results)

    @on("SetVariables")
    async def on_set_variables(self, set_variable_data, **kwargs):
        results = []
        for item in set_variable_data:
            key = (item["component"]["name"], item["variable"]["name"])
            known = key in self.variables
            if known:
                self.variables[key] = item["attribute_value"]
            results.append({"attribute_status": "Accepted" if known else "UnknownComponent",
                            "component": item["component"], "variable": item["variable"]})
        return call_result.SetVariables(set_variable_result=results)

    @on("ReserveNow")
    async def on_reserve(self, id, expiry_date_time, id_token, **kwargs):
        self.received.append(("ReserveNow", {"id": id, "id_token": id_token, **kwargs}))
        return call_result.ReserveNow(status="Accepted")

    @on("SendLocalList")
    async def on_local_list(self, version_number, update_type, **kwargs):
        self.received.append(("SendLocalList", {"version_number": version_number,
                                                "update_type": update_type, **kwargs}))
        return call_result.SendLocalList(status="Accepted")

    @on("CertificateSigned")
    async def on_certificate_signed(self, certificate_chain, **kwargs):
        self.received.append(("CertificateSigned", {"certificate_chain": certificate_chain,
                                                    **kwargs}))
        return call_result.CertificateSigned(status="Accepted")

    @on("Reset")
    async def on_reset(self, type, **kwargs):
        self.received.append(("Reset", {"type": type, **kwargs}))
        return call_result.Reset(status="Scheduled" if type == "OnIdle" else "Accepted")


@contextlib.asynccontextmanager
async def station201(hub, station_id: str, *, boot: bool = True, subprotocols=("ocpp2.0.1",)):
    ws = await websockets.connect(f"{hub.url}/{station_id}", subprotocols=list(subprotocols),
                                  compression=None)
    cp = Charger201(station_id, ws, response_timeout=5)
    task = asyncio.create_task(cp.start())
    try:
        if boot:
            result = await cp.call(call.BootNotification(
                charging_station={"model": "Model Y", "vendor_name": "Acme",
                                  "serial_number": "SN-201", "firmware_version": "2.0"},
                reason="PowerUp"))
            assert result.status == "Accepted"
        yield cp
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        await ws.close()


def energy(wh: float, context: str) -> list[dict]:
    return [{"timestamp": now(), "sampled_value": [
        {"value": wh, "context": context, "measurand": "Energy.Active.Import.Register",
         "unit_of_measure": {"unit": "Wh"}}]}]


async def test_boot_status_heartbeat_and_authorize_of_a_201_station():
    async with running_hub(tags={"CARD-1": "Accepted", "CARD-X": "Blocked"}) as hub:
        booted = []
        hub.events.subscribe("station.booted", lambda e: booted.append(e.message))
        async with station201(hub, "CS-201") as cp:
            assert hub.connections["CS-201"].version == "ocpp2.0.1"
            beat = await cp.call(call.Heartbeat())
            assert beat.current_time.endswith("Z")
            await cp.call(call.StatusNotification(timestamp=now(), connector_status="Occupied",
                                                  evse_id=1, connector_id=1))
            ok = await cp.call(call.Authorize(id_token={"id_token": "CARD-1", "type": "ISO14443"}))
            assert ok.id_token_info["status"] == "Accepted"
            blocked = await cp.call(call.Authorize(id_token={"id_token": "CARD-X",
                                                             "type": "ISO14443"}))
            assert blocked.id_token_info["status"] == "Blocked"
            unknown = await cp.call(call.Authorize(id_token={"id_token": "NOBODY",
                                                             "type": "ISO14443"}))
            assert unknown.id_token_info["status"] == "Unknown"   # 2.0.1's word, not Invalid
            detail = hub.manager.station_detail("CS-201")
            assert detail["protocol"] == "ocpp2.0.1"
            assert detail["vendor"] == "Acme" and detail["serial"] == "SN-201"
            assert detail["connectors"][0]["status"] == "Occupied"
        assert booted[0].reason == "PowerUp" and booted[0].model == "Model Y"


async def test_group_id_token_is_the_parent_tag():
    async with running_hub(tags={"FLEET": "Accepted",
                                 "CARD-2": {"status": "Accepted", "parentIdTag": "FLEET"}}) as hub:
        async with station201(hub, "CS-G") as cp:
            ok = await cp.call(call.Authorize(id_token={"id_token": "CARD-2", "type": "ISO14443"}))
            assert ok.id_token_info["group_id_token"] == {"id_token": "FLEET", "type": "Central"}


async def test_a_full_transaction_is_stored_with_its_201_id_events_and_meter_values():
    async with running_hub(tags={"CARD-1": "Accepted"}) as hub:
        seen = {"started": [], "updated": [], "stopped": []}
        for kind in seen:
            hub.events.subscribe(f"transaction.{kind}", lambda e, k=kind: seen[k].append(e.message))
        async with station201(hub, "CS-TX") as cp:
            token = {"id_token": "CARD-1", "type": "ISO14443"}
            started = await cp.call(call.TransactionEvent(
                event_type="Started", timestamp=now(), trigger_reason="Authorized", seq_no=0,
                transaction_info={"transaction_id": "tx-abc", "charging_state": "EVConnected"},
                evse={"id": 1, "connector_id": 1}, id_token=token,
                meter_value=energy(1000, "Transaction.Begin")))
            assert started.id_token_info["status"] == "Accepted"
            await cp.call(call.TransactionEvent(
                event_type="Updated", timestamp=now(), trigger_reason="MeterValuePeriodic",
                seq_no=1, transaction_info={"transaction_id": "tx-abc", "charging_state": "Charging"},
                meter_value=energy(4500, "Sample.Periodic")))
            await cp.call(call.TransactionEvent(
                event_type="Ended", timestamp=now(), trigger_reason="EVCommunicationLost",
                seq_no=2, transaction_info={"transaction_id": "tx-abc",
                                            "stopped_reason": "EVDisconnected"},
                meter_value=energy(7000, "Transaction.End")))
        (row,) = hub.manager.list_transactions("CS-TX")
        assert (row["meter_start"], row["meter_stop"], row["stop_reason"]) == (1000, 7000,
                                                                              "EVDisconnected")
        assert row["id_tag"] == "CARD-1" and row["connector_id"] == 1 and row["flags"] is None
        events = hub.store.v201.events("CS-TX", "tx-abc")
        assert [(e["event_type"], e["seq_no"], e["trigger_reason"]) for e in events] == [
            ("Started", 0, "Authorized"), ("Updated", 1, "MeterValuePeriodic"),
            ("Ended", 2, "EVCommunicationLost")]
        assert all(e["transaction_id"] == row["id"] and e["flags"] is None for e in events)
        assert hub.store.v201.remote_id(row["id"]) == ("CS-TX", "tx-abc")
        assert row["remote_id"] == "tx-abc"   # also in GET /transactions and station detail
        values = [v["value"] for v in hub.store.meter_values(transaction_id=row["id"])]
        assert values == [1000, 4500, 7000]
        assert seen["started"][0].transaction_id == row["id"]
        assert seen["updated"][0].remote_id == "tx-abc" and seen["updated"][0].seq_no == 1
        assert seen["stopped"][0].energy_wh == 6000


async def test_a_token_presented_after_the_start_is_recorded_and_answered():
    async with running_hub(tags={"LATE": "Accepted"}) as hub:
        async with station201(hub, "CS-EV") as cp:
            started = await cp.call(call.TransactionEvent(
                event_type="Started", timestamp=now(), trigger_reason="CablePluggedIn", seq_no=0,
                transaction_info={"transaction_id": "t1"}, evse={"id": 2}))
            assert started.id_token_info is None   # no token in the request, none in the answer
            later = await cp.call(call.TransactionEvent(
                event_type="Updated", timestamp=now(), trigger_reason="Authorized", seq_no=1,
                transaction_info={"transaction_id": "t1"},
                id_token={"id_token": "LATE", "type": "ISO14443"}))
            assert later.id_token_info["status"] == "Accepted"
        (row,) = hub.manager.list_transactions("CS-EV")
        assert (row["id_tag"], row["id_tag_status"], row["connector_id"]) == ("LATE", "Accepted", 2)


async def test_commands_through_the_api_are_answered_by_the_library_charger():
    async with running_hub() as hub, Api(hub) as api:
        async with station201(hub, "CS-CMD") as cp:
            status, body = await api.post("/stations/CS-CMD/commands/RequestStartTransaction", {
                "idToken": {"idToken": "CARD-9", "type": "Central"}, "remoteStartId": 7,
                "evseId": 1})
            assert status == 200 and body["response"]["status"] == "Accepted"
            assert cp.received[-1][1]["remote_start_id"] == 7

            status, body = await api.post("/stations/CS-CMD/commands/GetVariables", {
                "getVariableData": [
                    {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
                    {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "Nope"}}]})
            assert status == 200
            results = body["response"]["getVariableResult"]
            assert [r["attributeStatus"] for r in results] == ["Accepted", "UnknownVariable"]
            assert results[0]["attributeValue"] == "300"
            (kept,) = hub.store.v201.variables("CS-CMD")   # the hub learns the device model
            assert (kept["component"], kept["variable"], kept["value"]) == (
                "OCPPCommCtrlr", "HeartbeatInterval", "300")

            status, body = await api.post("/stations/CS-CMD/commands/SetVariables", {
                "setVariableData": [{"component": {"name": "OCPPCommCtrlr"},
                                     "variable": {"name": "HeartbeatInterval"},
                                     "attributeValue": "60"}]})
            assert status == 200
            assert body["response"]["setVariableResult"][0]["attributeStatus"] == "Accepted"
            assert cp.variables[("OCPPCommCtrlr", "HeartbeatInterval")] == "60"

            status, body = await api.post("/stations/CS-CMD/commands/Reset", {"type": "OnIdle"})
            assert status == 200 and body["response"] == {"status": "Scheduled"}
            assert cp.received[-1] == ("Reset", {"type": "OnIdle"})

            # a request breaking the 2.0.1 schema is not sent: 400 with the spec's code
            status, body = await api.post("/stations/CS-CMD/commands/Reset", {"type": "Hard"})
            assert status == 400 and body["code"] == "PropertyConstraintViolation"
            # a 1.6 request is not a 2.0.1 action
            status, body = await api.post("/stations/CS-CMD/commands/RemoteStartTransaction",
                                          {"idTag": "X"})
            assert status == 400 and "not an ocpp2.0.1 action" in body["message"]


async def test_abstract_commands_go_out_in_201_words():
    from hub_under_test import commands as c
    async with running_hub() as hub:
        async with station201(hub, "CS-ABS") as cp:
            result = await hub.execute("CS-ABS", c.Reset(c.ResetKind.HARD))
            assert result.status is c.CommandStatus.ACCEPTED
            assert cp.received[-1] == ("Reset", {"type": "Immediate"})
            report = await hub.execute("CS-ABS", c.GetVariables(
                [c.VariableRef("OCPPCommCtrlr", "HeartbeatInterval")]))
            assert report.results[0].status == "Accepted" and report.results[0].value == "300"
            # a running 2.0.1 transaction is stopped by its station-made id
            await cp.call(call.TransactionEvent(
                event_type="Started", timestamp=now(), trigger_reason="RemoteStart", seq_no=0,
                transaction_info={"transaction_id": "R-1"}, evse={"id": 1}))
            (row,) = hub.manager.list_transactions("CS-ABS", active=True)
            await hub.execute("CS-ABS", c.RemoteStop(row["id"]))
            assert cp.received[-1] == ("RequestStopTransaction", {"transaction_id": "R-1"})


async def test_a_mixed_fleet_of_16_and_201_stations_on_one_hub():
    async with running_hub(tags={"CARD-1": "Accepted", "CARD-2": "Accepted"}) as hub, \
            Api(hub) as api:
        async with charger(hub, "OLD-16") as cp16, station201(hub, "NEW-201") as cp201:
            start16 = await cp16.call(call16.StartTransaction(connector_id=1, id_tag="CARD-1",
                                                              meter_start=0, timestamp=now()))
            await cp201.call(call.TransactionEvent(
                event_type="Started", timestamp=now(), trigger_reason="Authorized", seq_no=0,
                transaction_info={"transaction_id": "mix-1"}, evse={"id": 1},
                id_token={"id_token": "CARD-2", "type": "ISO14443"}))
            status, stations = await api.get("/stations")
            assert status == 200
            assert {s["id"]: s["protocol"] for s in stations} == {"OLD-16": "ocpp1.6",
                                                                  "NEW-201": "ocpp2.0.1"}
            # each gets its own protocol's command through the same API
            status, body = await api.post("/stations/OLD-16/commands/Reset", {"type": "Soft"})
            assert status == 200 and body["response"]["status"] == "Accepted"
            status, body = await api.post("/stations/NEW-201/commands/Reset", {"type": "Immediate"})
            assert status == 200 and body["response"]["status"] == "Accepted"
            await cp16.call(call16.StopTransaction(transaction_id=start16.transaction_id,
                                                   meter_stop=500, timestamp=now()))
            await cp201.call(call.TransactionEvent(
                event_type="Ended", timestamp=now(), trigger_reason="StopAuthorized", seq_no=1,
                transaction_info={"transaction_id": "mix-1", "stopped_reason": "Local"},
                meter_value=energy(800, "Transaction.End")))
        rows = {r["station_id"]: r for r in hub.manager.list_transactions()}
        assert rows["OLD-16"]["meter_stop"] == 500 and rows["NEW-201"]["meter_stop"] == 800
        assert hub.store.v201.remote_id(rows["NEW-201"]["id"]) == ("NEW-201", "mix-1")
        assert hub.store.v201.remote_id(rows["OLD-16"]["id"]) is None
        assert (rows["OLD-16"]["remote_id"], rows["NEW-201"]["remote_id"]) == (None, "mix-1")


async def test_a_station_offering_both_gets_its_preferred_version():
    async with running_hub() as hub:
        async with station201(hub, "BOTH", subprotocols=("ocpp2.0.1", "ocpp1.6")):
            await wait_for(lambda: "BOTH" in hub.connections)
            assert hub.connections["BOTH"].version == "ocpp2.0.1"


async def test_the_hubs_features_drive_a_201_station_in_201_words():
    async with running_hub(tags={"CARD-1": "Accepted", "CARD-2": "Blocked"}) as hub, \
            Api(hub) as api:
        async with station201(hub, "CS-F") as cp:
            status, body = await api.post("/stations/CS-F/reservations", {
                "connectorId": 1, "idTag": "CARD-1", "expiryDate": "2030-01-01T00:00:00Z"})
            assert status == 200 and body["reservation"]["status"] == "Accepted"
            rid = body["reservation"]["id"]
            name, sent = cp.received[-1]
            assert name == "ReserveNow" and sent["id"] == rid and sent["evse_id"] == 1
            assert sent["id_token"] == {"id_token": "CARD-1", "type": "Central"}
            # the station gives the reservation up: the hub's row says so
            await cp.call(call.ReservationStatusUpdate(reservation_id=rid,
                                                       reservation_update_status="Removed"))
            status, rows = await api.get("/stations/CS-F/reservations")
            assert rows[0]["status"] == "Removed"

            status, body = await api.post("/stations/CS-F/local-list", {"updateType": "Full"})
            assert status == 200 and body["response"] == {"status": "Accepted"}
            name, sent = cp.received[-1]
            assert name == "SendLocalList" and sent["update_type"] == "Full"
            entries = {e["id_token"]["id_token"]: e["id_token_info"]["status"]
                       for e in sent["local_authorization_list"]}
            assert entries == {"CARD-1": "Accepted", "CARD-2": "Blocked"}


def csr_for(common_name: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, common_name)])).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode()


async def test_sign_certificate_is_answered_and_the_chain_delivered_in_201():
    async with running_hub(auto_ca=True) as hub:
        async with station201(hub, "CS-PKI") as cp:
            wrong = await cp.call(call.SignCertificate(csr=csr_for("SOMEONE-ELSE")))
            assert wrong.status == "Rejected"
            ok = await cp.call(call.SignCertificate(csr=csr_for("CS-PKI"),
                                                    certificate_type="ChargingStationCertificate"))
            assert ok.status == "Accepted"
            await wait_for(lambda: any(n == "CertificateSigned" for n, _ in cp.received), 5)
            (_, sent), = [r for r in cp.received if r[0] == "CertificateSigned"]
            assert sent["certificate_chain"].count("BEGIN CERTIFICATE") == 2   # leaf and CA
            await wait_for(lambda: hub.pki.issued("CS-PKI")[0]["status"] == "Accepted", 5)
