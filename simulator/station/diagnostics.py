"""Diagnostics (1.6 GetDiagnostics) and log upload (security extensions' GetLog).

The file is real: JSON with the station's identity, its configuration (write-only keys
left out), connector statuses and the recent event log, filtered by the requested time
window.  A SecurityLog holds only the security events.  It is PUT to the location
(file_transfer.py) after the reply, reporting:

- GetDiagnostics → DiagnosticsStatusNotification Uploading, then Uploaded / UploadFailed;
- GetLog → LogStatusNotification (with requestId) Uploading, then Uploaded, or
  PermissionDenied (HTTP 401/403), NotSupportedOperation (405/501), BadMessage (400),
  UploadFailure (anything else, an unreachable server, an ftp:// location).

A terminal status is reported once; afterwards the station is idle again, and a triggered
notification says Idle (1.6: Idle is only sent on a TriggerMessage).  A new GetLog while a
log upload runs cancels it (AcceptedCanceled); a new GetDiagnostics replaces a running one.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import orjson

from . import file_transfer
from .clock import iso, parse_iso, utc_now

if TYPE_CHECKING:
    from .station import Station

DEFAULT_RETRIES, DEFAULT_RETRY_INTERVAL = 1, 30
_LOG_FAILURES = {400: "BadMessage", 401: "PermissionDenied", 403: "PermissionDenied",
                 405: "NotSupportedOperation", 501: "NotSupportedOperation"}


def _window_ok(ts: float, start: datetime | None, stop: datetime | None) -> bool:
    return (start is None or ts >= start.timestamp()) and (stop is None or ts <= stop.timestamp())


def build_report(station: Station, start: datetime | None, stop: datetime | None,
                 security_only: bool = False) -> bytes:
    from .security import WRITE_ONLY
    events = [{"time": iso(datetime.fromtimestamp(e.ts, timezone.utc)), "kind": e.kind,
               "connector": e.connector, "text": e.text}
              for e in list(station.events.recent)
              if _window_ok(e.ts, start, stop)
              and (not security_only or e.kind == "security_event")]
    report = {"station": station.id, "generated": iso(utc_now()),
              "log": "SecurityLog" if security_only else "DiagnosticsLog",
              "window": {"start": start and iso(start), "stop": stop and iso(stop)},
              "events": events}
    if not security_only:
        known, _ = station.config.entries()
        report.update(
            vendor=station.options.vendor, model=station.options.model,
            firmware_version=station.options.firmware_version,
            configuration={k: v for k, v, _ in known if k not in WRITE_ONLY},
            connectors={c.id: {"status": str(c.status), "error_code": c.error_code}
                        for c in station.connectors})
    return orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


class Diagnostics:
    def __init__(self, station: Station):
        self.station = station
        self.log_status = "Idle"                 # what a triggered LogStatusNotification says
        self.log_request_id: int | None = None
        self._diag_task: asyncio.Task | None = None
        self._log_task: asyncio.Task | None = None

    # -- GetDiagnostics ------------------------------------------------------------------
    def get_diagnostics(self, p: dict) -> str:
        st = self.station
        start, stop = parse_iso(p.get("startTime")), parse_iso(p.get("stopTime"))
        name = f"{st.id}-diagnostics-{utc_now().strftime('%Y%m%dT%H%M%SZ')}.json"
        if self._diag_task is not None and not self._diag_task.done():
            self._diag_task.cancel()
        st._emit("diagnostics_requested", f"{name} to {p['location']}", location=p["location"],
                 file_name=name)
        st._after_reply(lambda: self._diagnostics(p, name, start, stop), "diagnostics")
        return name

    async def _diagnostics(self, p: dict, name: str, start, stop) -> None:
        st = self.station
        self._diag_task = asyncio.current_task()   # a later request cancels it
        await self._diag_status("Uploading")
        data = build_report(st, start, stop)
        outcome = await file_transfer.upload(
            p["location"], name, data, "application/json", *self._retry(p),
            timeout=st.options.call_timeout,
            on_retry=lambda n, why: st._emit("diagnostics_retry", f"attempt {n}: {why}"))
        if outcome.ok:
            st._emit("diagnostics_uploaded", name, file_name=name, size=len(data))
            await self._diag_status("Uploaded")
        else:
            st._emit("diagnostics_failed", outcome.reason, reason=outcome.reason)
            await self._diag_status("UploadFailed")
        self.station.diagnostics_status = "Idle"

    async def _diag_status(self, status: str) -> None:
        st = self.station
        st.diagnostics_status = status
        st._emit("diagnostics_status", status, status=status)
        await send_status(st, "DiagnosticsStatusNotification", {"status": status})

    def _retry(self, p: dict) -> tuple[int, float]:
        retries = p.get("retries")
        interval = p.get("retryInterval")
        retries = DEFAULT_RETRIES if retries is None else max(0, retries)
        interval = DEFAULT_RETRY_INTERVAL if interval is None else max(0, interval)
        return retries, interval * self.station.options.interval_scale

    # -- GetLog (security extensions) ----------------------------------------------------
    def get_log(self, p: dict) -> dict:
        st = self.station
        log = p["log"]
        kind, request_id = p["logType"], p["requestId"]
        status = "Accepted"
        if self._log_task is not None and not self._log_task.done():
            self._log_task.cancel()
            status = "AcceptedCanceled"
        name = (f"{st.id}-{'security' if kind == 'SecurityLog' else 'diagnostics'}-"
                f"{request_id}.json")
        self.log_request_id = request_id
        st._emit("log_requested", f"{kind} #{request_id} to {log['remoteLocation']}: {status}",
                 request_id=request_id, log_type=kind, file_name=name)
        st._after_reply(lambda: self._log(p, name), f"log-{request_id}")
        return {"status": status, "filename": name}

    async def _log(self, p: dict, name: str) -> None:
        st, log, request_id = self.station, p["log"], p["requestId"]
        self._log_task = asyncio.current_task()    # a later GetLog cancels it
        await self._log_status("Uploading", request_id)
        data = build_report(st, parse_iso(log.get("oldestTimestamp")),
                            parse_iso(log.get("latestTimestamp")),
                            security_only=p["logType"] == "SecurityLog")
        outcome = await file_transfer.upload(
            log["remoteLocation"], name, data, "application/json", *self._retry(p),
            timeout=st.options.call_timeout,
            on_retry=lambda n, why: st._emit("log_retry", f"attempt {n}: {why}"))
        if outcome.ok:
            st._emit("log_uploaded", name, request_id=request_id, file_name=name, size=len(data))
            await self._log_status("Uploaded", request_id)
        else:
            status = _LOG_FAILURES.get(outcome.http_status, "UploadFailure")
            st._emit("log_failed", outcome.reason, request_id=request_id, reason=outcome.reason)
            await self._log_status(status, request_id)
        self.log_status = "Idle"

    async def _log_status(self, status: str, request_id: int | None) -> None:
        self.log_status = status
        self.station._emit("log_status", status, status=status, request_id=request_id)
        await send_status(self.station, "LogStatusNotification", self.log_payload(status))

    def log_payload(self, status: str | None = None) -> dict:
        status = status or self.log_status
        payload = {"status": status}
        # whitepaper: the requestId goes with a status of a running (or just ended) upload
        if status != "Idle" and self.log_request_id is not None:
            payload["requestId"] = self.log_request_id
        return payload

    async def send_log_status(self) -> None:
        """The triggered LogStatusNotification (ExtendedTriggerMessage)."""
        await send_status(self.station, "LogStatusNotification", self.log_payload(), triggered=True)


async def send_status(station: Station, action: str, payload: dict, triggered: bool = False) -> None:
    """Send a status notification.  Unless triggered (TriggerMessage works while Pending),
    only while registered; a status that cannot go out is recorded as an error event and
    not queued (a trigger asks for the current one later)."""
    from .station import SEND_ERRORS
    if not (station.online if triggered else station._may_send()):
        station._emit("error", f"{action} {payload.get('status')} not sent: "
                               f"{'offline' if not station.online else 'not registered'}")
        return
    try:
        await station.dialect.link.call(action, payload)
    except SEND_ERRORS as e:
        station._emit("error", f"{action} failed: {e}")


# -- 1.6 request handlers (registered by the 1.6 dialect) -----------------------------------
async def handle_get_diagnostics(station: Station, p: dict) -> dict:
    return {"fileName": station.diagnostics.get_diagnostics(p)}


async def handle_get_log(station: Station, p: dict) -> dict:
    return station.diagnostics.get_log(p)


HANDLERS_16 = {"GetDiagnostics": handle_get_diagnostics, "GetLog": handle_get_log}
