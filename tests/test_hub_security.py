"""The hub's security: unknown stations refused without auto-registration, credentials
stored hashed and compared in constant time, no secret in the logs or the frame log the
debug page shows, and a failed TLS handshake named on both sides."""
from __future__ import annotations

import base64
import hashlib
import logging

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from hub_under_test import HubConfig
from hub_under_test import security as hub_security
from simulator.dialects import make_station
from simulator.station import StationOptions
from simulator.station.errors import ConnectFailed
from tests.hub_helpers import Api, exchange, raw_station, running_hub
from tests.pki_helpers import TestCA

KEY = "s3cret-station-key-0123"
OPTS = dict(interval_scale=0.05, reconnect_min=0.05)


@pytest.fixture(autouse=True)
def _hub_logs_reach_caplog(monkeypatch):
    """The hub's log reaches caplog even after a driver test routed it elsewhere
    (simulator.run_options.configure_hub_log turns its propagation off for the process)."""
    monkeypatch.setattr(logging.getLogger("hub_under_test"), "propagate", True)


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def handshake_status(hub, station_id: str, **kw) -> int | None:
    """The HTTP status refusing the handshake, or None if it was accepted."""
    try:
        ws = await websockets.connect(f"{hub.url}/{station_id}", subprotocols=["ocpp1.6"], **kw)
    except InvalidStatus as e:
        return e.response.status_code
    await ws.close()
    return None


# -- unknown stations ------------------------------------------------------------------------

async def test_unknown_stations_are_refused_with_404_when_auto_registration_is_off(caplog):
    async with running_hub(unknown_stations="refuse", known_stations=("KNOWN-1",)) as hub:
        with caplog.at_level(logging.WARNING, "hub_under_test"):
            assert await handshake_status(hub, "STRANGER") == 404
        assert "STRANGER: refused 404 from 127.0.0.1:" in caplog.text
        assert "auto-registration is off" in caplog.text
        assert "STRANGER" not in hub.manager.stations   # a scan leaves nothing behind
        assert await handshake_status(hub, "KNOWN-1") is None
        # registered by the operator through the API: let in
        async with Api(hub) as api:
            status, _ = await api.put("/stations/NEW-1/registration", {"status": "Accepted"})
            assert status == 200
        async with raw_station(hub, "NEW-1") as ws:
            reply = await exchange(ws, [2, "b", "BootNotification",
                                        {"chargePointVendor": "V", "chargePointModel": "M"}])
            assert reply[2]["status"] == "Accepted"


async def test_auto_registration_on_lets_any_station_in():
    async with running_hub(unknown_stations="accept") as hub:
        assert await handshake_status(hub, "ANYONE") is None


async def test_credentials_are_checked_before_the_station_is_known():
    # a wrong password is 401 whether the id exists or not: a 404 would tell ids apart
    async with running_hub(unknown_stations="refuse", require_auth=True,
                           station_passwords={"PW-1": KEY}) as hub:
        assert await handshake_status(hub, "PW-1", additional_headers=basic("PW-1", "nope")) == 401
        assert await handshake_status(hub, "NOBODY", additional_headers=basic("NOBODY", "x")) == 401
        assert await handshake_status(hub, "PW-1", additional_headers=basic("PW-1", KEY)) is None


def test_refuse_is_a_known_policy():
    HubConfig(unknown_stations="refuse").check()
    with pytest.raises(ValueError, match="unknown_stations must be one of"):
        HubConfig(unknown_stations="maybe").check()


# -- credentials -----------------------------------------------------------------------------

async def test_passwords_are_stored_salted_and_hashed():
    async with running_hub(station_passwords={"H-1": KEY, "H-2": KEY}) as hub:
        salt1, digest1 = hub.store.passwords.get("H-1")
        salt2, digest2 = hub.store.passwords.get("H-2")
        assert KEY.encode() not in salt1 + digest1
        assert salt1 != salt2 and digest1 != digest2      # the same password, two hashes
        assert digest1 == hashlib.pbkdf2_hmac("sha256", KEY.encode(), salt1,
                                              hub_security.ITERATIONS)


