"""The pure protocol layer: catalog, validation (strict and lenient), error codes, codec."""
from __future__ import annotations

import copy
import json
from importlib import resources

import orjson
import pytest

from simulator.protocol import (CALL, CALLERROR, CALLRESULT, CHARGE_POINT, CSMS, LENIENT, STRICT,
                                V16, V201, VERSIONS, Call, CallError, CallResult, ErrorCode,
                                OcppError, ProtocolViolation, catalog, decode, encode_call,
                                encode_error, encode_result, new_unique_id, parse_error_code,
                                spell_error_code, validate)

# ---------------------------------------------------------------------------------------
# Catalog
# ---------------------------------------------------------------------------------------

# From the specs (OCPP 1.6 edition 2 + Security Whitepaper; OCPP 2.0.1 part 2), written out
# here independently of the catalog's own tables.
V16_CP_INITIATED = {
    "Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification",
    "FirmwareStatusNotification", "Heartbeat", "MeterValues", "StartTransaction",
    "StatusNotification", "StopTransaction",
    "LogStatusNotification", "SecurityEventNotification", "SignCertificate",
    "SignedFirmwareStatusNotification",
}
V16_CSMS_INITIATED = {
    "CancelReservation", "ChangeAvailability", "ChangeConfiguration", "ClearCache",
    "ClearChargingProfile", "DataTransfer", "GetCompositeSchedule", "GetConfiguration",
    "GetDiagnostics", "GetLocalListVersion", "RemoteStartTransaction", "RemoteStopTransaction",
    "ReserveNow", "Reset", "SendLocalList", "SetChargingProfile", "TriggerMessage",
    "UnlockConnector", "UpdateFirmware",
    "CertificateSigned", "DeleteCertificate", "ExtendedTriggerMessage",
    "GetInstalledCertificateIds", "GetLog", "InstallCertificate", "SignedUpdateFirmware",
}
V16_SECURITY = {
    "CertificateSigned", "DeleteCertificate", "ExtendedTriggerMessage",
    "GetInstalledCertificateIds", "GetLog", "InstallCertificate", "LogStatusNotification",
    "SecurityEventNotification", "SignCertificate", "SignedFirmwareStatusNotification",
    "SignedUpdateFirmware",
}
V201_CP_INITIATED = {
    "Authorize", "BootNotification", "ClearedChargingLimit", "DataTransfer",
    "FirmwareStatusNotification", "Get15118EVCertificate", "GetCertificateStatus", "Heartbeat",
    "LogStatusNotification", "MeterValues", "NotifyChargingLimit", "NotifyCustomerInformation",
    "NotifyDisplayMessages", "NotifyEVChargingNeeds", "NotifyEVChargingSchedule", "NotifyEvent",
    "NotifyMonitoringReport", "NotifyReport", "PublishFirmwareStatusNotification",
    "ReportChargingProfiles", "ReservationStatusUpdate", "SecurityEventNotification",
    "SignCertificate", "StatusNotification", "TransactionEvent",
}
V201_CSMS_INITIATED = {
    "CancelReservation", "CertificateSigned", "ChangeAvailability", "ClearCache",
    "ClearChargingProfile", "ClearDisplayMessage", "ClearVariableMonitoring", "CostUpdated",
    "CustomerInformation", "DataTransfer", "DeleteCertificate", "GetBaseReport",
    "GetChargingProfiles", "GetCompositeSchedule", "GetDisplayMessages",
    "GetInstalledCertificateIds", "GetLocalListVersion", "GetLog", "GetMonitoringReport",
    "GetReport", "GetTransactionStatus", "GetVariables", "InstallCertificate", "PublishFirmware",
    "RequestStartTransaction", "RequestStopTransaction", "ReserveNow", "Reset", "SendLocalList",
    "SetChargingProfile", "SetDisplayMessage", "SetMonitoringBase", "SetMonitoringLevel",
    "SetNetworkProfile", "SetVariableMonitoring", "SetVariables", "TriggerMessage",
    "UnlockConnector", "UnpublishFirmware", "UpdateFirmware",
}


def _schema_files(package: str) -> set[str]:
    return {p.name for p in resources.files(package).joinpath("schemas").iterdir()
            if p.name.endswith(".json")}


def test_catalog_has_every_v16_action_from_the_ocpp_package():
    files = _schema_files("ocpp.v16")
    from_files = {f[: -len("Response.json")] for f in files if f.endswith("Response.json")}
    cat = catalog(V16)
    assert len(cat.actions) == 39
    assert set(cat.actions) == from_files
    assert V16_SECURITY <= set(cat.actions)
    assert len(set(cat.actions) - V16_SECURITY) == 28  # the core profile set


