"""The abstract hub protocol (one source of truth → JSON Schema), the event bus, the store."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime, timezone

import fastjsonschema
import orjson
import pytest

from hub_under_test import messages as m
from hub_under_test.events import InProcessBus, topic_matches
from hub_under_test.store import Store

T = datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=timezone.utc)

EXAMPLES = [
    m.StationBoot("CS-1", "Acme", "X", serial_number="SN"),
    m.BootResult(m.RegistrationStatus.ACCEPTED, T, 300),
    m.StatusChange("CS-1", 1, m.ConnectorStatus.CHARGING, timestamp=T),
    m.IdTokenInfo(m.AuthorizationStatus.ACCEPTED, T, "PARENT"),
    m.TransactionStarted("CS-1", 7, 1, "TAG", 100, T, m.IdTokenInfo(m.AuthorizationStatus.BLOCKED)),
    m.TransactionStop("CS-1", 7, 900, T, "Local", "TAG",
                      [m.MeterSample(T, "900", 900.0, context="Transaction.End")]),
    m.MeterReading("CS-1", 1, 7, [m.MeterSample(T, "sig", None, format="SignedData")]),
    m.DataTransfer("CS-1", "vendor", None, {"any": ["json"]}),
    m.TransactionStopped("CS-1", 7, True, 800, "Local", None),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda x: type(x).__name__)
def test_messages_match_their_exported_schema_and_round_trip(message):
    data = m.to_dict(message)
    fastjsonschema.compile(m.json_schema(type(message)))(data)
    assert m.from_dict(type(message), json.loads(json.dumps(data))) == message


def test_schema_rejects_what_the_dataclass_would_not_hold():
    check = fastjsonschema.compile(m.json_schema(m.StatusChange))
    good = m.to_dict(EXAMPLES[2])
    for bad in ({**good, "status": "Dancing"}, {**good, "connector_id": "1"},
                {k: v for k, v in good.items() if k != "station_id"}, {**good, "colour": "red"}):
        with pytest.raises(fastjsonschema.JsonSchemaValueException):
            check(bad)


def test_schema_is_versioned_and_printed_by_the_module():
    out = subprocess.run([sys.executable, "-m", "hub_under_test.messages"], capture_output=True,
                         text=True, check=True).stdout
    schema = json.loads(out)
    assert schema["version"] == m.PROTOCOL_VERSION and schema["$id"].endswith("v1")
    assert set(schema["definitions"]) == set(m.MESSAGES)
    boot = schema["definitions"]["StationBoot"]
    assert boot["required"] == ["station_id", "vendor", "model"]
    assert boot["x-topic"] == "station.booted"
    assert schema["definitions"]["IdTokenInfo"]["properties"]["status"]["enum"] == [
        s.value for s in m.AuthorizationStatus]


def test_time_format_is_utc_with_z():
    assert m.format_time(datetime(2024, 1, 1, 12, tzinfo=timezone.utc)) == "2024-01-01T12:00:00.000Z"
    assert m.parse_time("2024-01-01T14:00:00+02:00") == datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
    assert m.parse_time("2024-01-01T12:00:00").tzinfo is not None


# -- events -------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, topic, hit", [
    ("#", "station.booted", True), ("station.*", "station.booted", True),
    ("station.*", "station.booted.late", False), ("station.#", "station", True),
    ("*.started", "transaction.started", True), ("#.started", "started", True),
    ("a.#.z", "a.b.c.z", True), ("a.#.z", "a.z", True), ("a.b", "a.c", False),
])
def test_topic_matching_follows_amqp_rules(pattern, topic, hit):
    assert topic_matches(pattern, topic) is hit


async def test_bus_delivers_by_topic_and_isolates_failing_subscribers():
    bus = InProcessBus(queue_size=2)
    got, async_got = [], []

    def broken(event):
        raise RuntimeError("subscriber bug")

    async def slow(event):
        await asyncio.sleep(0)
        async_got.append(event.topic)

    bus.subscribe("#", broken)
    bus.subscribe("transaction.*", lambda e: got.append(e.topic))
    bus.subscribe("transaction.started", slow)
    queue = bus.subscribe("status.changed")
    msg = m.StatusChange("CS", 1, m.ConnectorStatus.AVAILABLE)
    bus.publish("transaction.started", EXAMPLES[4], "CS-1")
    bus.publish("meter.values", EXAMPLES[6], "CS-1")
    for _ in range(3):
        bus.publish("status.changed", msg, "CS")
    await asyncio.sleep(0.01)
    assert got == ["transaction.started"] and async_got == ["transaction.started"]
    assert queue.queue.qsize() == 2 and queue.dropped == 1  # bounded: oldest dropped
    event = await queue.get(1)
    envelope = orjson.loads(event.to_json())
    assert envelope["topic"] == "status.changed" and envelope["type"] == "StatusChange"
    assert envelope["version"] == m.PROTOCOL_VERSION and envelope["data"]["status"] == "Available"
    queue.close()
    bus.publish("status.changed", msg, "CS")
    assert queue.queue.qsize() == 1
    await bus.close()


# -- store ----------------------------------------------------------------------------------

def test_store_tables_and_tag_methods(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"stations", "connectors", "id_tags", "transactions", "meter_values"} <= tables
    store.put_tag("A", "Accepted", T, "P")
    store.put_tag("A", "Blocked")
    assert store.get_tag("A") == {"id_tag": "A", "status": "Blocked", "expiry_date": None,
                                  "parent_id_tag": None}
    with pytest.raises(ValueError):
        store.put_tag("B", "accepted")
    tx = store.start_transaction("CS", 1, "A", "Accepted", 10, T)
    assert store.open_transactions()[0]["id"] == tx
    assert store.stop_transaction(tx, 20, T, "Local", None)
    assert not store.stop_transaction(tx, 30, T, "Local", None)  # already stopped
    assert store.get_transaction(tx)["meter_stop"] == 20
    with pytest.raises(ValueError):
        store.update_station("CS", vendor="evil")
    store.close()
