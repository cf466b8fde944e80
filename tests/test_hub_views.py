"""Feature views stay true to what happened since: TxProfiles end with their transaction, an
expired reservation is no longer shown Accepted, a list sent through the command API shows."""
from __future__ import annotations

from datetime import timedelta

from ocpp.v16 import call

import hub_under_test.commands as c
from hub_under_test.messages import format_time, utcnow
from tests.hub_helpers import Api, charger, now, running_hub
from tests.test_hub_commands import FeatureCharger

RAW_TX_PROFILE = {"chargingProfileId": 11, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
                  "chargingProfileKind": "Relative",
                  "chargingSchedule": {"chargingRateUnit": "A",
                                       "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]}}


async def test_tx_profiles_end_with_their_transaction():
    async with running_hub(tags={"A": "Accepted"}) as hub, Api(hub) as api, \
            charger(hub, "CS-TXP", cls=FeatureCharger) as cp:
        start = await cp.call(call.StartTransaction(connector_id=1, id_tag="A", meter_start=0,
                                                    timestamp=now()))
        tx = start.transaction_id
        await api.post("/stations/CS-TXP/commands/SetChargingProfile", {
            "connectorId": 1, "csChargingProfiles": {**RAW_TX_PROFILE, "transactionId": tx}})
        # a remote start's TxProfile for the next transaction on connector 2 (no id yet)
        await api.post("/stations/CS-TXP/commands/RemoteStartTransaction", {
            "idTag": "A", "connectorId": 2,
            "chargingProfile": {**RAW_TX_PROFILE, "chargingProfileId": 12}})
        await api.post("/stations/CS-TXP/commands/SetChargingProfile", {
            "connectorId": 0, "csChargingProfiles": {**RAW_TX_PROFILE, "chargingProfileId": 13,
                                                     "chargingProfilePurpose": "TxDefaultProfile"}})
        _, listed = await api.get("/stations/CS-TXP/charging-profiles")
        assert sorted(p["chargingProfile"]["chargingProfileId"] for p in listed) == [11, 12, 13]

        await cp.call(call.StopTransaction(meter_stop=10, timestamp=now(), transaction_id=tx))
        _, listed = await api.get("/stations/CS-TXP/charging-profiles")
        assert sorted(p["chargingProfile"]["chargingProfileId"] for p in listed) == [12, 13]

        second = await cp.call(call.StartTransaction(connector_id=2, id_tag="A", meter_start=0,
                                                     timestamp=now()))
        assert [p["profile"].profile_id for p in hub.manager.profiles.list("CS-TXP")] == [13, 12]
        # the station reboots: its transaction is closed as stale, and its TxProfile goes too
        await cp.call(call.BootNotification(charge_point_model="X", charge_point_vendor="Acme"))
        assert second.transaction_id not in hub.manager.active
        assert [p["profile"].profile_id for p in hub.manager.profiles.list("CS-TXP")] == [13]


async def test_an_expired_reservation_is_shown_expired():
    async with running_hub() as hub, Api(hub) as api, \
            charger(hub, "CS-EXP", cls=FeatureCharger):
        past = format_time(utcnow() - timedelta(minutes=1))
        future = format_time(utcnow() + timedelta(hours=1))
        for rid, expiry in ((1, past), (2, future)):
            status, _ = await api.post("/stations/CS-EXP/commands/ReserveNow", {
                "connectorId": 1, "idTag": "A", "expiryDate": expiry, "reservationId": rid})
            assert status == 200
        _, rows = await api.get("/stations/CS-EXP/reservations")
        assert [(r["id"], r["status"], r["answer"]) for r in rows] == [
            (1, "Expired", "Accepted"), (2, "Accepted", "Accepted")]
        assert hub.manager.reservations.get(1)["status"] == "Expired"


async def test_a_full_list_sent_through_the_command_api_shows_in_the_view():
    async with running_hub(tags={"A": "Accepted"}) as hub, Api(hub) as api, \
            charger(hub, "CS-LL", cls=FeatureCharger):
        _, state = await api.get("/stations/CS-LL/local-list")
        assert state["listVersion"] == 0
        status, out = await api.post("/stations/CS-LL/commands/SendLocalList", {
            "listVersion": 3, "updateType": "Full", "localAuthorizationList": [
                {"idTag": "A", "idTagInfo": {"status": "Accepted"}}, {"idTag": "Q"}]})
        assert out["response"] == {"status": "Accepted"}
        _, state = await api.get("/stations/CS-LL/local-list")
        assert (state["listVersion"], state["updateType"], state["tags"]) == (3, "Full", ["A", "Q"])
        # the next list built by the hub follows the station's version
        result, version, _ = await hub.manager.local_lists.send_local_list("CS-LL", "Full")
        assert (result.status, version) == (c.CommandStatus.ACCEPTED, 4)
