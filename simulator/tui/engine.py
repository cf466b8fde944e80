"""What the TUI drives, without any UI: the stations, the CSMS (the bundled hub in-process
when no URL is given) and the log of every frame in and out.

Everything here goes through the stations' public surface: `make_station`, the view and
its events (through `simulator.control.Fleet`), frame taps, and the session's `call` /
`send_raw` for messages of the user's own making.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from ..control import ActionError, Fleet, perform
from ..dialects import make_station
from ..protocol import CHARGE_POINT, CSMS, OcppError, catalog, validate
from ..session import Frame
from ..station import Station, StationOptions

log = logging.getLogger(__name__)

DEFAULT_TAG = "CARD-1"
KINDS = {2: "CALL", 3: "RESULT", 4: "ERROR"}


@dataclass(slots=True)
class LogEntry:
    frame: Frame
    kind: str                 # CALL | RESULT | ERROR | NOTE | BAD (not an OCPP-J frame)
    action: str | None
    unique_id: str | None
    payload: object
    latency_ms: float | None  # for a RESULT / ERROR: since its CALL

    @property
    def station(self) -> str:
        return self.frame.station

    @property
    def direction(self) -> str:   # seen from the station: out = station -> CSMS
        return self.frame.direction

    @property
    def error(self) -> bool:
        # a note on an inbound frame: it was not processed normally
        return self.kind in ("ERROR", "BAD") or (self.frame.note is not None
                                                 and self.direction == "in")

    def matches(self, text: str) -> bool:
        """Filter words: all must match the station, the action or the kind."""
        hay = f"{self.station} {self.action or ''} {self.kind}".lower()
        return all(word in hay for word in text.lower().split())


class FrameLog:
    """Every frame of every station (bounded), with CALLs matched to their replies."""

    def __init__(self, size: int = 10_000):
        self.entries: deque[LogEntry] = deque(maxlen=size)
        self.listeners: list[Callable[[LogEntry], None]] = []
        self._open: dict[tuple[str, str], tuple[float, str]] = {}   # (station, id) -> CALL

    def tap(self, frame: Frame) -> None:
        kind, action, uid, payload, latency = "BAD", None, None, frame.raw, None
        try:
            msg = json.loads(frame.raw) if frame.raw else None
        except ValueError:
            msg = None
        if not frame.raw:
            kind = "NOTE"
        elif isinstance(msg, list) and len(msg) >= 3 and msg[0] in KINDS:
            kind, uid = KINDS[msg[0]], str(msg[1])
            if kind == "CALL" and len(msg) >= 4:
                action, payload = str(msg[2]), msg[3]
                self._open[(frame.station, uid)] = (frame.ts, action)
                if len(self._open) > 10_000:   # replies that never came
                    self._open.pop(next(iter(self._open)))
            else:
                payload = msg[2] if kind == "RESULT" else msg[2:]
                opened = self._open.pop((frame.station, uid), None)
                if opened is not None:
                    latency, action = (frame.ts - opened[0]) * 1000.0, opened[1]
        entry = LogEntry(frame, kind, action, uid, payload, latency)
        self.entries.append(entry)
        for listener in self.listeners:
            listener(entry)

    def export(self, path, entries=None) -> int:
        """Write the frames to `path` in the recording format (docs/recording-format.md)."""
        from ..scenario.recording import Recorder
        with Recorder(path) as rec:
            for e in (self.entries if entries is None else entries):
                rec.tap(e.frame)
            return rec.frames


def example(schema: dict, root: dict | None = None, hints: dict | None = None):
    """A payload the schema accepts: its required fields, with `hints` for known names."""
    root = root or schema
    hints = hints or {}
    if "$ref" in schema:
        ref = schema["$ref"].lstrip("#/").split("/")
        node = root
        for part in ref:
            node = node[part]
        return example(node, root, hints)
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        out = {}
        for name in schema.get("required", []):
            prop = schema.get("properties", {}).get(name, {})
            out[name] = _hinted(hints[name], prop) if name in hints else example(
                prop, root, hints)
        return out
    if kind == "array":
        return []
    if kind == "integer":
        return max(int(schema.get("minimum", 0)), 0)
    if kind == "number":
        return 0
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return ""


def _norm(text: str) -> str:
    return text.replace("_", "").lower()


def _hinted(value, prop: dict):
    """A hint in the station's words fitted to the field: an enum's own spelling
    ("suspended_ev" -> "SuspendedEV"), else the schema's example."""
    enum = prop.get("enum")
    if enum is None:
        return value
    if value in enum:
        return value
    if isinstance(value, str):
        for choice in enum:
            if _norm(choice) == _norm(value):
                return choice
    return enum[0]


