"""Reservations (OCPP 1.6 §5.13 ReserveNow, §5.3 CancelReservation), modelled on the OCA 1.6
reservation test cases: every ReserveNow answer, the Reserved status, who may use a reserved
connector, expiry, cancellation, connector 0 — against the `ocpp` library's ChargePoint as the
CSMS, and through our hub's reservation API."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import aiohttp
from ocpp.v16 import call

from ocpp_lib_csms import csms, running  # noqa: F401  (fixture)
from simulator.station import Station, StationOptions
from simulator.dialects import make_station
from tests.hub_helpers import running_hub


def later(seconds: float = 3600) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


async def reserve(peer, connector: int, tag: str, rid: int = 1, expiry: str | None = None,
                  parent: str | None = None) -> str:
    return (await peer.call(call.ReserveNow(connector_id=connector, expiry_date=expiry or later(),
                                            id_tag=tag, reservation_id=rid,
                                            parent_id_tag=parent))).status


async def cancel(peer, rid: int) -> str:
    return (await peer.call(call.CancelReservation(reservation_id=rid))).status


def statuses(csms, connector: int) -> list[str]:
    return [s["status"] for s in csms.calls("StatusNotification",
                                            where=lambda p: p["connectorId"] == connector)]


async def test_accepted_reservation_starts_only_for_its_tag(csms):
    async with running(csms) as st:
        peer = csms.peers["CP1"]
        assert await reserve(peer, 1, "OWNER", rid=7) == "Accepted"
        await csms.wait_for("StatusNotification", where=lambda p: p["status"] == "Reserved")
        assert st.connectors[1].status == "reserved"
        await st.plug_in(1)
        assert st.connectors[1].status == "reserved"   # whose EV it is, the cable cannot tell
        assert await st.present_tag(1, "STRANGER") == "Reserved"
        assert csms.calls("StartTransaction") == []
        started = st.expect("tx_started", 1)
        assert await st.present_tag(1, "OWNER") == "Started"
        await asyncio.wait_for(started, 5)
        [start] = csms.calls("StartTransaction")
        assert start["idTag"] == "OWNER" and start["reservationId"] == 7
        assert st.reservations.get(7) is None          # used up
        assert statuses(csms, 1)[-2:] == ["Preparing", "Charging"]
        assert await cancel(peer, 7) == "Rejected"     # nothing left to cancel


async def test_parent_id_tag_may_use_the_reservation(csms):
    csms.tags["CHILD"] = {"status": "Accepted", "parentIdTag": "FLEET"}
    csms.tags["OTHER"] = {"status": "Accepted", "parentIdTag": "ELSEWHERE"}
    async with running(csms) as st:
        peer = csms.peers["CP1"]
        assert await reserve(peer, 1, "DRIVER", rid=3, parent="FLEET") == "Accepted"
        await st.plug_in(1)
        assert await st.present_tag(1, "OTHER") == "Reserved"
        assert await st.present_tag(1, "CHILD") == "Started"
        [start] = csms.calls("StartTransaction")
        assert start["idTag"] == "CHILD" and start["reservationId"] == 3


async def test_faulted_occupied_unavailable_rejected(csms):
    async with running(csms, connectors=3) as st:
        peer = csms.peers["CP1"]
        await st.fault(1, "GroundFailure")
        assert await reserve(peer, 1, "T", rid=1) == "Faulted"
        await st.plug_in(2)                                      # Preparing: in use
        assert await reserve(peer, 2, "T", rid=2) == "Occupied"
        assert await st.present_tag(2, "T") == "Started"         # Charging
        assert await reserve(peer, 2, "T", rid=2) == "Occupied"
        assert (await peer.call(call.ChangeAvailability(connector_id=3, type="Inoperative"))
                ).status == "Accepted"
        assert await reserve(peer, 3, "T", rid=3) == "Unavailable"
        assert await reserve(peer, 9, "T", rid=4) == "Rejected"   # no such connector
        assert await reserve(peer, 1, "T", rid=5, expiry="2001-01-01T00:00:00Z") == "Rejected"
        assert len(st.reservations) == 0
        # a connector reserved for one reservation is Occupied for another
        await st.clear_fault(1)
        assert await reserve(peer, 1, "A", rid=10) == "Accepted"
        assert await reserve(peer, 1, "B", rid=11) == "Occupied"


async def test_expiry_returns_the_connector_to_available(csms):
    async with running(csms) as st:
        peer = csms.peers["CP1"]
        expired = st.expect("reservation_expired", 1)
        assert await reserve(peer, 1, "LATE", rid=4, expiry=later(0.3)) == "Accepted"
        await asyncio.wait_for(expired, 5)
        await csms.wait_for("StatusNotification", count=1,
                            where=lambda p: p["connectorId"] == 1 and p["status"] == "Available"
                            and "Reserved" in statuses(csms, 1))
        assert statuses(csms, 1)[-2:] == ["Reserved", "Available"]
        await st.plug_in(1)
        assert await st.present_tag(1, "SOMEONE") == "Started"   # free for anyone again
        assert "reservationId" not in csms.calls("StartTransaction")[0]


async def test_cancel_reservation(csms):
    async with running(csms) as st:
        peer = csms.peers["CP1"]
        assert await reserve(peer, 1, "T", rid=21) == "Accepted"
        assert await cancel(peer, 22) == "Rejected"              # unknown id
        assert st.connectors[1].status == "reserved"
        assert await cancel(peer, 21) == "Accepted"
        await csms.wait_for("StatusNotification", where=lambda p: p["connectorId"] == 1
                            and p["status"] == "Available" and "Reserved" in statuses(csms, 1))
        assert st.connectors[1].status == "available" and len(st.reservations) == 0


async def test_same_reservation_id_replaces(csms):
    async with running(csms, connectors=2) as st:
        peer = csms.peers["CP1"]
        assert await reserve(peer, 1, "FIRST", rid=5) == "Accepted"
        assert await reserve(peer, 2, "SECOND", rid=5) == "Accepted"   # moves it
        await csms.wait_for("StatusNotification", where=lambda p: p["connectorId"] == 1
                            and p["status"] == "Available" and "Reserved" in statuses(csms, 1))
        assert st.connectors[1].reservation is None
        assert st.connectors[2].reservation.id_tag == "SECOND" and len(st.reservations) == 1


async def test_connector_zero_keeps_one_connector_free(csms):
    async with running(csms, connectors=2) as st:
        peer = csms.peers["CP1"]
        assert await reserve(peer, 0, "OWNER", rid=30) == "Accepted"
        assert [c.status for c in st.connectors] == ["available"] * 3
        await st.plug_in(1)
        assert await st.present_tag(1, "FIRST") == "Started"     # one connector stays free
        await st.plug_in(2)
        assert await st.present_tag(2, "SECOND") == "Reserved"   # ... this one, for OWNER
        assert await st.present_tag(2, "OWNER") == "Started"
        owner = csms.calls("StartTransaction", where=lambda p: p["idTag"] == "OWNER")
        assert owner[0]["reservationId"] == 30 and owner[0]["connectorId"] == 2
        first = csms.calls("StartTransaction", where=lambda p: p["idTag"] == "FIRST")
        assert "reservationId" not in first[0]
        # with every connector busy, connector 0 cannot be reserved
        assert await reserve(peer, 0, "OWNER", rid=31) == "Occupied"


async def test_connector_zero_unsupported_is_rejected(csms):
    async with running(csms, config={"ReserveConnectorZeroSupported": "false"}) as st:
        assert await reserve(csms.peers["CP1"], 0, "T") == "Rejected"
        assert len(st.reservations) == 0


async def test_remote_start_honours_the_reservation(csms):
    async with running(csms) as st:
        peer = csms.peers["CP1"]
        assert await reserve(peer, 1, "OWNER", rid=40) == "Accepted"
        await st.plug_in(1)
        refused = await peer.call(call.RemoteStartTransaction(id_tag="OTHER", connector_id=1))
        assert refused.status == "Rejected"
        started = st.expect("tx_started", 1)
        ok = await peer.call(call.RemoteStartTransaction(id_tag="OWNER", connector_id=1))
        assert ok.status == "Accepted"
        await asyncio.wait_for(started, 5)
        assert csms.calls("StartTransaction")[0]["reservationId"] == 40


# -- our station against our hub's reservation API -----------------------------------------
async def test_hub_reservation_is_stored_linked_and_cancelled():
    async with running_hub(tags={"R-OWNER": "Accepted"}) as hub:
        events = hub.events.subscribe("reservation.*")
        st = make_station("RS-1", hub.url, StationOptions(interval_scale=0.05, connectors=2))
        await st.start()
        try:
            async with aiohttp.ClientSession(hub.api_url) as http:
                async def post(body):
                    async with http.post("/stations/RS-1/reservations", json=body) as r:
                        return r.status, await r.json()
                status, out = await post({"connectorId": 1, "idTag": "R-OWNER",
                                          "expiryDate": later()})
                assert status == 200 and out["response"] == {"status": "Accepted"}
                rid = out["reservation"]["id"]
                assert out["reservation"]["status"] == "Accepted"
                assert st.connectors[1].reservation.reservation_id == rid
                made = await events.get(5)
                assert made.topic == "reservation.made" and made.message.reservation_id == rid
                # the station's refusal is recorded too
                await st.fault(2, "GroundFailure")
                status, out = await post({"connectorId": 2, "idTag": "R-OWNER",
                                          "expiryDate": later()})
                assert status == 200 and out["reservation"]["status"] == "Faulted"
                # used: the transaction carries the reservationId and is linked
                started = st.expect("tx_started", 1)
                await st.plug_in(1)
                assert await st.present_tag(1, "R-OWNER") == "Started"
                tx_id = (await asyncio.wait_for(started, 5)).data["transaction_id"]
                async with http.get("/stations/RS-1/reservations") as r:
                    rows = {row["id"]: row for row in await r.json()}
                assert rows[rid]["transaction_id"] == tx_id
                assert hub.store.get_transaction(tx_id)["reservation_id"] == rid
                # cancel: a second reservation, then DELETE
                await st.clear_fault(2)
                status, out = await post({"connectorId": 2, "idTag": "X", "expiryDate": later()})
                rid2 = out["reservation"]["id"]
                async with http.delete(f"/stations/RS-1/reservations/{rid2}") as r:
                    out = await r.json()
                assert out["response"] == {"status": "Accepted"}
                assert out["reservation"]["cancelled"] is not None
                assert st.connectors[2].reservation is None
                # the station no longer knows the used one: Rejected, not recorded as cancelled
                async with http.delete(f"/stations/RS-1/reservations/{rid}") as r:
                    out = await r.json()
                assert out["response"] == {"status": "Rejected"}
                assert out["reservation"]["cancelled"] is None
                # bad input
                for body in ({"connectorId": 1, "idTag": "X"},
                             {"connectorId": -1, "idTag": "X", "expiryDate": later()},
                             {"connectorId": 1, "idTag": "X", "expiryDate": "soon"},
                             {"connectorId": 1, "idTag": "X", "expiryDate": later(), "x": 1}):
                    status, out = await post(body)
                    assert status == 400 and out["status"] == "error", body
                async with http.delete("/stations/RS-1/reservations/9999") as r:
                    assert r.status == 404
        finally:
            await st.stop()


async def test_reservation_survives_an_inoperative_spell(csms):
    async with running(csms) as st:
        peer = csms.peers["CP1"]
        assert await reserve(peer, 1, "OWNER", rid=50) == "Accepted"
        for kind in ("Inoperative", "Operative"):
            reply = await peer.call(call.ChangeAvailability(connector_id=1, type=kind))
            assert reply.status == "Accepted"
        await csms.wait_for("StatusNotification", count=2,
                            where=lambda p: p["connectorId"] == 1 and p["status"] == "Reserved")
        # Unavailable -> Reserved is not legal in 1.6 §4.9: it passes through Available
        assert statuses(csms, 1)[-4:] == ["Reserved", "Unavailable", "Available", "Reserved"]
        await st.plug_in(1)
        assert await st.present_tag(1, "OTHER") == "Reserved"


async def test_reserve_now_sent_through_the_command_api_is_recorded_by_the_hub():
    from hub_under_test.reservations import get_reservation
    from tests.hub_helpers import running_hub
    from simulator.station import Station

    async with running_hub() as hub:
        st = make_station("CP-RCMD", hub.url, interval_scale=0.05)
        await st.start()
        seen = []
        hub.events.subscribe("reservation.*", lambda *a: seen.append(a))
        try:
            reply = await hub.send("CP-RCMD", "ReserveNow", {
                "connectorId": 1, "expiryDate": "2099-01-01T00:00:00Z", "idTag": "CMD-TAG",
                "reservationId": 4711})
            assert reply == {"status": "Accepted"}
            row = get_reservation(hub.store, 4711)
            assert (row["station_id"], row["id_tag"], row["status"]) == ("CP-RCMD", "CMD-TAG", "Accepted")
            assert row["cancelled"] is None
            assert await hub.send("CP-RCMD", "CancelReservation", {"reservationId": 4711}) == {
                "status": "Accepted"}
            assert get_reservation(hub.store, 4711)["cancelled"] is not None
        finally:
            await st.stop()
        assert len(seen) == 2
