"""Local Authorization List Management (OCPP 1.6 §5.10, §5.15) and the authorization
decision (LocalPreAuthorize, LocalAuthorizeOffline, AllowOfflineTxForUnknownId), modelled on
the OCA 1.6 test cases: the `ocpp` library's ChargePoint as the CSMS, and our hub."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import aiohttp
from ocpp.v16 import call

from ocpp_lib_csms import csms, running  # noqa: F401  (fixture)
from simulator.station import Station, StationOptions
from simulator.station.auth import AuthCache, Authorizer, AuthorizationInfo
from simulator.dialects.ocpp16 import config_keys
from simulator.station.settings import Settings
from simulator.station.config import ConfigStore
from simulator.station.local_list import LocalAuthList, ListEntry
from simulator.dialects import make_station
from tests.hub_helpers import running_hub

ENABLED = {"LocalAuthListEnabled": "true"}


def entry(tag: str, status: str | None = "Accepted", **info) -> dict:
    return {"idTag": tag, **({"idTagInfo": {"status": status, **info}} if status else {})}


async def send(peer, version: int, update: str, entries: list[dict] | None = None) -> str:
    req = call.SendLocalList(list_version=version, update_type=update,
                             local_authorization_list=entries)
    return (await peer.call(req)).status


async def version(peer) -> int:
    return (await peer.call(call.GetLocalListVersion())).list_version


# -- SendLocalList / GetLocalListVersion against the ocpp library's CSMS -------------------
async def test_default_station_has_the_list_enabled(csms):
    async with running(csms) as st:                   # no template, no config
        peer = csms.peers["CP1"]
        assert st.config["LocalAuthListEnabled"] is True
        assert await send(peer, 1, "Full", [entry("A")]) == "Accepted"
        assert await version(peer) == 1 and len(st.local_list) == 1


async def test_disabled_list_is_not_supported_and_reads_minus_one(csms):
    async with running(csms, config={"LocalAuthListEnabled": "false"}) as st:
        peer = csms.peers["CP1"]
        assert await version(peer) == -1
        assert await send(peer, 1, "Full", [entry("A")]) == "NotSupported"
        assert len(st.local_list) == 0


async def test_full_then_differential_update(csms):
    async with running(csms, config=ENABLED) as st:
        peer = csms.peers["CP1"]
        assert await version(peer) == 0                       # empty
        assert await send(peer, 3, "Full", [entry("A"), entry("B", "Blocked")]) == "Accepted"
        assert await version(peer) == 3
        assert set(st.local_list.entries()) == {"A", "B"}
        # Differential: add C, change B, delete A (no idTagInfo)
        assert await send(peer, 4, "Differential",
                          [entry("C"), entry("B", "Accepted"), entry("A", None)]) == "Accepted"
        assert await version(peer) == 4
        assert {t: i.status for t, i in st.local_list.entries().items()} == {
            "B": "Accepted", "C": "Accepted"}
        # A Full list replaces everything
        assert await send(peer, 5, "Full", [entry("D")]) == "Accepted"
        assert set(st.local_list.entries()) == {"D"}
        # An empty Full list empties it: version 0 means empty
        assert await send(peer, 6, "Full", []) == "Accepted"
        assert await version(peer) == 0 and len(st.local_list) == 0


async def test_differential_not_newer_is_version_mismatch(csms):
    async with running(csms, config=ENABLED) as st:
        peer = csms.peers["CP1"]
        assert await send(peer, 5, "Full", [entry("A")]) == "Accepted"
        for old in (5, 4):
            assert await send(peer, old, "Differential", [entry("B")]) == "VersionMismatch"
        assert set(st.local_list.entries()) == {"A"} and await version(peer) == 5


async def test_over_max_length_fails_and_leaves_the_list(csms):
    config = {**ENABLED, "SendLocalListMaxLength": "2", "LocalAuthListMaxLength": "3"}
    async with running(csms, config=config) as st:
        peer = csms.peers["CP1"]
        # more entries in one message than SendLocalListMaxLength
        assert await send(peer, 1, "Full", [entry(t) for t in "ABC"]) == "Failed"
        assert await version(peer) == 0
        assert await send(peer, 1, "Full", [entry("A"), entry("B")]) == "Accepted"
        assert await send(peer, 2, "Differential", [entry("C")]) == "Accepted"
        # the list would outgrow LocalAuthListMaxLength
        assert await send(peer, 3, "Differential", [entry("D")]) == "Failed"
        assert set(st.local_list.entries()) == {"A", "B", "C"} and await version(peer) == 2
        # duplicates are bad input too
        assert await send(peer, 3, "Full", [entry("A"), entry("A")]) == "Failed"
        got = await peer.call(call.GetConfiguration(key=["LocalAuthListMaxLength",
                                                         "SendLocalListMaxLength"]))
        assert {k["key"]: (k["value"], k["readonly"]) for k in got.configuration_key} == {
            "LocalAuthListMaxLength": ("3", True), "SendLocalListMaxLength": ("2", True)}


async def test_supported_feature_profiles_name_both_profiles(csms):
    async with running(csms) as st:
        profiles = st.config["SupportedFeatureProfiles"]
        assert "LocalAuthListManagement" in profiles and "Reservation" in profiles


# -- the authorization decision ------------------------------------------------------------
async def test_local_pre_authorize_starts_without_authorize(csms):
    config = {**ENABLED, "LocalPreAuthorize": "true"}
    async with running(csms, config=config) as st:
        peer = csms.peers["CP1"]
        assert await send(peer, 1, "Full", [entry("LISTED"), entry("BLOCKED", "Blocked")]) \
            == "Accepted"
        await st.plug_in(1)
        started = st.expect("tx_started", 1)
        assert await st.present_tag(1, "LISTED") == "Started"
        await asyncio.wait_for(started, 5)
        assert csms.calls("Authorize") == []           # the list decided
        [start] = csms.calls("StartTransaction")
        assert start["idTag"] == "LISTED"
        # a tag the list does not accept is still asked of the CSMS (which accepts it here)
        assert await st.present_tag(1, "LISTED") == "Stopped"
        csms.tags["BLOCKED"] = {"status": "Blocked"}
        assert await st.present_tag(1, "BLOCKED") == "Rejected"
        assert [a["idTag"] for a in csms.calls("Authorize")] == ["BLOCKED"]


async def test_without_pre_authorize_the_csms_is_asked(csms):
    async with running(csms, config=ENABLED) as st:
        peer = csms.peers["CP1"]
        assert await send(peer, 1, "Full", [entry("LISTED")]) == "Accepted"
        await st.plug_in(1)
        assert await st.present_tag(1, "LISTED") == "Started"
        assert [a["idTag"] for a in csms.calls("Authorize")] == ["LISTED"]


async def test_offline_decision_for_listed_and_unknown_tags(csms):
    """Offline (the CSMS is gone): a tag the list accepts may start, a blocked / expired
    one and an unknown one may not — unless AllowOfflineTxForUnknownId."""
    async with running(csms, config=ENABLED) as st:
        past = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
        assert await send(csms.peers["CP1"], 1, "Full", [
            entry("VALID"), entry("BLOCKED", "Blocked"), entry("OLD", "Accepted", expiryDate=past),
        ]) == "Accepted"
        lost = st.expect("disconnected")
        await csms.peers["CP1"]._connection.close()
        await csms.close()
        await asyncio.wait_for(lost, 5)
        assert not st.online
        decide = st.authorizer.decide
        assert decide("VALID", online=False)[0].status == "Accepted"
        assert decide("BLOCKED", online=False)[0].status == "Blocked"
        assert decide("OLD", online=False)[0].status == "Expired"
        assert decide("STRANGER", online=False)[0].status == "Invalid"
        assert st.change_configuration("AllowOfflineTxForUnknownId", "true") == "Accepted"
        assert decide("STRANGER", online=False)[0].status == "Accepted"
        assert st.change_configuration("LocalAuthorizeOffline", "false") == "Accepted"
        assert decide("VALID", online=False)[0].status == "Invalid"
        await csms.start()   # the fixture closes it again


def authorizer(**config) -> Authorizer:
    store = ConfigStore(config_keys.specs(1, 0), {**ENABLED, **config})
    return Authorizer(Settings(store, config_keys.SETTING_KEYS), AuthCache(), LocalAuthList())


def test_local_list_takes_precedence_over_the_cache():
    a = authorizer(LocalPreAuthorize="true")
    a.cache.store("T", AuthorizationInfo("Accepted"))
    assert a.decide("T", online=True) == (AuthorizationInfo("Accepted"), "cache")
    status, _ = a.local_list.apply("Full", 1, [ListEntry("T", AuthorizationInfo("Blocked"))], 10, 10)
    assert status == "Accepted"
    assert a.decide("T", online=True) == (None, None)          # blocked locally: ask the CSMS
    assert a.decide("T", online=False)[0].status == "Blocked"  # offline: refused
    a.settings.set("local_list_enabled", False)                 # the list is ignored
    assert a.decide("T", online=False) == (AuthorizationInfo("Accepted"), "cache")
    a.settings.set("authorization_cache_enabled", False)
    assert a.decide("T", online=False)[0].status == "Invalid"


def test_full_update_without_idtaginfo_fails():
    lst = LocalAuthList()
    assert lst.apply("Full", 1, [ListEntry("X", None)], 10, 10)[0] == "Failed"
    assert lst.version == 0


# -- the hub builds the list from its tag store --------------------------------------------
async def test_hub_sends_local_list_from_its_tag_store():
    tags = {"H-A": "Accepted", "H-B": {"status": "Blocked", "parentIdTag": "GROUP"}}
    async with running_hub(tags=tags) as hub:
        st = make_station("LL-1", hub.url, StationOptions(interval_scale=0.05, config=ENABLED))
        await st.start()
        try:
            async with aiohttp.ClientSession(hub.api_url) as http:
                async def post(body):
                    async with http.post("/stations/LL-1/local-list", json=body) as r:
                        return r.status, await r.json()
                status, out = await post({"updateType": "Full"})
                assert status == 200 and out["response"] == {"status": "Accepted"}
                assert out["listVersion"] == 1 and out["entries"] == 2
                got = st.local_list.entries()
                assert got["H-B"] == AuthorizationInfo("Blocked", None, "GROUP")
                assert got["H-A"].status == "Accepted"
                # Differential: a changed tag and one the hub no longer knows (deleted)
                hub.put_tag("H-C", "Accepted")
                assert hub.manager.delete_tag("H-A")
                status, out = await post({"updateType": "Differential", "tags": ["H-C", "H-A"]})
                assert status == 200 and out["listVersion"] == 2
                assert set(st.local_list.entries()) == {"H-B", "H-C"}
                assert st.local_list.version == 2
                async with http.get("/stations/LL-1/local-list") as r:
                    state = await r.json()
                assert state["listVersion"] == 2 and state["tags"] == ["H-C", "H-A"]
                # bad input: a clear 400, nothing sent
                for body in ({"updateType": "Partial"}, {"updateType": "Differential"},
                             {"updateType": "Full", "tags": ["NOPE"]}, {"tags": "H-B"},
                             {"updateType": "Full", "extra": 1}):
                    status, out = await post(body)
                    assert status == 400 and out["status"] == "error", body
                assert st.local_list.version == 2
                # a station that refuses (list disabled): the hub's version stays
                st.change_configuration("LocalAuthListEnabled", "false")
                status, out = await post({"updateType": "Full"})
                assert out["response"] == {"status": "NotSupported"}
                async with http.get("/stations/LL-1/local-list") as r:
                    assert (await r.json())["listVersion"] == 2
                async with http.post("/stations/NOBODY/local-list", json={}) as r:
                    assert r.status == 404
        finally:
            await st.stop()


async def test_offline_start_with_listed_and_unknown_tags(csms):
    """OCA-style: the network goes down; a tag on the local list starts a transaction (its
    StartTransaction waits), an unknown tag is refused."""
    async with running(csms, config=ENABLED) as st:
        assert await send(csms.peers["CP1"], 1, "Full", [entry("VALID")]) == "Accepted"
        st.go_offline()
        await st.plug_in(1)
        assert await st.present_tag(1, "UNKNOWN") == "Rejected"
        assert await st.present_tag(1, "VALID") == "Started"
        assert st.connectors[1].transaction.id_tag == "VALID"
        assert csms.calls("Authorize") == [] and csms.calls("StartTransaction") == []
        st.come_online()
        [start] = await csms.wait_for("StartTransaction")
        assert start["idTag"] == "VALID"
