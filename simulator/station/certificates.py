"""Certificates as the station keeps them (OCPP 1.6 security whitepaper, edition 2): PEM
loading, the certificateHashData a CSMS names an installed certificate by, validity and chain
checks, and the CSR for SignCertificate.  Plain functions and value types: the station's
security feature (security.py) and the signed firmware update (firmware.py) both use them.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CSMS_ROOT, MANUFACTURER_ROOT = "CentralSystemRootCertificate", "ManufacturerRootCertificate"
CERTIFICATE_TYPES = (CSMS_ROOT, MANUFACTURER_ROOT)
HASHES = {"SHA256": hashlib.sha256, "SHA384": hashlib.sha384, "SHA512": hashlib.sha512}


# -- certificates ----------------------------------------------------------------------------
def load_certs(pem: str | bytes) -> list[x509.Certificate]:
    """Every certificate in PEM text; ValueError if there is none or one is malformed."""
    data = pem.encode() if isinstance(pem, str) else pem
    certs = x509.load_pem_x509_certificates(data)
    if not certs:
        raise ValueError("no certificate")
    return certs


def _der_item(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER item at `at`."""
    tag, length, at = data[at], data[at + 1], at + 2
    if length & 0x80:
        n = length & 0x7F
        length, at = int.from_bytes(data[at:at + n], "big"), at + n
    return tag, at, at + length


def public_key_bits(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING's value (without its unused-bits byte): what the
    issuerKeyHash covers, as in OCSP's CertID."""
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    _, start, _ = _der_item(spki, 0)             # SEQUENCE
    _, _, alg_end = _der_item(spki, start)       # AlgorithmIdentifier
    tag, bits, end = _der_item(spki, alg_end)    # BIT STRING
    assert tag == 0x03
    return spki[bits + 1:end]


@dataclass(frozen=True, slots=True)
class CertificateHash:
    """How a CSMS names an installed certificate: hashes of its issuer's name and key, and
    its serial number (hex), as in OCSP's CertID."""
    algorithm: str               # SHA256 | SHA384 | SHA512
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str

    def same_as(self, other: CertificateHash) -> bool:
        return (self.issuer_name_hash.lower() == other.issuer_name_hash.lower()
                and self.issuer_key_hash.lower() == other.issuer_key_hash.lower()
                and self.serial_number.lower().lstrip("0")
                == other.serial_number.lower().lstrip("0"))


def hash_data(cert: x509.Certificate, issuer: x509.Certificate | None = None,
              algorithm: str = "SHA256") -> CertificateHash:
    """The hash data of `cert`; a root is its own issuer."""
    issuer = issuer or cert
    h = HASHES[algorithm]
    return CertificateHash(algorithm, h(cert.issuer.public_bytes()).hexdigest(),
                           h(public_key_bits(issuer)).hexdigest(),
                           format(cert.serial_number, "x"))


def valid_now(cert: x509.Certificate) -> bool:
    now = datetime.now(timezone.utc)
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def chains_to(chain: list[x509.Certificate], roots: list[x509.Certificate]) -> bool:
    """Each certificate is signed by the next; the last one by (or is) a root."""
    for child, parent in zip(chain, chain[1:]):
        try:
            child.verify_directly_issued_by(parent)
        except Exception:   # InvalidSignature, or mismatched key / algorithm types
            return False
    last = chain[-1]
    for root in roots:
        if last == root:
            return True
        try:
            last.verify_directly_issued_by(root)
            return True
        except Exception:
            continue
    return False


def make_csr(station_id: str, organization: str | None) -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A P-256 key and a CSR for it: CN = the station id (the hub checks it against the
    connection's id), O = CpoName (whitepaper)."""
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.COMMON_NAME, station_id)]
    if organization:
        names.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names))
           .sign(key, hashes.SHA256()))
    return key, csr.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(slots=True)
class Installed:
    type: str
    cert: x509.Certificate
    pem: str