class Engine:
    """The stations of one TUI session and their CSMS."""

    def __init__(self, csms: str | None = None, tags: dict[str, str] | None = None,
                 control_port: int | None = None, auto_plug: float | None = None):
        self.csms = csms
        self.tags = tags if tags is not None else {DEFAULT_TAG: "Accepted"}
        self.url: str | None = csms
        self.hub = None
        self.fleet = Fleet()
        self.log = FrameLog()
        self._starts: dict[str, asyncio.Task] = {}
        self.control_port = control_port
        self.control = None        # the control API over the same stations (--control-port)
        self.auto_plug = auto_plug  # seconds: an EV follows RemoteStart / RemoteStop
        self._plugs: dict[str, object] = {}

    async def start(self) -> None:
        if self.control_port is not None:
            from ..control import ControlServer
            self.control = ControlServer(self.fleet, self.control_port)
            await self.control.start()
        if self.csms is None:   # the bundled hub, in-process
            from hub_under_test.hub import Hub, HubConfig
            self.hub = Hub(HubConfig(port=0, api_port=0, tags=dict(self.tags)))
            await self.hub.start()
            self.url = self.hub.url

    async def stop(self) -> None:
        if self.control is not None:
            await self.control.stop()
            self.control = None
        await asyncio.gather(*(self._stop_one(s) for s in self.fleet), return_exceptions=True)
        if self.hub is not None:
            await self.hub.stop()
            self.hub = None

    def add_station(self, station_id: str, options: StationOptions | None = None) -> Station:
        """Create a station and switch it on (it connects and boots in the background)."""
        if not station_id or "/" in station_id:
            raise ValueError(f"bad station id {station_id!r}")
        if station_id in self.fleet:
            raise ValueError(f"station {station_id!r} is already running")
        station = make_station(station_id, self.url, options or StationOptions())
        station.taps.append(self.log.tap)
        self.fleet.add(station)
        if self.auto_plug is not None:
            from ..control import AutoPlug
            self._plugs[station_id] = AutoPlug(station, self.auto_plug)
        task = asyncio.get_running_loop().create_task(self._start_one(station),
                                                      name=f"tui-start-{station_id}")
        self._starts[station_id] = task
        return station

    async def _start_one(self, station: Station) -> None:
        try:
            await station.start(timeout=None)   # like a charger: tries until its CSMS is up
        except Exception as e:   # the station's events say why; keep the UI going
            log.info("%s: %s", station.id, e)
        finally:
            self._starts.pop(station.id, None)

    async def _stop_one(self, station: Station) -> None:
        plug = self._plugs.pop(station.id, None)
        if plug is not None:
            plug.close()
        task = self._starts.pop(station.id, None)
        await station.stop()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def remove_station(self, station_id: str) -> None:
        station = self.fleet.remove(station_id)
        await self._stop_one(station)

    # -- scenarios -----------------------------------------------------------------------
    async def run_scenario(self, path, progress=None):
        """Run a YAML scenario (simulator.scenario) and watch it: its frames go to the log
        and its stations join the fleet while it runs.  Against the TUI's --csms if one was
        given, else the scenario brings its own bundled hub (as `chargesim run PATH`).
        Raises the loader's file:line error for a bad file; returns the ScenarioResult."""
        from ..scenario.loader import load
        from ..scenario.runner import ScenarioRun
        scenario = load(path)
        joined: list[str] = []

        def join_stations():
            for sid, station in run.stations.items():
                if sid not in joined and sid not in self.fleet:
                    self.fleet.add(station)
                    joined.append(sid)

        def on_progress(kind, data):
            join_stations()
            if progress is not None:
                progress(kind, data)

        run = ScenarioRun(scenario, csms_url=self.csms, taps=[self.log.tap],
                          progress=on_progress)

        async def watch():
            while True:
                join_stations()
                await asyncio.sleep(0.05)

        watcher = asyncio.get_running_loop().create_task(watch(), name="tui-scenario-watch")
        try:
            return await run.run()
        finally:
            watcher.cancel()
            for sid in joined:   # the run stopped them itself
                if sid in self.fleet:
                    self.fleet.remove(sid)

    # -- actions -------------------------------------------------------------------------
    async def act(self, station_id: str, verb: str, body: dict | None = None):
        station = self.fleet.get(station_id)
        if station is None:
            raise ActionError(404, f"unknown station {station_id!r}")
        return await perform(station, verb, body or {})

    @staticmethod
    def outbound_actions(version: str) -> list[str]:
        return catalog(version).initiated_by(CHARGE_POINT)

    @staticmethod
    def inbound_actions(version: str) -> list[str]:
        return catalog(version).initiated_by(CSMS)

    def template(self, station: Station, action: str, connector: int = 1,
                 response: bool = False) -> dict:
        """A payload for `action`, pre-filled from the station's view."""
        spec = catalog(station.options.version)[action]
        view = station.view
        c = view.connector(connector) if 0 <= connector < len(view.connectors) else None
        hints = {"connectorId": connector, "idTag": DEFAULT_TAG,
                 "chargePointVendor": station.options.vendor,
                 "chargePointModel": station.options.model,
                 "vendorId": station.options.vendor}
        if c is not None and not response:
            hints["status"], hints["errorCode"] = c.status, c.error_code
            if c.energy_wh is not None:
                hints["meterStart"] = hints["meterStop"] = int(c.energy_wh)
            if c.transaction_id is not None and c.transaction_id.lstrip("-").isdigit():
                hints["transactionId"] = int(c.transaction_id)
        schema = spec.response_schema if response else spec.request_schema
        return example(schema, hints=hints)

    def check(self, station: Station, action: str, payload, response: bool = False) -> None:
        """Raise OcppError (or ValueError) if the payload breaks the action's schema."""
        if action not in catalog(station.options.version):
            raise ValueError(f"{station.options.version} has no action {action!r}")
        if not isinstance(payload, dict):
            raise ValueError("the payload must be a JSON object")
        validate(station.options.version, action, "response" if response else "request",
                 payload)

    async def call(self, station_id: str, action: str, payload: dict) -> dict:
        """Send one CALL of the user's making (validated first); returns the reply."""
        station = self._online(station_id)
        self.check(station, action, payload)
        return await station.session.call(action, payload)

    async def send_raw(self, station_id: str, text: str) -> None:
        """Send any text as one frame, bypassing validation (negative tests)."""
        station = self._online(station_id)
        await station.session.send_raw(text, note="injected by hand")

    def answer_next(self, station_id: str, action: str, reply: dict) -> None:
        """The next CSMS request of `action` gets `reply` (checked) instead of the model's."""
        station = self.fleet.get(station_id)
        if station is None:
            raise ValueError(f"unknown station {station_id!r}")
        self.check(station, action, reply, response=True)
        station.answer_next(action, reply)

    def _online(self, station_id: str) -> Station:
        station = self.fleet.get(station_id)
        if station is None:
            raise ValueError(f"unknown station {station_id!r}")
        if not station.view.online or station.session is None:
            raise ValueError(f"{station_id} is not connected")
        return station


__all__ = ["Engine", "FrameLog", "LogEntry", "example", "OcppError", "DEFAULT_TAG"]
