"""A hand-made message's payload filled by the station's dialect, in its protocol's names:
required fields from the station's state, what the payload gives always wins."""
from __future__ import annotations

import pytest

from simulator.dialects import make_station


@pytest.mark.parametrize("version, status_field, status", [
    ("ocpp1.6", "status", "Available"), ("ocpp1.5", "status", "Available"),
    ("ocpp2.0.1", "connectorStatus", "Available")])
def test_status_and_boot_come_from_the_station(version, status_field, status):
    st = make_station("SD-1", "ws://127.0.0.1:9/ocpp", version=version, vendor="Acme",
                      model="One")
    filled = st.dialect.send_defaults("StatusNotification", {}, 1)
    assert filled[status_field] == status
    boot = st.dialect.send_defaults("BootNotification", {}, 1)
    assert "Acme" in boot.values() or boot.get("chargingStation", {}).get("vendorName") == "Acme"


def test_the_payload_given_wins_and_unknown_actions_stay_as_given():
    st = make_station("SD-2", "ws://127.0.0.1:9/ocpp")
    assert st.dialect.send_defaults("StatusNotification", {"status": "Faulted"}, 1)["status"] \
        == "Faulted"
    assert st.dialect.send_defaults("NoSuchAction", {"x": 1}, 1) == {"x": 1}


def test_1_6_meter_values_name_the_running_transaction_as_the_csms_does():
    st = make_station("SD-3", "ws://127.0.0.1:9/ocpp")
    filled = st.dialect.send_defaults("MeterValues", {}, 1)
    assert "transactionId" not in filled                      # nothing running
    assert filled["meterValue"][0]["sampledValue"][0]["unit"] == "Wh"
    assert st.dialect.send_defaults("MeterValues", {"connectorId": 7}, 1)["connectorId"] == 7


def test_1_5_meter_values_use_1_5_names():
    st = make_station("SD-4", "http://127.0.0.1:9/ocpp15", version="ocpp1.5")
    filled = st.dialect.send_defaults("MeterValues", {}, 1)
    assert set(filled) == {"connectorId", "values"}
    [value] = filled["values"]
    assert set(value) == {"timestamp", "value"} and value["value"][0]["unit"] == "Wh"
