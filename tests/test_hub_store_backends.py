"""The same store tests on SQLite (a file) and PostgreSQL (`--db postgresql://…`).

PostgreSQL: CHARGESIM_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test), each test
in a schema of its own, dropped afterwards.  Skipped, saying why, when no server answers."""
from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime, timezone

import pytest

import hub_under_test.commands as c
from hub_under_test.store import Store
from tests.hub_helpers import exchange, raw_station, running_hub

PG_URL = os.environ.get("CHARGESIM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
T = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)
T1 = datetime(2030, 5, 1, 13, 0, tzinfo=timezone.utc)


def _pg_problem() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except Exception as e:
        return f"no PostgreSQL server answers at {PG_URL}: {e}".splitlines()[0]
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    if request.param == "sqlite":
        yield str(tmp_path / "store.db")
        return
    problem = _pg_problem()
    if problem:
        pytest.skip(problem)
    import psycopg
    schema = f"chargesim_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def store(target):
    s = Store(target)
    yield s
    s.close()


def test_tags(store):
    store.put_tag("A", "Accepted", T, "P")
    store.put_tag("A", "Blocked")
    assert store.get_tag("A") == {"id_tag": "A", "status": "Blocked", "expiry_date": None,
                                  "parent_id_tag": None}
    store.put_tag("B", "Accepted")
    assert [t["id_tag"] for t in store.list_tags()] == ["A", "B"]
    assert store.delete_tag("A") and not store.delete_tag("A")
    with pytest.raises(ValueError):
        store.put_tag("C", "accepted")


def test_stations_and_connectors(store):
    from hub_under_test.messages import StationBoot
    store.record_boot(StationBoot("CS", "Acme", "X", serial_number="S1"), "Accepted", T)
    store.set_operator_registration("CS", "Accepted")
    store.update_station("CS", firmware_status="Installed")
    store.touch_stations({"CS": T1, "CS2": T})
    row = store.get_station("CS")
    assert (row["vendor"], row["serial"], row["status"], row["registration"],
            row["firmware_status"], row["last_seen"]) == (
        "Acme", "S1", "Accepted", "Accepted", "Installed", "2030-05-01T13:00:00.000Z")
    assert [r["id"] for r in store.list_stations()] == ["CS", "CS2"]
    store.save_connectors([("CS", 1, "Available", "NoError", None, None, T),
                           ("CS", 2, "Charging", "NoError", None, None, T)])
    store.save_connectors([("CS", 1, "Faulted", "OtherError", "x", "E1", T1)])
    assert [(r["connector_id"], r["status"], r["vendor_error_code"])
            for r in store.get_connectors("CS")] == [(1, "Faulted", "E1"), (2, "Charging", None)]
    with pytest.raises(ValueError):
        store.update_station("CS", vendor="evil")


def test_transactions_stale_close_flags_and_station_stop(store):
    a = store.start_transaction("CS", 1, "A", "Accepted", 10, T)
    b = store.start_transaction("CS", 2, "B", "Accepted", 0, T, reservation_id=4,
                                flags="odd start")
    assert b == a + 1
    assert [r["id"] for r in store.open_transactions()] == [a, b]
    store.close_stale_transaction(a, 15, T1, "StaleReboot")
    row = store.get_transaction(a)
    assert (row["meter_stop"], row["stop_reason"], row["closed_by"]) == (15, "StaleReboot", "hub")
    # the station's own stop replaces the hub's guess, once
    assert store.stop_transaction(a, 20, T1, "PowerLoss", None, "meterStop odd")
    assert not store.stop_transaction(a, 30, T1, "Local", None)
    row = store.get_transaction(a)
    assert (row["meter_stop"], row["stop_reason"], row["closed_by"], row["flags"]) == (
        20, "PowerLoss", "station", "meterStop odd")
    assert store.stop_transaction(b, 5, T1, "Local", "B", "late")
    assert store.get_transaction(b)["flags"] == "odd start; late"
    assert [r["id"] for r in store.list_transactions("CS", active=False)] == [b, a]
    assert store.list_transactions(active=True) == []


