"""File exchange for firmware and diagnostics, on the hub's HTTP API.

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
Directories: HubConfig.uploads_dir / firmware_dir (None: a temporary directory, removed when
the hub stops); HubConfig.firmware {name: bytes, or the path of a file} seeds images.
Names are plain file names ([A-Za-z0-9._-], not starting with a dot): anything else is 400,
so no request reaches outside the directories.  Bodies are limited to MAX_FILE bytes (413).
An upload also publishes the domain event `files.uploaded`.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from aiohttp import web

from .messages import FileUploaded

if TYPE_CHECKING:
    from .hub import Hub

MAX_FILE = 64 * 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}")


def _json(data, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json({"status": "error", "message": message}, status)


def _entry(path: Path) -> dict:
    st = path.stat()
    return {"name": path.name, "size": st.st_size,
            "modified": datetime.fromtimestamp(st.st_mtime, timezone.utc).isoformat()}


class FileStore:
    def __init__(self, hub: Hub):
        cfg = hub.config
        self.hub = hub
        self._temp: list[str] = []
        self.uploads = self._dir(getattr(cfg, "uploads_dir", None), "uploads")
        self.firmware = self._dir(getattr(cfg, "firmware_dir", None), "firmware")
        for name, content in (getattr(cfg, "firmware", None) or {}).items():
            if isinstance(content, str) and os.path.isfile(content):
                content = Path(content).read_bytes()
            self.publish(name, content if isinstance(content, bytes) else content.encode())

    def _dir(self, configured: str | None, what: str) -> Path:
        if configured is None:
            configured = tempfile.mkdtemp(prefix=f"chargesim-hub-{what}-")
            self._temp.append(configured)
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        for d in self._temp:
            shutil.rmtree(d, ignore_errors=True)
        self._temp.clear()

    def publish(self, name: str, data: bytes) -> Path:
        if not _NAME.fullmatch(name):
            raise ValueError(f"bad firmware name {name!r}")
        path = self.firmware / name
        path.write_bytes(data)
        return path

    def uploaded(self, station_id: str) -> list[dict]:
        d = self.uploads / station_id
        if not _NAME.fullmatch(station_id) or not d.is_dir():
            return []
        return sorted((_entry(p) for p in d.iterdir() if p.is_file()),
                      key=lambda e: (e["modified"], e["name"]))

    def read_upload(self, station_id: str, name: str) -> bytes:
        return (self.uploads / station_id / name).read_bytes()

    # -- HTTP ---------------------------------------------------------------------------
    async def _read_body(self, request: web.Request) -> bytes | web.Response:
        data = bytearray()
        async for chunk in request.content.iter_chunked(65536):
            data += chunk
            if len(data) > MAX_FILE:
                return _error(413, f"file larger than {MAX_FILE} bytes")
        return bytes(data)

    def _names(self, request: web.Request, *keys: str) -> list[str] | web.Response:
        values = [request.match_info[k] for k in keys]
        for key, value in zip(keys, values):
            if not _NAME.fullmatch(value):
                return _error(400, f"bad {key} {value!r}: use letters, digits, '.', '_' and "
                                   "'-', not starting with '.'")
        return values

    async def put_upload(self, request: web.Request) -> web.Response:
        names = self._names(request, "station_id", "name")
        if isinstance(names, web.Response):
            return names
        data = await self._read_body(request)
        if isinstance(data, web.Response):
            return data
        station_id, name = names
        d = self.uploads / station_id
        d.mkdir(exist_ok=True)
        (d / name).write_bytes(data)
        self.hub.events.publish(FileUploaded.TOPIC, FileUploaded(station_id, name, len(data)),
                                station_id)
        return _json({"status": "ok", "name": name, "size": len(data)}, 201)

    async def list_uploads(self, request: web.Request) -> web.Response:
        names = self._names(request, "station_id")
        if isinstance(names, web.Response):
            return names
        files = self.uploaded(names[0])
        if not files:
            return _error(404, f"no uploads from station {names[0]!r}")
        return _json(files)

    async def get_upload(self, request: web.Request) -> web.StreamResponse:
        names = self._names(request, "station_id", "name")
        if isinstance(names, web.Response):
            return names
        path = self.uploads / names[0] / names[1]
        if not path.is_file():
            return _error(404, f"no upload {names[1]!r} from station {names[0]!r}")
        return web.FileResponse(path)

    async def put_firmware(self, request: web.Request) -> web.Response:
        names = self._names(request, "name")
        if isinstance(names, web.Response):
            return names
        data = await self._read_body(request)
        if isinstance(data, web.Response):
            return data
        self.publish(names[0], data)
        return _json({"status": "ok", "name": names[0], "size": len(data),
                      "url": self.url(names[0])}, 201)

    async def list_firmware(self, request: web.Request) -> web.Response:
        return _json([{**_entry(p), "url": self.url(p.name)}
                      for p in sorted(self.firmware.iterdir()) if p.is_file()])

    async def get_firmware(self, request: web.Request) -> web.StreamResponse:
        names = self._names(request, "name")
        if isinstance(names, web.Response):
            return names
        path = self.firmware / names[0]
        if not path.is_file():
            return _error(404, f"no firmware {names[0]!r}")
        return web.FileResponse(path)

    def url(self, name: str) -> str | None:
        base = self.hub.api_url
        return f"{base}/firmware/{name}" if base else None


def routes(api) -> list[web.RouteDef]:
    """The routes, and the store as `hub.files` (removed with the API's app)."""
    store = FileStore(api.hub)
    api.hub.files = store

    async def cleanup(app):
        store.close()
    api.app.on_cleanup.append(cleanup)
    return [
        web.put("/uploads/{station_id}/{name}", store.put_upload),
        web.post("/uploads/{station_id}/{name}", store.put_upload),
        web.get("/uploads/{station_id}", store.list_uploads),
        web.get("/uploads/{station_id}/{name}", store.get_upload),
        web.put("/firmware/{name}", store.put_firmware),
        web.get("/firmware", store.list_firmware),
        web.get("/firmware/{name}", store.get_firmware),
    ]
