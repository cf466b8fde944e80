"""The hub's certificate authority: signs the CSRs stations send with SignCertificate.

SignCertificate is answered Accepted when the CSR is readable, correctly self-signed and
names the station itself (CN = station id: the CN a profile-3 connection is checked
against); otherwise Rejected.  After the answer is on the wire the hub sends
CertificateSigned with the chain (leaf, CA) and records the certificate and the station's
answer in the `certificates` table.

The CA is `HubConfig.ca_cert` / `ca_key` (PEM text or paths); with `auto_ca` instead the
hub makes a throwaway CA at start (`hub.pki.ca_pem` — install it on the stations to trust
it).  With neither, the hub has no CA and SignCertificate is answered NotSupported.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from simulator.transport import tls

from .messages import format_time, utcnow

if TYPE_CHECKING:
    from .hub import Hub

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS certificates (
    id          INTEGER PRIMARY KEY,
    station_id  TEXT NOT NULL,
    serial      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    issued      TEXT NOT NULL,
    status      TEXT NOT NULL       -- Issued, then the station's answer: Accepted | Rejected | error
);
"""
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
    def __init__(self, hub: Hub, cert: str | None = None, key: str | None = None):
        self.hub = hub
        if cert is None or key is None:
            cert, key = make_ca()
        self.ca_pem = tls.read_pem(cert)
        self.cert = x509.load_pem_x509_certificate(self.ca_pem.encode())
        self.key = serialization.load_pem_private_key(tls.read_pem(key).encode(), password=None)
        self.db = hub.store.db
        self.db.executescript(SCHEMA)
        self._tasks: set[asyncio.Task] = set()

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

    async def sign_certificate(self, station_id: str, payload: dict) -> dict:
        """The SignCertificate handler: answer, then send CertificateSigned."""
        try:
            cert = self.sign(station_id, payload["csr"])
        except ValueError as e:
            log.warning("%s: SignCertificate rejected: %s", station_id, e)
            return {"status": "Rejected"}
        row = self.db.execute(
            "INSERT INTO certificates (station_id, serial, subject, not_after, issued, status) "
            "VALUES (?, ?, ?, ?, ?, 'Issued')",
            (station_id, format(cert.serial_number, "x"), cert.subject.rfc4514_string(),
             format_time(cert.not_valid_after_utc), format_time(utcnow()))).lastrowid
        chain = cert.public_bytes(serialization.Encoding.PEM).decode() + self.ca_pem
        conn = self.hub.connections.get(station_id)
        if conn is not None:
            conn.session.after_reply(lambda: self._spawn(self._deliver(station_id, chain, row)))
        return {"status": "Accepted"}

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, station_id: str, chain: str, row: int) -> None:
        try:
            reply = await self.hub.send(station_id, "CertificateSigned", {"certificateChain": chain})
            status = reply["status"]
        except Exception as e:   # the station went away, or answered with an error
            status = f"error: {type(e).__name__}"
            log.warning("%s: CertificateSigned failed: %s", station_id, e)
        self.db.execute("UPDATE certificates SET status = ? WHERE id = ?", (status, row))
        log.info("%s: CertificateSigned %s", station_id, status)

    def issued(self, station_id: str) -> list[dict]:
        rows = self.db.execute("SELECT serial, subject, not_after, issued, status FROM certificates "
                               "WHERE station_id = ? ORDER BY id", (station_id,)).fetchall()
        return [dict(zip(("serial", "subject", "not_after", "issued", "status"), r)) for r in rows]

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