async def test_meter_values_written_behind(target):
    store = Store(target, write_delay=60)
    rows = [(1, "CS", 1, T, "Voltage", "L1-N", "V", None, None, 230.5),
            (1, "CS", 1, T, "Energy.Active.Import.Register", None, "Wh", None, None, "signed:abc")]
    store.add_meter_values(rows)
    assert store.write_behind.queued == 2
    got = store.meter_values(transaction_id=1)     # a read writes the queue first
    assert [(r["measurand"], r["value"], r["raw"]) for r in got] == [
        ("Voltage", 230.5, None), ("Energy.Active.Import.Register", None, "signed:abc")]
    store.add_meter_values(rows[:1])
    store.close()                                  # and so does close
    store = Store(target)
    assert len(store.meter_values(station_id="CS")) == 3
    store.close()


def test_feature_repositories(store):
    rid = store.reservations.create("CS", 1, "A", None, "2030-05-01T13:00:00Z", "Sending", "now")
    store.reservations.set_status(rid, "Accepted")
    store.reservations.record(900, "CS", 2, "B", "P", "2030-05-01T13:00:00Z", "Occupied", "now")
    store.reservations.cancel("CS", rid, "later")
    assert [(r["id"], r["status"], r["cancelled"]) for r in store.reservations.list("CS")] == [
        (rid, "Accepted", "later"), (900, "Occupied", None)]
    store.local_lists.save("CS", 3, "Full", ["A", "B"], "now")
    store.local_lists.save("CS", 4, "Differential", ["C"], "now")
    assert store.local_lists.get("CS")["list_version"] == 4
    assert store.local_lists.get("CS")["tags"] == ["C"]
    schedule = c.ChargingSchedule("W", [c.SchedulePeriod(0, 4000.0)])
    tx = c.ChargingProfile(5, 0, "TxProfile", "Relative", schedule, transaction_id=77)
    default = c.ChargingProfile(6, 0, "TxDefaultProfile", "Relative", schedule)
    store.charging_profiles.save("CS", 1, tx, "SetChargingProfile", "now")
    store.charging_profiles.save("CS", 0, default, "SetChargingProfile", "now")
    assert [p["profile"] for p in store.charging_profiles.list("CS")] == [default, tx]
    assert store.charging_profiles.end_transaction("CS", 1, 77) == [5]
    assert store.charging_profiles.clear("CS") == [6]
    store.passwords.set("CS", b"salt", b"hash")
    store.passwords.set("CS", b"salt2", b"hash2")
    assert store.passwords.get("CS") == (b"salt2", b"hash2")
    store.security_events.add("CS", "FirmwareUpdated", "2030-05-01T13:00:00Z", None)
    assert [e["type"] for e in store.security_events.list("CS")] == ["FirmwareUpdated"]


async def test_a_hub_runs_a_charging_session_on_the_store(target):
    async with running_hub(db_path=target, tags={"A": "Accepted"}) as hub, \
            raw_station(hub, "CS-DB") as ws:
        await exchange(ws, [2, "b", "BootNotification", {"chargePointVendor": "Acme",
                                                          "chargePointModel": "X"}])
        start = await exchange(ws, [2, "1", "StartTransaction", {
            "connectorId": 1, "idTag": "A", "meterStart": 0, "timestamp": "2030-05-01T12:00:00Z"}])
        tx = start[2]["transactionId"]
        await exchange(ws, [2, "2", "MeterValues", {"connectorId": 1, "transactionId": tx,
                                                    "meterValue": [{"timestamp": "2030-05-01T12:30:00Z",
                                                                    "sampledValue": [{"value": "700"}]}]}])
        # a reboot closes it as stale; a new one starts
        await exchange(ws, [2, "b2", "BootNotification", {"chargePointVendor": "Acme",
                                                           "chargePointModel": "X"}])
        again = await exchange(ws, [2, "3", "StartTransaction", {
            "connectorId": 1, "idTag": "A", "meterStart": 700, "timestamp": "2030-05-01T13:00:00Z"}])
        assert again[2]["idTagInfo"]["status"] == "Accepted"
        await asyncio.sleep(0)
        row = hub.store.get_transaction(tx)
        assert (row["stop_reason"], row["meter_stop"]) == ("StaleReboot", 700)
        assert [r["value"] for r in hub.store.meter_values(transaction_id=tx)] == [700.0]


def test_an_unreachable_postgresql_store_says_where_without_the_password():
    pytest.importorskip("psycopg")
    with pytest.raises(ConnectionError, match=r"cannot open the PostgreSQL store "
                                              r"postgresql://127\.0\.0\.1:1/test") as info:
        Store("postgresql://someone:secret@127.0.0.1:1/test")
    assert "secret" not in str(info.value)
