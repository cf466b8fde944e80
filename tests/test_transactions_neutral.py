"""The station's neutral transactions and id tokens, and the 1.6 dialect's mapping of them
onto the CSMS's integer transaction ids (against the `ocpp` library's CSMS)."""
from __future__ import annotations

import asyncio

import pytest
from ocpp.v16 import call

from ocpp_lib_csms import csms, running  # noqa: F401  (fixture)
from simulator.dialects.ocpp16.transaction_ids import TransactionIds
from simulator.station.auth import ACCEPTED, AuthCache, AuthorizationInfo
from simulator.station.id_token import CENTRAL, IdToken
from simulator.station.offline_queue import OfflineQueue, TransactionRefs


def test_id_tokens_are_value_and_type():
    assert IdToken.of("CARD") == IdToken("CARD", "ISO14443")
    assert IdToken("CARD", CENTRAL) != IdToken("CARD")
    with pytest.raises(ValueError, match="non-empty"):
        IdToken("")
    with pytest.raises(TypeError, match="IdToken or a text"):
        IdToken.of(42)
    cache = AuthCache()
    cache.store(IdToken("CARD", CENTRAL), AuthorizationInfo(ACCEPTED))
    assert cache.lookup("CARD") is None                      # another type: another token
    assert cache.lookup(IdToken("CARD", CENTRAL)).accepted


def test_the_1_6_ids_live_in_the_journal_across_a_restart(tmp_path):
    path = tmp_path / "CP.offline.jsonl"
    q = OfflineQueue(path)
    ids = TransactionIds(lambda: TransactionRefs(q))
    assert ids.name("a") is None                             # the start is on its way
    assert (ids.provisional("a"), ids.provisional("b"), ids.provisional("a")) == (-1, -2, -1)
    assert ids.held("a") and ids.csms_id("a") is None
    assert ids.confirmed("a", 4711) == -1                    # replaces provisional -1
    q.close()
    q = OfflineQueue(path)                                   # a process restart
    ids = TransactionIds(lambda: TransactionRefs(q))
    assert (ids.name("a"), ids.name("b"), ids.station_tx(4711)) == (4711, -2, "a")
    assert ids.provisional("c") == -3                        # never reuses a provisional id
    ids.ended("a")
    assert ids.station_tx(4711) is None and ids.name("a") == 4711   # still shown
    assert "a" not in q.refs


async def test_transactions_have_station_ids_and_neutral_triggers(csms):
    async with running(csms) as st:
        started = st.expect("tx_started", 1)
        assert await st.present_tag(1, "TAG1") == "Authorized"
        await st.plug_in(1)
        event = await asyncio.wait_for(started, 5)
        tx = st.connectors[1].transaction
        assert isinstance(tx.id, str) and tx.id != str(tx.transaction_id)
        assert event.data["transaction"] == tx.id and event.data["transaction_id"] == 100
        assert event.data["trigger"] == "cable_plugged_in"
        assert tx.id_token == IdToken("TAG1") and st.transaction(tx.id) is tx
        assert st.view.connector(1).transaction_id == "100"   # as the CSMS knows it
        stopped = st.expect("tx_stopped", 1)
        peer = csms.peers["CP1"]
        reply = await peer.call(call.RemoteStopTransaction(transaction_id=100))
        assert reply.status == "Accepted"
        event = await asyncio.wait_for(stopped, 5)
        assert event.data["trigger"] == "remote_stop" and event.data["transaction"] == tx.id
        [stop] = csms.calls("StopTransaction")
        assert stop["transactionId"] == 100 and stop["reason"] == "Remote"
        assert tx.transaction_id == 100                       # an ended one keeps its name
        reply = await peer.call(call.RemoteStopTransaction(transaction_id=100))
        assert reply.status == "Rejected"                     # no longer running


async def test_evses_own_connectors_and_1_6_names_each_by_its_evse(csms):
    async with running(csms, connectors=2) as st:
        assert [e.id for e in st.evses] == [0, 1, 2]
        assert st.evse(2).connector(1) is st.connectors[2] and st.connectors[2].evse_id == 2
        assert st.view.evses == ((0, (0,)), (1, (1,)), (2, (2,)))
        with pytest.raises(ValueError, match="no connector 2"):
            st.evse(1).connector(2)
        await st.plug_in(2)
        assert await st.present_tag(2, "E2") == "Started"
        tx = st.evse(2).transaction
        assert tx is st.connectors[2].transaction and tx.evse_id == 2
        [start] = csms.calls("StartTransaction")
        assert start["connectorId"] == 2
        peer = csms.peers["CP1"]
        assert (await peer.call(call.UnlockConnector(connector_id=2))).status == "Unlocked"
        [stop] = csms.calls("StopTransaction")
        assert stop["reason"] == "UnlockCommand" and st.evse(2).transaction is None
