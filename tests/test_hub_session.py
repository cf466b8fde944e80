"""A full 1.6 charging session against the hub, with the `ocpp` library's ChargePoint as peer."""
from __future__ import annotations

import sqlite3

from ocpp.v16 import call

from hub_helpers import charger, exchange, now, raw_station, running_hub, wait_for


async def test_full_charging_session_is_stored(tmp_path):
    db = tmp_path / "hub.db"
    async with running_hub(db_path=str(db), tags={"CARD-1": "Accepted"}, heartbeat_interval=120) as hub:
        events = hub.events.subscribe("#")
        async with charger(hub, "CS-1", boot=False) as cp:
            boot = await cp.call(call.BootNotification(
                charge_point_model="Model X", charge_point_vendor="Acme",
                charge_point_serial_number="SN-42", firmware_version="1.2.3"))
            assert boot.status == "Accepted" and boot.interval == 120
            assert boot.current_time.endswith("Z")

            hb = await cp.call(call.Heartbeat())
            assert hb.current_time.endswith("Z")

            await cp.call(call.StatusNotification(connector_id=1, error_code="NoError",
                                                   status="Preparing", timestamp=now()))
            auth = await cp.call(call.Authorize(id_tag="CARD-1"))
            assert auth.id_tag_info["status"] == "Accepted"

            start = await cp.call(call.StartTransaction(connector_id=1, id_tag="CARD-1",
                                                        meter_start=1000, timestamp=now()))
            assert start.id_tag_info["status"] == "Accepted"
            tx_id = start.transaction_id
            assert isinstance(tx_id, int)
            await cp.call(call.StatusNotification(connector_id=1, error_code="NoError",
                                                   status="Charging"))

            await cp.call(call.MeterValues(connector_id=1, transaction_id=tx_id, meter_value=[{
                "timestamp": now(),
                "sampledValue": [
                    {"value": "2500", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                    {"value": "7200.5", "measurand": "Power.Active.Import", "unit": "W",
                     "phase": "L1"},
                ]}]))
            stop = await cp.call(call.StopTransaction(
                meter_stop=4000, timestamp=now(), transaction_id=tx_id, reason="EVDisconnected",
                id_tag="CARD-1",
                transaction_data=[{"timestamp": now(), "sampledValue": [
                    {"value": "4000", "context": "Transaction.End"}]}]))
            assert stop.id_tag_info["status"] == "Accepted"
            await cp.call(call.StatusNotification(connector_id=1, error_code="NoError",
                                                   status="Available"))

            # While connected: the live views
            assert hub.manager.stations["CS-1"].connectors[1].status == "Available"
            assert not hub.manager.active

        await wait_for(lambda: "CS-1" not in hub.connections)
        topics = []
        while not events.queue.empty():
            topics.append(events.queue.get_nowait().topic)
        for topic in ("station.connected", "station.booted", "status.changed", "token.authorized",
                      "transaction.started", "meter.values", "transaction.stopped",
                      "station.disconnected"):
            assert topic in topics

    # After the hub has stopped, everything is in the SQLite file.
    db_conn = sqlite3.connect(db)
    db_conn.row_factory = sqlite3.Row
    station = db_conn.execute("SELECT * FROM stations WHERE id='CS-1'").fetchone()
    assert (station["vendor"], station["model"], station["serial"], station["firmware"],
            station["status"]) == ("Acme", "Model X", "SN-42", "1.2.3", "Accepted")
    assert station["last_boot"] and station["last_seen"]
    conn = db_conn.execute("SELECT * FROM connectors WHERE station_id='CS-1'").fetchone()
    assert (conn["connector_id"], conn["status"], conn["error_code"]) == (1, "Available", "NoError")
    tx = db_conn.execute("SELECT * FROM transactions WHERE id=?", (tx_id,)).fetchone()
    assert (tx["station_id"], tx["connector_id"], tx["id_tag"], tx["meter_start"],
            tx["meter_stop"], tx["stop_reason"]) == ("CS-1", 1, "CARD-1", 1000, 4000, "EVDisconnected")
    assert tx["start_time"].endswith("Z") and tx["stop_time"].endswith("Z")
    values = [tuple(r) for r in db_conn.execute(
        "SELECT transaction_id, connector_id, measurand, phase, unit, context, value "
        "FROM meter_values ORDER BY id")]
    assert values == [
        (tx_id, 1, "Energy.Active.Import.Register", None, "Wh", None, 2500.0),
        (tx_id, 1, "Power.Active.Import", "L1", "W", None, 7200.5),
        (tx_id, 1, "Energy.Active.Import.Register", None, "Wh", "Transaction.End", 4000.0),
    ]


async def test_transaction_ids_are_assigned_by_the_hub_and_survive_a_restart(tmp_path):
    db = str(tmp_path / "hub.db")
    async with running_hub(db_path=db, tags={"A": "Accepted"}) as hub:
        async with charger(hub, "CS-1") as cp:
            first = await cp.call(call.StartTransaction(connector_id=1, id_tag="A",
                                                        meter_start=0, timestamp=now()))
    async with running_hub(db_path=db) as hub:
        # the running transaction and the tag were loaded from the store
        assert first.transaction_id in hub.manager.active
        # reconnecting without a boot (a BootNotification would end it as stale)
        async with charger(hub, "CS-1", boot=False) as cp:
            again = await cp.call(call.StartTransaction(connector_id=2, id_tag="A",
                                                        meter_start=0, timestamp=now()))
            assert again.transaction_id > first.transaction_id
            assert again.id_tag_info["status"] == "ConcurrentTx"
            stop = await cp.call(call.StopTransaction(meter_stop=10, timestamp=now(),
                                                      transaction_id=first.transaction_id))
            assert stop.id_tag_info is None
        row = hub.store.get_transaction(first.transaction_id)
        assert row["meter_stop"] == 10 and row["stop_reason"] == "Local"


async def test_heartbeats_do_not_write_the_store_until_flushed():
    async with running_hub(flush_interval=0) as hub:
        async with charger(hub, "CS-HB") as cp:
            writes = []
            hub.store.db.set_trace_callback(writes.append)
            for _ in range(20):
                await cp.call(call.Heartbeat())
            await cp.call(call.StatusNotification(connector_id=1, error_code="NoError",
                                                  status="Available"))
            assert writes == []  # answered from the cache
            hub.store.db.set_trace_callback(None)
            seen = hub.manager.stations["CS-HB"].last_seen
            hub.manager.flush()
            assert hub.store.get_station("CS-HB")["last_seen"].startswith(seen.strftime("%Y-%m-%dT%H:%M"))
            assert hub.store.get_connectors("CS-HB")[0]["status"] == "Available"


async def test_periodic_flush_and_flush_on_disconnect():
    async with running_hub(flush_interval=0.05) as hub:
        async with charger(hub, "CS-F") as cp:
            await cp.call(call.StatusNotification(connector_id=2, error_code="NoError",
                                                  status="Unavailable"))
            await wait_for(lambda: hub.store.get_connectors("CS-F"))
            assert hub.store.get_connectors("CS-F")[0]["status"] == "Unavailable"
    async with running_hub(flush_interval=0) as hub:
        async with charger(hub, "CS-G") as cp:
            await cp.call(call.StatusNotification(connector_id=1, error_code="NoError",
                                                  status="Faulted"))
            assert hub.store.get_connectors("CS-G") == []
        await wait_for(lambda: hub.store.get_connectors("CS-G"))
        assert hub.store.get_connectors("CS-G")[0]["status"] == "Faulted"


async def test_other_core_and_security_messages():
    async with running_hub() as hub:
        statuses = hub.events.subscribe("*.status")
        async with charger(hub, "CS-2") as cp:
            dt = await cp.call(call.DataTransfer(vendor_id="com.example", message_id="x", data="1"))
            assert dt.status == "UnknownVendorId"
            await cp.call(call.FirmwareStatusNotification(status="Downloading"))
            await cp.call(call.DiagnosticsStatusNotification(status="Uploaded"))
            await cp.call(call.SecurityEventNotification(type="TamperDetectionActivated", tech_info="lid",
                                                         timestamp=now()))
            assert (await statuses.get(1)).topic == "firmware.status"
            assert (await statuses.get(1)).topic == "diagnostics.status"
            row = hub.store.get_station("CS-2")
            assert (row["firmware_status"], row["diagnostics_status"]) == ("Downloading", "Uploaded")
            # A CALLERROR from the hub is delivered to the library as an exception.
            try:
                await cp.call(call.SignCertificate(csr="x" * 10), suppress=False)
            except Exception as e:
                assert type(e).__name__ == "NotSupportedError"
            else:
                raise AssertionError("SignCertificate should be refused")


async def test_data_transfer_vendor_handler():
    from hub_under_test.messages import DataTransferResult, DataTransferStatus

    async with running_hub() as hub:
        async def echo(msg):
            return DataTransferResult(DataTransferStatus.ACCEPTED, f"echo:{msg.data}")
        hub.manager.data_transfer_handlers["com.example"] = echo
        async with charger(hub, "CS-3") as cp:
            dt = await cp.call(call.DataTransfer(vendor_id="com.example", data="hi"))
            assert (dt.status, dt.data) == ("Accepted", "echo:hi")


async def test_boot_policies():
    async with running_hub(unknown_stations="pending", heartbeat_interval=60,
                           known_stations=("KNOWN",)) as hub:
        async with charger(hub, "NEW", boot=False) as cp:
            r = await cp.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
            assert r.status == "Pending"
        async with charger(hub, "KNOWN", boot=False) as cp:
            r = await cp.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
            assert r.status == "Accepted" and r.interval == 60
        hub.manager.set_registration("NEW", "Accepted")
        async with charger(hub, "NEW") as cp:  # asserts Accepted
            pass
        assert hub.store.get_station("NEW")["status"] == "Accepted"
    async with running_hub(unknown_stations="reject") as hub:
        async with charger(hub, "NOPE", boot=False) as cp:
            r = await cp.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
            assert r.status == "Rejected"
        assert hub.store.get_station("NOPE")["status"] == "Rejected"
    async with running_hub(unknown_stations="accept") as hub:
        hub.manager.set_registration("BAD", "Rejected")
        async with charger(hub, "BAD", boot=False) as cp:
            r = await cp.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
            assert r.status == "Rejected"


async def test_lenient_mode_repairs_field_quirks():
    async with running_hub(mode="lenient") as hub:
        async with raw_station(hub, "Q-1") as ws:
            reply = await exchange(ws, [2, "1", "HeartBeat", {}])
            assert reply[0] == 3 and "currentTime" in reply[2]
            reply = await exchange(ws, [2, "2", "MeterValues", {"connectorId": 1, "meterValue": [
                {"timestamp": "2024-05-01T10:00:00", "sampledValue": [{"value": 604.2}]}]}])
            assert reply == [3, "2", {}]
        rows = hub.store.meter_values(station_id="Q-1")
        assert rows[0]["value"] == 604.2 and rows[0]["timestamp"].startswith("2024-05-01T10:00:00")