def test_catalog_has_every_v201_action_from_the_ocpp_package():
    files = _schema_files("ocpp.v201")
    from_files = {f[: -len("Response.json")] for f in files if f.endswith("Response.json")}
    cat = catalog(V201)
    assert len(cat.actions) == 64
    assert set(cat.actions) == from_files
    assert all(f"{name}Request.json" in files for name in cat.actions)


@pytest.mark.parametrize("version, cp_initiated, csms_initiated", [
    (V16, V16_CP_INITIATED, V16_CSMS_INITIATED),
    (V201, V201_CP_INITIATED, V201_CSMS_INITIATED),
])
def test_initiators_match_the_spec_both_ways(version, cp_initiated, csms_initiated):
    cat = catalog(version)
    assert set(cat.initiated_by(CHARGE_POINT)) == cp_initiated
    assert set(cat.initiated_by(CSMS)) == csms_initiated
    assert cp_initiated | csms_initiated == set(cat.actions)
    assert cp_initiated & csms_initiated == {"DataTransfer"}
    for name in cp_initiated - {"DataTransfer"}:
        assert cat[name].initiators == frozenset({CHARGE_POINT}), name
        assert not cat[name].initiated_by(CSMS), name
    for name in csms_initiated - {"DataTransfer"}:
        assert cat[name].initiators == frozenset({CSMS}), name
        assert not cat[name].initiated_by(CHARGE_POINT), name


@pytest.mark.parametrize("version", VERSIONS)
def test_data_transfer_goes_both_ways(version):
    spec = catalog(version)["DataTransfer"]
    assert spec.initiated_by(CHARGE_POINT) and spec.initiated_by(CSMS)


@pytest.mark.parametrize("version, action, role", [
    (V16, "BootNotification", CHARGE_POINT), (V16, "StartTransaction", CHARGE_POINT),
    (V16, "RemoteStartTransaction", CSMS), (V16, "GetConfiguration", CSMS),
    (V16, "SignCertificate", CHARGE_POINT), (V16, "CertificateSigned", CSMS),
    (V201, "TransactionEvent", CHARGE_POINT), (V201, "NotifyReport", CHARGE_POINT),
    (V201, "RequestStartTransaction", CSMS), (V201, "GetVariables", CSMS),
])
def test_spot_check_initiators(version, action, role):
    other = CSMS if role == CHARGE_POINT else CHARGE_POINT
    spec = catalog(version)[action]
    assert spec.initiated_by(role)
    assert not spec.initiated_by(other)
    assert action in catalog(version).initiated_by(role)
    assert action not in catalog(version).initiated_by(other)


def test_catalog_lookup_helpers():
    cat = catalog(V16)
    assert "Heartbeat" in cat and "HeartBeat" not in cat
    assert cat.get("Nope") is None
    assert cat.canonical_name("HeartBeat") == "Heartbeat"
    assert cat.canonical_name("bootnotification") == "BootNotification"
    assert cat.canonical_name("Nope") is None
    assert cat["Heartbeat"].version == V16 and cat["Heartbeat"].name == "Heartbeat"
    assert catalog(V16) is cat  # cached
    with pytest.raises(ValueError, match="unknown OCPP version"):
        catalog("ocpp9.9")


@pytest.mark.parametrize("version", VERSIONS)
def test_schemas_load_for_the_right_message(version):
    for name, spec in catalog(version).actions.items():
        assert spec.request_schema["type"] == "object"
        assert spec.response_schema["type"] == "object"
    # the request and response files are not swapped
    boot = catalog(version)["BootNotification"]
    assert "status" in boot.response_schema["properties"]
    assert "status" not in boot.request_schema["properties"]


# ---------------------------------------------------------------------------------------
# A minimal-instance generator for JSON schemas, and invalid variants derived from it
# ---------------------------------------------------------------------------------------

TIMESTAMP = "2024-05-01T12:00:00Z"


