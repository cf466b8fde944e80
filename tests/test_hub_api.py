"""The HTTP API: commands to an `ocpp`-library charger, errors, ops and debug endpoints."""
from __future__ import annotations

import asyncio

import orjson
import pytest
from ocpp.v16 import call

from hub_helpers import Api, charger, exchange, now, raw_station, running_hub
from hub_under_test import StationNotConnected, UnknownAction
from hub_under_test.metrics import parse


async def test_commands_reach_the_charger_and_return_its_answer():
    async with running_hub() as hub, Api(hub) as api:
        async with charger(hub, "CS-1") as cp:
            status, body = await api.post("/stations/CS-1/commands/RemoteStartTransaction",
                                          {"idTag": "CARD-1", "connectorId": 1})
            assert (status, body) == (200, {"status": "ok", "response": {"status": "Accepted"}})
            assert cp.received[0] == ("RemoteStartTransaction", {"id_tag": "CARD-1", "connector_id": 1})

            status, body = await api.post("/stations/CS-1/commands/GetConfiguration",
                                          {"key": ["HeartbeatInterval", "Nope"]})
            assert status == 200
            assert body["response"] == {
                "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
                "unknownKey": ["Nope"]}

            status, body = await api.post("/stations/CS-1/commands/Reset", {"type": "Soft"})
            assert (status, body["response"]) == (200, {"status": "Accepted"})

            # the same through the Python API
            assert await hub.send("CS-1", "Reset", {"type": "Hard"}) == {"status": "Accepted"}
            assert cp.received[-1] == ("Reset", {"type": "Hard"})


async def test_command_callerror_is_502():
    async with running_hub() as hub, Api(hub) as api:
        async with charger(hub, "CS-1"):
            # the library charger has no ClearCache handler: it answers NotImplemented
            status, body = await api.post("/stations/CS-1/commands/ClearCache", {})
            assert status == 502
            assert body["status"] == "callerror" and body["code"] == "NotImplemented"
            assert "description" in body and "details" in body


async def test_command_timeout_is_504():
    async with running_hub() as hub, Api(hub) as api:
        async with charger(hub, "CS-1"):
            status, body = await api.post("/stations/CS-1/commands/UnlockConnector?timeout=0.2",
                                          {"connectorId": 1})
            assert status == 504
            assert body["status"] == "timeout"
            assert "did not answer UnlockConnector within 0.2s" in body["message"]


async def test_command_timeout_defaults_to_call_timeout():
    async with running_hub(call_timeout=0.2) as hub, Api(hub) as api:
        async with raw_station(hub, "SILENT") as ws:
            await exchange(ws, [2, "1", "Heartbeat", {}])
            status, body = await api.post("/stations/SILENT/commands/Reset", {"type": "Hard"})
            assert status == 504 and "0.2s" in body["message"]


async def test_command_error_paths():
    async with running_hub() as hub, Api(hub) as api:
        async with charger(hub, "CS-1") as cp:
            status, body = await api.post("/stations/NOBODY/commands/Reset", {"type": "Hard"})
            assert status == 404 and "not connected" in body["message"]

            status, body = await api.post("/stations/CS-1/commands/MakeCoffee", {})
            assert status == 400 and "not an ocpp1.6 action" in body["message"]
            status, body = await api.post("/stations/CS-1/commands/reset", {"type": "Hard"})
            assert status == 400 and "did you mean Reset" in body["message"]

            status, body = await api.post("/stations/CS-1/commands/BootNotification",
                                          {"chargePointVendor": "V", "chargePointModel": "M"})
            assert status == 400 and "not initiated by the CSMS" in body["message"]

            status, body = await api.post("/stations/CS-1/commands/Reset", {})
            assert status == 400 and body["status"] == "invalid"
            assert body["code"] == "OccurenceConstraintViolation"
            assert "type" in body["description"]
            status, body = await api.post("/stations/CS-1/commands/Reset", {"type": "Medium"})
            assert status == 400 and body["code"] == "PropertyConstraintViolation"

            status, body = await api.post("/stations/CS-1/commands/Reset", "[1, 2]")
            assert status == 400 and "JSON object" in body["message"]
            status, body = await api.post("/stations/CS-1/commands/Reset", "{nope")
            assert status == 400 and "not valid JSON" in body["message"]
            status, body = await api.post("/stations/CS-1/commands/Reset?timeout=soon", {"type": "Hard"})
            assert status == 400 and "timeout" in body["message"]

            assert [a for a, _ in cp.received] == []  # none of these reached the charger

    with pytest.raises(StationNotConnected):
        await hub.send("CS-1", "Reset", {"type": "Hard"})


