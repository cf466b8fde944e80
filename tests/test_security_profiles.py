"""OCPP 1.6 security profiles, our station against our hub (and an `ocpp`-library charger
against our hub): Basic auth (1), TLS + Basic auth (2), mutual TLS (3), the security events
a refused connection causes, and the write-only / never-lower configuration keys."""
from __future__ import annotations

import asyncio
import base64
import contextlib

import pytest
import websockets
from ocpp.v16 import call

from simulator.station import Station, StationOptions
from simulator.station.errors import ConnectFailed
from simulator.station.security import CSMS_ROOT
from simulator.transport import tls
from simulator.dialects import make_station
from tests.hub_helpers import Api, Charger, running_hub, wait_for
from tests.pki_helpers import TestCA

KEY = "0123456789abcdef-secret"


def opts(**kw) -> StationOptions:
    return StationOptions(interval_scale=0.05, reconnect_min=0.05, **kw)


@contextlib.asynccontextmanager
async def started(station: Station):
    await station.start(timeout=5)
    try:
        yield station
    finally:
        await station.stop()


def basic(user: str, password: str) -> dict:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# -- profile 1: Basic auth -------------------------------------------------------------------
async def test_basic_auth_right_password_connects():
    async with running_hub(station_passwords={"SP1": KEY}) as hub:
        async with started(make_station("SP1", hub.url, opts(security_profile=1,
                                                         authorization_key=KEY))) as st:
            assert st.registration == "accepted"
            assert "SP1" in hub.connections


async def test_basic_auth_wrong_password_is_refused_with_401_and_reported_later():
    async with running_hub(station_passwords={"SP2": KEY}) as hub, Api(hub) as api:
        st = make_station("SP2", hub.url, opts(security_profile=1, authorization_key="wrong-password-123"))
        with pytest.raises(ConnectFailed, match="401"):
            await st.start(timeout=5)
        assert "SP2" not in hub.connections
        assert "refused 401" in hub.server.frames.get("SP2")[-1].note   # logged
        with pytest.raises(ConnectFailed, match="401"):   # the same failure again: one event
            await st.start(timeout=5)
        assert [e[0] for e in st.security.events] == ["FailedToAuthenticateAtCentralSystem"]
        # Fixed: the queued event reaches the hub once the station is registered.
        assert st.change_configuration("AuthorizationKey", KEY) == "Accepted"
        async with started(st):
            await wait_for(lambda: not st.security.events, 5)
        status, events = await api.get("/stations/SP2/security-events")
        assert status == 200
        assert [e["type"] for e in events] == ["FailedToAuthenticateAtCentralSystem",
                                               "ReconfigurationOfSecurityParameters"]
        assert "401" in events[0]["tech_info"]


async def test_missing_password_is_refused_with_401():
    async with running_hub(station_passwords={"SP3": KEY}) as hub:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{hub.url}/SP3", subprotocols=["ocpp1.6"])
        assert refused.value.response.status_code == 401
        assert refused.value.response.headers["WWW-Authenticate"].startswith("Basic")
        # Our station without credentials: refused the same way.
        with pytest.raises(ConnectFailed, match="401"):
            await make_station("SP3", hub.url, opts()).start(timeout=5)


async def test_require_auth_refuses_stations_without_a_password():
    async with running_hub(require_auth=True) as hub:
        with pytest.raises(ConnectFailed, match="401"):
            await make_station("NOPW", hub.url, opts(security_profile=1,
                                                authorization_key=KEY)).start(timeout=5)


async def test_wrong_password_never_harms_the_connected_station():
    async with running_hub(station_passwords={"SP4": KEY, "SP5": KEY}) as hub:
        async with started(make_station("SP4", hub.url, opts(security_profile=1,
                                                         authorization_key=KEY))) as good:
            session = hub.connections["SP4"].session
            # Someone with the same id but a wrong password: refused before the duplicate
            # rule could replace the real station's connection.
            with pytest.raises(websockets.InvalidStatus):
                await websockets.connect(f"{hub.url}/SP4", subprotocols=["ocpp1.6"],
                                         additional_headers=basic("SP4", "not-the-password"))
            # Another station's password does not open this one either.
            with pytest.raises(websockets.InvalidStatus):
                await websockets.connect(f"{hub.url}/SP4", subprotocols=["ocpp1.6"],
                                         additional_headers=basic("SP5", KEY))
            assert hub.connections["SP4"].session is session
            reply = await hub.send("SP4", "GetConfiguration", {"key": ["HeartbeatInterval"]})
            assert reply["configurationKey"][0]["key"] == "HeartbeatInterval"
            assert good.online


