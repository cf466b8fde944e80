"""The station's side of the OCPP 1.6 security extensions (security whitepaper, edition 2).

- Security profiles: 1 = HTTP Basic auth (user = station id, password = AuthorizationKey)
  over ws://; 2 = the same over TLS, the server checked against the installed
  CentralSystemRootCertificates; 3 = TLS with a client certificate (no Basic auth).
  The profile applies when the station connects; the CSMS may raise it, never lower it.
- Certificate store: CentralSystemRootCertificate / ManufacturerRootCertificate, found by
  their certificateHashData (hashes of the issuer's name and key, and the serial number).
- SignCertificate: a fresh EC key and a real CSR; CertificateSigned installs the chain
  only if it is valid now, chains to a CentralSystemRootCertificate and holds that key.
- SecurityEventNotification: real events (failed authentication, a bad server certificate,
  reset, reconfiguration, a bad signed certificate) are queued and sent once the station is
  registered — the failures that cause them happen while it cannot send.
"""
from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..transport import tls
# the certificate helpers live in certificates.py; these names stay importable from here
from .certificates import (CERTIFICATE_TYPES, CSMS_ROOT, HASHES, MANUFACTURER_ROOT,  # noqa: F401
                           CertificateHash, Installed, chains_to, hash_data, load_certs,
                           make_csr, public_key_bits, valid_now)
from .clock import now_iso
from .errors import SEND_ERRORS, ConnectFailed
from .intents import SecurityEvent, SignCertificateRequest

if TYPE_CHECKING:
    from .context import FeatureContext

# ExtendedTriggerMessage: the plain triggers, and three of its own (the dialect maps names)
EXTENDED_TRIGGERS = ("boot", "heartbeat", "meter_values", "status", "log_status",
                     "signed_firmware_status", "sign_certificate")
EVENT_QUEUE = 100


