"""HTTP(S) file transfers for firmware downloads and diagnostics / log uploads.

Only http:// and https:// are spoken: an ftp:// (or any other) location fails at once with
a reason saying so, without retries — retrying cannot make an unsupported scheme work.
`retries` counts the attempts after the first one (as its name says); `interval` is the
pause between attempts in seconds, already scaled by the caller.

Uploads PUT the file to `{location}/{file name}`: as with FTP, an OCPP location names a
directory, and the station chooses the file name (it answers it to the CSMS).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import aiohttp

MAX_DOWNLOAD = 64 * 1024 * 1024     # a firmware image larger than this is refused
SCHEMES = ("http", "https")


@dataclass(slots=True)
class Outcome:
    ok: bool
    reason: str = ""              # why it failed (last attempt), for events and logs
    http_status: int | None = None
    data: bytes = b""             # downloaded bytes
    attempts: int = 0


class TransferError(Exception):
    def __init__(self, reason: str, http_status: int | None = None, permanent: bool = False):
        super().__init__(reason)
        self.http_status = http_status
        self.permanent = permanent


def check_location(location: str) -> str | None:
    """None if we can use the location, else why not."""
    parts = urlsplit(location)
    if parts.scheme.lower() not in SCHEMES:
        return (f"unsupported location scheme {parts.scheme + '://' if parts.scheme else location!r}"
                f": this station transfers files over http:// and https:// only")
    if not parts.netloc:
        return f"location {location!r} has no host"
    return None


def upload_url(location: str, file_name: str) -> str:
    return f"{location.rstrip('/')}/{quote(file_name)}"


async def _with_retries(job, location: str, retries: int, interval: float,
                        on_retry=None) -> Outcome:
    bad = check_location(location)
    if bad:
        return Outcome(False, bad, attempts=0)
    attempts, last = max(0, retries) + 1, Outcome(False)
    for n in range(1, attempts + 1):
        try:
            data = await job()
            return Outcome(True, data=data or b"", attempts=n)
        except TransferError as e:
            last = Outcome(False, str(e), e.http_status, attempts=n)
            if e.permanent:
                return last
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            last = Outcome(False, f"{type(e).__name__}: {e}", attempts=n)
        if n < attempts:
            if on_retry is not None:
                on_retry(n, last.reason)
            await asyncio.sleep(interval)
    return last


async def download(location: str, retries: int, interval: float, timeout: float,
                   on_retry=None) -> Outcome:
    async def job():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            async with http.get(location) as r:
                if r.status != 200:
                    raise TransferError(f"GET {location}: HTTP {r.status}", r.status)
                if (r.content_length or 0) > MAX_DOWNLOAD:
                    raise TransferError(f"firmware larger than {MAX_DOWNLOAD} bytes",
                                        permanent=True)
                data = bytearray()
                async for chunk in r.content.iter_chunked(65536):
                    data += chunk
                    if len(data) > MAX_DOWNLOAD:
                        raise TransferError(f"firmware larger than {MAX_DOWNLOAD} bytes",
                                            permanent=True)
                return bytes(data)
    return await _with_retries(job, location, retries, interval, on_retry)


async def upload(location: str, file_name: str, data: bytes, content_type: str, retries: int,
                 interval: float, timeout: float, on_retry=None) -> Outcome:
    url = upload_url(location, file_name)

    async def job():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            async with http.put(url, data=data, headers={"Content-Type": content_type}) as r:
                if not 200 <= r.status < 300:
                    raise TransferError(f"PUT {url}: HTTP {r.status}", r.status)
        return b""
    return await _with_retries(job, location, retries, interval, on_retry)
