"""Shared helpers for the hub tests: a hub on free ports, an `ocpp`-library charger as the
independent peer, raw WebSocket clients for bad input, and a small HTTP client."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timezone

import aiohttp
import orjson
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, RemoteStartStopStatus, ResetStatus

from hub_under_test import Hub, HubConfig

logging.getLogger("ocpp").setLevel(logging.WARNING)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@contextlib.asynccontextmanager
async def running_hub(**config):
    config.setdefault("port", 0)
    config.setdefault("api_port", 0)
    config.setdefault("ping_interval", None)
    hub = Hub(HubConfig(**config))
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()


class Charger(ChargePoint):
    """An `ocpp`-library 1.6 charge point that answers a few CSMS commands."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received: list[tuple[str, dict]] = []

    @on(Action.remote_start_transaction)
    async def on_remote_start(self, id_tag, **kwargs):
        self.received.append(("RemoteStartTransaction", {"id_tag": id_tag, **kwargs}))
        return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.accepted)

    @on(Action.get_configuration)
    async def on_get_configuration(self, **kwargs):
        self.received.append(("GetConfiguration", kwargs))
        return call_result.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
            unknown_key=list(kwargs.get("key", []))[1:])

    @on(Action.reset)
    async def on_reset(self, type, **kwargs):
        self.received.append(("Reset", {"type": type}))
        return call_result.Reset(status=ResetStatus.accepted)

    @on(Action.unlock_connector)
    async def on_unlock(self, connector_id, **kwargs):
        await asyncio.sleep(5)  # slower than any test's timeout


@contextlib.asynccontextmanager
async def charger(hub: Hub, station_id: str, *, boot: bool = True, response_timeout: float = 5,
                  cls: type[ChargePoint] = Charger):
    """Connect an `ocpp`-library charger (`cls`, Charger by default) to the hub (and boot it)."""
    ws = await websockets.connect(f"{hub.url}/{station_id}", subprotocols=["ocpp1.6"],
                                  compression=None)
    cp = cls(station_id, ws, response_timeout=response_timeout)
    task = asyncio.create_task(cp.start())
    try:
        if boot:
            result = await cp.call(call.BootNotification(charge_point_model="Model X",
                                                         charge_point_vendor="Acme"))
            assert result.status == "Accepted"
        yield cp
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        await ws.close()


@contextlib.asynccontextmanager
async def raw_station(hub: Hub, station_id: str, subprotocols=("ocpp1.6",), **kwargs):
    ws = await websockets.connect(f"{hub.url}/{station_id}",
                                  subprotocols=list(subprotocols) if subprotocols else None,
                                  compression=None, **kwargs)
    try:
        yield ws
    finally:
        await ws.close()


async def exchange(ws, frame, timeout: float = 2) -> list:
    """Send one frame (a list is JSON-encoded, a str sent as is) and return the reply frame."""
    await ws.send(frame if isinstance(frame, str) else orjson.dumps(frame).decode())
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))


async def wait_for(predicate, timeout: float = 2, interval: float = 0.01):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


class Api:
    """A small JSON client for the hub's HTTP API."""

    def __init__(self, hub: Hub):
        self.base = hub.api_url
        self.http = aiohttp.ClientSession()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.http.close()

    async def request(self, method: str, path: str, body=None, raw: bool = False):
        data = None if body is None else (body if isinstance(body, (str, bytes)) else orjson.dumps(body))
        async with self.http.request(method, self.base + path, data=data) as resp:
            text = await resp.text()
            if raw:
                return resp.status, text
            return resp.status, orjson.loads(text) if text else None

    async def get(self, path, **kw):
        return await self.request("GET", path, **kw)

    async def post(self, path, body=None, **kw):
        return await self.request("POST", path, body, **kw)

    async def put(self, path, body=None, **kw):
        return await self.request("PUT", path, body, **kw)