async def test_ocpp_library_charger_with_basic_auth():
    async with running_hub(station_passwords={"LIB1": KEY}) as hub:
        ws = await websockets.connect(f"{hub.url}/LIB1", subprotocols=["ocpp1.6"],
                                      additional_headers=basic("LIB1", KEY))
        cp = Charger("LIB1", ws, response_timeout=5)
        task = asyncio.create_task(cp.start())
        try:
            result = await cp.call(call.BootNotification(charge_point_model="M",
                                                         charge_point_vendor="V"))
            assert result.status == "Accepted"
            await cp.call(call.SecurityEventNotification(type="StartupOfTheDevice",
                                                         timestamp="2026-01-01T00:00:00Z",
                                                         tech_info="power on"))
            assert hub.security.security_events("LIB1")[0]["type"] == "StartupOfTheDevice"
        finally:
            task.cancel()
            await ws.close()
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{hub.url}/LIB1", subprotocols=["ocpp1.6"],
                                     additional_headers=basic("LIB1", "bad-password"))
        assert refused.value.response.status_code == 401


async def test_password_api():
    async with running_hub() as hub, Api(hub) as api:
        assert (await api.put("/stations/API1/password", {"pw": "x"}))[0] == 400
        assert (await api.put("/stations/API1/password", "not json"))[0] == 400
        assert (await api.request("DELETE", "/stations/API1/password"))[0] == 404
        status, body = await api.put("/stations/API1/password", {"password": KEY})
        assert status == 200 and KEY not in str(body)
        with pytest.raises(ConnectFailed, match="401"):
            await make_station("API1", hub.url, opts()).start(timeout=5)
        async with started(make_station("API1", hub.url, opts(security_profile=1,
                                                          authorization_key=KEY))):
            pass
        assert (await api.request("DELETE", "/stations/API1/password"))[0] == 200
        async with started(make_station("API1", hub.url, opts())):
            pass


# -- configuration keys ------------------------------------------------------------------------
async def test_authorization_key_is_write_only_and_profile_never_lowered():
    async with running_hub(station_passwords={"CFG1": KEY}) as hub:
        st = make_station("CFG1", hub.url, opts(security_profile=1, authorization_key=KEY))
        async with started(st):
            reply = await hub.send("CFG1", "GetConfiguration",
                                   {"key": ["AuthorizationKey", "SecurityProfile"]})
            keys = {k["key"]: k for k in reply["configurationKey"]}
            assert "value" not in keys["AuthorizationKey"]
            assert keys["SecurityProfile"]["value"] == "1"
            assert KEY not in str(reply)

            async def change(key, value):
                return (await hub.send("CFG1", "ChangeConfiguration",
                                       {"key": key, "value": value}))["status"]
            assert await change("AuthorizationKey", "short") == "Rejected"
            assert await change("SecurityProfile", "0") == "Rejected"     # never lower
            assert await change("SecurityProfile", "4") == "Rejected"
            assert await change("CpoName", "Example CPO") == "Accepted"
        # Offline (no reconnect to try): raised, it can no longer be lowered.
        assert st.change_configuration("SecurityProfile", "2") == "Accepted"
        assert st.change_configuration("SecurityProfile", "1") == "Rejected"
        assert st.config["SecurityProfile"] == 2


# -- profile 2: TLS + Basic auth -------------------------------------------------------------------
@pytest.fixture(scope="module")
def pki():
    ca = TestCA()
    return {"ca": ca, "server": ca.server(), "other_ca": TestCA("Some Other CA")}


def tls_hub(pki, **kw):
    server = pki["server"]
    return running_hub(tls_cert=server.cert, tls_key=server.key, ca_cert=pki["ca"].cert,
                       ca_key=pki["ca"].key_pem, **kw)