async def test_python_send_errors():
    async with running_hub() as hub:
        async with charger(hub, "CS-1"):
            with pytest.raises(UnknownAction):
                await hub.send("CS-1", "Heartbeat", {})
            with pytest.raises(StationNotConnected):
                await hub.send("CS-2", "Reset", {"type": "Hard"})


async def test_invalid_response_from_station_is_502():
    async with running_hub() as hub, Api(hub) as api:
        async with raw_station(hub, "ODD") as ws:
            await exchange(ws, [2, "1", "Heartbeat", {}])
            request = asyncio.create_task(api.post("/stations/ODD/commands/Reset", {"type": "Hard"}))
            call_frame = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
            assert call_frame[0] == 2 and call_frame[2] == "Reset"
            await ws.send(orjson.dumps([3, call_frame[1], {"status": "Maybe"}]).decode())
            status, body = await request
            assert status == 502 and body["status"] == "invalid_response"
            assert body["code"] == "PropertyConstraintViolation"


async def test_station_disconnecting_during_a_command_is_502():
    async with running_hub() as hub, Api(hub) as api:
        async with raw_station(hub, "FLAKY") as ws:
            await exchange(ws, [2, "1", "Heartbeat", {}])
            request = asyncio.create_task(api.post("/stations/FLAKY/commands/Reset", {"type": "Hard"}))
            await asyncio.wait_for(ws.recv(), 2)
            await ws.close()
            status, body = await request
            assert status == 502 and body["status"] == "disconnected"


async def test_health_stations_station_transactions():
    async with running_hub(tags={"A": "Accepted"}) as hub, Api(hub) as api:
        async with charger(hub, "CS-1") as cp:
            await cp.call(call.StatusNotification(connector_id=1, error_code="NoError",
                                                  status="Charging"))
            start = await cp.call(call.StartTransaction(connector_id=1, id_tag="A", meter_start=5,
                                                        timestamp=now()))
            status, body = await api.get("/health")
            assert status == 200 and body["status"] == "ok" and body["stations"] == 1
            assert body["active_transactions"] == 1

            status, body = await api.get("/stations")
            assert status == 200 and len(body) == 1
            st = body[0]
            assert (st["id"], st["connected"], st["protocol"], st["registration"]) == (
                "CS-1", True, "ocpp1.6", "Accepted")
            assert st["connectors"] == {"1": "Charging"}

            status, body = await api.get("/stations/CS-1")
            assert status == 200
            assert body["vendor"] == "Acme" and body["model"] == "Model X"
            assert body["connectors"][0]["status"] == "Charging"
            assert body["transactions"][0]["id"] == start.transaction_id
            assert body["connection"]["protocol"] == "ocpp1.6"

            status, body = await api.get("/transactions?active=true")
            assert [t["id"] for t in body] == [start.transaction_id]
            status, body = await api.get("/transactions?station=CS-1&active=false")
            assert body == []
            status, body = await api.get("/transactions?active=maybe")
            assert status == 400

        status, body = await api.get("/stations/NOBODY")
        assert status == 404


async def test_tags_api():
    async with running_hub() as hub, Api(hub) as api:
        status, body = await api.put("/tags/NEW", {"status": "Accepted", "parentIdTag": "FLEET",
                                                   "expiryDate": "2031-01-01T00:00:00Z"})
        assert status == 200
        assert body["tag"] == {"id_tag": "NEW", "status": "Accepted",
                               "expiry_date": "2031-01-01T00:00:00.000Z", "parent_id_tag": "FLEET"}
        status, body = await api.put("/tags/NEW", {"status": "Sometimes"})
        assert status == 400 and "status" in body["message"]
        status, body = await api.put("/tags/NEW", {"colour": "red"})
        assert status == 400
        status, body = await api.put("/tags/NEW", {"expiryDate": "tomorrow"})
        assert status == 400

        async with charger(hub, "CS-1") as cp:
            auth = await cp.call(call.Authorize(id_tag="NEW"))
            assert auth.id_tag_info["status"] == "Accepted"
            await api.put("/tags/NEW", {"status": "Blocked"})
            auth = await cp.call(call.Authorize(id_tag="NEW"))
            assert auth.id_tag_info["status"] == "Blocked"

        status, body = await api.get("/tags")
        assert [t["id_tag"] for t in body] == ["NEW"]
        assert (await api.request("DELETE", "/tags/NEW"))[0] == 200
        assert (await api.get("/tags/NEW"))[0] == 404


