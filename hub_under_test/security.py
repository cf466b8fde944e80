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
- Unknown stations: with `HubConfig.unknown_stations="refuse"` (no auto-registration) a
  station the operator has not registered (`known_stations`, the registration API, a
  password) and that was never accepted is refused at the handshake with 404, as OCPP-J
  1.6 asks for an unknown identity — after the credentials are checked, so a 404 does not
  tell a stranger which ids exist.
- A failed TLS handshake (e.g. a client certificate from an unknown CA) is logged with the
  peer's address and the reason; asyncio itself says nothing about it outside debug mode.
- No secret is logged: the websockets debug log of handshake headers shows
  `Authorization: Basic <redacted>` (simulator.transport.websocket), and the frame log
  served by the API and the debug page hides AuthorizationKey values.
- SecurityEventNotifications are recorded by the manager (`store.security_events`).
Passwords live in the store (`store.passwords`); this module keeps a cache of them.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http
import logging
import os
import ssl
import sys
from typing import Any, Protocol

from simulator.transport import tls

log = logging.getLogger(__name__)

ITERATIONS = 20_000   # per handshake: cheap enough for reconnect storms, still salted + slow


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)


class SecuredHub(Protocol):
    """What the security checks need of their hub (`Hub` satisfies it, a worker front too): a
    structural type, so this module names no `hub.py`."""
    config: Any    # hub.HubConfig (station_passwords, require_auth, tls_client_ca)
    store: Any     # store.Store (passwords, security_events)
    metrics: Any   # metrics.HubMetrics (refused)
    server: Any    # server.OcppServer (its frame log), None before start


class HubSecurity:
    def __init__(self, hub: SecuredHub):
        self.hub = hub
        self.passwords = hub.store.passwords
        self._cache: dict[str, tuple[bytes, bytes] | None] = {}
        self._verified: dict[str, bytes] = {}
        for station_id, password in hub.config.station_passwords.items():
            self.set_password(station_id, password)

    # -- passwords --------------------------------------------------------------------
    def set_password(self, station_id: str, password: str | None) -> None:
        """Set (or with None remove) a station's Basic auth password."""
        self._verified.pop(station_id, None)
        if password is None:
            self.passwords.delete(station_id)
            self._cache[station_id] = None
            return
        salt = os.urandom(16)
        digest = _hash(password, salt)
        self.passwords.set(station_id, salt, digest)
        self._cache[station_id] = (salt, digest)

    def forget(self, station_id: str) -> None:
        """Another process changed the station's password in the store: read it again."""
        self._cache.pop(station_id, None)
        self._verified.pop(station_id, None)

    def _stored(self, station_id: str) -> tuple[bytes, bytes] | None:
        if station_id not in self._cache:
            self._cache[station_id] = self.passwords.get(station_id)
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
            return self._check_known(connection, station_id)   # profile 3: the certificate
        if not (self.has_password(station_id) or cfg.require_auth):
            return self._check_known(connection, station_id)
        credentials = basic_credentials(request.headers.get("Authorization"))
        if credentials is None:
            return self._unauthorized(connection, station_id, "Basic authentication required")
        user, password = credentials
        if not hmac.compare_digest(user.encode(), station_id.encode()) \
                or not self.check_password(station_id, password):
            return self._unauthorized(connection, station_id, "wrong station id or password")
        return self._check_known(connection, station_id)

    def is_known(self, station_id: str) -> bool:
        """Registered by the operator, accepted before, or given a password."""
        manager = getattr(self.hub, "manager", None)   # a worker front has only the store
        if manager is not None:
            st = manager.stations.get(station_id)
            if st is not None and "Accepted" in (st.operator, st.registration):
                return True
        else:
            row = self.hub.store.get_station(station_id)
            if row and "Accepted" in (row.get("registration"), row.get("status")):
                return True
        return self.has_password(station_id)

    def _check_known(self, connection, station_id: str):
        if self.hub.config.unknown_stations != "refuse" or self.is_known(station_id):
            return None
        return self._refuse(connection, station_id, http.HTTPStatus.NOT_FOUND,
                            f"unknown station {station_id!r} (auto-registration is off: "
                            f"register it first)", metric="unknown")

    def _unauthorized(self, connection, station_id: str, reason: str):
        response = self._refuse(connection, station_id, http.HTTPStatus.UNAUTHORIZED, reason)
        response.headers["WWW-Authenticate"] = 'Basic realm="OCPP", charset="UTF-8"'
        return response

    def _refuse(self, connection, station_id: str, status: http.HTTPStatus, reason: str,
                *, metric: str = "auth"):
        self.hub.metrics.refused.inc(reason=metric)
        server = self.hub.server
        if server is not None:
            server.frames.note(station_id, "in", "-", f"refused {status.value}: {reason}")
        log.warning("%s: refused %d from %s: %s", station_id, status.value,
                    _peer(connection), reason)
        return connection.respond(status, reason + "\n")

    def security_events(self, station_id: str) -> list[dict]:
        """The SecurityEventNotifications a station sent (recorded by the manager)."""
        return self.hub.store.security_events.list(station_id)


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


