"""1.6 GetDiagnostics and the security extensions' GetLog, and their status messages."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...station.clock import parse_iso
from ...station.intents import DiagnosticsStatusChanged, LogStatusChanged

if TYPE_CHECKING:
    from ...station.station import Station
    from ..ocppj import OcppJLink


async def handle_get_diagnostics(st: Station, p: dict) -> dict:
    return {"fileName": st.diagnostics.get_diagnostics(
        p["location"], parse_iso(p.get("startTime")), parse_iso(p.get("stopTime")),
        p.get("retries"), p.get("retryInterval"))}


async def handle_get_log(st: Station, p: dict) -> dict:
    log = p["log"]
    status, name = st.diagnostics.get_log(
        p["logType"], p["requestId"], log["remoteLocation"],
        parse_iso(log.get("oldestTimestamp")), parse_iso(log.get("latestTimestamp")),
        p.get("retries"), p.get("retryInterval"))
    return {"status": status, "filename": name}


async def send_diagnostics_status(link: OcppJLink, intent: DiagnosticsStatusChanged) -> None:
    await link.call("DiagnosticsStatusNotification", {"status": intent.status})


async def send_log_status(link: OcppJLink, intent: LogStatusChanged) -> None:
    payload = {"status": intent.status}
    if intent.request_id is not None:
        payload["requestId"] = intent.request_id
    await link.call("LogStatusNotification", payload)


HANDLERS = {"GetDiagnostics": handle_get_diagnostics, "GetLog": handle_get_log}
SENDERS = {DiagnosticsStatusChanged: send_diagnostics_status, LogStatusChanged: send_log_status}