async def test_tls_with_the_right_ca_connects(pki):
    async with tls_hub(pki, station_passwords={"TLS1": KEY}) as hub:
        assert hub.url.startswith("wss://")
        async with started(make_station("TLS1", hub.url, opts(
                security_profile=2, authorization_key=KEY, ca_certs=[pki["ca"].cert]))) as st:
            assert st.registration == "accepted"


async def test_tls_with_a_wrong_ca_refuses_the_server_and_reports_it(pki):
    async with tls_hub(pki, station_passwords={"TLS2": KEY}) as hub:
        st = make_station("TLS2", hub.url, opts(security_profile=2, authorization_key=KEY,
                                           ca_certs=[pki["other_ca"].cert]))
        with pytest.raises(ConnectFailed, match="certificate verify failed"):
            await st.start(timeout=5)
        assert "TLS2" not in hub.connections
        assert [e[0] for e in st.security.events] == ["InvalidCentralSystemCertificate"]
        # The operator installs the right root: the next connection works and the hub
        # hears about the refused server.
        assert st.security.install(CSMS_ROOT, pki["ca"].cert) == "Accepted"
        async with started(st):
            await wait_for(lambda: not st.security.events, 5)
        assert [e["type"] for e in hub.security.security_events("TLS2")] == [
            "InvalidCentralSystemCertificate"]


async def test_profile_2_needs_wss_and_profile_1_needs_ws(pki):
    with pytest.raises(ConnectFailed, match="wss://"):
        await make_station("X", "ws://127.0.0.1:1/ocpp", opts(
            security_profile=2, authorization_key=KEY, ca_certs=[pki["ca"].cert])).start()
    with pytest.raises(ConnectFailed, match="AuthorizationKey"):
        await make_station("X", "ws://127.0.0.1:1/ocpp", opts(security_profile=1)).start()


# -- profile 3: mutual TLS -------------------------------------------------------------------------
def mtls_hub(pki, **kw):
    return tls_hub(pki, tls_client_ca=pki["ca"].cert, **kw)


async def test_mtls_with_a_valid_client_certificate_connects(pki):
    client = pki["ca"].client("MTLS1")
    async with mtls_hub(pki) as hub:
        async with started(make_station("MTLS1", hub.url, opts(
                security_profile=3, ca_certs=[pki["ca"].cert], client_cert=client.cert,
                client_key=client.key))) as st:
            assert st.registration == "accepted"


async def test_mtls_without_a_client_certificate_is_refused(pki):
    async with mtls_hub(pki, station_passwords={"MTLS2": KEY}) as hub:
        st = make_station("MTLS2", hub.url, opts(security_profile=2, authorization_key=KEY,
                                            ca_certs=[pki["ca"].cert]))
        with pytest.raises(ConnectFailed, match="403"):
            await st.start(timeout=5)
        # ...and a profile-3 station without one does not even try.
        with pytest.raises(ConnectFailed, match="client certificate"):
            await make_station("MTLS2", hub.url, opts(security_profile=3,
                                                 ca_certs=[pki["ca"].cert])).start(timeout=5)
        assert "MTLS2" not in hub.connections


async def test_mtls_with_the_wrong_cn_or_an_unknown_issuer_is_refused(pki):
    other = pki["ca"].client("SOMEONE-ELSE")
    foreign = pki["other_ca"].client("MTLS3")
    async with mtls_hub(pki) as hub:
        with pytest.raises(ConnectFailed, match="403"):
            await make_station("MTLS3", hub.url, opts(
                security_profile=3, ca_certs=[pki["ca"].cert], client_cert=other.cert,
                client_key=other.key)).start(timeout=5)
        with pytest.raises(ConnectFailed):
            await make_station("MTLS3", hub.url, opts(
                security_profile=3, ca_certs=[pki["ca"].cert], client_cert=foreign.cert,
                client_key=foreign.key)).start(timeout=5)
        assert "MTLS3" not in hub.connections


