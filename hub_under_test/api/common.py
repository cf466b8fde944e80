"""Helpers shared by the API's route modules: JSON answers, request bodies, and the one
mapping from a command's outcome (sent, refused, timed out, ...) to an HTTP answer."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Awaitable, Callable

import orjson
from aiohttp import web

from simulator.protocol import OcppError, spell_error_code
from simulator.session import CallErrorReceived, CallTimeout, InvalidResponse, SessionClosed

from ..errors import HubError
from ..messages import format_time

if TYPE_CHECKING:
    from ..hub import Hub


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


def format_time_epoch(ts: float) -> str:
    return format_time(datetime.fromtimestamp(ts, timezone.utc))