SECRET_KEYS = ("AuthorizationKey", "BasicAuthPassword")   # 1.6 key, 2.0.1 variable: credentials
REDACTED = "<redacted>"


def redact_frame(raw: str | bytes) -> str | bytes:
    """A frame with the values of secret configuration keys hidden (ChangeConfiguration of
    AuthorizationKey, a GetConfiguration answer that lists it, 2.0.1 SetVariables of
    BasicAuthPassword), for the frame log's readers:
    the API and the debug page.  Frames without such a key come back as they are."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if not any(key in text for key in SECRET_KEYS):
        return raw
    try:
        import orjson
        frame = orjson.loads(text)
    except ValueError:
        return raw
    changed = False

    def hide(entry) -> None:
        nonlocal changed
        if isinstance(entry, dict) and entry.get("key") in SECRET_KEYS and "value" in entry:
            entry["value"] = REDACTED
            changed = True

    if isinstance(frame, list) and len(frame) >= 3:
        payload = frame[3] if frame[0] == 2 and len(frame) > 3 else frame[2]
        if isinstance(payload, dict):
            hide(payload)
            for entry in payload.get("configurationKey") or ():
                hide(entry)
            for entry in payload.get("setVariableData") or ():   # 2.0.1 SetVariables
                if (isinstance(entry, dict) and isinstance(entry.get("variable"), dict)
                        and entry["variable"].get("name") in SECRET_KEYS
                        and "attributeValue" in entry):
                    entry["attributeValue"] = REDACTED
                    changed = True
    return orjson.dumps(frame).decode() if changed else raw


def _peer(connection) -> str:
    address = getattr(connection, "remote_address", None)
    return f"{address[0]}:{address[1]}" if address else "an unknown peer"


def server_ssl(cfg):
    """The TLS context of the OCPP endpoint, or None for ws://."""
    if not cfg.tls_cert:
        return None
    ctx = tls.server_context(cfg.tls_cert, cfg.tls_key, cfg.tls_client_ca)
    ctx.sslobject_class = _LoggedHandshake
    return ctx


class _LoggedHandshake(ssl.SSLObject):
    """The server side of one TLS connection, logging a failed handshake with its reason.

    asyncio drops a failed TLS handshake silently (it logs OSErrors only in debug mode) and
    websockets never sees the connection, so this is the one place that knows.  The peer's
    address is read from asyncio's SSL protocol that drives the handshake, when it is the
    caller (not under uvloop, whose protocol is compiled: the address is then unknown)."""

    def do_handshake(self):
        try:
            return super().do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise
        except ssl.SSLError as e:
            reason = getattr(e, "verify_message", None) or e.reason or str(e)
            hint = ""
            if isinstance(e, ssl.SSLCertVerificationError) or "CERTIFICATE" in str(e).upper():
                hint = " (the client's certificate is not signed by the hub's --tls-client-ca)"
            log.warning("TLS handshake from %s failed: %s%s", _handshake_peer(), reason, hint)
            raise


def _handshake_peer() -> str:
    try:
        protocol = sys._getframe(2).f_locals.get("self")
        transport = getattr(protocol, "_transport", None)
        address = transport.get_extra_info("peername") if transport is not None else None
    except Exception:   # a best effort: never let the log line break the handshake
        address = None
    return f"{address[0]}:{address[1]}" if address else "an unknown peer"


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