async def test_registration_api():
    async with running_hub(unknown_stations="reject") as hub, Api(hub) as api:
        status, _ = await api.put("/stations/CS-9/registration", {"status": "Accepted"})
        assert status == 200
        async with charger(hub, "CS-9"):  # asserts the boot is Accepted
            pass
        status, body = await api.put("/stations/CS-9/registration", {"status": "Maybe"})
        assert status == 400


async def test_metrics_report_real_numbers():
    async with running_hub(tags={"A": "Accepted"}) as hub, Api(hub) as api:
        async with charger(hub, "CS-1") as cp, charger(hub, "CS-2"):
            for _ in range(3):
                await cp.call(call.Heartbeat())
            await cp.call(call.StartTransaction(connector_id=1, id_tag="A", meter_start=0,
                                                timestamp=now()))
            async with raw_station(hub, "BAD") as ws:
                await exchange(ws, [2, "x", "Nope", {}])
            await api.post("/stations/CS-1/commands/Reset", {"type": "Soft"})
            status, text = await api.get("/metrics", raw=True)
            assert status == 200
            assert "# TYPE hub_messages_total counter" in text
            m = parse(text)
            assert m['hub_connected_stations{protocol="ocpp1.6"}'] == 2
            assert m['hub_messages_total{action="Heartbeat",result="ok"}'] == 3
            assert m['hub_messages_total{action="BootNotification",result="ok"}'] == 2
            assert m['hub_call_errors_sent_total{code="NotImplemented"}'] == 1
            assert m['hub_commands_total{action="Reset",outcome="ok"}'] == 1
            assert m["hub_active_transactions"] == 1
            assert m["hub_transactions_started_total"] == 1
            assert m["hub_connections_total"] == 3
            assert m['hub_frames_total{sender="station"}'] >= 7
            assert m['hub_handler_seconds_count{action="Heartbeat"}'] == 3
            assert m['hub_handler_seconds_bucket{action="Heartbeat",le="+Inf"}'] == 3
            assert "# TYPE hub_handler_seconds histogram" in text
            assert m['hub_command_seconds_count{action="Reset"}'] == 1
            assert m["hub_tag_cache_hit_ratio"] == 1.0   # tag A was in memory


async def test_frames_debug_view():
    async with running_hub() as hub, Api(hub) as api:
        async with charger(hub, "CS-1") as cp:
            await cp.call(call.Heartbeat())
            async with raw_station(hub, "CS-2") as ws:
                await ws.send("garbage")
                await exchange(ws, [2, "h", "Heartbeat", {}])
            status, frames = await api.get("/stations/CS-1/frames")
            assert status == 200
            raws = [f["raw"] for f in frames if f["raw"]]
            assert '"BootNotification"' in raws[0] and '"Heartbeat"' in raws[2]
            # the recordings' vocabulary: seen from the station, "out" = station → CSMS
            assert [f["direction"] for f in frames if f["raw"]] == ["out", "in", "out", "in"]
            assert [f["sender"] for f in frames if f["raw"]] == ["station", "hub"] * 2
            assert frames[0]["note"].startswith("connected from")
            assert frames[0]["ts"].endswith("Z")

            status, frames = await api.get("/stations/CS-1/frames?limit=1")
            assert len(frames) == 1 and frames[0]["sender"] == "hub"

            status, frames = await api.get("/stations/CS-2/frames")
            garbage = [f for f in frames if f["raw"] == "garbage"][0]
            assert "not valid JSON" in garbage["note"]
            assert "closed by station: 1000" in frames[-1]["note"]

        assert (await api.get("/stations/NOBODY/frames"))[0] == 404


async def test_start_failure_cleans_up():
    async with running_hub() as hub:
        from hub_under_test import Hub, HubConfig
        clash = Hub(HubConfig(port=hub.port, api_port=0))
        with pytest.raises(OSError):
            await clash.start()
        assert clash.store is None  # stopped again
        async with charger(hub, "STILL-OK"):  # the first hub is unaffected
            pass


async def test_module_entry_point_runs_and_stops_on_sigterm(tmp_path):
    import signal
    import sys

    import aiohttp

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub_under_test", "--port", "0", "--api-port", "0",
        "--db", str(tmp_path / "cli.db"), "--tag", "CARD:Blocked", "--log-level", "WARNING",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        api_url = line.split("API ")[1].strip()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{api_url}/tags/CARD") as resp:
                assert resp.status == 200 and (await resp.json())["status"] == "Blocked"
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
