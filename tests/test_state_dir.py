"""--state-dir keeps a station's signed client certificate across runs (state_files.py)."""
from __future__ import annotations

import asyncio
import os
import stat

import pytest

from simulator.dialects import make_station
from simulator.state_files import keep_signed_certificates, paths, with_saved_certificate
from simulator.station import StationOptions
from tests.hub_helpers import running_hub, wait_for
from tests.pki_helpers import TestCA

KEY = "0123456789abcdef-secret"


@pytest.fixture(scope="module")
def pki():
    ca = TestCA()
    return {"ca": ca, "server": ca.server()}


def test_nothing_saved_leaves_the_options_alone(tmp_path):
    options = StationOptions(state_dir=str(tmp_path))
    assert with_saved_certificate(options, "S1") is options
    assert with_saved_certificate(StationOptions(), "S1").client_cert is None


async def test_a_signed_certificate_is_saved_and_used_by_the_next_run(pki, tmp_path):
    ca, server = pki["ca"], pki["server"]
    common = dict(tls_cert=server.cert, tls_key=server.key, ca_cert=ca.cert, ca_key=ca.key_pem)
    options = StationOptions(interval_scale=0.05, reconnect_min=0.05, security_profile=2,
                             authorization_key=KEY, ca_certs=[ca.cert], state_dir=str(tmp_path))
    async with running_hub(**common) as hub:
        st = make_station("KEEP1", hub.url, with_saved_certificate(options, "KEEP1"))
        keep_signed_certificates(st, options.state_dir)
        await st.start(timeout=5)
        try:
            installed = st.expect("certificate_signed")
            assert await hub.send("KEEP1", "ExtendedTriggerMessage", {
                "requestedMessage": "SignChargePointCertificate"}) == {"status": "Accepted"}
            await asyncio.wait_for(installed, 5)
        finally:
            await st.stop()
    cert, key = paths(str(tmp_path), "KEEP1")
    assert cert.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" in key.read_text()
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600

    # A new process (a fresh station from the same options) connects with mutual TLS.
    async with running_hub(tls_client_ca=ca.cert, **common) as hub:
        again = with_saved_certificate(dataclasses_replace(options, security_profile=3), "KEEP1")
        assert again.client_cert == cert.read_text()
        st = make_station("KEEP1", hub.url, again)
        await st.start(timeout=5)
        try:
            await wait_for(lambda: "KEEP1" in hub.connections, 5)
        finally:
            await st.stop()


def dataclasses_replace(options, **changes):
    import dataclasses
    return dataclasses.replace(options, **changes)
