"""1.6 security extensions: certificates, SignCertificate, security events and
ExtendedTriggerMessage."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...station.intents import SecurityEvent, SignCertificateRequest
from ...station.security import CertificateHash
from .connectors import station_connector

if TYPE_CHECKING:
    from ...station.station import Station
    from ..ocppj import OcppJLink


def hash_payload(h: CertificateHash) -> dict:
    return {"hashAlgorithm": h.algorithm, "issuerNameHash": h.issuer_name_hash,
            "issuerKeyHash": h.issuer_key_hash, "serialNumber": h.serial_number}


def parse_hash(p: dict) -> CertificateHash:
    return CertificateHash(p.get("hashAlgorithm"), p["issuerNameHash"], p["issuerKeyHash"],
                           p["serialNumber"])


async def handle_certificate_signed(st: Station, p: dict) -> dict:
    return {"status": st.security.certificate_signed(p["certificateChain"])}


async def handle_install_certificate(st: Station, p: dict) -> dict:
    return {"status": st.security.install(p["certificateType"], p["certificate"])}


async def handle_delete_certificate(st: Station, p: dict) -> dict:
    return {"status": st.security.delete(parse_hash(p["certificateHashData"]))}


async def handle_get_installed_certificate_ids(st: Station, p: dict) -> dict:
    ids = st.security.installed_ids(p["certificateType"])
    if not ids:
        return {"status": "NotFound"}
    return {"status": "Accepted", "certificateHashData": [hash_payload(h) for h in ids]}


# ExtendedTriggerMessage's requestedMessage -> the station's trigger (its
# FirmwareStatusNotification asks for the signed-update status, whitepaper)
EXTENDED_TRIGGERS = {"BootNotification": "boot", "Heartbeat": "heartbeat",
                     "MeterValues": "meter_values", "StatusNotification": "status",
                     "LogStatusNotification": "log_status",
                     "FirmwareStatusNotification": "signed_firmware_status",
                     "SignChargePointCertificate": "sign_certificate"}


async def handle_extended_trigger(st: Station, p: dict) -> dict:
    message = p["requestedMessage"]
    return {"status": st.security.extended_trigger(EXTENDED_TRIGGERS.get(message, f"?{message}"),
                                                   station_connector(st, p.get("connectorId")))}


async def send_security_event(link: OcppJLink, intent: SecurityEvent) -> None:
    payload = {"type": intent.kind, "timestamp": intent.timestamp}
    if intent.tech_info:
        payload["techInfo"] = intent.tech_info
    await link.call("SecurityEventNotification", payload)


async def send_sign_certificate(link: OcppJLink, intent: SignCertificateRequest) -> str:
    reply = await link.call("SignCertificate", {"csr": intent.csr})
    return reply["status"]


HANDLERS = {
    "CertificateSigned": handle_certificate_signed,
    "InstallCertificate": handle_install_certificate,
    "DeleteCertificate": handle_delete_certificate,
    "GetInstalledCertificateIds": handle_get_installed_certificate_ids,
    "ExtendedTriggerMessage": handle_extended_trigger,
}
SENDERS = {SecurityEvent: send_security_event, SignCertificateRequest: send_sign_certificate}
