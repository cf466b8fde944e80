"""An independent CSMS for the station's interop tests, built on the `ocpp` library's own
ChargePoint (its routing, schema validation and payload classes), so the station is checked
against code that shares none of ours.

It records every frame it sees, answers from a small script (boot answers, tag answers) and
lets a test wait for a message without sleeping.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result  # noqa: F401  (call: for the tests)
from ocpp.v16.enums import Action

from simulator.station import Station
from simulator.dialects import make_station


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Received:
    station: str
    action: str
    payload: dict


class Peer(ChargePoint):
    """The CSMS end of one station's websocket."""

    def __init__(self, station_id: str, ws, csms: FakeCsms):
        super().__init__(station_id, ws, response_timeout=5)
        self.csms = csms

    async def route_message(self, raw):
        self.csms._record(self.id, "in", raw)
        await super().route_message(raw)

    async def _send(self, message):
        self.csms._record(self.id, "out", message)
        await super()._send(message)

    @on(Action.boot_notification)
    def on_boot(self, charge_point_vendor, charge_point_model, **_):
        status, interval = self.csms.next_boot()
        return call_result.BootNotification(current_time=now(), interval=interval, status=status)

    @on(Action.heartbeat)
    def on_heartbeat(self):
        return call_result.Heartbeat(current_time=now())

    @on(Action.status_notification)
    def on_status(self, connector_id, error_code, status, **_):
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag):
        return call_result.Authorize(id_tag_info=self.csms.tag_info(id_tag))

    @on(Action.start_transaction)
    def on_start(self, connector_id, id_tag, meter_start, timestamp, **_):
        info = self.csms.start_answers.get(id_tag) or self.csms.tag_info(id_tag)
        return call_result.StartTransaction(transaction_id=next(self.csms.tx_ids), id_tag_info=info)

    @on(Action.stop_transaction)
    def on_stop(self, transaction_id, meter_stop, timestamp, id_tag=None, **_):
        if id_tag is None:
            return call_result.StopTransaction()
        return call_result.StopTransaction(id_tag_info=self.csms.tag_info(id_tag))

    @on(Action.meter_values)
    def on_meter_values(self, connector_id, meter_value, **_):
        return call_result.MeterValues()

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id, message_id=None, data=None):
        return call_result.DataTransfer(status="Accepted", data=f"echo:{data}")

    @on(Action.diagnostics_status_notification)
    def on_diagnostics(self, status):
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification)
    def on_firmware(self, status):
        return call_result.FirmwareStatusNotification()


class FakeCsms:
    def __init__(self):
        self.boot_plan: list[tuple[str, int]] = []     # answers for the next boots, in order
        self.default_boot = ("Accepted", 600)
        self.tags: dict[str, dict] = {}                # idTagInfo by tag; others: Accepted
        self.start_answers: dict[str, dict] = {}       # StartTransaction idTagInfo overrides
        self.tx_ids = itertools.count(100)
        self.received: list[Received] = []             # CALLs from stations, in order
        self.frames: list[tuple[str, str, list]] = []  # (station, "in"/"out", frame)
        self.peers: dict[str, Peer] = {}
        self.connections = 0
        self.paths: list[str] = []
        self._changed = asyncio.Event()
        self._server = None
        self.url = ""

    async def start(self) -> None:
        self._server = await websockets.serve(self._serve, "127.0.0.1", 0,
                                              subprotocols=["ocpp1.6"])
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/ocpp"

    async def close(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, ws) -> None:
        path = ws.request.path
        self.paths.append(path)
        station_id = path.rstrip("/").rsplit("/", 1)[-1]
        peer = Peer(station_id, ws, self)
        self.peers[station_id] = peer
        self.connections += 1
        self._changed.set()
        with contextlib.suppress(websockets.ConnectionClosed):
            await peer.start()

    # -- script --------------------------------------------------------------------------
    def next_boot(self) -> tuple[str, int]:
        return self.boot_plan.pop(0) if self.boot_plan else self.default_boot

    def tag_info(self, id_tag: str) -> dict:
        return self.tags.get(id_tag, {"status": "Accepted"})

    # -- observing -------------------------------------------------------------------------
    def _record(self, station: str, direction: str, raw) -> None:
        frame = json.loads(raw)
        self.frames.append((station, direction, frame))
        if direction == "in" and frame[0] == 2:
            self.received.append(Received(station, frame[2], frame[3]))
        self._changed.set()

    def calls(self, action: str, where=None, station: str | None = None) -> list[dict]:
        return [r.payload for r in self.received
                if r.action == action and (station is None or r.station == station)
                and (where is None or where(r.payload))]

    async def wait_for(self, action: str, count: int = 1, where=None, timeout: float = 5.0
                       ) -> list[dict]:
        """The payloads of `action` received so far, once there are at least `count`."""
        async def wait():
            while True:
                found = self.calls(action, where)
                if len(found) >= count:
                    return found
                self._changed.clear()
                await self._changed.wait()
        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            seen = [r.action for r in self.received]
            raise AssertionError(f"{count} x {action} not received within {timeout}s; "
                                 f"received: {seen}") from None

    async def wait_connections(self, n: int, timeout: float = 5.0) -> None:
        async def wait():
            while self.connections < n:
                self._changed.clear()
                await self._changed.wait()
        await asyncio.wait_for(wait(), timeout)

    def actions(self) -> list[str]:
        return [r.action for r in self.received]


# Protocol intervals ×0.01: MeterValueSampleInterval 10 → 0.1 s, ConnectionTimeOut 60 → 0.6 s.
FAST = dict(interval_scale=0.01, boot_retry_min=0.01, reconnect_min=0.05, reboot_delay=1,
            call_timeout=5)


@pytest.fixture
async def csms():
    server = FakeCsms()
    await server.start()
    yield server
    await server.close()


@contextlib.asynccontextmanager
async def running(csms: FakeCsms, station_id: str = "CP1", **options):
    station = make_station(station_id, csms.url, **{**FAST, **options})
    await station.start(timeout=5)
    try:
        yield station
    finally:
        await station.stop()

