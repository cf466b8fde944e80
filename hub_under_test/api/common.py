"""Helpers shared by the API's route modules: JSON answers, request bodies, query
parameters, the middleware that makes every error status answer JSON, and the one mapping
from a command's outcome (sent, refused, timed out, ...) to an HTTP answer."""
from __future__ import annotations

import logging
import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Awaitable, Callable

import orjson
from aiohttp import web

from simulator.protocol import OcppError, spell_error_code
from simulator.session import CallErrorReceived, CallTimeout, InvalidResponse, SessionClosed

from ..errors import HubError
from ..messages import format_time

if TYPE_CHECKING:
    from .hub_face import HubFace

log = logging.getLogger(__name__)


def _json(data, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _error(status: int, message: str, **extra) -> web.Response:
    return _json({"status": "error", "message": message, **extra}, status)


class BadParameter(Exception):
    """A query parameter the route cannot use: answered 400, naming the parameter."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name


def query_params(request: web.Request, *allowed: str) -> None:
    """Refuse parameters the route does not take (a misspelt `limt=5` would else be ignored)."""
    for name in request.query:
        if name not in allowed:
            expected = ", ".join(allowed) if allowed else "none"
            raise BadParameter(name, f"unknown query parameter {name!r}; this route takes: {expected}")


def query_int(request: web.Request, name: str, default: int | None, low: int, high: int
              ) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise BadParameter(name, f"{name} must be an integer from {low} to {high}, got {raw!r}")
    return value


def query_float(request: web.Request, name: str, low: float, high: float) -> float | None:
    """A number in (low, high]; None when absent."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low < value <= high:   # NaN fails too
        raise BadParameter(name, f"{name} must be a number in ({low:g}, {high:g}], got {raw!r}")
    return value


def query_bool(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    value = {"true": True, "1": True, "false": False, "0": False}.get(raw.lower())
    if value is None:
        raise BadParameter(name, f"{name} must be true or false, got {raw!r}")
    return value


@web.middleware
async def json_errors(request: web.Request, handler) -> web.StreamResponse:
    """Every error answers JSON {"status": "error", "message", ...}: aiohttp's own answers
    (unknown route 404, 405, an over-large body's 413) would be plain text, and a client
    of a JSON API should not need a second parser for its failures."""
    try:
        return await handler(request)
    except BadParameter as e:
        return _error(400, str(e), parameter=e.name)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        message = e.text if e.text and not e.text.startswith(f"{e.status}:") else e.reason
        if e.status == 404:
            message = f"no route {request.method} {request.path}"
        response = _error(e.status, message)
        if "Allow" in e.headers:
            response.headers["Allow"] = e.headers["Allow"]
        return response
    except Exception as e:   # a route's bug: the client still gets JSON, the log the trace
        log.exception("%s %s failed", request.method, request.path)
        return _error(500, f"internal error: {type(e).__name__}")


async def command_response(hub: "HubFace", station_id: str, action: str,
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


def format_time_epoch(ts: float) -> str:
    return format_time(datetime.fromtimestamp(ts, timezone.utc))
