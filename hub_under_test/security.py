"""The hub's side of the OCPP 1.6 security profiles, checked at the opening handshake.

- Basic auth (profiles 1 and 2): a station with a password in the store must send
  `Authorization: Basic base64(station_id:password)`; a wrong or missing one is answered 401
  (logged, counted) before any WebSocket frame, and touches no other station.  With
  `HubConfig.require_auth`, a station without a stored password is refused too.  Passwords
  are kept as salted PBKDF2 hashes (seeded from `HubConfig.station_passwords`, set with
  `PUT /stations/{id}/password`).
- TLS (profile 2): `HubConfig.tls_cert` / `tls_key`.  Mutual TLS (profile 3):
  `HubConfig.tls_client_ca`; a client certificate is then required and its CN must be the
  station id (403 otherwise); Basic auth is not used with a client certificate.
- SecurityEventNotifications are recorded in the `security_events` table.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http
import logging
import os
from typing import TYPE_CHECKING

import orjson
from aiohttp import web

from simulator.transport import tls

from .messages import SecurityEvent, format_time

if TYPE_CHECKING:
    from .hub import Hub

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS station_passwords (
    station_id  TEXT PRIMARY KEY,
    salt        BLOB NOT NULL,
    hash        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS security_events (
    id          INTEGER PRIMARY KEY,
    station_id  TEXT NOT NULL,
    type        TEXT NOT NULL,
    timestamp   TEXT NOT NULL,
    tech_info   TEXT
);
"""
ITERATIONS = 20_000   # per handshake: cheap enough for reconnect storms, still salted + slow


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)


