"""The 1.6 adapter's reading of sampled values into the hub's MeterSample messages."""
from __future__ import annotations

from datetime import datetime, timezone

from hub_under_test.adapters.ocpp16j import samples
from hub_under_test.messages import MeterSample

T = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)


def test_every_field_lands_where_it_belongs():
    got = samples([{"timestamp": "2030-05-01T12:00:00Z", "sampledValue": [
        {"value": "230.5", "measurand": "Voltage", "unit": "V", "phase": "L1-N",
         "context": "Sample.Periodic", "location": "Outlet", "format": "Raw"},
        {"value": "12"},
        {"value": "AB01", "format": "SignedData"},
        {"value": "n/a", "measurand": "SoC", "unit": "Percent", "location": "EV"}]}], "mv")
    assert got == [
        MeterSample(timestamp=T, raw_value="230.5", value=230.5, measurand="Voltage",
                    phase="L1-N", unit="V", context="Sample.Periodic", location="Outlet",
                    format="Raw"),
        MeterSample(timestamp=T, raw_value="12", value=12.0),
        MeterSample(timestamp=T, raw_value="AB01", value=None, format="SignedData"),
        MeterSample(timestamp=T, raw_value="n/a", value=None, measurand="SoC", unit="Percent",
                    location="EV")]