async def test_ocpp_library_charger_over_mtls(pki):
    client = pki["ca"].client("LIB3")
    ctx = tls.client_context([pki["ca"].cert], client.cert, client.key)
    async with mtls_hub(pki) as hub:
        ws = await websockets.connect(f"{hub.url}/LIB3", subprotocols=["ocpp1.6"], ssl=ctx)
        cp = Charger("LIB3", ws, response_timeout=5)
        task = asyncio.create_task(cp.start())
        try:
            result = await cp.call(call.BootNotification(charge_point_model="M",
                                                         charge_point_vendor="V"))
            assert result.status == "Accepted"
        finally:
            task.cancel()
            await ws.close()


def test_hub_command_line_security_options(tmp_path, monkeypatch, capsys):
    from hub_under_test.__main__ import parse_args
    monkeypatch.chdir(tmp_path)
    for name in ("c.pem", "k.pem"):
        (tmp_path / name).write_text("PEM")
    config, _ = parse_args(["--station-password", "CP1=" + KEY, "--require-auth", "--auto-ca",
                            "--tls-cert", "c.pem", "--tls-key", "k.pem"])
    assert config.station_passwords == {"CP1": KEY}
    assert (config.require_auth, config.auto_ca, config.tls_cert) == (True, True, "c.pem")
    for argv, message in ((["--station-password", "CP1"], "ID=PASSWORD"),
                          (["--tls-cert", "c.pem"], "go together")):
        with pytest.raises(SystemExit) as exc:   # one line, exit 2
            parse_args(argv)
        assert exc.value.code == 2 and message in capsys.readouterr().err


async def test_certificates_and_keys_from_pem_files(pki, tmp_path):
    files = {}
    for name, text in [("ca", pki["ca"].cert), ("cert", pki["server"].cert),
                       ("key", pki["server"].key)]:
        files[name] = tmp_path / f"{name}.pem"
        files[name].write_text(text)
    client = pki["ca"].client("FILES1")
    (tmp_path / "client.pem").write_text(client.cert)
    (tmp_path / "client.key").write_text(client.key)
    async with running_hub(tls_cert=str(files["cert"]), tls_key=str(files["key"]),
                           tls_client_ca=str(files["ca"])) as hub:
        async with started(make_station("FILES1", hub.url, opts(
                security_profile=3, ca_certs=[str(files["ca"])],
                client_cert=str(tmp_path / "client.pem"),
                client_key=str(tmp_path / "client.key")))) as st:
            assert st.registration == "accepted"


async def test_a_new_profile_that_cannot_connect_falls_back_to_the_old_one():
    async with running_hub(station_passwords={"CFG2": KEY}) as hub:
        async with started(make_station("CFG2", hub.url, opts(security_profile=1,
                                                          authorization_key=KEY))) as st:
            first = hub.connections["CFG2"]
            fell_back = st.expect("security_profile")
            reply = await hub.send("CFG2", "ChangeConfiguration",
                                   {"key": "SecurityProfile", "value": "2"})
            assert reply["status"] == "Accepted"
            # Profile 2 needs wss://: the station cannot connect with it and goes back to 1.
            assert "back to 1" in (await asyncio.wait_for(fell_back, 5)).text
            await wait_for(lambda: "CFG2" in hub.connections
                           and hub.connections["CFG2"] is not first and st.online, 5)
            assert st.config["SecurityProfile"] == 1
            await wait_for(lambda: not st.security.events, 5)
            types = [e["type"] for e in hub.security.security_events("CFG2")]
            assert types == ["ReconfigurationOfSecurityParameters"] * 2


def test_station_command_line_security_options(pki, tmp_path):
    from simulator.cli import _options, build_parser
    ca = tmp_path / "ca.pem"
    ca.write_text(pki["ca"].cert)
    args = build_parser().parse_args(["station", "--id", "CLI1", "--security-profile", "2",
                                      "--password", KEY, "--ca", str(ca)])
    options = _options(args)
    assert (options.security_profile, options.authorization_key) == (2, KEY)
    st = make_station("CLI1", "wss://127.0.0.1:1/ocpp", options)
    assert st.security.connect_args()["basic_auth"] == ("CLI1", KEY)
    assert st.security.installed_ids(CSMS_ROOT)[0].serial_number == format(
        pki["ca"].obj.serial_number, "x")
