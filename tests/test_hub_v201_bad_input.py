"""Bad and unusual 2.0.1 input at the hub, frame by frame: a seqNo gap, an unknown transaction
id, a 1.6 message on a 2.0.1 connection, schema violations, a station not yet accepted, and
the reports a 2.0.1 station sends (stored and published)."""
from __future__ import annotations

import pytest

from tests.hub_helpers import exchange, now, raw_station, running_hub

V201 = ("ocpp2.0.1",)


def boot(uid="b"):
    return [2, uid, "BootNotification", {
        "chargingStation": {"vendorName": "Acme", "model": "Y"}, "reason": "PowerUp"}]


def tx_event(uid, kind, seq, tx="T-1", evse=1, wh=None, **extra):
    payload = {"eventType": kind, "timestamp": now(), "triggerReason": "MeterValuePeriodic",
               "seqNo": seq, "transactionInfo": {"transactionId": tx}, **extra}
    if evse is not None:
        payload["evse"] = {"id": evse}
    if wh is not None:
        payload["meterValue"] = [{"timestamp": now(), "sampledValue": [{"value": wh}]}]
    return [2, uid, "TransactionEvent", payload]


async def booted(hub, station_id):
    ctx = raw_station(hub, station_id, subprotocols=V201)
    ws = await ctx.__aenter__()
    assert (await exchange(ws, boot()))[2]["status"] == "Accepted"
    return ctx, ws


async def test_a_seq_no_gap_is_accepted_flagged_and_published():
    async with running_hub() as hub:
        updates = []
        hub.events.subscribe("transaction.updated", lambda e: updates.append(e.message))
        ctx, ws = await booted(hub, "GAP")
        try:
            assert (await exchange(ws, tx_event("1", "Started", 0, wh=100)))[0] == 3
            reply = await exchange(ws, tx_event("2", "Updated", 3, wh=200))
            assert reply == [3, "2", {}]   # accepted: the spec wants no error for a gap
            assert (await exchange(ws, tx_event("3", "Updated", 3, wh=250)))[0] == 3
        finally:
            await ctx.__aexit__(None, None, None)
        events = hub.store.v201.events("GAP", "T-1")
        assert [e["flags"] for e in events] == [
            None, "seqNo gap: 1..2 missing before 3",
            "seqNo 3 repeated or out of order (last was 3)"]
        (row,) = hub.manager.list_transactions("GAP")
        assert "seqNo gap: 1..2 missing before 3" in row["flags"]
        # the repeated seqNo 3 (a retry) is recorded as an event, its readings not again
        assert [v["value"] for v in hub.store.meter_values(transaction_id=row["id"])] == [100, 200]
        assert updates[0].flags == ["seqNo gap: 1..2 missing before 3"]


async def test_an_unknown_transaction_id_is_answered_stored_and_flagged():
    async with running_hub() as hub:
        ctx, ws = await booted(hub, "UNK")
        try:
            # Updated for a transaction the hub never saw start: answered, recorded from it
            assert await exchange(ws, tx_event("1", "Updated", 5, tx="GHOST", evse=2,
                                               wh=900)) == [3, "1", {}]
            assert await exchange(ws, tx_event("2", "Ended", 6, tx="GHOST", evse=None,
                                               wh=1000)) == [3, "2", {}]
            # Ended for one it never saw at all, without an EVSE: answered, events kept
            assert await exchange(ws, tx_event("3", "Ended", 1, tx="NOWHERE",
                                               evse=None)) == [3, "3", {}]
        finally:
            await ctx.__aexit__(None, None, None)
        (row,) = hub.manager.list_transactions("UNK")
        assert row["flags"] == "Updated for unknown transaction GHOST: recorded from this event"
        # from the first reading the hub saw to the last
        assert (row["connector_id"], row["meter_start"], row["meter_stop"]) == (2, 900, 1000)
        (lost,) = hub.store.v201.events("UNK", "NOWHERE")
        assert lost["transaction_id"] is None and "without evse" in lost["flags"]


