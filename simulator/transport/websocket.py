"""OCPP-J over WebSocket: connection settings measured for thousands of connections.

compression off (≈14–20 KiB per idle connection instead of ≈60 KiB), a 64 KiB frame limit
(a larger frame closes the connection with 1009, as the spec intends), a small receive
queue, and keepalive pings on loop timers (`Keepalive`) rather than websockets' task per
connection.
"""
from __future__ import annotations

import asyncio
import base64
import functools
import ipaddress
import logging
import socket
import ssl as ssl_module
import urllib.request

import websockets
from websockets.exceptions import ConnectionClosed, InvalidMessage
from websockets.uri import parse_uri

from .unpatched import original

MAX_FRAME = 64 * 1024
MAX_QUEUE = 16
SUBPROTOCOL = {"ocpp1.6": "ocpp1.6", "ocpp2.0.1": "ocpp2.0.1"}


class TlsError(Exception):
    """The TLS connection failed in a way the HTTP layer would misname (the peer closed it
    right after the handshake: how a TLS 1.3 server refuses a client certificate)."""


class _RedactAuthorization(logging.Filter):
    """websockets logs every handshake header at DEBUG: never the credentials."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (isinstance(args, tuple) and len(args) == 2 and isinstance(args[0], str)
                and args[0].lower() in ("authorization", "proxy-authorization")):
            scheme = str(args[1]).split(" ", 1)[0]
            record.args = (args[0], f"{scheme} <redacted>")
        return True


for _name in ("websockets.client", "websockets.server"):
    logging.getLogger(_name).addFilter(_RedactAuthorization())


def _closed_before_http(error: BaseException) -> bool:
    seen = error
    while seen is not None:
        if isinstance(seen, EOFError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@functools.cache
def _proxy_setting() -> bool | None:
    """websockets looks up the proxy settings for every connection it opens (≈ 12 % of a
    swarm process's CPU while stations connect): look once whether there are any, and only
    then let it look (per URL: no_proxy still applies)."""
    return True if urllib.request.getproxies() else None


async def _bound_socket(url: str, source_address: str, timeout: float) -> socket.socket:
    """A TCP socket from `source_address`, connected to the URL's host.  The local port is
    chosen by connect(), not by bind() (IP_BIND_ADDRESS_NO_PORT): a bind to port 0 must find a
    port free towards every destination, a search that grows with the connections already
    open from that address (a swarm process spent most of its time there past 15,000)."""
    uri = parse_uri(url)
    family = socket.AF_INET6 if ipaddress.ip_address(source_address).version == 6 \
        else socket.AF_INET
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(uri.host, uri.port, family=family, type=socket.SOCK_STREAM)
    if not infos:
        raise OSError(f"{uri.host} has no address of the source address's family")
    sock = original("socket", "socket")(family, socket.SOCK_STREAM)   # not gevent's (Locust)
    try:
        sock.setblocking(False)
        if hasattr(socket, "IP_BIND_ADDRESS_NO_PORT"):   # Linux
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((source_address, 0))
        await asyncio.wait_for(loop.sock_connect(sock, infos[0][4]), timeout)
    except BaseException:
        sock.close()
        raise
    return sock


async def connect(url: str, *, version: str = "ocpp1.6", open_timeout: float = 10, basic_auth: tuple[str, str] | None = None,
                  ssl: ssl_module.SSLContext | None = None, subprotocol: str | None = "default",
                  max_size: int = MAX_FRAME, source_address: str | None = None):
    """Open an OCPP-J client connection.  subprotocol=None offers none (a field quirk).
    It sends no pings of its own: wrap it in a `Keepalive`.  `source_address`: the local IP
    to connect from (several let one machine open more connections to one CSMS address)."""
    headers = {}
    if basic_auth is not None:
        token = base64.b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    offered = [SUBPROTOCOL[version] if subprotocol == "default" else subprotocol] if subprotocol else None
    try:
        # from a chosen address: the socket is ours, connected directly (no proxy)
        sock = await _bound_socket(url, source_address, open_timeout) if source_address else None
        conn = await websockets.connect(
            url, subprotocols=offered, compression=None, max_size=max_size, max_queue=MAX_QUEUE,
            ping_interval=None, open_timeout=open_timeout, additional_headers=headers or None,
            ssl=ssl, user_agent_header="chargesim",
            **({"sock": sock, "proxy": None} if sock is not None else {"proxy": _proxy_setting()}))
    except InvalidMessage as e:
        if ssl is None or not _closed_before_http(e):
            raise
        cert = _has_client_cert(ssl)
        raise TlsError(
            "TLS error: the CSMS closed the TLS connection right after the handshake, before "
            "any HTTP response" + (": it refused our client certificate (not signed by a CA "
                                   "it trusts, expired, or revoked)" if cert else
                                   " (it may require a client certificate)")) from e
    # Our opening request stays on the connection for inspection: ~1.5 KiB of headers per
    # station that nothing reads once the connection is open.  (The response cannot go:
    # websockets' parser still holds it.)
    conn.request = None
    return conn


def _has_client_cert(ctx: ssl_module.SSLContext) -> bool:
    """Whether the context presents a certificate (set by tls.load_chain)."""
    return bool(getattr(ctx, "chargesim_client_cert", False))


class Keepalive:
    """Ping the peer every `interval` seconds; close the connection when no pong comes
    within `timeout`.  websockets' own keepalive is a task per connection for its whole
    life; here an idle connection holds one timer handle, and a task exists only while a
    ping waits for its pong (a simulator process holds thousands of connections)."""

    __slots__ = ("conn", "interval", "timeout", "_timer", "_task")

    def __init__(self, conn, interval: float | None, timeout: float | None = 20):
        self.conn, self.timeout = conn, timeout
        self.interval: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task | None = None
        self.set_interval(interval)

    def set_interval(self, seconds: float | None) -> None:
        """A new interval applies from now; 0 or None stops pinging."""
        self.interval = seconds or None
        self._schedule()

    def stop(self) -> None:
        self.interval = None
        self._schedule()
        if self._task is not None:
            self._task.cancel()

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.interval is not None and self._task is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval, self._due)

    def _due(self) -> None:
        self._timer = None
        self._task = asyncio.get_running_loop().create_task(self._ping())

    async def _ping(self) -> None:
        try:
            pong = await self.conn.ping()
            if self.timeout is None:
                await pong
            else:
                await asyncio.wait_for(pong, self.timeout)
        except asyncio.TimeoutError:
            self._task = None
            await self.conn.close(1011, "keepalive ping timeout")
            return
        except ConnectionClosed:
            self._task = None
            return
        self._task = None
        self._schedule()


def use_uvloop() -> bool:
    """Install uvloop's event loop policy if available (≈1.8x the round trips of asyncio)."""
    try:
        import uvloop
    except ImportError:
        return False
    import asyncio
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True
