"""HTTP routes for files exchanged with stations (the files live in `store/files.py`).

| method & path                          | answer |
|----------------------------------------|--------|
| PUT/POST /uploads/{station_id}/{name}  | store an upload (a station's diagnostics or log) → 201 {"status":"ok","size"} |
| GET  /uploads/{station_id}             | [{"name","size","modified"}], oldest first (404: nothing from that station) |
| GET  /uploads/{station_id}/{name}      | the file |
| PUT  /firmware/{name}                  | publish a firmware image (body = the bytes) → 201 {"status":"ok","url"} |
| GET  /firmware                         | [{"name","size","url"}] |
| GET  /firmware/{name}                  | the image (what UpdateFirmware's location points at) |

So GetDiagnostics / GetLog take `location = {api_url}/uploads/{station_id}` (stations PUT
`{location}/{file name}`), and UpdateFirmware `location = {api_url}/firmware/{name}`.
Bad names are 400, bodies over MAX_FILE bytes 413.  An upload goes through the manager,
which publishes `files.uploaded`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ..store.files import MAX_FILE, valid_name
from .common import _error, _json

if TYPE_CHECKING:
    from .hub_face import HubFace


async def _read_body(request: web.Request) -> bytes | web.Response:
    data = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        data += chunk
        if len(data) > MAX_FILE:
            return _error(413, f"file larger than {MAX_FILE} bytes")
    return bytes(data)


def _names(request: web.Request, *keys: str) -> list[str] | web.Response:
    values = [request.match_info[k] for k in keys]
    for key, value in zip(keys, values):
        if not valid_name(value):
            return _error(400, f"bad {key} {value!r}: use letters, digits, '.', '_' and "
                               "'-', not starting with '.'")
    return values


def routes(hub: HubFace) -> list[web.RouteDef]:
    files, manager = hub.files, hub.manager

    def url(name: str) -> str | None:
        base = hub.api_url
        return f"{base}/firmware/{name}" if base else None

    async def put_upload(request: web.Request) -> web.Response:
        names = _names(request, "station_id", "name")
        if isinstance(names, web.Response):
            return names
        data = await _read_body(request)
        if isinstance(data, web.Response):
            return data
        station_id, name = names
        manager.file_uploaded(station_id, name, data)
        return _json({"status": "ok", "name": name, "size": len(data)}, 201)

    async def list_uploads(request: web.Request) -> web.Response:
        names = _names(request, "station_id")
        if isinstance(names, web.Response):
            return names
        uploaded = files.uploaded(names[0])
        if not uploaded:
            return _error(404, f"no uploads from station {names[0]!r}")
        return _json(uploaded)

    async def get_upload(request: web.Request) -> web.StreamResponse:
        names = _names(request, "station_id", "name")
        if isinstance(names, web.Response):
            return names
        path = files.upload_path(*names)
        if path is None:
            return _error(404, f"no upload {names[1]!r} from station {names[0]!r}")
        return web.FileResponse(path)

    async def put_firmware(request: web.Request) -> web.Response:
        names = _names(request, "name")
        if isinstance(names, web.Response):
            return names
        data = await _read_body(request)
        if isinstance(data, web.Response):
            return data
        files.publish(names[0], data)
        return _json({"status": "ok", "name": names[0], "size": len(data),
                      "url": url(names[0])}, 201)

    async def list_firmware(request: web.Request) -> web.Response:
        return _json([{**entry, "url": url(entry["name"])} for entry in files.firmware_images()])

    async def get_firmware(request: web.Request) -> web.StreamResponse:
        names = _names(request, "name")
        if isinstance(names, web.Response):
            return names
        path = files.firmware_path(names[0])
        if path is None:
            return _error(404, f"no firmware {names[0]!r}")
        return web.FileResponse(path)

    return [
        web.put("/uploads/{station_id}/{name}", put_upload),
        web.post("/uploads/{station_id}/{name}", put_upload),
        web.get("/uploads/{station_id}", list_uploads),
        web.get("/uploads/{station_id}/{name}", get_upload),
        web.put("/firmware/{name}", put_firmware),
        web.get("/firmware", list_firmware),
        web.get("/firmware/{name}", get_firmware),
    ]
