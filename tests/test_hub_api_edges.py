"""The HTTP API's edges: query parameters validated with a JSON 400 naming the parameter,
JSON for every error status (aiohttp's own 404 / 405 / 413 included), the start-up line
naming wss:// when serving TLS."""
from __future__ import annotations

import logging

import pytest
from ocpp.v16 import call

from hub_helpers import Api, charger, running_hub
from pki_helpers import TestCA


@pytest.mark.parametrize("query, parameter", [
    ("limit=-5", "limit"), ("limit=0", "limit"), ("limit=x", "limit"), ("limit=101", "limit"),
    ("limt=5", "limt"),
])
async def test_frames_query_is_validated(query, parameter):
    async with running_hub() as hub, Api(hub) as api:
        async with charger(hub, "CS-1") as cp:
            for _ in range(3):
                await cp.call(call.Heartbeat())
            status, body = await api.get(f"/stations/CS-1/frames?{query}")
            assert status == 400
            assert body["status"] == "error" and body["parameter"] == parameter
            assert parameter in body["message"]
            status, frames = await api.get("/stations/CS-1/frames?limit=2")
            assert status == 200 and len(frames) == 2


@pytest.mark.parametrize("path, parameter", [
    ("/transactions?limit=0", "limit"), ("/transactions?limit=-1", "limit"),
    ("/transactions?active=maybe", "active"), ("/transactions?stationn=CS-1", "stationn"),
    ("/stations/CS-1/commands/Reset?timeout=0", "timeout"),
    ("/stations/CS-1/commands/Reset?timeout=nan", "timeout"),
    ("/stations/CS-1/commands/Reset?timeout=1&retries=3", "retries"),
])
async def test_other_query_parameters_are_validated(path, parameter):
    async with running_hub() as hub, Api(hub) as api:
        if "/commands/" in path:
            status, body = await api.post(path, {"type": "Soft"})
        else:
            status, body = await api.get(path)
        assert status == 400, body
        assert body["parameter"] == parameter and parameter in body["message"]
        status, rows = await api.get("/transactions?active=false&limit=5&station=CS-1")
        assert status == 200 and rows == []


async def test_every_error_status_answers_json():
    async with running_hub() as hub, Api(hub) as api:
        status, body = await api.get("/no/such/route")
        assert status == 404 and body["status"] == "error" and "/no/such/route" in body["message"]
        status, body = await api.request("DELETE", "/health")
        assert status == 405 and body["status"] == "error"
        # over aiohttp's body limit: JSON 413, not its plain-text page
        status, body = await api.put("/tags/BIG", b"x" * (2 * 1024 * 1024))
        assert status == 413 and body["status"] == "error" and "size" in body["message"]
        status, body = await api.put("/tags/OK", {"status": "Accepted"})
        assert status == 200


async def test_start_up_line_names_wss_when_serving_tls(caplog):
    ca = TestCA()
    server = ca.server()
    caplog.set_level(logging.INFO, logger="hub_under_test.server")
    async with running_hub(tls_cert=server.cert, tls_key=server.key) as hub:
        lines = [r.getMessage() for r in caplog.records if "OCPP endpoint" in r.getMessage()]
        assert lines and lines[0].startswith(f"OCPP endpoint wss://127.0.0.1:{hub.port}/ocpp/")
    caplog.clear()
    async with running_hub() as hub:
        lines = [r.getMessage() for r in caplog.records if "OCPP endpoint" in r.getMessage()]
        assert lines[0].startswith("OCPP endpoint ws://")
