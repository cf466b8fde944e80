"""The hub's certificate authority: signs the CSRs stations send (1.6 SignCertificate).

A CSR is signed when it is readable, correctly self-signed and names the station itself
(CN = station id: the CN a profile-3 connection is checked against); otherwise refused.
`Certificates` is the feature: it records what was issued (`store.certificates`) and, once
the adapter has put the answer on the wire, sends the abstract command CertificateSigned
with the chain (leaf, CA) and records the station's answer.

The CA is `HubConfig.ca_cert` / `ca_key` (PEM text or paths); with `auto_ca` instead the
hub makes a throwaway CA at start (`hub.pki.ca_pem` — install it on the stations to trust
it).  With neither, the hub has no CA and SignCertificate is answered NotSupported.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Awaitable, Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from simulator.transport import tls

from .commands import CertificateSigned, Command, Result
from .messages import CertificateSigningRequest, CertificateSigningResult, format_time, utcnow
from .store import Store

log = logging.getLogger(__name__)

VALIDITY = dt.timedelta(days=365)


def make_ca(name: str = "chargesim hub CA") -> tuple[str, str]:
    """(certificate PEM, key PEM) of a new self-signed CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + 10 * VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                           critical=True)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


class CertificateAuthority:
    def __init__(self, cert: str | None = None, key: str | None = None):
        if cert is None or key is None:
            cert, key = make_ca()
        self.ca_pem = tls.read_pem(cert)
        self.cert = x509.load_pem_x509_certificate(self.ca_pem.encode())
        self.key = serialization.load_pem_private_key(tls.read_pem(key).encode(), password=None)

    def sign(self, station_id: str, csr_pem: str) -> x509.Certificate:
        """A client certificate for the CSR; ValueError saying why not."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode())
        except ValueError as e:
            raise ValueError(f"unreadable CSR: {e}") from None
        if not csr.is_signature_valid:
            raise ValueError("the CSR's signature is not valid")
        cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if not cns or cns[0].value != station_id:
            raise ValueError(f"the CSR's CN must be the station id {station_id!r}")
        now = dt.datetime.now(dt.timezone.utc)
        return (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(self.cert.subject)
                .public_key(csr.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                               critical=False)
                .sign(self.key, hashes.SHA256()))



class Certificates:
    """Signing requests of stations: sign, record, deliver.  Without a CA: None (the adapter
    answers NotSupported)."""

    def __init__(self, store: Store, ca: CertificateAuthority | None,
                 send: Callable[[str, Command, "float | None"], Awaitable[Result]]):
        self.repo = store.certificates
        self.ca = ca
        self.send = send
        self._tasks: set[asyncio.Task] = set()

    @property
    def ca_pem(self) -> str | None:
        return self.ca.ca_pem if self.ca else None

    def sign(self, request: CertificateSigningRequest) -> CertificateSigningResult | None:
        if self.ca is None:
            return None
        try:
            cert = self.ca.sign(request.station_id, request.csr)
        except ValueError as e:
            log.warning("%s: SignCertificate rejected: %s", request.station_id, e)
            return CertificateSigningResult(False, str(e))
        record = self.repo.add(request.station_id, format(cert.serial_number, "x"),
                               cert.subject.rfc4514_string(), format_time(cert.not_valid_after_utc),
                               format_time(utcnow()))
        chain = cert.public_bytes(serialization.Encoding.PEM).decode() + self.ca.ca_pem
        return CertificateSigningResult(True, chain=chain, record=record)

    def deliver(self, station_id: str, result: CertificateSigningResult) -> None:
        """Send the signed chain to the station (in a task: called after the reply)."""
        task = asyncio.create_task(self._deliver(station_id, result))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, station_id: str, result: CertificateSigningResult) -> None:
        try:
            outcome = await self.send(station_id, CertificateSigned(result.chain), None)
            status = outcome.status.value
        except Exception as e:   # the station went away, or answered with an error
            status = f"error: {type(e).__name__}"
            log.warning("%s: CertificateSigned failed: %s", station_id, e)
        self.repo.set_status(result.record, status)
        log.info("%s: CertificateSigned %s", station_id, status)

    def issued(self, station_id: str) -> list[dict]:
        return self.repo.list(station_id)

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