async def test_16_messages_on_a_201_connection_get_the_spec_errors():
    async with running_hub() as hub:
        ctx, ws = await booted(hub, "MIX")
        try:
            reply = await exchange(ws, [2, "1", "StartTransaction", {
                "connectorId": 1, "idTag": "A", "meterStart": 0, "timestamp": now()}])
            assert reply[:3] == [4, "1", "NotImplemented"]
            # a 1.6-shaped StatusNotification breaks the 2.0.1 schema
            reply = await exchange(ws, [2, "2", "StatusNotification", {
                "connectorId": 1, "errorCode": "NoError", "status": "Available"}])
            assert reply[0] == 4 and reply[2] in ("OccurrenceConstraintViolation",
                                                  "FormatViolation")
            assert "StatusNotification request" in reply[3]
        finally:
            await ctx.__aexit__(None, None, None)


@pytest.mark.parametrize("change, code", [
    ({"eventType": "Begin"}, "PropertyConstraintViolation"),
    ({"seqNo": "one"}, "TypeConstraintViolation"),
    ({"colour": "red"}, "FormatViolation"),            # 2.0.1 spelling, not FormationViolation
    ({"transactionInfo": {}}, "OccurrenceConstraintViolation"),
])
async def test_schema_violations_are_answered_with_the_spec_code(change, code):
    async with running_hub() as hub:
        ctx, ws = await booted(hub, "SCHEMA")
        try:
            frame = tx_event("1", "Started", 0)
            frame[3].update(change)
            reply = await exchange(ws, frame)
            assert reply[:3] == [4, "1", code]
        finally:
            await ctx.__aexit__(None, None, None)
        assert hub.manager.list_transactions("SCHEMA") == []


async def test_started_without_evse_and_a_falling_register_are_refused_in_strict_mode():
    async with running_hub() as hub:
        ctx, ws = await booted(hub, "STRICT")
        try:
            reply = await exchange(ws, tx_event("1", "Started", 0, evse=None))
            assert reply[:3] == [4, "1", "OccurrenceConstraintViolation"]
            assert "without evse" in reply[3]
            assert (await exchange(ws, tx_event("2", "Started", 0, wh=5000)))[0] == 3
            reply = await exchange(ws, tx_event("3", "Updated", 1, wh=10))
            assert reply[:3] == [4, "3", "PropertyConstraintViolation"]
            assert "energy register went down" in reply[3]
        finally:
            await ctx.__aexit__(None, None, None)


@pytest.mark.parametrize("policy, status", [("pending", "Pending"), ("reject", "Rejected")])
async def test_a_station_not_accepted_may_only_boot(policy, status):
    async with running_hub(unknown_stations=policy) as hub:
        async with raw_station(hub, "NEWBIE", subprotocols=V201) as ws:
            reply = await exchange(ws, boot())
            assert reply[2]["status"] == status and reply[2]["interval"] > 0
            reply = await exchange(ws, [2, "h", "Heartbeat", {}])
            assert reply[:3] == [4, "h", "SecurityError"]
            assert status in reply[3]


