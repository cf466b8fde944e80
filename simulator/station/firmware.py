"""Firmware updates: plain (1.6 UpdateFirmware) and signed (the security extensions').

The image is really downloaded (HTTP(S), file_transfer.py) at retrieveDate, with `retries`
more attempts `retryInterval` apart; then installed, and the station reboots and boots with
the new version.  Statuses, as the OCA compliance cases expect them:

    plain:  Downloading, Downloaded, Installing, (reboot, BootNotification), Installed
    signed: [DownloadScheduled], Downloading, Downloaded, SignatureVerified,
            [InstallScheduled], Installing, InstallRebooting, (reboot, boot), Installed

Installed follows the boot: only the rebooted station knows the image runs.  Failures end
the update with DownloadFailed (after the retries; an ftp:// location at once),
InvalidSignature (signed) or InstallationFailed (an empty image), and the station keeps its
firmware.  StationOptions.firmware_failure injects one of these on purpose.

The new version (BootNotification.firmwareVersion) is `firmware_version_of`: the image's
first line if it reads `firmware-version: <v>`, else its file name without extensions.

Running transactions (StationOptions.firmware_install): "wait" (default) installs once
every transaction has ended — the driver is never cut off; "stop" stops them with reason
Reboot first.

Signed firmware: the signing certificate must be valid now and chain to an installed
ManufacturerRootCertificate, else the request is answered InvalidCertificate (and the
security event InvalidFirmwareSigningCertificate is reported).  The signature is the base64
of the image's signature by that certificate's key: RSA PKCS#1 v1.5 or ECDSA, with SHA-256.
A mismatch is InvalidSignature (security event InvalidFirmwareSignature).

A new UpdateFirmware cancels an update still downloading; once installation started it is
ignored (1.6's reply has no status to say so — an event records it).  A new
SignedUpdateFirmware cancels one in progress (AcceptedCanceled) or, once installing, is
Rejected.  Statuses are reported once; afterwards a triggered notification says Idle.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from . import file_transfer
from .clock import utc_now
from .intents import FirmwareStatusChanged
from .transaction import StopReason

if TYPE_CHECKING:
    from .context import FeatureContext

FAILURES = ("DownloadFailed", "InstallationFailed", "InvalidSignature")
INSTALL_POLICIES = ("wait", "stop")
DEFAULT_RETRIES, DEFAULT_RETRY_INTERVAL = 1, 30
MAX_VERSION = 50              # BootNotification.firmwareVersion maxLength
# What a plain FirmwareStatusNotification (TriggerMessage) says during a signed update.
PLAIN = {"DownloadScheduled": "Idle", "DownloadPaused": "Downloading",
         "SignatureVerified": "Downloaded", "InvalidSignature": "DownloadFailed",
         "InstallScheduled": "Downloaded", "InstallRebooting": "Installing",
         "InstallVerificationFailed": "InstallationFailed"}
_EXTENSIONS = re.compile(r"(\.(bin|img|fw|hex|tar|gz|tgz|zip|swu|image))+$", re.I)
_VERSION_LINE = re.compile(rb"\s*firmware-version\s*:\s*(\S[^\r\n]*?)\s*(\r?\n|$)", re.I)


def firmware_version_of(location: str, data: bytes) -> str:
    """The version an image carries: `firmware-version: <v>` on its first line, else the
    file name of the location without its extensions (`fw-2.1.0.bin` → `fw-2.1.0`)."""
    m = _VERSION_LINE.match(data[:256])
    if m:
        try:
            return m.group(1).decode()[:MAX_VERSION]
        except UnicodeDecodeError:
            pass
    name = unquote(urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1])
    return (_EXTENSIONS.sub("", name) or name or "unknown")[:MAX_VERSION]


def verify_signature(cert: x509.Certificate, signature_b64: str, data: bytes) -> str | None:
    """None if `signature_b64` signs `data` with the certificate's key, else why not."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return "the signature is not base64"
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            return f"unsupported signing key {type(key).__name__}"
    except InvalidSignature:
        return "the signature does not match the image"
    return None