def resolve(node: dict, root: dict) -> dict:
    while "$ref" in node:
        target = root
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def minimal(node: dict, root: dict):
    """A minimal valid instance of `node`: required properties only."""
    node = resolve(node, root)
    kind = node.get("type")
    if "enum" in node:
        return node["enum"][0]
    if kind == "object":
        props = node.get("properties", {})
        return {key: minimal(props[key], root) for key in node.get("required", [])}
    if kind == "array":
        return [minimal(node.get("items", {}), root) for _ in range(node.get("minItems", 0))]
    if kind == "string":
        fmt = node.get("format")
        if fmt == "date-time":
            return TIMESTAMP
        if fmt == "uri":
            return "https://example.com/file"
        return "x" * min(3, node.get("maxLength", 3))
    if kind == "integer":
        value = node.get("minimum", 0)
        return int(min(value, node.get("maximum", value)))
    if kind == "number":
        return node.get("minimum", 0)
    if kind == "boolean":
        return False
    raise AssertionError(f"generator does not know {node!r}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


WRONG_TYPE = {"string": 12345, "integer": "x", "number": "x", "boolean": "x", "object": "x",
              "array": "x"}


def variants(instance, node: dict, root: dict, path: str = ""):
    """Invalid copies of `instance`: yields (description, mutate(payload), code, error path).

    `mutate` is applied to a deep copy of the whole payload; it changes the value at `path`.
    """
    node = resolve(node, root)
    kind = node.get("type")
    here = path or "payload"

    if kind == "object":
        for key in node.get("required", []):
            yield (f"drop required {_join(path, key)}",
                   _at(path, lambda obj, key=key: obj.pop(key)),
                   ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION, here)
        if node.get("additionalProperties") is False:
            yield (f"unknown field in {here}",
                   _at(path, lambda obj: obj.__setitem__("noSuchField", 1)),
                   ErrorCode.FORMAT_VIOLATION, here)
        props = node.get("properties", {})
        for key, value in instance.items():
            yield from variants(value, props[key], root, _join(path, key))
    elif kind == "array":
        if node.get("minItems", 0) > 0:
            yield (f"empty array {here}", _at(path, lambda arr: arr.clear()),
                   ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION, here)
        for i, value in enumerate(instance):
            yield from variants(value, node.get("items", {}), root, f"{path}[{i}]")

    if path and kind in WRONG_TYPE:
        yield (f"wrong type at {here}", _set(path, WRONG_TYPE[kind]),
               ErrorCode.TYPE_CONSTRAINT_VIOLATION, here)
    if kind == "string" and path:
        if "enum" in node:
            yield (f"bad enum at {here}", _set(path, "NotAnEnumValue"),
                   ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, here)
        if "maxLength" in node:
            yield (f"over-long string at {here}", _set(path, "y" * (node["maxLength"] + 1)),
                   ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, here)
        if node.get("format") == "date-time":
            yield (f"bad timestamp at {here}", _set(path, "yesterday at noon"),
                   ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, here)
    if kind == "integer" and path and "minimum" in node:
        yield (f"below minimum at {here}", _set(path, node["minimum"] - 1),
               ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, here)


def _steps(path: str) -> list:
    """'a.b[0].c' -> ['a', 'b', 0, 'c']"""
    steps: list = []
    for part in path.split(".") if path else []:
        name, *indexes = part.split("[")
        if name:
            steps.append(name)
        steps.extend(int(i.rstrip("]")) for i in indexes)
    return steps


def _at(path: str, change):
    def mutate(payload):
        target = payload
        for step in _steps(path):
            target = target[step]
        change(target)
    return mutate


def _set(path: str, value):
    def mutate(payload):
        *parents, last = _steps(path)
        target = payload
        for step in parents:
            target = target[step]
        target[last] = value
    return mutate


def _schema(version: str, action: str, kind: str) -> dict:
    spec = catalog(version)[action]
    return spec.request_schema if kind == "request" else spec.response_schema


def test_generator_helpers_themselves():
    payload = {"a": {"b": [{"c": 1}]}}
    _set("a.b[0].c", 2)(payload)
    assert payload == {"a": {"b": [{"c": 2}]}}
    _at("a.b[0]", lambda o: o.pop("c"))(payload)
    assert payload == {"a": {"b": [{}]}}
    schema = catalog(V16)["MeterValues"].request_schema
    instance = minimal(schema, schema)
    assert instance == {"connectorId": 0,
                        "meterValue": [{"timestamp": TIMESTAMP, "sampledValue": [{"value": "xxx"}]}]}
    found = {description for description, *_ in variants(instance, schema, schema)}
    assert "drop required meterValue[0].sampledValue[0].value" in found
    assert "empty array meterValue" in found
    assert "wrong type at connectorId" in found
    assert "bad timestamp at meterValue[0].timestamp" in found


ALL_V16 = [(a, k) for a in catalog(V16).actions for k in ("request", "response")]
ALL_V201 = [(a, k) for a in catalog(V201).actions for k in ("request", "response")]


@pytest.mark.parametrize("action, kind", ALL_V16)
def test_v16_valid_payload_accepted_and_invalid_ones_rejected_with_the_right_code(action, kind):
    _check_action(V16, action, kind)


@pytest.mark.parametrize("action, kind", ALL_V201)
def test_v201_valid_payload_accepted_and_invalid_ones_rejected_with_the_right_code(action, kind):
    _check_action(V201, action, kind)


def _check_action(version, action, kind):
    schema = _schema(version, action, kind)
    valid = minimal(schema, schema)
    for mode in (STRICT, LENIENT):
        payload, repairs = validate(version, action, kind, copy.deepcopy(valid), mode)
        assert payload == valid
        assert repairs == []

    cases = list(variants(valid, schema, schema))
    assert cases, "every schema forbids unknown fields, so there is at least one variant"
    assert any(c[2] is ErrorCode.FORMAT_VIOLATION for c in cases)
    if schema.get("required"):
        assert any(c[2] is ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION for c in cases)
    wrong = []
    for description, mutate, code, path in cases:
        payload = copy.deepcopy(valid)
        mutate(payload)
        assert payload != valid, description
        with pytest.raises(OcppError) as info:
            validate(version, action, kind, payload)
        error = info.value
        if error.code is not code or error.details.get("path") != path:
            wrong.append(f"{description}: got {error.code.name} at {error.details.get('path')!r} "
                         f"({error.description}), expected {code.name} at {path!r}")
        assert error.description.startswith(f"{action} {kind}:")
    assert not wrong, "\n".join(wrong)


def test_validation_error_names_the_nested_path():
    payload = {"connectorId": 1, "meterValue": [
        {"timestamp": TIMESTAMP, "sampledValue": [{"value": "1"}, {"value": "2", "unit": "Hz"}]}]}
    with pytest.raises(OcppError) as info:
        validate(V16, "MeterValues", "request", payload)
    assert info.value.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    assert info.value.details == {"path": "meterValue[0].sampledValue[1].unit", "rule": "enum"}
    assert "meterValue[0].sampledValue[1].unit" in info.value.description
    assert "data" not in info.value.description


@pytest.mark.parametrize("payload", [[], "x", None, 3])
def test_validate_rejects_a_non_object_payload_as_format_violation(payload):
    # the same code decode() gives a CALL whose payload is not an object
    for mode in (STRICT, LENIENT):
        with pytest.raises(OcppError) as info:
            validate(V16, "Heartbeat", "request", payload, mode)
        assert info.value.code is ErrorCode.FORMAT_VIOLATION
        assert info.value.details["path"] == "payload"


# ---------------------------------------------------------------------------------------
# Error codes
# ---------------------------------------------------------------------------------------

V16_WIRE_CODES = {"NotImplemented", "NotSupported", "InternalError", "ProtocolError",
                  "SecurityError", "FormationViolation", "PropertyConstraintViolation",
                  "OccurenceConstraintViolation", "TypeConstraintViolation", "GenericError"}
V201_WIRE_CODES = {"FormatViolation", "GenericError", "InternalError", "MessageTypeNotSupported",
                   "NotImplemented", "NotSupported", "OccurrenceConstraintViolation",
                   "PropertyConstraintViolation", "ProtocolError", "RpcFrameworkError",
                   "SecurityError", "TypeConstraintViolation"}


@pytest.mark.parametrize("text, code", [
    ("FormationViolation", ErrorCode.FORMAT_VIOLATION),
    ("FormatViolation", ErrorCode.FORMAT_VIOLATION),
    ("OccurenceConstraintViolation", ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
    ("OccurrenceConstraintViolation", ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
    ("NotImplemented", ErrorCode.NOT_IMPLEMENTED),
    ("MessageTypeNotSupported", ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED),
    ("RpcFrameworkError", ErrorCode.RPC_FRAMEWORK_ERROR),
])
def test_parse_error_code_accepts_both_spellings(text, code):
    assert parse_error_code(text) is code


@pytest.mark.parametrize("text", ["", "Bogus", "formatviolation", "NOT_IMPLEMENTED"])
def test_parse_error_code_unknown_is_none(text):
    assert parse_error_code(text) is None


def test_every_wire_spelling_parses_back():
    for text in V16_WIRE_CODES | V201_WIRE_CODES:
        assert parse_error_code(text) is not None, text


def test_spell_error_code_per_version():
    assert spell_error_code(ErrorCode.FORMAT_VIOLATION, V16) == "FormationViolation"
    assert spell_error_code(ErrorCode.FORMAT_VIOLATION, V201) == "FormatViolation"
    assert spell_error_code(ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION, V16) == "OccurenceConstraintViolation"
    assert spell_error_code(ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION, V201) == "OccurrenceConstraintViolation"
    assert spell_error_code(ErrorCode.NOT_IMPLEMENTED, V16) == "NotImplemented"
    # every code is spelled as a code that exists in that version's spec
    assert {spell_error_code(c, V16) for c in ErrorCode} == V16_WIRE_CODES
    assert {spell_error_code(c, V201) for c in ErrorCode} == V201_WIRE_CODES
    # 1.6 has no MessageTypeNotSupported / RpcFrameworkError: ProtocolError carries them
    v201_only = {ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED, ErrorCode.RPC_FRAMEWORK_ERROR}
    for code in ErrorCode:
        if code in v201_only:
            assert spell_error_code(code, V16) == "ProtocolError"
        else:
            assert parse_error_code(spell_error_code(code, V16)) is code
        assert parse_error_code(spell_error_code(code, V201)) is code


@pytest.mark.parametrize("version, wire", [(V16, "FormationViolation"), (V201, "FormatViolation")])
def test_encode_error_per_version(version, wire):
    text = encode_error("id-1", ErrorCode.FORMAT_VIOLATION, "bad frame", {"path": "x"}, version)
    assert json.loads(text) == [4, "id-1", wire, "bad frame", {"path": "x"}]
    text = encode_error("id-2", ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION, "", None, version)
    expected = "OccurenceConstraintViolation" if version == V16 else "OccurrenceConstraintViolation"
    assert json.loads(text) == [4, "id-2", expected, "", {}]


def test_ocpp_error_carries_code_description_details():
    e = OcppError(ErrorCode.SECURITY_ERROR, "nope", {"a": 1})
    assert (e.code, e.description, e.details) == (ErrorCode.SECURITY_ERROR, "nope", {"a": 1})
    assert str(e) == "SecurityError: nope"
    assert OcppError(ErrorCode.GENERIC_ERROR).details == {}


# ---------------------------------------------------------------------------------------
# Codec
# ---------------------------------------------------------------------------------------

def test_new_unique_ids_are_unique_and_short_enough():
    ids = {new_unique_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(isinstance(i, str) and 0 < len(i) <= 36 for i in ids)


def test_call_round_trip():
    payload = {"chargePointVendor": "Ve", "chargePointModel": "Mo", "nested": {"ü": [1, 2.5]}}
    text = encode_call("abc", "BootNotification", payload)
    assert json.loads(text) == [CALL, "abc", "BootNotification", payload]
    message = decode(text)
    assert message == Call("abc", "BootNotification", payload)
    assert message.repairs == []
    assert decode(text.encode()) == message  # bytes too


def test_callresult_round_trip():
    text = encode_result("r1", {"currentTime": TIMESTAMP})
    assert json.loads(text) == [CALLRESULT, "r1", {"currentTime": TIMESTAMP}]
    assert decode(text) == CallResult("r1", {"currentTime": TIMESTAMP})


@pytest.mark.parametrize("version, wire", [(V16, "FormationViolation"), (V201, "FormatViolation")])
def test_callerror_round_trip(version, wire):
    text = encode_error("e1", ErrorCode.FORMAT_VIOLATION, "oops", {"k": "v"}, version)
    assert json.loads(text)[0] == CALLERROR
    message = decode(text)
    assert isinstance(message, CallError)
    assert message == CallError("e1", ErrorCode.FORMAT_VIOLATION, wire, "oops", {"k": "v"})


def test_callerror_without_details_and_with_odd_description():
    message = decode('[4, "e1", "GenericError", 42]')
    assert message == CallError("e1", ErrorCode.GENERIC_ERROR, "GenericError", "42", {})


def test_callerror_with_unknown_code_keeps_the_text():
    message = decode('[4, "e2", "Error", "something", {}]')
    assert isinstance(message, CallError)
    assert message.code is None
    assert message.code_text == "Error"
    assert message.description == "something"


def _violation(raw) -> ProtocolViolation:
    with pytest.raises(ProtocolViolation) as info:
        decode(raw)
    return info.value


def test_decode_malformed_json():
    e = _violation('[2, "a", "Heartbeat", {},]')
    assert e.code is ErrorCode.FORMAT_VIOLATION
    assert "not valid JSON" in str(e)
    assert e.unique_id is None


@pytest.mark.parametrize("raw", ['{"a": 1}', '"text"', "42", "null"])
def test_decode_non_array(raw):
    e = _violation(raw)
    assert e.code is ErrorCode.FORMAT_VIOLATION
    assert "JSON array" in e.description
    assert e.unique_id is None


@pytest.mark.parametrize("raw, count", [("[]", 0), ("[2]", 1), ('[3, "a"]', 2)])
def test_decode_too_short_array(raw, count):
    e = _violation(raw)
    assert e.code is ErrorCode.FORMAT_VIOLATION
    assert f"{count} element" in e.description
    assert e.unique_id is None


def test_decode_call_with_three_elements_keeps_unique_id():
    e = _violation('[2, "abc", "Heartbeat"]')
    assert e.code is ErrorCode.FORMAT_VIOLATION
    assert "4 elements" in e.description
    assert e.unique_id == "abc"


@pytest.mark.parametrize("type_id", [0, 1, 5, 9, '"2"', "null"])
def test_decode_wrong_message_type_id(type_id):
    e = _violation(f'[{type_id}, "abc", "Heartbeat", {{}}]')
    assert e.code is ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED
    assert "message type" in e.description


@pytest.mark.parametrize("uid", ["12", "null", "[]", '""'])
def test_decode_bad_unique_id(uid):
    e = _violation(f'[2, {uid}, "Heartbeat", {{}}]')
    assert e.code is ErrorCode.FORMAT_VIOLATION
    assert "uniqueId" in e.description
    assert e.unique_id is None


def test_decode_unique_id_of_36_chars_is_fine_37_is_not():
    assert decode(encode_call("u" * 36, "Heartbeat", {})).unique_id == "u" * 36
    for frame in ([2, "u" * 37, "Heartbeat", {}], [3, "u" * 37, {}]):
        e = _violation(orjson.dumps(frame))
        assert e.code is ErrorCode.FORMAT_VIOLATION
        assert "36" in e.description


@pytest.mark.parametrize("payload", ["[]", '"x"', "null", "1"])
def test_decode_call_with_non_object_payload_keeps_unique_id(payload):
    e = _violation(f'[2, "call-1", "Heartbeat", {payload}]')
    assert e.code is ErrorCode.FORMAT_VIOLATION
    assert "payload" in e.description
    assert e.unique_id == "call-1"


def test_decode_call_with_non_string_action():
    e = _violation('[2, "call-1", 7, {}]')
    assert e.code is ErrorCode.FORMAT_VIOLATION
    assert "action" in e.description
    assert e.unique_id == "call-1"


@pytest.mark.parametrize("raw", ['[3, "a", []]', '[3, "a", {}, {}]', '[4, "a", 5, "d", {}]',
                                 '[4, "a", "GenericError"]', '[4, "a", "GenericError", "", {}, 1]'])
def test_decode_malformed_results_and_errors(raw):
    e = _violation(raw)
    assert e.code is ErrorCode.FORMAT_VIOLATION
    assert e.unique_id is None  # nothing to answer: replies are never answered


# ---------------------------------------------------------------------------------------
# Lenient mode
# ---------------------------------------------------------------------------------------

def _meter_values(sampled: dict, timestamp: str = TIMESTAMP, **extra) -> dict:
    return {"connectorId": 1, "meterValue": [{"timestamp": timestamp, "sampledValue": [sampled]}],
            **extra}


STATUS = {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": TIMESTAMP}

# (version, action, kind, payload, expected repaired payload, path named in the repair, strict code)
QUIRKS = {
    "number for string": (
        V16, "MeterValues", "request", _meter_values({"value": 604.2}),
        _meter_values({"value": "604.2"}), "meterValue[0].sampledValue[0].value",
        ErrorCode.TYPE_CONSTRAINT_VIOLATION),
    "integer number for string": (
        V16, "BootNotification", "request",
        {"chargePointVendor": "V", "chargePointModel": "M", "chargePointSerialNumber": 1234},
        {"chargePointVendor": "V", "chargePointModel": "M", "chargePointSerialNumber": "1234"},
        "chargePointSerialNumber", ErrorCode.TYPE_CONSTRAINT_VIOLATION),
    "numeric string for integer": (
        V16, "StatusNotification", "request", {**STATUS, "connectorId": "12"},
        {**STATUS, "connectorId": 12}, "connectorId", ErrorCode.TYPE_CONSTRAINT_VIOLATION),
    "numeric string for number (2.0.1)": (
        V201, "MeterValues", "request",
        {"evseId": 1, "meterValue": [{"timestamp": TIMESTAMP, "sampledValue": [{"value": "604.2"}]}]},
        {"evseId": 1, "meterValue": [{"timestamp": TIMESTAMP, "sampledValue": [{"value": 604.2}]}]},
        "meterValue[0].sampledValue[0].value", ErrorCode.TYPE_CONSTRAINT_VIOLATION),
    "numeric string for bounded integer (2.0.1)": (
        V201, "NotifyEVChargingNeeds", "request",
        {"evseId": 1, "chargingNeeds": {"requestedEnergyTransfer": "DC", "dcChargingParameters": {
            "evMaxCurrent": 10, "evMaxVoltage": 400, "stateOfCharge": "80"}}},
        {"evseId": 1, "chargingNeeds": {"requestedEnergyTransfer": "DC", "dcChargingParameters": {
            "evMaxCurrent": 10, "evMaxVoltage": 400, "stateOfCharge": 80}}},
        "chargingNeeds.dcChargingParameters.stateOfCharge", ErrorCode.TYPE_CONSTRAINT_VIOLATION),
    "surrounding whitespace": (
        V16, "StatusNotification", "request", {**STATUS, "status": " Available\n"},
        STATUS, "status", ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    "enum case (unit)": (
        V16, "MeterValues", "request", _meter_values({"value": "1", "unit": "wh"}),
        _meter_values({"value": "1", "unit": "Wh"}), "meterValue[0].sampledValue[0].unit",
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    "enum case (status)": (
        V16, "Authorize", "response", {"idTagInfo": {"status": "accepted"}},
        {"idTagInfo": {"status": "Accepted"}}, "idTagInfo.status",
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    "enum case via $ref (2.0.1)": (
        V201, "BootNotification", "response",
        {"currentTime": TIMESTAMP, "interval": 300, "status": "ACCEPTED"},
        {"currentTime": TIMESTAMP, "interval": 300, "status": "Accepted"}, "status",
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    "unknown field": (
        V16, "MeterValues", "request", _meter_values({"value": "1", "vendorThing": 3}),
        _meter_values({"value": "1"}), "meterValue[0].sampledValue[0].vendorThing",
        ErrorCode.FORMAT_VIOLATION),
    "unknown top-level field": (
        V16, "Heartbeat", "request", {"extra": True}, {}, "extra", ErrorCode.FORMAT_VIOLATION),
    "timestamp without offset": (
        V16, "MeterValues", "request", _meter_values({"value": "1"}, "2024-05-01T12:00:00"),
        _meter_values({"value": "1"}, "2024-05-01T12:00:00Z"), "meterValue[0].timestamp",
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    "timestamp with fraction, no offset": (
        V16, "Heartbeat", "response", {"currentTime": "2024-05-01T12:00:00.123"},
        {"currentTime": "2024-05-01T12:00:00.123Z"}, "currentTime",
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    "short offset": (
        V16, "StatusNotification", "request", {**STATUS, "timestamp": "2024-05-01T14:00:00+02"},
        {**STATUS, "timestamp": "2024-05-01T14:00:00+02:00"}, "timestamp",
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
}


@pytest.mark.parametrize("name", list(QUIRKS))
def test_lenient_repairs_each_quirk_and_strict_rejects_it(name):
    version, action, kind, payload, expected, path, strict_code = QUIRKS[name]
    original = copy.deepcopy(payload)
    with pytest.raises(OcppError) as info:
        validate(version, action, kind, payload, STRICT)
    assert info.value.code is strict_code
    repaired, repairs = validate(version, action, kind, payload, LENIENT)
    assert repaired == expected
    assert len(repairs) == 1, repairs
    assert repairs[0].startswith(f"{path}: ")
    assert payload == original  # the caller's payload is not modified
    # the repaired payload passes strict validation as is
    assert validate(version, action, kind, repaired, STRICT) == (repaired, [])


def test_lenient_repair_messages_say_what_was_done():
    _, repairs = validate(V16, "MeterValues", "request",
                          _meter_values({"value": 604.2, "unit": "wh"}, "2024-05-01T12:00:00+02"),
                          LENIENT)
    text = "\n".join(repairs)
    assert "604.2" in text and "string" in text
    assert "'wh'" in text and "'Wh'" in text
    assert "+02:00" in text


def test_lenient_repairs_everything_at_once_and_reports_every_path():
    payload = {
        "connectorId": " 3 ",
        "transactionId": "77",
        "meterValue": [
            {"timestamp": "2024-05-01T12:00:00", "sampledValue": [
                {"value": 604.2, "unit": "wh", "measurand": "energy.active.import.register"},
                {"value": " 12 ", "context": "SAMPLE.PERIODIC", "odd": None},
            ]},
            {"timestamp": "2024-05-01T12:00:00-05", "sampledValue": [{"value": 1}]},
        ],
        "vendorField": {"x": 1},
    }
    repaired, repairs = validate(V16, "MeterValues", "request", payload, LENIENT)
    assert repaired == {
        "connectorId": 3,
        "transactionId": 77,
        "meterValue": [
            {"timestamp": "2024-05-01T12:00:00Z", "sampledValue": [
                {"value": "604.2", "unit": "Wh", "measurand": "Energy.Active.Import.Register"},
                {"value": "12", "context": "Sample.Periodic"},
            ]},
            {"timestamp": "2024-05-01T12:00:00-05:00", "sampledValue": [{"value": "1"}]},
        ],
    }
    paths = sorted(r.split(": ", 1)[0] for r in repairs)
    assert paths == sorted([
        "connectorId", "transactionId", "meterValue[0].timestamp",
        "meterValue[0].sampledValue[0].value", "meterValue[0].sampledValue[0].unit",
        "meterValue[0].sampledValue[0].measurand", "meterValue[0].sampledValue[1].value",
        "meterValue[0].sampledValue[1].context", "meterValue[0].sampledValue[1].odd",
        "meterValue[1].timestamp", "meterValue[1].sampledValue[0].value", "vendorField",
    ])
    with pytest.raises(OcppError):
        validate(V16, "MeterValues", "request", payload, STRICT)


@pytest.mark.parametrize("version, action, kind, payload", [
    (V16, "MeterValues", "request", _meter_values({"value": "1", "unit": "Wh"})),
    (V16, "StatusNotification", "request", STATUS),
    (V16, "Heartbeat", "request", {}),
    (V16, "Heartbeat", "response", {"currentTime": "2024-05-01T14:00:00+02:00"}),
    (V16, "Heartbeat", "response", {"currentTime": "2024-05-01T14:00:00+0200"}),
    (V16, "DataTransfer", "request", {"vendorId": "v", "data": "  padded  "}),
    (V201, "BootNotification", "response", {"currentTime": TIMESTAMP, "interval": 1,
                                            "status": "Accepted"}),
])
def test_lenient_valid_payload_reports_no_repairs(version, action, kind, payload):
    result, repairs = validate(version, action, kind, payload, LENIENT)
    assert repairs == []
    assert result is payload


# (version, action, kind, payload, code and path lenient mode reports).  Where the payload
# also holds a repairable quirk, strict mode may report the quirk first; lenient mode reports
# the problem it could not repair, with the code the sender's value deserves.
UNREPAIRABLE = {
    "enum value outside the spec": (
        V16, "MeterValues", "request", _meter_values({"value": "1", "unit": "Hz"}),
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "meterValue[0].sampledValue[0].unit"),
    "non-numeric string for integer": (
        V16, "StatusNotification", "request", {**STATUS, "connectorId": "one"},
        ErrorCode.TYPE_CONSTRAINT_VIOLATION, "connectorId"),
    "over-long string even when trimmed": (
        V16, "Authorize", "request", {"idTag": " " + "A" * 21 + " "},
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "idTag"),
    "number where string due, too long once it is a string": (
        V16, "Authorize", "request", {"idTag": 123456789012345678901234},
        ErrorCode.TYPE_CONSTRAINT_VIOLATION, "idTag"),
    "number where an enum string is due": (
        V16, "StatusNotification", "request", {**STATUS, "errorCode": 5},
        ErrorCode.TYPE_CONSTRAINT_VIOLATION, "errorCode"),
    "numeric string above the maximum (2.0.1)": (
        V201, "NotifyEVChargingNeeds", "request",
        {"evseId": 1, "chargingNeeds": {"requestedEnergyTransfer": "DC", "dcChargingParameters": {
            "evMaxCurrent": 10, "evMaxVoltage": 400, "stateOfCharge": "150"}}},
        ErrorCode.TYPE_CONSTRAINT_VIOLATION, "chargingNeeds.dcChargingParameters.stateOfCharge"),
    "bad timestamp (2.0.1)": (
        V201, "Heartbeat", "response", {"currentTime": "noon"},
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "currentTime"),
    "timestamp from nowhere": (
        V16, "Heartbeat", "response", {"currentTime": "1.5.2024 12:00"},
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "currentTime"),
    "impossible timestamp without offset": (
        V16, "Heartbeat", "response", {"currentTime": "2024-13-01T25:00:00"},
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "currentTime"),
    "wrong type object": (
        V16, "Heartbeat", "response", {"currentTime": {"t": 1}},
        ErrorCode.TYPE_CONSTRAINT_VIOLATION, "currentTime"),
}
WITH_QUIRK = {
    "missing required field, plus a repairable quirk": (
        V16, "StatusNotification", "request", {"connectorId": "1", "errorCode": "NoError"},
        ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION, "payload"),
    # (errorCode "Error" and an empty sampledValue list are repaired: test_faults_quirk_repairs)
    "enum outside the spec, plus a repairable quirk": (
        V16, "StatusNotification", "request", {**STATUS, "errorCode": "noerror", "status": "Broken"},
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "status"),
    "empty meterValue list, plus a repairable quirk": (
        V16, "MeterValues", "request", {"connectorId": "1", "meterValue": []},
        ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION, "meterValue"),
    "long number for a string, plus a repairable quirk": (
        V16, "StartTransaction", "request",
        {"connectorId": "1", "idTag": 123456789012345678901234, "meterStart": 0,
         "timestamp": TIMESTAMP},
        ErrorCode.TYPE_CONSTRAINT_VIOLATION, "idTag"),
}


def _error(version, action, kind, payload, mode) -> OcppError:
    with pytest.raises(OcppError) as info:
        validate(version, action, kind, copy.deepcopy(payload), mode)
    return info.value


@pytest.mark.parametrize("name", list(UNREPAIRABLE))
def test_lenient_unrepairable_payload_fails_with_the_original_code(name):
    version, action, kind, payload, code, path = UNREPAIRABLE[name]
    strict = _error(version, action, kind, payload, STRICT)
    lenient = _error(version, action, kind, payload, LENIENT)
    assert (strict.code, strict.details["path"]) == (code, path)
    assert (lenient.code, lenient.details["path"]) == (code, path)
    assert lenient.description == strict.description


@pytest.mark.parametrize("name", list(WITH_QUIRK))
def test_lenient_reports_what_it_could_not_repair(name):
    version, action, kind, payload, code, path = WITH_QUIRK[name]
    _error(version, action, kind, payload, STRICT)
    lenient = _error(version, action, kind, payload, LENIENT)
    assert (lenient.code, lenient.details["path"]) == (code, path)
