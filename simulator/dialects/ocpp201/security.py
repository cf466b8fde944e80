"""2.0.1 security (block A) and firmware / diagnostics (blocks L, N) over the station's
neutral features: certificates, SignCertificate, SecurityEventNotification, UpdateFirmware
(plain and signed), GetLog, and their status notifications."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...station.clock import parse_iso
from ...station.intents import (DiagnosticsStatusChanged, FirmwareStatusChanged,
                                LogStatusChanged, SecurityEvent, SignCertificateRequest)
from ...station.security import CSMS_ROOT, MANUFACTURER_ROOT, CertificateHash

if TYPE_CHECKING:
    from ...station.station import Station
    from ..ocppj import OcppJLink

# 2.0.1 InstallCertificateUseEnumType -> the station's store types
CERT_TYPE = {"CSMSRootCertificate": CSMS_ROOT, "ManufacturerRootCertificate": MANUFACTURER_ROOT}
CERT_TYPE_OF = {v: k for k, v in CERT_TYPE.items()}
LOG_STATUS = {"UploadFailed": "UploadFailure"}   # the 1.6 word, should it come


def hash_payload(h: CertificateHash) -> dict:
    return {"hashAlgorithm": h.algorithm or "SHA256", "issuerNameHash": h.issuer_name_hash,
            "issuerKeyHash": h.issuer_key_hash, "serialNumber": h.serial_number}


async def certificate_signed(st: Station, p: dict) -> dict:
    if p.get("certificateType", "ChargingStationCertificate") != "ChargingStationCertificate":
        return {"status": "Rejected"}
    return {"status": st.security.certificate_signed(p["certificateChain"])}


async def install_certificate(st: Station, p: dict) -> dict:
    kind = CERT_TYPE.get(p["certificateType"])
    if kind is None:
        return {"status": "Rejected", "statusInfo": {
            "reasonCode": "UnsupportedParam",   # reasonCode is at most 20 characters
            "additionalInfo": f"{p['certificateType']} is not kept by this station"}}
    return {"status": st.security.install(kind, p["certificate"])}


async def delete_certificate(st: Station, p: dict) -> dict:
    h = p["certificateHashData"]
    return {"status": st.security.delete(CertificateHash(
        h["hashAlgorithm"], h["issuerNameHash"], h["issuerKeyHash"], h["serialNumber"]))}


async def get_installed_certificate_ids(st: Station, p: dict) -> dict:
    wanted = p.get("certificateType") or list(CERT_TYPE)
    chain = [{"certificateType": name, "certificateHashData": hash_payload(h)}
             for name in wanted if name in CERT_TYPE
             for h in st.security.installed_ids(CERT_TYPE[name])]
    if not chain:
        return {"status": "NotFound"}
    return {"status": "Accepted", "certificateHashDataChain": chain}


async def update_firmware(st: Station, p: dict) -> dict:
    fw = p["firmware"]
    retrieve = parse_iso(fw["retrieveDateTime"])
    if fw.get("signature") or fw.get("signingCertificate"):
        if not (fw.get("signature") and fw.get("signingCertificate")):
            return {"status": "Rejected", "statusInfo": {
                "reasonCode": "MissingParam",
                "additionalInfo": "a signed update needs signature and signingCertificate"}}
        return {"status": st.firmware.signed_update(
            fw["location"], retrieve, p["requestId"], fw["signingCertificate"],
            fw["signature"], parse_iso(fw.get("installDateTime")), p.get("retries"),
            p.get("retryInterval"))}
    st.dialect.firmware_request = p["requestId"]
    st.firmware.update(fw["location"], retrieve, p.get("retries"), p.get("retryInterval"))
    return {"status": "Accepted"}


async def get_log(st: Station, p: dict) -> dict:
    log = p["log"]
    status, name = st.diagnostics.get_log(
        p["logType"], p["requestId"], log["remoteLocation"],
        parse_iso(log.get("oldestTimestamp")), parse_iso(log.get("latestTimestamp")),
        p.get("retries"), p.get("retryInterval"))
    return {"status": status, **({"filename": name} if name else {})}


# -- senders ---------------------------------------------------------------------------------
async def send_firmware_status(link: OcppJLink, intent: FirmwareStatusChanged) -> None:
    payload = {"status": intent.status}
    request_id = intent.request_id if intent.signed else link.station.dialect.firmware_request
    if request_id is not None and intent.status != "Idle":
        payload["requestId"] = request_id
    await link.call("FirmwareStatusNotification", payload)


async def send_log_status(link: OcppJLink, intent: LogStatusChanged | DiagnosticsStatusChanged
                          ) -> None:
    payload = {"status": LOG_STATUS.get(intent.status, intent.status)}
    if getattr(intent, "request_id", None) is not None:
        payload["requestId"] = intent.request_id
    await link.call("LogStatusNotification", payload)


async def send_security_event(link: OcppJLink, intent: SecurityEvent) -> None:
    payload = {"type": intent.kind, "timestamp": intent.timestamp}
    if intent.tech_info:
        payload["techInfo"] = intent.tech_info[:255]
    await link.call("SecurityEventNotification", payload)


async def send_sign_certificate(link: OcppJLink, intent: SignCertificateRequest) -> str:
    reply = await link.call("SignCertificate", {"csr": intent.csr,
                                                "certificateType": "ChargingStationCertificate"})
    return reply["status"]


HANDLERS = {"CertificateSigned": certificate_signed, "InstallCertificate": install_certificate,
            "DeleteCertificate": delete_certificate,
            "GetInstalledCertificateIds": get_installed_certificate_ids,
            "UpdateFirmware": update_firmware, "GetLog": get_log}
SENDERS = {FirmwareStatusChanged: send_firmware_status, LogStatusChanged: send_log_status,
           DiagnosticsStatusChanged: send_log_status, SecurityEvent: send_security_event,
           SignCertificateRequest: send_sign_certificate}