async def test_passwords_are_compared_in_constant_time(monkeypatch):
    compared = []
    real = hub_security.hmac.compare_digest

    def spy(a, b):
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hub_security.hmac, "compare_digest", spy)
    async with running_hub(station_passwords={"CT-1": KEY}) as hub:
        assert not hub.security.check_password("CT-1", "wrong")
        assert compared, "the digest comparison goes through hmac.compare_digest"
        compared.clear()
        assert await handshake_status(hub, "CT-1", additional_headers=basic("CT-1", KEY)) is None
        assert compared


# -- no secret in logs or on the debug page --------------------------------------------------

async def test_no_password_in_the_logs_even_at_debug_level(caplog):
    with caplog.at_level(logging.DEBUG):
        async with running_hub(station_passwords={"LOG-1": KEY}) as hub:
            station = make_station("LOG-1", hub.url, StationOptions(
                **OPTS, security_profile=1, authorization_key=KEY))
            await station.start(timeout=5)
            await station.stop()
            assert await handshake_status(hub, "LOG-1", additional_headers=basic("LOG-1", "bad")) == 401
    token = base64.b64encode(f"LOG-1:{KEY}".encode()).decode()
    text = caplog.text
    assert "Authorization: Basic <redacted>" in text        # the header is logged, not its value
    assert KEY not in text and token not in text
    assert KEY not in repr(HubConfig(station_passwords={"X": KEY}))


async def test_the_frame_log_hides_authorization_key_values():
    async with running_hub(station_passwords={"FR-1": KEY}) as hub:
        station = make_station("FR-1", hub.url, StationOptions(
            **OPTS, security_profile=1, authorization_key=KEY))
        await station.start(timeout=5)
        try:
            new_key = "another-secret-key-4567"
            reply = await hub.send("FR-1", "ChangeConfiguration",
                                   {"key": "AuthorizationKey", "value": new_key})
            assert reply["status"] == "Accepted"
            async with Api(hub) as api:
                status, frames = await api.get("/stations/FR-1/frames")
                assert status == 200
                _, page = await api.get("/debug", raw=True)
            raws = [f["raw"] for f in frames]
            change = [r for r in raws if "ChangeConfiguration" in r]
            assert change and all("<redacted>" in r for r in change)
            assert not any(new_key in r or KEY in r for r in raws)
            assert new_key not in page and KEY not in page
        finally:
            await station.stop()


def test_redact_frame_leaves_other_frames_alone():
    plain = '[2,"1","ChangeConfiguration",{"key":"HeartbeatInterval","value":"60"}]'
    assert hub_security.redact_frame(plain) is plain
    listed = '[3,"1",{"configurationKey":[{"key":"AuthorizationKey","readonly":false,"value":"k"}]}]'
    assert '"value":"<redacted>"' in hub_security.redact_frame(listed)
    assert hub_security.redact_frame('[2,"1","X",{"AuthorizationKey":') == '[2,"1","X",{"AuthorizationKey":'
    set_password = ('[2,"1","SetVariables",{"setVariableData":[{"attributeValue":"pw-123456789012345",'
                    '"component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"}}]}]')
    assert "pw-123456789012345" not in hub_security.redact_frame(set_password)


# -- TLS errors named on both sides ----------------------------------------------------------

@pytest.fixture(scope="module")
def pki():
    ca = TestCA()
    return {"ca": ca, "server": ca.server(), "other_ca": TestCA("Some Other CA")}


async def test_a_client_certificate_from_an_unknown_ca_is_named_on_both_sides(pki, caplog):
    server, ca = pki["server"], pki["ca"]
    foreign = pki["other_ca"].client("TLS-X")
    async with running_hub(tls_cert=server.cert, tls_key=server.key,
                           tls_client_ca=ca.cert) as hub:
        station = make_station("TLS-X", hub.url, StationOptions(
            **OPTS, security_profile=3, ca_certs=[ca.cert], client_cert=foreign.cert,
            client_key=foreign.key))
        with caplog.at_level(logging.WARNING, "hub_under_test"):
            with pytest.raises(ConnectFailed) as err:
                await station.start(timeout=5)
        message = str(err.value)
        assert "TLS error" in message and "client certificate" in message
        assert "did not receive a valid HTTP response" not in message
        hub_lines = [r.getMessage() for r in caplog.records if r.name == "hub_under_test.security"]
        assert any(line.startswith("TLS handshake from 127.0.0.1:") and "failed" in line
                   and "--tls-client-ca" in line for line in hub_lines), hub_lines
        assert "TLS-X" not in hub.connections
