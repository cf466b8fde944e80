"""The station's building blocks without sockets: state machine, configuration store,
authorization cache, meter and EV model."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest

from simulator.station import (AuthCache, ChangeResult, ConfigStore, Connector, AuthorizationInfo,
                               IllegalTransition, KeySpec, Meter, Station, Status)
from simulator.dialects.ocpp16.config_keys import core_keys
from simulator.station.clock import iso, parse_iso, utc_now
from simulator.station.connector import check_transition
from simulator.dialects.ocpp16.names import STATUS, TRANSITIONS
from simulator.station.meter import EV, MEASURANDS
from simulator.station.transaction import StartState, Transaction
from simulator.dialects import make_station

S = Status

# ---------------------------------------------------------------------------------------
# State machine (OCPP 1.6 §4.9), written out here independently of the module's table
# ---------------------------------------------------------------------------------------
LEGAL = {
    "Available": "Preparing Charging SuspendedEV SuspendedEVSE Reserved Unavailable Faulted",
    "Preparing": "Available Charging SuspendedEV SuspendedEVSE Finishing Faulted",
    "Charging": "Available SuspendedEV SuspendedEVSE Finishing Unavailable Faulted",
    "SuspendedEV": "Available Charging SuspendedEVSE Finishing Unavailable Faulted",
    "SuspendedEVSE": "Available Charging SuspendedEV Finishing Unavailable Faulted",
    "Finishing": "Available Preparing Unavailable Faulted",
    "Reserved": "Available Preparing Unavailable Faulted",
    "Unavailable": "Available Preparing Charging SuspendedEV SuspendedEVSE Faulted",
    "Faulted": "Available Preparing Charging SuspendedEV SuspendedEVSE Finishing Reserved "
               "Unavailable",
}


@pytest.mark.parametrize("old", list(S))
@pytest.mark.parametrize("new", list(S))
def test_every_transition_is_checked_against_the_spec_table(old, new):
    legal = new == old or STATUS[new] in LEGAL[STATUS[old]].split()
    c = Connector(1, status=old, transitions=TRANSITIONS)
    if legal:
        c.set_status(new)
        assert c.status == new
    else:
        with pytest.raises(IllegalTransition, match=f"{old.value} -> {new.value}"):
            c.set_status(new)
        assert c.status == old  # unchanged


def test_table_has_every_status():
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize("status", [S.PREPARING, S.CHARGING, S.SUSPENDED_EV, S.FINISHING,
                                    S.RESERVED])
def test_connector_zero_only_knows_available_unavailable_faulted(status):
    with pytest.raises(IllegalTransition):
        check_transition(0, S.AVAILABLE, status, TRANSITIONS)
    check_transition(0, S.AVAILABLE, S.UNAVAILABLE, TRANSITIONS)
    check_transition(0, S.UNAVAILABLE, S.FAULTED, TRANSITIONS)


def test_set_status_reports_change_and_error_code():
    c = Connector(1)
    assert c.set_status(S.AVAILABLE) is False
    c.fault = "GroundFailure"
    assert c.set_status(S.FAULTED) is True
    assert c.error_code == "GroundFailure"
    c.fault = None
    c.set_status(S.AVAILABLE)
    assert c.error_code == "NoError"


def _tx(answered=True):
    # The station knows its transactions by its own id; how far the start got is neutral.
    return Transaction(1, "T", 0, utc_now(),
                       start_state=StartState.CONFIRMED if answered else StartState.SENDING)


def test_desired_status_follows_the_facts():
    c = Connector(1, meter=Meter(random.Random(1)))
    assert c.desired_status() == S.AVAILABLE
    c.plugged = True
    assert c.desired_status() == S.PREPARING
    c.transaction = _tx()
    assert c.desired_status() == S.CHARGING
    c.ev_suspended = True
    assert c.desired_status() == S.SUSPENDED_EV
    c.evse_suspended = True  # EVSE takes precedence over EV
    assert c.desired_status() == S.SUSPENDED_EVSE
    c.ev_suspended = c.evse_suspended = False
    c.fault = "OtherError"
    assert c.desired_status() == S.FAULTED
    c.fault = None
    c.transaction, c.finishing = None, True
    assert c.desired_status() == S.FINISHING
    c.operative = False
    assert c.desired_status() == S.UNAVAILABLE


def test_transaction_awaiting_its_id_keeps_the_status():
    c = Connector(1, status=S.PREPARING, plugged=True)
    c.transaction = _tx(answered=False)
    assert c.desired_status() == S.PREPARING


# ---------------------------------------------------------------------------------------
# Configuration store
# ---------------------------------------------------------------------------------------
def store(**values):
    return ConfigStore(core_keys(2), values)


def test_core_keys_present_with_types():
    cfg = store()
    for key in ("AuthorizeRemoteTxRequests", "ClockAlignedDataInterval", "ConnectionTimeOut",
                "ConnectorPhaseRotation", "GetConfigurationMaxKeys", "HeartbeatInterval",
                "LocalAuthorizeOffline", "LocalPreAuthorize", "MeterValuesAlignedData",
                "MeterValuesSampledData", "MeterValueSampleInterval", "NumberOfConnectors",
                "ResetRetries", "StopTransactionOnEVSideDisconnect", "StopTransactionOnInvalidId",
                "StopTxnAlignedData", "StopTxnSampledData", "SupportedFeatureProfiles",
                "TransactionMessageAttempts", "TransactionMessageRetryInterval",
                "UnlockConnectorOnEVSideDisconnect", "WebSocketPingInterval",
                "AuthorizationCacheEnabled", "AllowOfflineTxForUnknownId", "LocalAuthListEnabled"):
        assert key in cfg, key
    assert cfg["NumberOfConnectors"] == 2
    assert cfg["StopTransactionOnInvalidId"] is True
    assert cfg["MeterValuesSampledData"] == ["Energy.Active.Import.Register"]
    assert cfg.text("StopTransactionOnInvalidId") == "true"


@pytest.mark.parametrize("key,value,result", [
    ("HeartbeatInterval", "30", ChangeResult.ACCEPTED),
    ("HeartbeatInterval", "thirty", ChangeResult.REJECTED),
    ("HeartbeatInterval", "-5", ChangeResult.REJECTED),
    ("LocalPreAuthorize", "TRUE", ChangeResult.ACCEPTED),
    ("LocalPreAuthorize", "yes", ChangeResult.REJECTED),
    ("MeterValuesSampledData", "Energy.Active.Import.Register,SoC,Voltage", ChangeResult.ACCEPTED),
    ("MeterValuesSampledData", "Energy.Active.Import.Register,RPM", ChangeResult.REJECTED),
    ("MeterValuesSampledData", "Energy.Active.Import.Register,,SoC", ChangeResult.REJECTED),
    ("StopTxnSampledData", "", ChangeResult.ACCEPTED),
    ("ConnectorPhaseRotation", "0.RST,1.TRS", ChangeResult.ACCEPTED),
    ("ConnectorPhaseRotation", "1.XYZ", ChangeResult.REJECTED),
    ("NumberOfConnectors", "4", ChangeResult.REJECTED),           # read-only
    ("SupportedFeatureProfiles", "Core", ChangeResult.REJECTED),  # read-only
    ("NoSuchKey", "1", ChangeResult.NOT_SUPPORTED),
])
def test_change_answers(key, value, result):
    cfg = store()
    before = cfg.get(key)
    assert cfg.change(key, value) == result
    if result != ChangeResult.ACCEPTED and key in cfg:
        assert cfg.get(key) == before


def test_change_takes_effect_and_notifies_listeners_once():
    cfg = store()
    seen = []
    cfg.subscribe(lambda name, value: seen.append((name, value)))
    cfg.change("MeterValueSampleInterval", "15")
    cfg.change("MeterValueSampleInterval", "15")  # same value: no second notification
    assert cfg["MeterValueSampleInterval"] == 15
    assert seen == [("MeterValueSampleInterval", 15)]


def test_reboot_required_key_is_held_until_reboot():
    cfg = ConfigStore([*core_keys(1), KeySpec("VendorMode", "str", "a", reboot=True,
                                              allowed=frozenset({"a", "b"}))])
    seen = []
    cfg.subscribe(lambda name, value: seen.append(name))
    assert cfg.change("VendorMode", "b") == ChangeResult.REBOOT_REQUIRED
    assert cfg["VendorMode"] == "a" and seen == []
    assert cfg.change("VendorMode", "c") == ChangeResult.REJECTED
    assert cfg.apply_pending() == ["VendorMode"]
    assert cfg["VendorMode"] == "b" and seen == ["VendorMode"]


def test_entries_lists_all_or_requested_keys():
    cfg = store()
    known, unknown = cfg.entries()
    assert len(known) == len(cfg.specs) and unknown == []
    known, unknown = cfg.entries(["HeartbeatInterval", "Bogus", "NumberOfConnectors"])
    assert known == [("HeartbeatInterval", "300", False), ("NumberOfConnectors", "2", True)]
    assert unknown == ["Bogus"]


def test_initial_values_and_bad_initial_values():
    assert store(HeartbeatInterval="42")["HeartbeatInterval"] == 42
    with pytest.raises(ValueError):
        store(HeartbeatInterval="soon")
    with pytest.raises(KeyError):
        store(Nope="1")


# ---------------------------------------------------------------------------------------
# Authorization cache
# ---------------------------------------------------------------------------------------
def test_cache_expiry_reads_as_expired():
    cache = AuthCache()
    now = utc_now()
    cache.store("A", AuthorizationInfo("Accepted", expiry=now + timedelta(hours=1)))
    cache.store("B", AuthorizationInfo("Accepted", expiry=now - timedelta(seconds=1)))
    cache.store("C", AuthorizationInfo("Blocked"))
    assert cache.lookup("A", now).accepted
    assert cache.lookup("B", now).status == "Expired"
    assert cache.lookup("C", now).status == "Blocked"
    assert cache.lookup("D", now) is None
    cache.clear()
    assert len(cache) == 0


def test_cache_is_bounded_oldest_first():
    cache = AuthCache(capacity=2)
    for tag in "ABC":
        cache.store(tag, AuthorizationInfo("Accepted"))
    assert "A" not in cache and "B" in cache and "C" in cache


# ---------------------------------------------------------------------------------------
# Meter and EV
# ---------------------------------------------------------------------------------------
class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_energy_is_integrated_from_power_and_only_grows():
    clock = FakeClock()
    meter = Meter(random.Random(7), max_power_w=11_000, clock=clock, energy_wh=1000)
    meter.set_drawing(True)
    last = meter.read().energy_wh
    for _ in range(10):
        clock.t += 60
        reading = meter.read()
        assert reading.energy_wh > last
        # 60 s at 97..100 % of 11 kW ≈ 177.8..183.3 Wh
        assert 11_000 * 0.97 / 60 - 1e-6 <= reading.energy_wh - last <= 11_000 / 60 + 1e-6
        last = reading.energy_wh
    meter.set_drawing(False)
    clock.t += 3600
    idle = meter.read()
    assert idle.energy_wh == last and idle.power_w == 0


def test_same_seed_same_readings():
    def run(seed):
        clock = FakeClock()
        meter = Meter(random.Random(seed), clock=clock)
        meter.set_drawing(True)
        out = []
        for _ in range(5):
            clock.t += 10
            r = meter.read()
            out.append((r.energy_wh, r.power_w, r.voltage_v))
        return out
    assert run(3) == run(3)
    assert run(3) != run(4)


def test_full_battery_stops_drawing_and_caps_energy():
    clock = FakeClock()
    meter = Meter(random.Random(1), max_power_w=10_000, clock=clock)
    meter.connect_ev(EV(capacity_wh=1000, soc=90))   # 100 Wh of room
    meter.set_drawing(True)
    clock.t += 3600                                   # an hour would be ~10 kWh
    reading = meter.read()
    assert reading.energy_wh == pytest.approx(100)
    assert reading.soc == pytest.approx(100)
    assert reading.power_w == 0 and meter.ev_full


def test_samples_have_the_right_units_and_phases():
    clock = FakeClock()
    meter = Meter(random.Random(1), max_power_w=11_000, phases=3, clock=clock)
    meter.connect_ev(EV(60_000, 50))
    meter.set_drawing(True)
    clock.t += 10
    samples = meter.read().samples(MEASURANDS)
    units = {(s.measurand, s.phase): s.unit for s in samples}
    assert units[("Energy.Active.Import.Register", None)] == "Wh"
    assert units[("Power.Active.Import", None)] == "W"
    assert {units[("Current.Import", p)] for p in ("L1", "L2", "L3")} == {"A"}
    assert {units[("Voltage", p)] for p in ("L1-N", "L2-N", "L3-N")} == {"V"}
    assert units[("SoC", None)] == "Percent"
    assert all(isinstance(s.value, str) for s in samples)
    # current is coherent with power and voltage: P = Σ U·I
    r = meter.read()
    assert sum(u * i for u, i in zip(r.voltage_v, r.current_a)) == pytest.approx(r.power_w)


def test_no_soc_without_an_ev():
    meter = Meter(random.Random(1))
    assert [s.measurand for s in meter.read().samples(["SoC", "Voltage"])] == ["Voltage"] * 3


# ---------------------------------------------------------------------------------------
# Station construction and timestamps
# ---------------------------------------------------------------------------------------
def test_station_url_appends_the_id_and_seed_defaults_to_the_id():
    a = make_station("CP-7", "ws://host:9000/ocpp/", connectors=3)
    b = make_station("CP-7", "ws://host:9000/ocpp", connectors=3)
    c = make_station("CP-8", "ws://host:9000/ocpp", connectors=3)
    assert a.url == "ws://host:9000/ocpp/CP-7"
    assert len(a.connectors) == 4 and a.connectors[0].meter is None
    assert a.config["NumberOfConnectors"] == 3
    first = a.rng.random()
    assert first == b.rng.random() and first != c.rng.random()


def test_timestamps_are_utc_with_z():
    text = iso(utc_now())
    assert text.endswith("Z") and "+00:00" not in text and len(text) == 24
    assert parse_iso(text).utcoffset() == timedelta(0)
    assert parse_iso("2024-01-01T10:00:00+02:00") == parse_iso("2024-01-01T08:00:00Z")
    assert parse_iso("garbage") is None


# -- neutral settings over the dialect's keys ------------------------------------------------
def test_settings_read_the_dialects_keys_by_neutral_name():
    from simulator.dialects import make_station
    st = make_station("CP-S", "ws://127.0.0.1:9/ocpp", config={"HeartbeatInterval": "42"})
    assert st.settings["heartbeat_interval"] == 42
    heard = []
    st.settings.subscribe(lambda name, value: heard.append((name, value)))
    assert st.change_configuration("MeterValueSampleInterval", "7") == "Accepted"
    assert st.change_configuration("ConnectorPhaseRotation", "0.RST,1.RTS") == "Accepted"
    assert heard == [("meter_interval", 7)]     # keys no setting names are not heard
    assert st.settings.key("meter_interval") == "MeterValueSampleInterval"


def test_a_dialect_must_map_every_setting():
    from simulator.dialects.ocpp16 import config_keys
    from simulator.station.settings import Settings
    keys = dict(config_keys.SETTING_KEYS)
    del keys["heartbeat_interval"]
    with pytest.raises(ValueError, match="no configuration key for \\['heartbeat_interval'\\]"):
        Settings(ConfigStore(config_keys.specs(1, 0)), keys)
