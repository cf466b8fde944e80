"""Certificate messages of the OCPP 1.6 security extensions: SignCertificate →
CertificateSigned between our station and our hub (then used for a mutual-TLS connection),
InstallCertificate / GetInstalledCertificateIds / DeleteCertificate with every answer,
ExtendedTriggerMessage — against our hub and against an `ocpp`-library CSMS."""
from __future__ import annotations

import asyncio
import hashlib

import orjson
import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from ocpp.v16 import call

from simulator.station import Station, StationOptions
from simulator.station.errors import ConnectFailed
from simulator.station.security import CSMS_ROOT, MANUFACTURER_ROOT, make_csr
from simulator.dialects import make_station
from tests.hub_helpers import Api, Charger, running_hub, wait_for
from tests.ocpp_lib_csms import csms, running  # noqa: F401  (fixture)
from tests.pki_helpers import TestCA

KEY = "0123456789abcdef-secret"


def opts(**kw) -> StationOptions:
    return StationOptions(interval_scale=0.05, reconnect_min=0.05, **kw)


@pytest.fixture(scope="module")
def pki():
    ca = TestCA()
    return {"ca": ca, "server": ca.server(), "other_ca": TestCA("Other CA")}


def expected_hash(cert_pem: str, algorithm=hashlib.sha256) -> dict:
    """certificateHashData of a self-signed root, computed independently of the station:
    the issuer name's DER and the uncompressed EC point (the subjectPublicKey bits)."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    point = cert.public_key().public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.UncompressedPoint)
    return {"issuerNameHash": algorithm(cert.issuer.public_bytes()).hexdigest(),
            "issuerKeyHash": algorithm(point).hexdigest(),
            "serialNumber": format(cert.serial_number, "x")}


# -- SignCertificate → CertificateSigned, station ↔ our hub ------------------------------------
async def test_sign_certificate_round_trip_then_mutual_tls(pki):
    ca, server = pki["ca"], pki["server"]
    common = dict(tls_cert=server.cert, tls_key=server.key, ca_cert=ca.cert, ca_key=ca.key_pem)
    async with running_hub(**common) as hub, Api(hub) as api:
        st = make_station("CERT1", hub.url, opts(security_profile=2, authorization_key=KEY,
                                            ca_certs=[ca.cert], cpo_name="Example CPO"))
        await st.start(timeout=5)
        try:
            installed = st.expect("certificate_signed")
            reply = await hub.send("CERT1", "ExtendedTriggerMessage",
                                   {"requestedMessage": "SignChargePointCertificate"})
            assert reply == {"status": "Accepted"}
            await asyncio.wait_for(installed, 5)
            await wait_for(lambda: hub.pki.issued("CERT1")
                           and hub.pki.issued("CERT1")[0]["status"] == "Accepted", 5)
            leaf = x509.load_pem_x509_certificates(st.security.client_cert.encode())[0]
            assert leaf.subject.rfc4514_string() == "O=Example CPO,CN=CERT1"
            leaf.verify_directly_issued_by(ca.obj)
            status, issued = await api.get("/stations/CERT1/certificates")
            assert status == 200 and issued[0]["serial"] == format(leaf.serial_number, "x")
            # Raised to 3: the station reconnects at once with its new certificate.
            switched = st.expect("security_profile")
            assert (await hub.send("CERT1", "ChangeConfiguration",
                                   {"key": "SecurityProfile", "value": "3"}))["status"] == "Accepted"
            assert "reconnected with security profile 3" in (await asyncio.wait_for(switched, 5)).text
            await wait_for(lambda: "CERT1" in hub.connections and st.online, 5)
        finally:
            await st.stop()

    # The next connection uses the signed certificate: a hub that requires one lets it in.
    async with running_hub(tls_client_ca=ca.cert, **common) as hub:
        st.url = f"{hub.url}/CERT1"
        await st.start(timeout=5)
        try:
            assert "CERT1" in hub.connections
        finally:
            await st.stop()


async def test_certificate_signed_with_an_invalid_chain_is_rejected(pki):
    ca = pki["ca"]
    async with running_hub(station_passwords={"CERT2": KEY}) as hub:
        st = make_station("CERT2", hub.url, opts(security_profile=1, authorization_key=KEY,
                                            ca_certs=[ca.cert]))
        await st.start(timeout=5)
        try:
            async def signed(chain):
                return (await hub.send("CERT2", "CertificateSigned",
                                       {"certificateChain": chain}))["status"]
            # Nothing requested yet
            assert await signed(ca.client("CERT2").cert) == "Rejected"
            # A CSR is pending; certificates for another key, from an unknown CA, or garbage:
            st.security._pending_key, csr = make_csr("CERT2", None)
            assert await signed(ca.client("CERT2").cert + ca.cert) == "Rejected"
            assert await signed("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n") \
                == "Rejected"
            foreign = TestCA("Foreign")
            req = x509.load_pem_x509_csr(csr.encode())
            from hub_under_test.pki import CertificateAuthority
            other = CertificateAuthority(foreign.cert, foreign.key_pem)   # not trusted
            cert = other.sign("CERT2", csr).public_bytes(serialization.Encoding.PEM).decode()
            assert await signed(cert + foreign.cert) == "Rejected"
            assert req.is_signature_valid
            # The same key signed by the trusted CA is accepted.
            mine = CertificateAuthority(ca.cert, ca.key_pem)
            good = mine.sign("CERT2", csr).public_bytes(serialization.Encoding.PEM).decode()
            assert await signed(good + ca.cert) == "Accepted"
            await wait_for(lambda: len(hub.security.security_events("CERT2")) == 4, 5)
            assert {e["type"] for e in hub.security.security_events("CERT2")} == {
                "InvalidChargePointCertificate"}
        finally:
            await st.stop()


async def test_hub_rejects_bad_csrs_from_an_ocpp_library_charger():
    async with running_hub(auto_ca=True) as hub:
        ws = await websockets.connect(f"{hub.url}/LIBC", subprotocols=["ocpp1.6"])
        cp = Charger("LIBC", ws, response_timeout=5)
        task = asyncio.create_task(cp.start())
        try:
            assert (await cp.call(call.SignCertificate(csr="not a csr"))).status == "Rejected"
            _, other_cn = make_csr("SOMEONE-ELSE", None)
            assert (await cp.call(call.SignCertificate(csr=other_cn))).status == "Rejected"
            _, csr = make_csr("LIBC", None)
            assert (await cp.call(call.SignCertificate(csr=csr))).status == "Accepted"
            # The ocpp-library charger does not handle CertificateSigned: recorded as an error.
            await wait_for(lambda: hub.pki.issued("LIBC")
                           and hub.pki.issued("LIBC")[0]["status"].startswith("error"), 5)
            [issued] = hub.pki.issued("LIBC")   # the rejected CSRs were not signed
            assert issued["subject"] == "CN=LIBC"
        finally:
            task.cancel()
            await ws.close()


# -- Install / GetInstalledCertificateIds / Delete, against our hub ----------------------------
async def test_install_get_and_delete_certificates(pki):
    ca, other = pki["ca"], pki["other_ca"]
    async with running_hub() as hub:
        st = make_station("CERT3", hub.url, opts(config={"CertificateStoreMaxLength": "2"}))
        await st.start(timeout=5)
        try:
            async def send(action, payload):
                return await hub.send("CERT3", action, payload)

            async def install(kind, pem):
                return (await send("InstallCertificate",
                                   {"certificateType": kind, "certificate": pem}))["status"]
            assert await send("GetInstalledCertificateIds",
                              {"certificateType": CSMS_ROOT}) == {"status": "NotFound"}
            assert await install(CSMS_ROOT, "garbage") == "Rejected"
            assert await install(CSMS_ROOT, ca.client("leaf").cert) == "Rejected"   # not a CA
            assert await install(CSMS_ROOT, TestCA("Old", expired=True).cert) == "Rejected"
            assert await install(CSMS_ROOT, ca.cert) == "Accepted"
            assert await install(MANUFACTURER_ROOT, other.cert) == "Accepted"
            assert await install(MANUFACTURER_ROOT, TestCA("Third").cert) == "Failed"  # full

            reply = await send("GetInstalledCertificateIds", {"certificateType": CSMS_ROOT})
            assert reply["status"] == "Accepted"
            [ids] = reply["certificateHashData"]
            assert ids == {"hashAlgorithm": "SHA256", **expected_hash(ca.cert)}

            missing = {**ids, "serialNumber": "1234"}
            assert (await send("DeleteCertificate", {"certificateHashData": missing}))["status"] \
                == "NotFound"
            sha512 = {"hashAlgorithm": "SHA512", **expected_hash(other.cert, hashlib.sha512)}
            assert (await send("DeleteCertificate", {"certificateHashData": sha512}))["status"] \
                == "Accepted"
            assert await send("GetInstalledCertificateIds",
                              {"certificateType": MANUFACTURER_ROOT}) == {"status": "NotFound"}
            assert (await send("DeleteCertificate", {"certificateHashData": sha512}))["status"] \
                == "NotFound"
        finally:
            await st.stop()


async def test_the_root_a_tls_connection_needs_cannot_be_deleted(pki):
    ca, server = pki["ca"], pki["server"]
    async with running_hub(tls_cert=server.cert, tls_key=server.key,
                           station_passwords={"CERT4": KEY}) as hub:
        st = make_station("CERT4", hub.url, opts(security_profile=2, authorization_key=KEY,
                                            ca_certs=[ca.cert]))
        await st.start(timeout=5)
        try:
            data = {"hashAlgorithm": "SHA384", **expected_hash(ca.cert, hashlib.sha384)}
            reply = await hub.send("CERT4", "DeleteCertificate", {"certificateHashData": data})
            assert reply["status"] == "Failed"
            assert await hub.send("CERT4", "InstallCertificate", {
                "certificateType": CSMS_ROOT, "certificate": pki["other_ca"].cert}) == {
                "status": "Accepted"}
            reply = await hub.send("CERT4", "DeleteCertificate", {"certificateHashData": data})
            assert reply["status"] == "Accepted"
        finally:
            await st.stop()
        # Without the root that signed the hub's certificate the station refuses the hub.
        with pytest.raises(ConnectFailed, match="certificate verify failed"):
            await st.start(timeout=5)


# -- ExtendedTriggerMessage ---------------------------------------------------------------------
async def test_extended_trigger_message_against_our_hub():
    async with running_hub() as hub:
        st = make_station("TRIG1", hub.url, opts(connectors=2))
        await st.start(timeout=5)
        try:
            seen: list[str] = []

            def tap(frame):
                message = orjson.loads(frame.raw) if frame.direction == "out" else None
                if message and message[0] == 2:
                    seen.append(message[2])
            st.taps.append(tap)

            async def trigger(message, connector=None):
                payload = {"requestedMessage": message}
                if connector is not None:
                    payload["connectorId"] = connector
                return (await hub.send("TRIG1", "ExtendedTriggerMessage", payload))["status"]
            assert await trigger("StatusNotification", 7) == "Rejected"
            # (the whitepaper's firmware trigger may be answered by the signed variant)
            for message, sent in [("Heartbeat", {"Heartbeat"}),
                                  ("BootNotification", {"BootNotification"}),
                                  ("StatusNotification", {"StatusNotification"}),
                                  ("MeterValues", {"MeterValues"}),
                                  ("FirmwareStatusNotification", {
                                      "FirmwareStatusNotification",
                                      "SignedFirmwareStatusNotification"}),
                                  ("LogStatusNotification", {"LogStatusNotification"})]:
                seen.clear()
                assert await trigger(message, 1 if message == "MeterValues" else None) == "Accepted"
                await wait_for(lambda: sent & set(seen), 5)
            await wait_for(lambda: hub.manager.stations["TRIG1"].diagnostics_status is not None, 5)
        finally:
            await st.stop()


# -- against an ocpp-library CSMS -------------------------------------------------------------
async def test_certificate_requests_from_an_ocpp_library_csms(csms, pki):  # noqa: F811
    async with running(csms, "LIBCSMS", ca_certs=[pki["ca"].cert]) as st:
        peer = csms.peers["LIBCSMS"]
        reply = await peer.call(call.GetInstalledCertificateIds(certificate_type=CSMS_ROOT))
        assert reply.status == "Accepted" and len(reply.certificate_hash_data) == 1
        reply = await peer.call(call.InstallCertificate(certificate_type=MANUFACTURER_ROOT,
                                                        certificate=pki["other_ca"].cert))
        assert reply.status == "Accepted"
        data = (await peer.call(call.GetInstalledCertificateIds(
            certificate_type=MANUFACTURER_ROOT))).certificate_hash_data[0]
        assert (await peer.call(call.DeleteCertificate(certificate_hash_data=data))).status \
            == "Accepted"
        assert (await peer.call(call.DeleteCertificate(certificate_hash_data=data))).status \
            == "NotFound"
        reply = await peer.call(call.ExtendedTriggerMessage(requested_message="Heartbeat"))
        assert reply.status == "Accepted"
        await csms.wait_for("Heartbeat")
        reply = await peer.call(call.CertificateSigned(certificate_chain=pki["ca"].cert))
        assert reply.status == "Rejected"   # nothing was requested
        assert st.registration == "accepted"
