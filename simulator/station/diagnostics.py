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
from .clock import iso, utc_now
from .intents import DiagnosticsStatusChanged, LogStatusChanged

if TYPE_CHECKING:
    from .context import FeatureContext

DEFAULT_RETRIES, DEFAULT_RETRY_INTERVAL = 1, 30
_LOG_FAILURES = {400: "BadMessage", 401: "PermissionDenied", 403: "PermissionDenied",
                 405: "NotSupportedOperation", 501: "NotSupportedOperation"}


def _window_ok(ts: float, start: datetime | None, stop: datetime | None) -> bool:
    return (start is None or ts >= start.timestamp()) and (stop is None or ts <= stop.timestamp())


def build_report(ctx: FeatureContext, events, start: datetime | None, stop: datetime | None,
                 security_only: bool = False) -> bytes:
    events = [{"time": iso(datetime.fromtimestamp(e.ts, timezone.utc)), "kind": e.kind,
               "connector": e.connector, "text": e.text}
              for e in events
              if _window_ok(e.ts, start, stop)
              and (not security_only or e.kind == "security_event")]
    report = {"station": ctx.station_id, "generated": iso(utc_now()),
              "log": "SecurityLog" if security_only else "DiagnosticsLog",
              "window": {"start": start and iso(start), "stop": stop and iso(stop)},
              "events": events}
    if not security_only:
        known, _ = ctx.config.entries()
        report.update(
            vendor=ctx.options.vendor, model=ctx.options.model,
            firmware_version=ctx.options.firmware_version,
            configuration={k: v for k, v, _ in known if not ctx.config.specs[k].write_only},
            connectors={c.id: {"status": str(c.status), "error_code": c.error_code}
                        for c in ctx.connectors})
    return orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


class Diagnostics:
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        self.diagnostics_status = "Idle"         # what a triggered notification says
        self.log_status = "Idle"                 # what a triggered log status says
        self.log_request_id: int | None = None
        self._diag_task: asyncio.Task | None = None
        self._log_task: asyncio.Task | None = None

    # -- diagnostics (1.6 GetDiagnostics) --------------------------------------------------
    def get_diagnostics(self, location: str, start: datetime | None = None,
                        stop: datetime | None = None, retries: int | None = None,
                        retry_interval: float | None = None) -> str:
        """Upload a diagnostics file to `location` after the reply; its file name."""
        st = self.ctx
        name = f"{st.station_id}-diagnostics-{utc_now().strftime('%Y%m%dT%H%M%SZ')}.json"
        if self._diag_task is not None and not self._diag_task.done():
            self._diag_task.cancel()
        st.emit("diagnostics_requested", f"{name} to {location}", location=location,
                 file_name=name)
        retry = self._retry(retries, retry_interval)
        st.after_reply(lambda: self._diagnostics(location, name, start, stop, retry),
                        "diagnostics")
        return name

    async def _diagnostics(self, location: str, name: str, start, stop, retry) -> None:
        st = self.ctx
        self._diag_task = asyncio.current_task()   # a later request cancels it
        await self._diag_status("Uploading")
        data = build_report(st, self._events(), start, stop)
        outcome = await file_transfer.upload(
            location, name, data, "application/json", *retry,
            timeout=st.options.call_timeout,
            on_retry=lambda n, why: st.emit("diagnostics_retry", f"attempt {n}: {why}"))
        if outcome.ok:
            st.emit("diagnostics_uploaded", name, file_name=name, size=len(data))
            await self._diag_status("Uploaded")
        else:
            st.emit("diagnostics_failed", outcome.reason, reason=outcome.reason)
            await self._diag_status("UploadFailed")
        self.diagnostics_status = "Idle"

    async def _diag_status(self, status: str) -> None:
        st = self.ctx
        self.diagnostics_status = status
        st.emit("diagnostics_status", status, status=status)
        await st.notify(DiagnosticsStatusChanged(status))

    def _events(self) -> list:
        """The station's recent events, as the report shows them."""
        return list(self.ctx.events.recent)

    def _retry(self, retries: int | None, interval: float | None) -> tuple[int, float]:
        retries = DEFAULT_RETRIES if retries is None else max(0, retries)
        interval = DEFAULT_RETRY_INTERVAL if interval is None else max(0, interval)
        return retries, interval * self.ctx.options.interval_scale

    # -- log upload (security extensions' GetLog) -----------------------------------------
    def get_log(self, kind: str, request_id: int, location: str,
                oldest: datetime | None = None, latest: datetime | None = None,
                retries: int | None = None, retry_interval: float | None = None
                ) -> tuple[str, str]:
        """Upload the `kind` log (SecurityLog or DiagnosticsLog) after the reply:
        (Accepted | AcceptedCanceled, file name)."""
        st = self.ctx
        status = "Accepted"
        if self._log_task is not None and not self._log_task.done():
            self._log_task.cancel()
            status = "AcceptedCanceled"
        name = (f"{st.station_id}-{'security' if kind == 'SecurityLog' else 'diagnostics'}-"
                f"{request_id}.json")
        self.log_request_id = request_id
        st.emit("log_requested", f"{kind} #{request_id} to {location}: {status}",
                 request_id=request_id, log_type=kind, file_name=name)
        retry = self._retry(retries, retry_interval)
        st.after_reply(lambda: self._log(kind, request_id, location, name, oldest, latest,
                                          retry), f"log-{request_id}")
        return status, name

    async def _log(self, kind: str, request_id: int, location: str, name: str, oldest,
                   latest, retry) -> None:
        st = self.ctx
        self._log_task = asyncio.current_task()    # a later GetLog cancels it
        await self._log_status("Uploading", request_id)
        data = build_report(st, self._events(), oldest, latest,
                            security_only=kind == "SecurityLog")
        outcome = await file_transfer.upload(
            location, name, data, "application/json", *retry,
            timeout=st.options.call_timeout,
            on_retry=lambda n, why: st.emit("log_retry", f"attempt {n}: {why}"))
        if outcome.ok:
            st.emit("log_uploaded", name, request_id=request_id, file_name=name, size=len(data))
            await self._log_status("Uploaded", request_id)
        else:
            status = _LOG_FAILURES.get(outcome.http_status, "UploadFailure")
            st.emit("log_failed", outcome.reason, request_id=request_id, reason=outcome.reason)
            await self._log_status(status, request_id)
        self.log_status = "Idle"

    async def _log_status(self, status: str, request_id: int | None) -> None:
        self.log_status = status
        self.ctx.emit("log_status", status, status=status, request_id=request_id)
        await self.ctx.notify(self._log_intent(status))

    def _log_intent(self, status: str | None = None) -> LogStatusChanged:
        status = status or self.log_status
        # whitepaper: the requestId goes with a status of a running (or just ended) upload
        return LogStatusChanged(status, self.log_request_id if status != "Idle" else None)

    async def send_log_status(self) -> None:
        """The triggered log status (ExtendedTriggerMessage)."""
        await self.ctx.notify(self._log_intent(), triggered=True)
