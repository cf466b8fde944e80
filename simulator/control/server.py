"""The local control API (HTTP + JSON) over a Fleet of running stations.

    GET  /stations                          every station's view
    GET  /stations/{id}                     one station's view, with its configuration
    GET  /verbs                             the verbs and their body fields
    POST /stations/{id}/actions/{verb}      do a verb; body e.g. {"connector": 1, "tag": "CARD-1"}

Errors are JSON {"error": "..."} with 400 (bad body), 404 (unknown station / verb / path),
405 (wrong method) or 409 (the station cannot do that now).  It listens on 127.0.0.1 by
default: it is a test instrument, with no authentication.
"""
from __future__ import annotations

import json
import socket

from aiohttp import web

from .actions import VERBS, ActionError, perform
from .fleet import Fleet
from .view import station_json


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def _json_errors(request: web.Request, handler):
    try:
        return await handler(request)
    except ActionError as e:
        return _error(e.status, str(e))
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return _error(e.status, e.reason if e.status != 405 else
                      f"{request.method} is not allowed on {request.path}")


class ControlServer:
    def __init__(self, fleet: Fleet, port: int = 0, host: str = "127.0.0.1"):
        self.fleet = fleet
        self.host, self._port = host, port
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_json_errors])
        app.add_routes([web.get("/stations", self.stations),
                        web.get("/stations/{id}", self.station),
                        web.get("/verbs", self.verbs),
                        web.post("/stations/{id}/actions/{verb}", self.action)])
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        # Our own socket, so that port 0 (a free port) is known at once.
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._port))
        except OSError as e:
            sock.close()
            await self._runner.cleanup()
            raise OSError(f"control API cannot listen on {self.host}:{self._port}: "
                          f"{e.strerror or e}") from e
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self):
        await self.start()
        return self

    async def __aexit__(self, *exc):
        await self.stop()

    # -- handlers ----------------------------------------------------------------------
    def _station(self, request: web.Request):
        station_id = request.match_info["id"]
        station = self.fleet.get(station_id)
        if station is None:
            raise ActionError(404, f"unknown station {station_id!r}")
        return station

    async def stations(self, request: web.Request) -> web.Response:
        return web.json_response([station_json(s, self.fleet.watch(s.id)) for s in self.fleet])

    async def station(self, request: web.Request) -> web.Response:
        s = self._station(request)
        return web.json_response(station_json(s, self.fleet.watch(s.id), config=True))

    async def verbs(self, request: web.Request) -> web.Response:
        return web.json_response({
            v.name: {"help": v.help,
                     "fields": {k: {"required": req} for k, (_, req) in v.fields.items()}}
            for v in VERBS.values()})

    async def action(self, request: web.Request) -> web.Response:
        station = self._station(request)
        verb = request.match_info["verb"]
        if verb not in VERBS:
            raise ActionError(404, f"unknown verb {verb!r}; one of {', '.join(VERBS)}")
        text = await request.text()
        try:
            body = json.loads(text) if text.strip() else {}
        except ValueError as e:
            raise ActionError(400, f"the body is not JSON: {e}") from None
        result = await perform(station, verb, body)
        return web.json_response({"station": station.id, "verb": verb, "result": result,
                                  "view": station_json(station, self.fleet.watch(station.id))})
