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

Command answers: 200 {"status":"ok","response":{...}}; 502 {"status":"callerror","code",
"description","details"} for a CALLERROR, 502 "invalid_response" / "disconnected"; 504
{"status":"timeout"}; 404 station not connected; 400 unknown / not CSMS-initiated action,
body not a JSON object, bad timeout, or a payload that breaks the schema (with the
validation error's code, description and details).
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Awaitable, Callable

import orjson
from aiohttp import web

from simulator.protocol import OcppError, spell_error_code
from simulator.session import CallErrorReceived, CallTimeout, InvalidResponse, SessionClosed

from .hub import HubError
from .messages import format_time
from .metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from .hub import Hub

log = logging.getLogger(__name__)


def _json(data, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _error(status: int, message: str, **extra) -> web.Response:
    return _json({"status": "error", "message": message, **extra}, status)


async def command_response(hub: "Hub", station_id: str, action: str,
                           job: Callable[[], Awaitable[dict]]) -> web.Response:
    """Run `job`, which sends `action` to the station (the command API, or a helper route
    such as reservations), and turn its outcome into the API's answer: 200 with the job's
    body; 400 bad input or a request breaking the schema (nothing sent); 404 unknown
    station or record; 502 CALLERROR / invalid reply / disconnected; 504 timeout."""
    conn = hub.connections.get(station_id)
    version = conn.version if conn else "ocpp1.6"
    try:
        return _json(await job())
    except HubError as e:
        return _error(e.status, str(e))
    except CallErrorReceived as e:
        err = e.error
        return _json({"status": "callerror", "code": err.code_text,
                      "description": err.description, "details": err.details}, 502)
    except CallTimeout as e:
        return _json({"status": "timeout",
                      "message": f"station {station_id!r} did not answer {action} within "
                                 f"{e.timeout:g}s"}, 504)
    except SessionClosed as e:
        return _json({"status": "disconnected", "message": str(e)}, 502)
    except InvalidResponse as e:  # the station's reply breaks the schema
        return _json({"status": "invalid_response", "message": str(e),
                      "code": spell_error_code(e.code, version),
                      "description": e.description, "details": e.details}, 502)
    except OcppError as e:  # our request breaks the schema: nothing was sent
        return _json({"status": "invalid", "message": f"invalid {action} request: {e.description}",
                      "code": spell_error_code(e.code, version), "description": e.description,
                      "details": e.details}, 400)
    except ValueError as e:  # a helper route's bad input
        return _error(400, str(e))
    except LookupError as e:  # a helper route's unknown record
        return _error(404, str(e))


async def _body(request: web.Request) -> dict | web.Response:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        return _error(400, f"body is not valid JSON: {e}")
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    return body


class HubApi:
    def __init__(self, hub: "Hub"):
        self.hub = hub
        self.app = web.Application()
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
        # Local list and reservation helpers live in their own modules (they import this one).
        from . import local_auth, reservations
        self.app.add_routes([*local_auth.routes(self), *reservations.routes(self)])
        from .security import api_routes   # passwords, security events, certificates
        self.app.add_routes(api_routes(self.hub))
        from . import smart_charging   # GET /stations/{id}/charging-profiles
        self.app.add_routes(smart_charging.routes(self))
        from . import files   # /uploads (diagnostics, logs) and /firmware (UpdateFirmware)
        self.app.add_routes(files.routes(self))
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
                      "uptime": round(time.time() - (hub.started_at or time.time()), 3)})

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
        try:
            limit = int(request.query.get("limit", 0)) or None
        except ValueError:
            return _error(400, "limit must be an integer")
        frames = self.hub.server.frames.get(station_id, limit)
        if frames is None:
            return _error(404, f"no frames recorded for station {station_id!r}")
        return _json([{"ts": format_time_epoch(f.ts), "direction": f.direction,
                       "version": f.version, "raw": f.raw, "note": f.note} for f in frames])

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
        timeout = None
        if "timeout" in request.query:
            try:
                timeout = float(request.query["timeout"])
                if not 0 < timeout <= 3600:
                    raise ValueError
            except ValueError:
                return _error(400, "timeout must be a number of seconds in (0, 3600]")
        payload = await _body(request)
        if isinstance(payload, web.Response):
            return payload
        async def send() -> dict:
            return {"status": "ok",
                    "response": await self.hub.send(station_id, action, payload, timeout)}
        return await command_response(self.hub, station_id, action, send)

    # -- tags -------------------------------------------------------------------------
    async def tags(self, request: web.Request) -> web.Response:
        return _json(self.hub.store.list_tags())

    async def tag(self, request: web.Request) -> web.Response:
        row = self.hub.store.get_tag(request.match_info["id_tag"])
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
        q = request.query
        active = None
        if "active" in q:
            if q["active"].lower() not in ("true", "false", "1", "0"):
                return _error(400, "active must be true or false")
            active = q["active"].lower() in ("true", "1")
        try:
            limit = int(q.get("limit", 1000))
        except ValueError:
            return _error(400, "limit must be an integer")
        return _json(self.hub.store.list_transactions(q.get("station"), active, limit))


def format_time_epoch(ts: float) -> str:
    return format_time(datetime.fromtimestamp(ts, timezone.utc))
