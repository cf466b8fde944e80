"""Validation accepts through jsonschema-rs first; fastjsonschema decides everything else."""
from __future__ import annotations

import copy

import pytest

from simulator.protocol import ErrorCode, OcppError
from simulator.protocol import validation
from simulator.protocol.catalog import catalog
from simulator.protocol.validation import compiled, validate

MV = {"connectorId": 1, "transactionId": 5, "meterValue": [{
    "timestamp": "2030-05-01T12:00:00.000Z", "sampledValue": [
        {"value": "230.0", "measurand": "Voltage", "unit": "V", "phase": "L1-N"},
        {"value": "16.0", "measurand": "Current.Import", "unit": "A", "phase": "L1"}]}]}


def test_the_rust_validator_is_in_use_and_takes_every_schema():
    assert validation.jsonschema_rs is not None
    spec = catalog("ocpp1.6")["MeterValues"]
    assert validation._accepts(spec.request_schema)(MV) is True
    for version in ("ocpp1.6", "ocpp2.0.1"):
        for action in catalog(version).actions:
            for schema in (catalog(version)[action].request_schema,
                           catalog(version)[action].response_schema):
                assert validation._accepts(schema) is not None, (version, action)


def test_a_valid_payload_is_returned_as_is():
    assert compiled("ocpp1.6", "MeterValues", "request")(MV) is MV
    assert validate("ocpp1.6", "MeterValues", "request", MV) == (MV, [])


def test_what_only_fastjsonschema_accepts_is_still_accepted():
    # the Rust date-time wants a colon in the offset; fastjsonschema (the authority) does not
    payload = {"connectorId": 1, "idTag": "T", "meterStart": 0,
               "timestamp": "2030-05-01T12:00:00+0100"}
    schema = catalog("ocpp1.6")["StartTransaction"].request_schema
    assert validation._accepts(schema)(payload) is False
    assert validate("ocpp1.6", "StartTransaction", "request", payload) == (payload, [])


@pytest.mark.parametrize("change, code, text", [
    (lambda p: p["meterValue"][0]["sampledValue"][0].update(unit="Volt"),
     ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "meterValue[0].sampledValue[0].unit must be one of"),
    (lambda p: p.update(connectorId=1.0), ErrorCode.TYPE_CONSTRAINT_VIOLATION,
     "connectorId must be integer"),
    (lambda p: p["meterValue"][0].pop("timestamp"),
     ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION, "must contain ['timestamp'] properties"),
])
def test_refusals_keep_fastjsonschemas_code_and_message(change, code, text):
    payload = copy.deepcopy(MV)
    change(payload)
    with pytest.raises(OcppError) as e:
        validate("ocpp1.6", "MeterValues", "request", payload)
    assert e.value.code is code and text in str(e.value)


def test_a_value_the_rust_side_cannot_read_goes_to_fastjsonschema():
    payload = dict(MV, connectorId=object())   # not JSON at all
    with pytest.raises(OcppError) as e:
        validate("ocpp1.6", "MeterValues", "request", payload)
    assert e.value.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
