"""What the station wants said to the CSMS, in no protocol's words.

A feature decides that something must be reported (a firmware status, a security event, a
certificate request); it hands one of these to `Station.send` / `Station.notify`, and the
station's dialect turns it into the wire message of its protocol version.  Each intent is a
small frozen dataclass of plain values, so it can be journalled and compared in tests.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FirmwareStatusChanged:
    status: str                    # Downloading, Downloaded, Installing, Installed, ...
    request_id: int | None = None  # the signed update it belongs to (None: a plain one)
    signed: bool = False           # reported in the signed-update vocabulary


@dataclass(frozen=True, slots=True)
class DiagnosticsStatusChanged:
    status: str                    # Idle, Uploading, Uploaded, UploadFailed


@dataclass(frozen=True, slots=True)
class LogStatusChanged:
    status: str                    # Idle, Uploading, Uploaded, UploadFailure, ...
    request_id: int | None = None


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    kind: str                      # e.g. FailedToAuthenticateAtCentralSystem
    timestamp: str                 # ISO 8601, when it happened
    tech_info: str | None = None


@dataclass(frozen=True, slots=True)
class SignCertificateRequest:
    """Ask the CSMS to sign a certificate; the dialect answers the CSMS's status."""
    csr: str                       # PEM


Intent = (FirmwareStatusChanged | DiagnosticsStatusChanged | LogStatusChanged | SecurityEvent
          | SignCertificateRequest)