# -- the station's security state ------------------------------------------------------------
class StationSecurity:
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        opts = ctx.options
        self.store: list[Installed] = []
        for ca in opts.ca_certs:
            for cert in load_certs(tls.read_pem(ca)):
                self.store.append(Installed(CSMS_ROOT, cert, cert.public_bytes(
                    serialization.Encoding.PEM).decode()))
        self.client_cert: str | None = tls.read_pem(opts.client_cert) if opts.client_cert else None
        self.client_key: str | None = tls.read_pem(opts.client_key) if opts.client_key else None
        self._pending_key: ec.EllipticCurvePrivateKey | None = None
        self.events: list[tuple[str, str, str | None]] = []   # (type, timestamp, techInfo)
        self._in_use: int | None = None    # the profile of the current connection
        self._falling_back = False
        self._sending = False
        settings = ctx.settings
        if opts.authorization_key is not None:
            settings.set("authorization_key", opts.authorization_key)
        if opts.cpo_name is not None:
            settings.set("cpo_name", opts.cpo_name)
        settings.subscribe(self._on_setting_change)

    @property
    def profile(self) -> int:
        return self.ctx.settings["security_profile"]

    def _on_setting_change(self, name: str, value) -> None:
        settings = self.ctx.settings
        if name == "security_profile":   # never lower again
            settings.raise_minimum(name, value)
            if self._in_use is not None and value != self._in_use and self.ctx.connected():
                old = self._in_use
                self.ctx.after_reply(lambda: self._switch_profile(old), "security-profile")
        if name in ("security_profile", "authorization_key") and not self._falling_back:
            self.report("ReconfigurationOfSecurityParameters", f"{settings.key(name)} changed")

    def _set_profile(self, profile: int) -> None:
        """The station's own change (fallback): below the never-lower minimum."""
        settings = self.ctx.settings
        settings.raise_minimum("security_profile", profile)
        settings.set("security_profile", profile)

    async def _switch_profile(self, old: int) -> None:
        """Whitepaper: after a SecurityProfile change the station reconnects with the new
        profile; if that fails it falls back to the previous one (and says so)."""
        st = self.ctx
        new = self.profile
        try:
            await st.relink()
        except ConnectFailed as e:
            st.emit("security_profile", f"profile {new} failed, back to {old}: {e}")
            self._in_use, self._falling_back = None, True   # the fallback is no new switch
            try:
                self._set_profile(old)
            finally:
                self._falling_back = False
            self.report("ReconfigurationOfSecurityParameters",
                        f"{st.settings.key('security_profile')} {new} failed to connect; "
                        f"back to {old}")
            try:
                await st.relink(closed=True)
            except ConnectFailed:
                st.link_lost()        # the ordinary reconnect loop takes over
                return
        else:
            st.emit("security_profile", f"reconnected with security profile {new}")
        await st.relinked()

    # -- connecting -----------------------------------------------------------------------
    def connect_args(self) -> dict:
        """websocket.connect() arguments for the current profile."""
        st, profile = self.ctx, self.profile
        self._in_use = profile
        if profile == 0:
            return {"basic_auth": st.options.basic_auth, "ssl": None}
        if profile >= 2 and not st.url.startswith("wss://"):
            raise ValueError(f"security profile {profile} needs a wss:// URL, not {st.url}")
        if profile == 1 and st.url.startswith("wss://"):
            raise ValueError("security profile 1 is Basic auth over ws://")
        auth = None
        if profile in (1, 2):
            password = st.settings["authorization_key"]
            if not password:
                raise ValueError(f"security profile {profile} needs an "
                                 f"{st.settings.key('authorization_key')}")
            auth = (st.station_id, password)
        context = None
        if profile >= 2:
            roots = [i.pem for i in self.store if i.type == CSMS_ROOT]
            if profile == 3 and not (self.client_cert and self.client_key):
                raise ValueError("security profile 3 needs a client certificate and key")
            context = tls.client_context(roots, self.client_cert if profile == 3 else None,
                                         self.client_key if profile == 3 else None)
        return {"basic_auth": auth, "ssl": context}

    def on_connect_failed(self, error: BaseException) -> None:
        """Turn a refused connection into the security event it is, if it is one."""
        seen: set[int] = set()
        while error is not None and id(error) not in seen:
            seen.add(id(error))
            if isinstance(error, ssl.SSLCertVerificationError):
                self.report("InvalidCentralSystemCertificate", str(error)[:255])
                return
            response = getattr(error, "response", None)
            if getattr(response, "status_code", None) in (401, 403):
                self.report("FailedToAuthenticateAtCentralSystem",
                            f"HTTP {response.status_code} at the handshake")
                return
            error = error.__cause__ or error.__context__

    # -- security events ------------------------------------------------------------------
    def report(self, kind: str, tech_info: str | None = None) -> None:
        """Record a security event and send it when the station may (SecurityProfile > 0:
        a station without security does not speak the extensions)."""
        if self.profile == 0:
            return
        self.ctx.emit("security_event", kind, type=kind, tech_info=tech_info)
        if self.events and self.events[-1][0] == kind and self.events[-1][2] == tech_info:
            return   # a reconnect loop failing the same way is one event, not one per try
        if len(self.events) >= EVENT_QUEUE:
            self.events.pop(0)
        self.events.append((kind, now_iso(), tech_info))
        if self.ctx.may_send():
            self.ctx.spawn(self.flush(), "security-events")

    async def flush(self) -> None:
        """Send the queued events, oldest first (called when registered)."""
        if self._sending:
            return
        self._sending = True
        try:
            while self.events and self.ctx.may_send():
                kind, ts, info = self.events[0]
                try:
                    await self.ctx.send(SecurityEvent(kind, ts, info))
                except SEND_ERRORS as e:
                    self.ctx.emit("error", f"SecurityEventNotification failed: {e}")
                    return
                self.events.pop(0)
        finally:
            self._sending = False

    # -- certificate store ----------------------------------------------------------------
    def install(self, kind: str, pem: str) -> str:
        """InstallCertificate: Accepted, Rejected (not a valid CA certificate now), Failed
        (store full)."""
        try:
            certs = load_certs(pem)
        except ValueError:
            return "Rejected"
        cert = certs[0]
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if len(certs) != 1 or not is_ca or not valid_now(cert) or kind not in CERTIFICATE_TYPES:
            return "Rejected"
        if any(i.cert == cert and i.type == kind for i in self.store):
            return "Accepted"    # already there
        if len(self.store) >= self.ctx.settings["certificate_store_max_length"]:
            return "Failed"
        self.store.append(Installed(kind, cert, pem))
        self.ctx.emit("certificate_installed", kind, type=kind)
        return "Accepted"

    def installed_ids(self, kind: str) -> list[CertificateHash]:
        return [hash_data(i.cert) for i in self.store if i.type == kind]

    def delete(self, wanted: CertificateHash) -> str:
        """Accepted, NotFound, or Failed for the last CSMS root certificate while TLS
        depends on it (it would lock the station out)."""
        if wanted.algorithm not in HASHES:
            return "NotFound"
        for item in self.store:
            if hash_data(item.cert, algorithm=wanted.algorithm).same_as(wanted):
                roots = [i for i in self.store if i.type == CSMS_ROOT]
                if item.type == CSMS_ROOT and len(roots) == 1 and self.profile >= 2:
                    return "Failed"
                self.store.remove(item)
                self.ctx.emit("certificate_deleted", item.type, type=item.type)
                return "Accepted"
        return "NotFound"

    # -- SignCertificate / CertificateSigned ----------------------------------------------
    async def sign_certificate(self) -> str:
        """Send a fresh CSR; the answer's status (Accepted / Rejected)."""
        self._pending_key, csr = make_csr(self.ctx.station_id, self.ctx.settings["cpo_name"] or None)
        status = await self.ctx.send(SignCertificateRequest(csr))
        self.ctx.emit("sign_certificate", status, status=status)
        return status

    def certificate_signed(self, chain_pem: str) -> str:
        """Accepted (installed: used from the next connection) or Rejected (a security
        event says why)."""
        reason = self._check_chain(chain_pem)
        if reason is not None:
            self.report("InvalidChargePointCertificate", reason)
            self.ctx.emit("certificate_rejected", reason)
            return "Rejected"
        key = self._pending_key
        self.client_cert = chain_pem
        self.client_key = key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode()
        self._pending_key = None
        self.ctx.emit("certificate_signed", "client certificate installed")
        return "Accepted"

    def _check_chain(self, chain_pem: str) -> str | None:
        if len(chain_pem) > self.ctx.settings["certificate_chain_max_size"]:
            return f"chain longer than {self.ctx.settings.key('certificate_chain_max_size')}"
        if self._pending_key is None:
            return "no certificate was requested (no SignCertificate pending)"
        try:
            chain = load_certs(chain_pem)
        except ValueError as e:
            return f"unreadable certificate chain: {e}"
        leaf = chain[0]
        if leaf.public_key().public_numbers() != self._pending_key.public_key().public_numbers():
            return "the certificate is not for the key of our CSR"
        if not all(valid_now(c) for c in chain):
            return "a certificate of the chain is not valid now"
        if not chains_to(chain, [i.cert for i in self.store if i.type == CSMS_ROOT]):
            return "the chain does not lead to an installed CentralSystemRootCertificate"
        return None

    # -- ExtendedTriggerMessage -----------------------------------------------------------
    def extended_trigger(self, message: str, connector_id: int | None) -> str:
        st = self.ctx
        if connector_id is not None and not 0 <= connector_id < len(st.connectors):
            return "Rejected"
        if message not in EXTENDED_TRIGGERS:
            return "NotImplemented"
        if message not in ("log_status", "sign_certificate", "signed_firmware_status"):
            return st.trigger(message, connector_id)   # same behaviour as TriggerMessage
        st.emit("trigger", message, connector_id)
        st.after_reply(lambda: self._send_triggered(message), f"trigger-{message}")
        return "Accepted"

    async def _send_triggered(self, message: str) -> None:
        """The upload and signed-update statuses are the current ones (whitepaper: the
        firmware trigger asks for the signed-update status)."""
        st = self.ctx
        try:
            if message == "sign_certificate":
                await self.sign_certificate()
            else:
                await st.send_current(message)
        except SEND_ERRORS as e:
            st.emit("error", f"triggered {message} failed: {e}")
