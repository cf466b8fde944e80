"""Every CALLERROR the hub sends or receives is logged with station, action, code and why;
frames lenient mode repaired are marked in the frame view."""
from __future__ import annotations

import asyncio
import logging

import orjson
import pytest

from hub_helpers import Api, exchange, now, raw_station, running_hub
from hub_under_test.logs import JsonFormatter

BOOT = {"chargePointVendor": "Acme", "chargePointModel": "X"}


def callerror_records(caplog) -> list[dict]:
    return [r.ocpp for r in caplog.records if getattr(r, "ocpp", None)
            and r.ocpp["event"] == "callerror"]


@pytest.mark.parametrize("frame, action, code", [
    ([2, "u1", "Heartbeat", {"surplus": 1}], "Heartbeat", "FormationViolation"),
    ([2, "u2", "NoSuchAction", {}], "NoSuchAction", "NotImplemented"),
    ([2, "u3", "StatusNotification", {"connectorId": 1, "errorCode": "NoError"}],
     "StatusNotification", "OccurenceConstraintViolation"),
])
async def test_callerror_sent_is_logged(caplog, frame, action, code):
    caplog.set_level(logging.WARNING, logger="hub_under_test.callerrors")
    async with running_hub() as hub:
        async with raw_station(hub, "CS-E") as ws:
            await exchange(ws, [2, "b", "BootNotification", BOOT])
            reply = await exchange(ws, frame)
            assert reply[0] == 4 and reply[2] == code
        [record] = callerror_records(caplog)
        assert record == {**record, "direction": "sent", "station": "CS-E", "action": action,
                          "code": code, "unique_id": frame[1]}
        assert record["why"] == reply[3] and record["why"]
        text = [r.getMessage() for r in caplog.records if getattr(r, "ocpp", None)][0]
        assert f"station=CS-E action={action} code={code}" in text


async def test_callerror_for_an_unreadable_call_names_no_action(caplog):
    caplog.set_level(logging.WARNING, logger="hub_under_test.callerrors")
    async with running_hub() as hub:
        async with raw_station(hub, "CS-U") as ws:
            reply = await exchange(ws, '[2, "u9", 5, {}]')
            assert reply[0] == 4
        [record] = callerror_records(caplog)
        assert record["action"] is None and record["unique_id"] == "u9"
        assert record["code"] == reply[2]


async def test_callerror_received_for_a_command_is_logged(caplog):
    caplog.set_level(logging.WARNING, logger="hub_under_test.callerrors")
    async with running_hub() as hub:
        async with raw_station(hub, "CS-R") as ws:
            await exchange(ws, [2, "b", "BootNotification", BOOT])
            sending = asyncio.create_task(hub.send("CS-R", "Reset", {"type": "Soft"}, timeout=5))
            request = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
            await ws.send(orjson.dumps([4, request[1], "NotSupported", "no resets here",
                                        {"why": "test"}]).decode())
            with pytest.raises(Exception, match="NotSupported"):
                await sending
        [record] = callerror_records(caplog)
        assert record == {"event": "callerror", "direction": "received", "station": "CS-R",
                          "action": "Reset", "code": "NotSupported", "why": "no resets here",
                          "unique_id": request[1], "details": {"why": "test"}}


def test_json_log_lines_carry_the_fields():
    record = logging.LogRecord("hub_under_test.callerrors", logging.WARNING, __file__, 1,
                               "CALLERROR sent", (), None)
    record.ocpp = {"event": "callerror", "station": "CS-1", "action": "Heartbeat",
                   "code": "FormationViolation", "why": "bad"}
    line = orjson.loads(JsonFormatter().format(record))
    assert line["station"] == "CS-1" and line["code"] == "FormationViolation"
    assert line["level"] == "WARNING" and line["message"] == "CALLERROR sent"
    assert line["time"].endswith("Z")


async def test_lenient_repairs_are_marked_in_the_frame_view():
    async with running_hub(mode="lenient") as hub, Api(hub) as api:
        async with raw_station(hub, "CS-L") as ws:
            await exchange(ws, [2, "b", "BootNotification", BOOT])
            reply = await exchange(ws, [2, "s", "StatusNotification", {
                "connectorId": 1, "errorCode": "NoError", "status": "available",
                "timestamp": now()}])
            assert reply[0] == 3
            reply = await exchange(ws, [2, "h", "heartbeat", {}])
            assert reply[0] == 3
        status, frames = await api.get("/stations/CS-L/frames")
        by_id = {orjson.loads(f["raw"])[1]: f for f in frames
                 if f["raw"] and f["sender"] == "station"}
        assert "repairs" not in by_id["b"] and by_id["b"]["note"] is None
        assert by_id["s"]["repairs"] == ["status: enum value 'available' read as 'Available'"]
        assert by_id["s"]["note"].startswith("repaired (lenient): status")
        assert by_id["h"]["repairs"] == ["action 'heartbeat' read as 'Heartbeat'"]
        # a repaired frame is no rejected frame
        assert hub.metrics.rejected_frames.value() == 0


async def test_strict_mode_marks_nothing():
    async with running_hub() as hub, Api(hub) as api:
        async with raw_station(hub, "CS-S") as ws:
            await exchange(ws, [2, "b", "BootNotification", BOOT])
        status, frames = await api.get("/stations/CS-S/frames")
        assert all("repairs" not in f for f in frames)
