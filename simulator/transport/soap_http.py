"""SOAP 1.2 over HTTP (OCPP 1.5): POST an envelope and read the reply, and a small server
for the endpoint a side hosts (a charge point's ChargePointService at its callback URL, the
hub's CentralSystemService).

Bytes only: this layer neither builds nor parses envelopes (that is `simulator.protocol.soap`,
above it).  The server hands each request body to `handler` and sends back what it returns;
should the handler raise, the caller-supplied `on_error` turns the exception into a fault
envelope, so a bad request never takes the server down.  Status codes follow the SOAP 1.2
HTTP binding: 200 for a response, 400 for a Sender fault, 500 for a Receiver fault — the
handler says which.
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

import aiohttp
from aiohttp import web

CONTENT_TYPE = "application/soap+xml"
MAX_BODY = 256 * 1024          # far above any 1.5 message; refuses a memory-eating upload
_log = logging.getLogger(__name__)

Handler = Callable[[bytes], Awaitable[tuple[int, bytes]]]


class SoapHttpError(ConnectionError):
    """The POST did not get an HTTP reply (refused, reset, timed out)."""


class SoapHttpClient:
    """POSTs envelopes; one aiohttp session (connection pool) for all of them."""

    def __init__(self, *, timeout: float = 30.0, session: aiohttp.ClientSession | None = None):
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._own_session = session is None

    async def post(self, url: str, envelope: bytes | str, *, action: str | None = None) -> tuple[int, bytes]:
        """(HTTP status, reply body).  `action` goes into the content type, as SOAP 1.2 asks."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        ctype = f'{CONTENT_TYPE}; charset=utf-8' + (f'; action="{action}"' if action else "")
        data = envelope.encode("utf-8") if isinstance(envelope, str) else envelope
        try:
            async with self._session.post(url, data=data, headers={"Content-Type": ctype}) as resp:
                return resp.status, await resp.read()
        except (aiohttp.ClientError, TimeoutError) as e:
            raise SoapHttpError(f"POST {url}: {type(e).__name__}: {e}") from e

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None


class SoapEndpoint:
    """An HTTP endpoint serving one SOAP service at `path`.  `on_error(exc)` gives the
    fault envelope for a handler that raised (sent with status 500)."""

    def __init__(self, handler: Handler, on_error: Callable[[BaseException], bytes], *,
                 host: str = "127.0.0.1", port: int = 0, path: str = "/",
                 max_body: int = MAX_BODY):
        self._handler = handler
        self._on_error = on_error
        self._host, self._port, self.path = host, port, path
        self._app = web.Application(client_max_size=max_body)
        self._app.router.add_post(path, self._serve)
        self._runner: web.AppRunner | None = None
        self.url: str | None = None

    async def start(self) -> str:
        """Listen; returns the endpoint URL (with the port chosen when port=0)."""
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self._host}:{port}{self.path}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _serve(self, request: web.Request) -> web.Response:
        try:
            body = await request.read()
            status, reply = await self._handler(body)
        except web.HTTPException:
            raise                      # e.g. 413: the body was over max_body
        except Exception as e:        # noqa: BLE001 - a handler bug must not kill the server
            _log.exception("SOAP handler failed")
            status, reply = 500, self._on_error(e)
        return web.Response(status=status, body=reply,
                            headers={"Content-Type": f"{CONTENT_TYPE}; charset=utf-8"})
