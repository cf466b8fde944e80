"""Files exchanged with stations: uploads (diagnostics, logs) and firmware images, on disk.

Directories: HubConfig.uploads_dir / firmware_dir (None: a temporary directory, removed on
`close`); HubConfig.firmware {name: bytes, or the path of a file} seeds images.  Names are
plain file names ([A-Za-z0-9._-], not starting with a dot): `check_name` refuses anything
else, so no name reaches outside the directories.  The HTTP side is `api/files.py`.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

MAX_FILE = 64 * 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}")


def valid_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))


def _entry(path: Path) -> dict:
    st = path.stat()
    return {"name": path.name, "size": st.st_size,
            "modified": datetime.fromtimestamp(st.st_mtime, timezone.utc).isoformat()}


class FileStore:
    def __init__(self, uploads_dir: str | None = None, firmware_dir: str | None = None,
                 firmware: dict[str, bytes | str] | None = None):
        self._temp: list[str] = []
        self.uploads = self._dir(uploads_dir, "uploads")
        self.firmware = self._dir(firmware_dir, "firmware")
        for name, content in (firmware or {}).items():
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

    # -- firmware -----------------------------------------------------------------------
    def publish(self, name: str, data: bytes) -> Path:
        if not valid_name(name):
            raise ValueError(f"bad firmware name {name!r}")
        path = self.firmware / name
        path.write_bytes(data)
        return path

    def firmware_images(self) -> list[dict]:
        return [_entry(p) for p in sorted(self.firmware.iterdir()) if p.is_file()]

    def firmware_path(self, name: str) -> Path | None:
        path = self.firmware / name
        return path if valid_name(name) and path.is_file() else None

    # -- uploads ------------------------------------------------------------------------
    def save_upload(self, station_id: str, name: str, data: bytes) -> None:
        if not (valid_name(station_id) and valid_name(name)):
            raise ValueError(f"bad upload name {station_id!r}/{name!r}")
        d = self.uploads / station_id
        d.mkdir(exist_ok=True)
        (d / name).write_bytes(data)

    def uploaded(self, station_id: str) -> list[dict]:
        d = self.uploads / station_id
        if not valid_name(station_id) or not d.is_dir():
            return []
        return sorted((_entry(p) for p in d.iterdir() if p.is_file()),
                      key=lambda e: (e["modified"], e["name"]))

    def upload_path(self, station_id: str, name: str) -> Path | None:
        path = self.uploads / station_id / name
        return path if valid_name(station_id) and valid_name(name) and path.is_file() else None

    def read_upload(self, station_id: str, name: str) -> bytes:
        return (self.uploads / station_id / name).read_bytes()