@dataclass
class Update:
    location: str
    retrieve: datetime
    retries: int
    retry_interval: float          # s, scaled
    request_id: int | None = None  # signed updates only
    certificate: x509.Certificate | None = None
    signature: str | None = None
    install_at: datetime | None = None
    installing: bool = False
    task: asyncio.Task | None = None

    @property
    def signed(self) -> bool:
        return self.request_id is not None


class Firmware:
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        opts = ctx.options
        self.fail_next(opts.firmware_failure)
        if opts.firmware_install not in INSTALL_POLICIES:
            raise ValueError(f"firmware_install must be one of {INSTALL_POLICIES}, "
                             f"not {opts.firmware_install!r}")
        self.install_policy: str = opts.firmware_install
        self.status = "Idle"                  # the last status reported (signed spelling)
        self.plain_status = "Idle"            # the same in the plain update's vocabulary
        self.current: Update | None = None
        self.last_request_id: int | None = None

    def fail_next(self, failure: str | None) -> None:
        """Make the next updates fail with `failure` (one of FAILURES; None: succeed)."""
        if failure is not None and failure not in FAILURES:
            raise ValueError(f"firmware failure must be one of {FAILURES}, not {failure!r}")
        self.fail_with: str | None = failure

    @property
    def busy(self) -> bool:
        return self.current is not None and self.current.task is not None \
            and not self.current.task.done()

    # -- requests -------------------------------------------------------------------------
    def update(self, location: str, retrieve_at: datetime | None, retries: int | None = None,
               retry_interval: float | None = None) -> None:
        """A plain update (nothing to answer: an ignored one is an event)."""
        st = self.ctx
        if self.busy and self.current.installing:
            st.emit("firmware_ignored", f"UpdateFirmware from {location} ignored: "
                                         "installation in progress", location=location)
            return
        self._start(Update(location, retrieve_at or utc_now(),
                           *self._retry(retries, retry_interval)))

    def signed_update(self, location: str, retrieve_at: datetime | None, request_id: int,
                      signing_certificate: str, signature: str,
                      install_at: datetime | None = None, retries: int | None = None,
                      retry_interval: float | None = None) -> str:
        """A signed update: Accepted, AcceptedCanceled, Rejected (installing),
        InvalidCertificate."""
        from .certificates import MANUFACTURER_ROOT, chains_to, load_certs, valid_now
        st = self.ctx
        if self.busy and self.current.installing:
            return "Rejected"
        try:
            cert = load_certs(signing_certificate)[0]
            problem = None if valid_now(cert) else "the signing certificate is not valid now"
        except ValueError as e:
            cert, problem = None, f"unreadable signing certificate: {e}"
        if problem is None:
            roots = [i.cert for i in st.security.store if i.type == MANUFACTURER_ROOT]
            if not chains_to([cert], roots):
                problem = "the signing certificate does not chain to an installed " \
                          "ManufacturerRootCertificate"
        if problem is not None:
            st.security.report("InvalidFirmwareSigningCertificate", problem)
            st.emit("firmware_rejected", problem, request_id=request_id)
            return "InvalidCertificate"
        status = "AcceptedCanceled" if self.busy else "Accepted"
        self._start(Update(location, retrieve_at or utc_now(),
                           *self._retry(retries, retry_interval), request_id=request_id,
                           certificate=cert, signature=signature, install_at=install_at))
        return status

    def _retry(self, retries: int | None, interval: float | None) -> tuple[int, float]:
        retries = DEFAULT_RETRIES if retries is None else max(0, retries)
        interval = DEFAULT_RETRY_INTERVAL if interval is None else max(0, interval)
        return retries, interval * self.ctx.options.interval_scale

    def _start(self, update: Update) -> None:
        st = self.ctx
        if self.busy:
            self.current.task.cancel()
            st.emit("firmware_cancelled", f"update from {self.current.location} cancelled")
        self.current = update
        if update.signed:
            self.last_request_id = update.request_id
        st.emit("firmware_requested", update.location, location=update.location,
                 request_id=update.request_id)

        async def run():
            update.task = asyncio.current_task()
            await self._run(update)
        st.after_reply(run, "firmware")

    # -- the update -------------------------------------------------------------------------
    async def _run(self, u: Update) -> None:
        st = self.ctx
        delay = (u.retrieve - utc_now()).total_seconds()
        if delay > 0:
            if u.signed:
                await self._report(u, "DownloadScheduled")
            await asyncio.sleep(delay)
        await self._report(u, "Downloading")
        if self.fail_with == "DownloadFailed":
            st.emit("firmware_failed", "DownloadFailed (injected)")
            return await self._end(u, "DownloadFailed")
        got = await file_transfer.download(
            u.location, u.retries, u.retry_interval, st.options.call_timeout,
            on_retry=lambda n, why: st.emit("firmware_retry", f"attempt {n}: {why}"))
        if not got.ok:
            st.emit("firmware_failed", got.reason, reason=got.reason, attempts=got.attempts)
            return await self._end(u, "DownloadFailed")
        st.emit("firmware_downloaded", f"{len(got.data)} bytes", size=len(got.data))
        await self._report(u, "Downloaded")
        if u.signed:
            problem = ("signature check failed (injected)" if self.fail_with == "InvalidSignature"
                       else verify_signature(u.certificate, u.signature, got.data))
            if problem is not None:
                st.security.report("InvalidFirmwareSignature", problem)
                st.emit("firmware_failed", problem, reason=problem)
                return await self._end(u, "InvalidSignature")
            await self._report(u, "SignatureVerified")
            if u.install_at is not None and u.install_at > utc_now():
                await self._report(u, "InstallScheduled")
                await asyncio.sleep((u.install_at - utc_now()).total_seconds())
        await self._free_connectors()
        u.installing = True
        await self._report(u, "Installing")
        problem = ("InstallationFailed (injected)" if self.fail_with == "InstallationFailed"
                   else "the image is empty" if not got.data else None)
        if problem is not None:
            st.emit("firmware_failed", problem, reason=problem)
            return await self._end(u, "InstallationFailed")
        version = firmware_version_of(u.location, got.data)
        if u.signed:
            await self._report(u, "InstallRebooting")
        old, st.options.firmware_version = st.options.firmware_version, version
        st.emit("firmware_installed", f"{old} -> {version}", old=old, version=version)
        await st.reboot(StopReason.REBOOT)
        await st.until_accepted()           # after the boot with the new version
        await self._end(u, "Installed")

    async def _free_connectors(self) -> None:
        st = self.ctx
        while True:
            busy = [c for c in st.connectors[1:] if c.transaction is not None]
            if not busy:
                return
            if self.install_policy == "stop":
                for c in busy:
                    await st.stop_transaction(c, StopReason.REBOOT)
                continue
            st.emit("firmware_waiting", f"installation waits for {len(busy)} transaction(s)")
            await st.expect("tx_stopped")

    async def _report(self, u: Update, status: str) -> None:
        st = self.ctx
        self.status = status
        self.plain_status = PLAIN.get(status, status)
        st.emit("firmware_status", status, status=status, request_id=u.request_id)
        if u.signed:
            await st.notify(FirmwareStatusChanged(status, u.request_id, signed=True))
        else:
            await st.notify(FirmwareStatusChanged(self.plain_status))

    async def _end(self, u: Update, status: str) -> None:
        await self._report(u, status)
        self.status, self.plain_status = "Idle", "Idle"

    async def send_signed_status(self) -> None:
        """The triggered signed-update status (the request id goes with a running one)."""
        request_id = self.last_request_id if self.status != "Idle" else None
        await self.ctx.notify(FirmwareStatusChanged(self.status, request_id, signed=True),
                                  triggered=True)