class HubSecurity:
    def __init__(self, hub: Hub):
        self.hub = hub
        self.db = hub.store.db
        self.db.executescript(SCHEMA)
        self._cache: dict[str, tuple[bytes, bytes] | None] = {}
        self._verified: dict[str, bytes] = {}
        for station_id, password in hub.config.station_passwords.items():
            self.set_password(station_id, password)
        self._sub = hub.events.subscribe(SecurityEvent.TOPIC, self._record_event)

    def close(self) -> None:
        self.hub.events.unsubscribe(self._sub)

    # -- passwords --------------------------------------------------------------------
    def set_password(self, station_id: str, password: str | None) -> None:
        """Set (or with None remove) a station's Basic auth password."""
        self._verified.pop(station_id, None)
        if password is None:
            self.db.execute("DELETE FROM station_passwords WHERE station_id = ?", (station_id,))
            self._cache[station_id] = None
            return
        salt = os.urandom(16)
        digest = _hash(password, salt)
        self.db.execute("INSERT OR REPLACE INTO station_passwords VALUES (?, ?, ?)",
                        (station_id, salt, digest))
        self._cache[station_id] = (salt, digest)

    def _stored(self, station_id: str) -> tuple[bytes, bytes] | None:
        if station_id not in self._cache:
            row = self.db.execute("SELECT salt, hash FROM station_passwords WHERE station_id = ?",
                                  (station_id,)).fetchone()
            self._cache[station_id] = (row[0], row[1]) if row else None
        return self._cache[station_id]

    def has_password(self, station_id: str) -> bool:
        return self._stored(station_id) is not None

    def check_password(self, station_id: str, password: str) -> bool:
        stored = self._stored(station_id)
        if stored is None:
            return False
        # Fast path for reconnects: the last password that passed PBKDF2, as a salted SHA-256.
        quick = hashlib.sha256(stored[0] + password.encode()).digest()
        if hmac.compare_digest(self._verified.get(station_id, b""), quick):
            return True
        if not hmac.compare_digest(_hash(password, stored[0]), stored[1]):
            return False
        self._verified[station_id] = quick
        return True

    # -- the handshake ----------------------------------------------------------------
    def check_handshake(self, connection, request, station_id: str):
        """None to go on, or the HTTP response refusing this station."""
        cfg = self.hub.config
        if cfg.tls_client_ca:
            peer = connection.transport.get_extra_info("peercert") if connection.transport else None
            if not peer:
                return self._refuse(connection, station_id, http.HTTPStatus.FORBIDDEN,
                                    "a client certificate is required (security profile 3)")
            cn = next((v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName"),
                      None)
            if cn != station_id:
                return self._refuse(connection, station_id, http.HTTPStatus.FORBIDDEN,
                                    f"client certificate CN {cn!r} is not the station id")
            return None   # profile 3: the certificate authenticates the station
        if not (self.has_password(station_id) or cfg.require_auth):
            return None
        credentials = _basic_credentials(request.headers.get("Authorization"))
        if credentials is None:
            return self._unauthorized(connection, station_id, "Basic authentication required")
        user, password = credentials
        if user != station_id or not self.check_password(station_id, password):
            return self._unauthorized(connection, station_id, "wrong station id or password")
        return None

    def _unauthorized(self, connection, station_id: str, reason: str):
        response = self._refuse(connection, station_id, http.HTTPStatus.UNAUTHORIZED, reason)
        response.headers["WWW-Authenticate"] = 'Basic realm="OCPP", charset="UTF-8"'
        return response

    def _refuse(self, connection, station_id: str, status: http.HTTPStatus, reason: str):
        self.hub.metrics.refused.inc(reason="auth")
        server = self.hub.server
        if server is not None:
            server.frames.note(station_id, "in", "-", f"refused {status.value}: {reason}")
        log.warning("%s: refused %d: %s", station_id, status.value, reason)
        return connection.respond(status, reason + "\n")

    # -- security events --------------------------------------------------------------
    def _record_event(self, event) -> None:
        msg: SecurityEvent = event.message
        self.db.execute("INSERT INTO security_events (station_id, type, timestamp, tech_info) "
                        "VALUES (?, ?, ?, ?)",
                        (msg.station_id, msg.type, format_time(msg.timestamp), msg.tech_info))

    def security_events(self, station_id: str) -> list[dict]:
        rows = self.db.execute("SELECT type, timestamp, tech_info FROM security_events "
                               "WHERE station_id = ? ORDER BY id", (station_id,)).fetchall()
        return [{"type": t, "timestamp": ts, "tech_info": info} for t, ts, info in rows]


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def server_ssl(cfg):
    """The TLS context of the OCPP endpoint, or None for ws://."""
    if not cfg.tls_cert:
        return None
    return tls.server_context(cfg.tls_cert, cfg.tls_key, cfg.tls_client_ca)


# -- HTTP API -------------------------------------------------------------------------------
def api_routes(hub: Hub) -> list:
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
        if hub.pki is None:
            return web.json_response({"error": "this hub has no certificate authority "
                                               "(HubConfig ca_cert/ca_key or auto_ca)"}, status=404)
        return web.json_response(hub.pki.issued(request.match_info["id"]))

    return [web.put("/stations/{id}/password", put_password),
            web.delete("/stations/{id}/password", delete_password),
            web.get("/stations/{id}/security-events", security_events),
            web.get("/stations/{id}/certificates", certificates)]


# -- command line (python -m hub_under_test / chargesim hub) ---------------------------------
def add_arguments(p) -> None:
    g = p.add_argument_group("security (OCPP 1.6 security profiles)")
    g.add_argument("--station-password", action="append", default=[], metavar="ID=PASSWORD",
                   help="Basic auth password of a station (repeatable)")
    g.add_argument("--require-auth", action="store_true",
                   help="refuse stations that have no password (401)")
    g.add_argument("--tls-cert", help="serve wss:// with this certificate (PEM file)")
    g.add_argument("--tls-key", help="its private key (PEM file)")
    g.add_argument("--tls-client-ca", help="require client certificates from this CA (PEM file)")
    g.add_argument("--ca-cert", help="CA that signs SignCertificate CSRs (PEM file)")
    g.add_argument("--ca-key", help="its private key (PEM file)")
    g.add_argument("--auto-ca", action="store_true", help="sign CSRs with a throwaway CA")


def config_from_args(a) -> dict:
    passwords = {}
    for item in a.station_password:
        station_id, sep, password = item.partition("=")
        if not sep or not station_id or not password:
            raise SystemExit(f"--station-password takes ID=PASSWORD, not {item!r}")
        passwords[station_id] = password
    if bool(a.tls_cert) != bool(a.tls_key):
        raise SystemExit("--tls-cert and --tls-key go together")
    if a.tls_client_ca and not a.tls_cert:
        raise SystemExit("--tls-client-ca needs --tls-cert / --tls-key")
    return dict(station_passwords=passwords, require_auth=a.require_auth, tls_cert=a.tls_cert,
                tls_key=a.tls_key, tls_client_ca=a.tls_client_ca, ca_cert=a.ca_cert,
                ca_key=a.ca_key, auto_ca=a.auto_ca)
