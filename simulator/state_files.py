"""A station's client certificate kept in `--state-dir` across runs.

When the CSMS signs a certificate for a station (SignCertificate → CertificateSigned), the
station's certificate chain and private key are written to
`<state_dir>/<id>.client-cert.pem` and `<id>.client-key.pem` (the key readable by the owner
only).  The next `chargesim run` / `chargesim station` with the same --state-dir starts the
station with them, as a real charger keeps its certificate across power cycles.  An explicit
--client-cert / --client-key wins over the saved pair.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path


def _safe(station_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in station_id)


def paths(state_dir: str, station_id: str) -> tuple[Path, Path]:
    base = Path(state_dir)
    safe = _safe(station_id)
    return base / f"{safe}.client-cert.pem", base / f"{safe}.client-key.pem"


def with_saved_certificate(options, station_id: str):
    """`options` with the station's saved client certificate, if there is one to use."""
    state_dir = options.state_dir
    if not state_dir or options.client_cert or options.client_key:
        return options
    cert, key = paths(state_dir, station_id)
    if not (cert.is_file() and key.is_file()):
        return options
    return dataclasses.replace(options, client_cert=cert.read_text(encoding="ascii"),
                               client_key=key.read_text(encoding="ascii"))


def keep_signed_certificates(station, state_dir: str | None) -> None:
    """Save the station's client certificate whenever the CSMS has signed a new one."""
    if not state_dir:
        return

    def on_event(event) -> None:
        if event.kind != "certificate_signed":
            return
        security = station.security
        save(state_dir, station.id, security.client_cert, security.client_key)

    station.view.subscribe(on_event)


def save(state_dir: str, station_id: str, cert_pem: str | None, key_pem: str | None) -> None:
    if not cert_pem or not key_pem:
        return
    os.makedirs(state_dir, exist_ok=True)
    cert, key = paths(state_dir, station_id)
    tmp = key.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key_pem)
    os.replace(tmp, key)
    tmp = cert.with_suffix(".tmp")
    tmp.write_text(cert_pem, encoding="ascii")
    os.replace(tmp, cert)
