"""TLS contexts for OCPP-J security profiles 2 and 3 (OCPP 1.6 security whitepaper).

Certificates and keys are given as PEM text or as file paths (text that starts with
"-----BEGIN" is PEM).  `ssl` loads a certificate chain only from files, so PEM text for a
client certificate goes through a short-lived temporary file.
"""
from __future__ import annotations

import os
import ssl
import tempfile


def is_pem(value: str | bytes) -> bool:
    head = value[:64].lstrip() if isinstance(value, str) else value[:64].lstrip().decode("ascii", "replace")
    return head.startswith("-----BEGIN")


def read_pem(value: str | bytes) -> str:
    """PEM text of `value` (PEM already, or a path)."""
    if is_pem(value):
        return value if isinstance(value, str) else value.decode()
    with open(value, encoding="ascii") as f:
        return f.read()


def client_context(ca: list[str], cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    """A client context that trusts only `ca` (PEM texts or paths) for the server, checks the
    host name, needs TLS 1.2+ (whitepaper) and, for profile 3, presents `cert` / `key`."""
    if not ca:
        raise ValueError("TLS needs at least one CA certificate to check the server against")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(cadata="\n".join(read_pem(c) for c in ca))
    if cert is not None:
        load_chain(ctx, cert, key)
    ctx.chargesim_client_cert = cert is not None   # for the TLS error message (websocket.py)
    return ctx


def server_context(cert: str, key: str, client_ca: str | None = None) -> ssl.SSLContext:
    """A server context; with `client_ca`, client certificates signed by it are asked for and
    verified (profile 3).  CERT_OPTIONAL so that a missing certificate is refused at the HTTP
    level with a readable reason instead of a bare handshake failure."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    load_chain(ctx, cert, key)
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(cadata=read_pem(client_ca))
    return ctx


def load_chain(ctx: ssl.SSLContext, cert: str, key: str | None) -> None:
    if not is_pem(cert) and (key is None or not is_pem(key)):
        ctx.load_cert_chain(cert, key)
        return
    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(read_pem(cert).strip() + "\n")
            if key is not None:
                f.write(read_pem(key).strip() + "\n")
        ctx.load_cert_chain(path)
    finally:
        os.unlink(path)