async def test_reports_are_stored_and_published():
    async with running_hub() as hub:
        reports = []
        hub.events.subscribe("station.report", lambda e: reports.append(e.message))
        ctx, ws = await booted(hub, "REP")
        try:
            assert (await exchange(ws, [2, "1", "NotifyReport", {
                "requestId": 42, "generatedAt": now(), "seqNo": 0, "tbc": True,
                "reportData": [{"component": {"name": "EVSE", "evse": {"id": 1}},
                                "variable": {"name": "Power"},
                                "variableAttribute": [
                                    {"type": "Actual", "value": "0", "mutability": "ReadOnly"},
                                    {"type": "MaxSet", "value": "22000"}]}]}]))[0] == 3
            assert (await exchange(ws, [2, "2", "NotifyEvent", {
                "generatedAt": now(), "seqNo": 0, "eventData": [{
                    "eventId": 1, "timestamp": now(), "trigger": "Delta", "actualValue": "7400",
                    "eventNotificationType": "HardWiredNotification",
                    "component": {"name": "EVSE", "evse": {"id": 1}},
                    "variable": {"name": "Power"}}]}]))[0] == 3
            await exchange(ws, [2, "3", "SecurityEventNotification", {
                "type": "TamperDetectionActivated", "timestamp": now()}])
            await exchange(ws, [2, "4", "FirmwareStatusNotification", {
                "status": "Downloading", "requestId": 9}])
            reply = await exchange(ws, [2, "5", "DataTransfer", {"vendorId": "com.nobody",
                                                                 "data": {"a": 1}}])
            assert reply[2]["status"] == "UnknownVendorId"
            assert (await exchange(ws, [2, "6", "NotifyChargingLimit", {
                "chargingLimit": {"chargingLimitSource": "EMS"}, "evseId": 1}])) == [3, "6", {}]
        finally:
            await ctx.__aexit__(None, None, None)
        power = {v["attribute_type"]: v for v in hub.store.v201.variables("REP", "EVSE")}
        assert power["Actual"]["value"] == "7400"          # the event updated the reported value
        assert power["Actual"]["mutability"] == "ReadOnly"  # ...and kept what the report said
        assert power["MaxSet"]["value"] == "22000" and power["MaxSet"]["evse_id"] == 1
        assert [(r.action, r.request_id, r.tbc) for r in reports] == [
            ("NotifyReport", 42, True), ("NotifyEvent", None, False),
            ("NotifyChargingLimit", None, False)]
        (limit,) = hub.store.v201.notices("REP", "NotifyChargingLimit")
        assert limit["payload"]["chargingLimit"]["chargingLimitSource"] == "EMS"
        assert hub.store.security_events.list("REP")[0]["type"] == "TamperDetectionActivated"
        detail = hub.manager.station_detail("REP")
        assert (detail["firmware_status"], detail["firmware_request_id"]) == ("Downloading", 9)


async def test_the_offline_flag_and_trigger_reason_are_kept():
    async with running_hub() as hub:
        ctx, ws = await booted(hub, "OFF")
        try:
            await exchange(ws, tx_event("1", "Started", 0, offline=True))
            await exchange(ws, tx_event("2", "Ended", 1, offline=True,
                                        transactionInfo={"transactionId": "T-1",
                                                         "stoppedReason": "PowerLoss"}))
        finally:
            await ctx.__aexit__(None, None, None)
        events = hub.store.v201.events("OFF")
        assert [(e["offline"], e["trigger_reason"]) for e in events] == [
            (1, "MeterValuePeriodic"), (1, "MeterValuePeriodic")]
        (row,) = hub.manager.list_transactions("OFF")
        assert row["stop_reason"] == "PowerLoss" and row["stop_time"] is not None


async def test_a_201_message_on_a_16_connection_is_not_implemented():
    async with running_hub() as hub:
        async with raw_station(hub, "OLD") as ws:   # ocpp1.6
            reply = await exchange(ws, tx_event("1", "Started", 0))
            assert reply[:3] == [4, "1", "NotImplemented"]
            assert "TransactionEvent" in reply[3]


async def test_lenient_mode_repairs_201_quirks_and_flags_what_it_cannot_refuse():
    async with running_hub(mode="lenient") as hub:
        ctx, ws = await booted(hub, "LAX")
        try:
            frame = tx_event("1", "Started", "0", evse=None, wh=" 10")   # strings for numbers
            reply = await exchange(ws, frame)
            assert reply == [3, "1", {}]
        finally:
            await ctx.__aexit__(None, None, None)
        (row,) = hub.manager.list_transactions("LAX")
        assert "Started without evse" in row["flags"]
        assert row["meter_start"] == 10
        (event,) = hub.store.v201.events("LAX")
        assert event["seq_no"] == 0


async def test_authorize_publishes_the_token_with_its_201_type():
    async with running_hub(tags={"K": "Accepted"}) as hub:
        seen = []
        hub.events.subscribe("token.authorized", lambda e: seen.append(e.message))
        ctx, ws = await booted(hub, "AUTH")
        try:
            reply = await exchange(ws, [2, "1", "Authorize", {
                "idToken": {"idToken": "K", "type": "KeyCode"}}])
            assert reply[2] == {"idTokenInfo": {"status": "Accepted"}}
            reply = await exchange(ws, [2, "2", "Authorize", {
                "idToken": {"idToken": "", "type": "NoAuthorization"}}])
            assert reply[2] == {"idTokenInfo": {"status": "Accepted"}}
        finally:
            await ctx.__aexit__(None, None, None)
        assert [(m.id_token, m.token_type) for m in seen] == [("K", "KeyCode")]
