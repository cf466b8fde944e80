"""1.6 Firmware Management and the security extensions' signed updates."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...station.clock import parse_iso
from ...station.intents import FirmwareStatusChanged

if TYPE_CHECKING:
    from ...station.station import Station
    from ..ocppj import OcppJLink


async def handle_update_firmware(st: Station, p: dict) -> dict:
    st.firmware.update(p["location"], parse_iso(p["retrieveDate"]), p.get("retries"),
                       p.get("retryInterval"))
    return {}     # the reply is empty whatever happens


async def handle_signed_update_firmware(st: Station, p: dict) -> dict:
    fw = p["firmware"]
    return {"status": st.firmware.signed_update(
        fw["location"], parse_iso(fw["retrieveDateTime"]), p["requestId"],
        fw["signingCertificate"], fw["signature"], parse_iso(fw.get("installDateTime")),
        p.get("retries"), p.get("retryInterval"))}


async def send_firmware_status(link: OcppJLink, intent: FirmwareStatusChanged) -> None:
    if not intent.signed:
        await link.call("FirmwareStatusNotification", {"status": intent.status})
        return
    payload = {"status": intent.status}
    if intent.request_id is not None:
        payload["requestId"] = intent.request_id
    await link.call("SignedFirmwareStatusNotification", payload)


HANDLERS = {"UpdateFirmware": handle_update_firmware,
            "SignedUpdateFirmware": handle_signed_update_firmware}
SENDERS = {FirmwareStatusChanged: send_firmware_status}
