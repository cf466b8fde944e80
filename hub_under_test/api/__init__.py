"""The hub's HTTP API (aiohttp, on its own port: a websockets server cannot serve POST).

| method & path                              | answer |
|--------------------------------------------|--------|
| GET  /health                               | {"status": "ok", "stations": n, "uptime": s} |
| GET  /metrics                              | Prometheus text exposition |
| GET  /stations                             | connected stations with their status |
| GET  /stations/{id}                        | station detail: registration, connectors, transactions (404 if never seen) |
| GET  /stations/{id}/frames?limit=N         | the last frames in and out (debug) |
| PUT  /stations/{id}/registration           | {"status": "Accepted"|"Rejected"|null}: the operator's decision |
| POST /stations/{id}/commands/{Action}?timeout=s | send a CSMS-initiated request; body = payload |
| GET  /tags, GET /tags/{id_tag}             | id tags |
| PUT  /tags/{id_tag}                        | {"status", "expiryDate", "parentIdTag"}: add / update |
| DELETE /tags/{id_tag}                      | remove a tag |
| GET  /transactions?station=&active=true|false&limit= | transactions, newest first |
| PUT/POST/GET /uploads/…, PUT/GET /firmware/… | station uploads and firmware images (files.py) |
| POST /stations/{id}/local-list, GET …       | SendLocalList from the tag store (local_auth.py) |
| POST/GET /stations/{id}/reservations, DELETE …/{rid} | ReserveNow / CancelReservation, stored (reservations.py) |
| GET  /stations/{id}/charging-profiles      | profiles the station accepted via commands (smart_charging.py) |
| PUT/DELETE /stations/{id}/password, GET …/security-events, GET …/certificates | security |
| GET  /debug, GET /debug/commands?protocol= | the debug web page (debug_page.py); CSMS-initiated commands of a protocol |

Routes only parse HTTP and call the manager (features.py, files.py); wire payloads are the
adapters' business, except that the command route takes a raw request of the station's
protocol, which the adapter reads.

Command answers: 200 {"status":"ok","response":{...}}; 502 {"status":"callerror","code",
"description","details"} for a CALLERROR, 502 "invalid_response" / "disconnected"; 504
{"status":"timeout"}; 404 station not connected; 400 unknown / not CSMS-initiated action,
body not a JSON object, bad timeout, or a payload that breaks the schema (with the
validation error's code, description and details).
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from aiohttp import web

from ..frame_audit import RepairedFrame
from ..metrics import CONTENT_TYPE
from . import debug_page, features, files
from .common import (_body, _error, _json, command_response, format_time_epoch, json_errors,
                     query_bool, query_float, query_int, query_params)

if TYPE_CHECKING:
    from .hub_face import HubFace

log = logging.getLogger(__name__)


class HubApi:
    def __init__(self, hub: "HubFace"):
        self.hub = hub
        self.app = web.Application(middlewares=[json_errors])
        self.app.add_routes([
            web.get("/health", self.health),
            web.get("/metrics", self.metrics),
            web.get("/stations", self.stations),
            web.get("/stations/{id}", self.station),
            web.get("/stations/{id}/frames", self.frames),
            web.put("/stations/{id}/registration", self.registration),
            web.post("/stations/{id}/commands/{action}", self.command),
            web.get("/tags", self.tags),
            web.get("/tags/{id_tag}", self.tag),
            web.put("/tags/{id_tag}", self.put_tag),
            web.delete("/tags/{id_tag}", self.delete_tag),
            web.get("/transactions", self.transactions),
        ])
        self.app.add_routes(debug_page.routes())   # GET /debug: the debug web page
        # local list, reservations, charging profiles, passwords, security events, certificates
        self.app.add_routes(features.routes(self.hub))
        # /uploads (diagnostics, logs) and /firmware (UpdateFirmware)
        if self.hub.files is not None:
            self.app.add_routes(files.routes(self.hub))
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- ops --------------------------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        hub = self.hub
        return _json({"status": "ok", "stations": len(hub.connections),
                      "active_transactions": len(hub.manager.active),
                      "uptime": round(time.time() - (hub.started_at or time.time()), 3),
                      **(hub.health_extra() if hasattr(hub, "health_extra") else {})})

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.hub.metrics.render().encode(),
                            headers={"Content-Type": CONTENT_TYPE})

    # -- stations ---------------------------------------------------------------------
    async def stations(self, request: web.Request) -> web.Response:
        out = []
        for station_id, conn in sorted(self.hub.connections.items()):
            state = self.hub.manager.stations.get(station_id)
            out.append({**(state.summary() if state else {}), **conn.summary()})
        return _json(out)

    async def station(self, request: web.Request) -> web.Response:
        station_id = request.match_info["id"]
        detail = self.hub.manager.station_detail(station_id)
        if detail is None:
            return _error(404, f"station {station_id!r} is not known")
        conn = self.hub.connections.get(station_id)
        detail["connection"] = conn.summary() if conn else None
        return _json(detail)

    async def frames(self, request: web.Request) -> web.Response:
        station_id = request.match_info["id"]
        query_params(request, "limit")
        kept = max(self.hub.config.frames_kept, 1)
        limit = query_int(request, "limit", None, 1, kept)
        remote = getattr(self.hub, "remote_frames", None)   # workers: the station's worker
        if remote is not None:
            frames = await remote(station_id, limit)
        else:
            frames = self.hub.server.frames.get(station_id, limit)
            frames = None if frames is None else [frame_json(f) for f in frames]
        if frames is None:
            return _error(404, f"no frames recorded for station {station_id!r}")
        return _json(frames)

    async def registration(self, request: web.Request) -> web.Response:
        body = await _body(request)
        if isinstance(body, web.Response):
            return body
        try:
            self.hub.manager.set_registration(request.match_info["id"], body.get("status"))
        except ValueError as e:
            return _error(400, str(e))
        return _json({"status": "ok"})

    async def command(self, request: web.Request) -> web.Response:
        station_id, action = request.match_info["id"], request.match_info["action"]
        query_params(request, "timeout")
        timeout = query_float(request, "timeout", 0, 3600)
        payload = await _body(request)
        if isinstance(payload, web.Response):
            return payload
        async def send() -> dict:
            return {"status": "ok",
                    "response": await self.hub.send(station_id, action, payload, timeout)}
        return await command_response(self.hub, station_id, action, send)

    # -- tags -------------------------------------------------------------------------
    async def tags(self, request: web.Request) -> web.Response:
        return _json(self.hub.manager.list_tags())

    async def tag(self, request: web.Request) -> web.Response:
        row = self.hub.manager.get_tag(request.match_info["id_tag"])
        if row is None:
            return _error(404, f"tag {request.match_info['id_tag']!r} is not known")
        return _json(row)

    async def put_tag(self, request: web.Request) -> web.Response:
        body = await _body(request)
        if isinstance(body, web.Response):
            return body
        unknown = set(body) - {"status", "expiryDate", "parentIdTag"}
        if unknown:
            return _error(400, f"unknown fields {sorted(unknown)}; expected status, expiryDate, "
                               "parentIdTag")
        try:
            row = self.hub.manager.put_tag(request.match_info["id_tag"],
                                           body.get("status", "Accepted"),
                                           body.get("expiryDate"), body.get("parentIdTag"))
        except ValueError as e:
            return _error(400, str(e))
        return _json({"status": "ok", "tag": row})

    async def delete_tag(self, request: web.Request) -> web.Response:
        if not self.hub.manager.delete_tag(request.match_info["id_tag"]):
            return _error(404, f"tag {request.match_info['id_tag']!r} is not known")
        return _json({"status": "ok"})

    # -- transactions -----------------------------------------------------------------
    async def transactions(self, request: web.Request) -> web.Response:
        query_params(request, "station", "active", "limit")
        active = query_bool(request, "active")
        limit = query_int(request, "limit", 1000, 1, MAX_TRANSACTIONS)
        return _json(self.hub.manager.list_transactions(request.query.get("station"), active, limit))


MAX_TRANSACTIONS = 100_000   # one answer's rows; a larger export is a database query


def frame_json(frame) -> dict:
    """One frame of the debug log in the recordings' vocabulary (docs/recording-format.md):
    `direction` is seen from the station, "out" = station → CSMS, "in" = CSMS → station;
    `sender` says the same without a point of view.  (The session's own Frame is seen from
    the hub's session, where station → hub is "in".)"""
    from_station = frame.direction == "in"
    out = {"ts": format_time_epoch(frame.ts), "direction": "out" if from_station else "in",
           "sender": "station" if from_station else "hub", "version": frame.version,
           "raw": frame.raw, "note": frame.note}
    if isinstance(frame, RepairedFrame):   # lenient mode changed it before handling
        out["repairs"] = list(frame.repairs)
    return out

