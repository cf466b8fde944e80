"""HTTP routes of the hub's features; each parses the request and calls the manager.

| method & path | answer |
|---|---|
| POST /stations/{id}/local-list {"updateType", "tags"?} | SendLocalList built from the tag store: {"status":"ok","response","listVersion","entries"} |
| GET  /stations/{id}/local-list | {"station_id","listVersion","updateType","tags","updated"} |
| POST /stations/{id}/reservations {"connectorId","idTag","expiryDate","parentIdTag"?} | {"status":"ok","response","reservation"} |
| GET  /stations/{id}/reservations, DELETE …/{rid} | the rows; CancelReservation (404 unknown) |
| GET  /stations/{id}/charging-profiles | [{"connectorId","chargingProfile","source","setAt"}] |
| PUT/DELETE /stations/{id}/password, GET …/security-events, GET …/certificates | security |

`response` is the station's answer as the API has always shown it ({"status": ...}).
Charging profiles are shown in the OCPP 1.6 JSON form, the API's documented shape, written
by the 1.6 adapter's codec from the stored abstract profile.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from aiohttp import web

from ..adapters.ocpp16_commands import profile_to_wire
from .common import _body, _error, _json, command_response

if TYPE_CHECKING:
    from .hub_face import HubFace


def _answer(result) -> dict:
    return {"status": result.status.value}


def routes(hub: HubFace) -> list:
    manager = hub.manager

    # -- local authorization list ---------------------------------------------------------
    async def post_local_list(request: web.Request) -> web.Response:
        body = await _body(request)
        if isinstance(body, web.Response):
            return body
        unknown = set(body) - {"updateType", "tags"}
        if unknown:
            return _error(400, f"unknown fields {sorted(unknown)}; expected updateType, tags")
        station_id = request.match_info["id"]

        async def job() -> dict:
            result, version, entries = await manager.local_lists.send_local_list(
                station_id, body.get("updateType", "Full"), body.get("tags"))
            return {"status": "ok", "response": _answer(result), "listVersion": version,
                    "entries": entries}
        return await command_response(hub, station_id, "SendLocalList", job)

    async def get_local_list(request: web.Request) -> web.Response:
        station_id = request.match_info["id"]
        state = manager.local_lists.state(station_id)
        if state is None:
            return _json({"station_id": station_id, "listVersion": 0, "tags": [], "updated": None})
        return _json({"station_id": station_id, "listVersion": state["list_version"],
                      "updateType": state["update_type"], "tags": state["tags"],
                      "updated": state["updated"]})

    # -- reservations ---------------------------------------------------------------------
    async def post_reservation(request: web.Request) -> web.Response:
        body = await _body(request)
        if isinstance(body, web.Response):
            return body
        unknown = set(body) - {"connectorId", "idTag", "expiryDate", "parentIdTag"}
        if unknown:
            return _error(400, f"unknown fields {sorted(unknown)}; expected connectorId, idTag, "
                               "expiryDate, parentIdTag")
        station_id = request.match_info["id"]

        async def job() -> dict:
            result, row = await manager.reservations.reserve(
                station_id, body.get("connectorId"), body.get("idTag"), body.get("expiryDate"),
                body.get("parentIdTag"))
            return {"status": "ok", "response": _answer(result), "reservation": row}
        return await command_response(hub, station_id, "ReserveNow", job)

    async def get_reservations(request: web.Request) -> web.Response:
        return _json(manager.reservations.list(request.match_info["id"]))

    async def delete_reservation(request: web.Request) -> web.Response:
        station_id = request.match_info["id"]
        try:
            rid = int(request.match_info["rid"])
        except ValueError:
            return _error(400, "the reservation id must be an integer")

        async def job() -> dict:
            result, row = await manager.reservations.cancel(station_id, rid)
            return {"status": "ok", "response": _answer(result), "reservation": row}
        return await command_response(hub, station_id, "CancelReservation", job)

    # -- charging profiles ----------------------------------------------------------------
    async def get_profiles(request: web.Request) -> web.Response:
        return _json([{"connectorId": p["connector_id"], "chargingProfile": profile_to_wire(p["profile"]),
                       "source": p["source"], "setAt": p["set_at"]}
                      for p in manager.profiles.list(request.match_info["id"])])

    # -- security -------------------------------------------------------------------------
    async def put_password(request: web.Request) -> web.Response:
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            body = None
        password = body.get("password") if isinstance(body, dict) else None
        if not isinstance(password, str) or not password:
            return web.json_response({"error": 'body must be {"password": "<non-empty string>"}'},
                                     status=400)
        hub.security.set_password(request.match_info["id"], password)
        return web.json_response({"id": request.match_info["id"], "password": "set"})

    async def delete_password(request: web.Request) -> web.Response:
        station_id = request.match_info["id"]
        if not hub.security.has_password(station_id):
            return web.json_response({"error": f"station {station_id!r} has no password"}, status=404)
        hub.security.set_password(station_id, None)
        return web.json_response({"id": station_id, "password": "removed"})

    async def security_events(request: web.Request) -> web.Response:
        return web.json_response(hub.security.security_events(request.match_info["id"]))

    async def certificates(request: web.Request) -> web.Response:
        if manager.certificates.ca is None:
            return web.json_response({"error": "this hub has no certificate authority "
                                               "(HubConfig ca_cert/ca_key or auto_ca)"}, status=404)
        return web.json_response(manager.certificates.issued(request.match_info["id"]))

    return [web.post("/stations/{id}/local-list", post_local_list),
            web.get("/stations/{id}/local-list", get_local_list),
            web.post("/stations/{id}/reservations", post_reservation),
            web.get("/stations/{id}/reservations", get_reservations),
            web.delete("/stations/{id}/reservations/{rid}", delete_reservation),
            web.get("/stations/{id}/charging-profiles", get_profiles),
            web.put("/stations/{id}/password", put_password),
            web.delete("/stations/{id}/password", delete_password),
            web.get("/stations/{id}/security-events", security_events),
            web.get("/stations/{id}/certificates", certificates)]
