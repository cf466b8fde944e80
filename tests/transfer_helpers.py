"""Helpers for the firmware and diagnostics tests: a small HTTP file server with scripted
answers, an `ocpp`-library CSMS that also speaks the security extensions' notifications,
and a manufacturer PKI that signs firmware images."""
from __future__ import annotations

import asyncio
import base64
import contextlib
from datetime import datetime, timedelta, timezone

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from tests.ocpp_lib_csms import FakeCsms, Peer


class FileServer:
    """Serves `files` on GET, stores PUT/POST bodies in `uploads`; `status` forces an HTTP
    status for every request; `gate` (an Event) holds requests until set."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.status: int | None = None
        self.gate: asyncio.Event | None = None
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        self.requests.append((request.method, "/" + path))
        if self.status is not None:
            return web.Response(status=self.status, text="scripted failure")
        if self.gate is not None:
            await self.gate.wait()
        if request.method == "GET":
            if path not in self.files:
                return web.Response(status=404, text="no such file")
            return web.Response(body=self.files[path])
        self.uploads[path] = await request.read()
        return web.Response(status=201)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def close(self) -> None:
        await self._runner.cleanup()


@contextlib.asynccontextmanager
async def file_server():
    server = FileServer()
    await server.start()
    try:
        yield server
    finally:
        await server.close()


class SecurityPeer(Peer):
    @on(Action.log_status_notification)
    def on_log_status(self, status, request_id=None):
        return call_result.LogStatusNotification()

    @on(Action.signed_firmware_status_notification)
    def on_signed_firmware_status(self, status, request_id=None):
        return call_result.SignedFirmwareStatusNotification()

    @on(Action.security_event_notification)
    def on_security_event(self, type, timestamp, tech_info=None):
        return call_result.SecurityEventNotification()


class SecurityCsms(FakeCsms):
    """FakeCsms whose peers also answer LogStatusNotification and the signed firmware
    notifications (the base Peer only knows the Core notifications)."""

    async def _serve(self, ws) -> None:
        import websockets
        path = ws.request.path
        self.paths.append(path)
        station_id = path.rstrip("/").rsplit("/", 1)[-1]
        peer = SecurityPeer(station_id, ws, self)
        self.peers[station_id] = peer
        self.connections += 1
        self._changed.set()
        with contextlib.suppress(websockets.ConnectionClosed):
            await peer.start()


# -- a manufacturer PKI ----------------------------------------------------------------------
def _cert(subject: str, key, issuer_name: str, issuer_key, ca: bool) -> x509.Certificate:
    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class Manufacturer:
    """A root CA and a firmware-signing certificate issued by it."""

    def __init__(self, name: str = "Acme Firmware"):
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _cert(f"{name} Root", self.root_key, f"{name} Root", self.root_key, True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.signing = _cert(f"{name} Signing", self.key, f"{name} Root", self.root_key, False)

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


def iso_in(seconds: float = 0) -> str:
    ts = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
