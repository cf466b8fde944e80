"""Payload validation with validators compiled once per schema (fastjsonschema).

Strict mode reports every schema violation as the OCPP error code the spec prescribes.
Lenient mode first tries the payload as is; only if that fails does it repair the known
field quirks (numbers for strings, booleans as strings, surrounding whitespace, enum case,
an out-of-spec error code, unknown fields, timestamps without a full offset, an empty
sampledValue list), validates again, and reports each repair it made.

Accepting is done first by jsonschema-rs (the same schema compiled in Rust, ≈ 9x faster on a
MeterValues with ten sampled values); fastjsonschema stays the authority: whatever the Rust
validator does not accept (or cannot take) is checked by fastjsonschema, which gives the
error, so a payload is refused only if fastjsonschema refuses it, with its message.  Where
the two differ they differ in that direction (the Rust `date-time` is stricter: no `+0100`).
"""
from __future__ import annotations

import functools
import re
from typing import Callable

import fastjsonschema

try:
    import jsonschema_rs
except ImportError:  # pragma: no cover - a dependency; fastjsonschema alone still works
    jsonschema_rs = None

from .catalog import catalog
from .errors import ErrorCode, OcppError

STRICT = "strict"
LENIENT = "lenient"

_RULE_TO_CODE = {
    "required": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
    "minItems": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
    "maxItems": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
    "type": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    "additionalProperties": ErrorCode.FORMAT_VIOLATION,
}
_PROPERTY_RULES = {"enum", "maxLength", "minLength", "format", "minimum", "maximum",
                   "exclusiveMinimum", "exclusiveMaximum", "pattern", "multipleOf", "const"}


@functools.cache
def compiled(version: str, action: str, kind: str) -> Callable[[dict], dict]:
    """The compiled validator for one action's 'request' or 'response' schema."""
    spec = catalog(version)[action]
    schema = spec.request_schema if kind == "request" else spec.response_schema
    check = fastjsonschema.compile(schema, use_default=False)
    quick = _accepts(schema)
    if quick is None:
        return check

    def validate_payload(payload):
        try:
            if quick(payload):
                return payload
        except Exception:  # a value the Rust side cannot read: fastjsonschema decides
            pass
        return check(payload)
    return validate_payload


def _accepts(schema: dict) -> Callable[[object], bool] | None:
    """jsonschema-rs's `is_valid` for `schema`, or None (not installed, or a schema it
    does not take)."""
    if jsonschema_rs is None:
        return None
    try:
        return jsonschema_rs.validator_for(schema, validate_formats=True).is_valid
    except Exception:
        return None


# The one occurrence rule lenient mode relaxes: a meter value with no samples (seen in the
# field) is taken as a reading with nothing in it, and reported.
_RELAXED_MIN_ITEMS = "sampledValue"


def _relax(node):
    if isinstance(node, dict):
        out = {k: _relax(v) for k, v in node.items()}
        props = out.get("properties")
        if isinstance(props, dict) and isinstance(props.get(_RELAXED_MIN_ITEMS), dict):
            props[_RELAXED_MIN_ITEMS] = {k: v for k, v in props[_RELAXED_MIN_ITEMS].items()
                                         if k != "minItems"}
        return out
    if isinstance(node, list):
        return [_relax(v) for v in node]
    return node


@functools.cache
def compiled_lenient(version: str, action: str, kind: str) -> Callable[[dict], dict]:
    """The validator lenient mode checks a repaired payload with (`_RELAXED_MIN_ITEMS`)."""
    spec = catalog(version)[action]
    schema = spec.request_schema if kind == "request" else spec.response_schema
    return fastjsonschema.compile(_relax(schema), use_default=False)


def error_for(exc: fastjsonschema.JsonSchemaValueException, action: str, kind: str) -> OcppError:
    rule = exc.rule or ""
    code = _RULE_TO_CODE.get(rule) or (
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION if rule in _PROPERTY_RULES else ErrorCode.FORMAT_VIOLATION)
    where = exc.name.replace("data", "", 1).lstrip(".") or "payload"
    if rule == "type" and where == "payload":  # not an object at all: the frame's shape is wrong
        code = ErrorCode.FORMAT_VIOLATION
    message = exc.message.replace(exc.name, where, 1)
    return OcppError(code, f"{action} {kind}: {message}", {"path": where, "rule": rule})


def validate(version: str, action: str, kind: str, payload: dict, mode: str = STRICT
             ) -> tuple[dict, list[str]]:
    """Return (payload, repairs).  Raises OcppError with the spec's error code."""
    check = compiled(version, action, kind)
    try:
        check(payload)
        return payload, []
    except fastjsonschema.JsonSchemaValueException as e:
        if mode != LENIENT:
            raise error_for(e, action, kind) from None
        first_error = e
    spec = catalog(version)[action]
    schema = spec.request_schema if kind == "request" else spec.response_schema
    repairs: list[str] = []
    repaired = _repair(payload, schema, schema, "", repairs)
    try:
        compiled_lenient(version, action, kind)(repaired)
    except fastjsonschema.JsonSchemaValueException as e:
        raise error_for(e if repairs else first_error, action, kind) from None
    return repaired, repairs


# -- lenient repairs -----------------------------------------------------------------

_OTHER_ERROR = "OtherError"   # 1.6 ChargePointErrorCode's catch-all
_NO_OFFSET = re.compile(r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?$")
_SHORT_OFFSET = re.compile(r"^(\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?[+-]\d\d)(\d\d)?$")


def _resolve(node: dict, root: dict) -> dict:
    while "$ref" in node:
        ref = node["$ref"]
        target = root
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _repair(value, node: dict, root: dict, path: str, repairs: list[str]):
    node = _resolve(node, root)
    kind = node.get("type")
    here = path or "payload"
    if kind == "object" and isinstance(value, dict):
        props = node.get("properties", {})
        out = {}
        for key, item in value.items():
            if key == _RELAXED_MIN_ITEMS and item == [] and key in props:
                repairs.append(f"{path + '.' if path else ''}{key}: empty list accepted "
                               f"(a meter value with no samples)")
                out[key] = item
            elif key in props:
                out[key] = _repair(item, props[key], root, f"{path}.{key}" if path else key, repairs)
            elif node.get("additionalProperties") is False:
                repairs.append(f"{path + '.' if path else ''}{key}: unknown field dropped")
            else:
                out[key] = item
        return out
    if kind == "array" and isinstance(value, list):
        items = node.get("items", {})
        return [_repair(v, items, root, f"{path}[{i}]", repairs) for i, v in enumerate(value)]
    if kind == "string":
        sent, mark = value, len(repairs)
        value = _repair_string(value, node, here, repairs)
        if len(repairs) > mark and not _fits(value, node):
            # the repair did not make the value valid: keep what was sent, so the error
            # reported is the one for the sender's value (e.g. a number, not a long string)
            del repairs[mark:]
            return sent
        return value
    if kind == "boolean" and isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "false"):
            repairs.append(f"{here}: boolean string {value!r} read as {text}")
            return text == "true"
        return value
    if kind in ("integer", "number") and isinstance(value, str):
        text = value.strip()
        try:
            number = int(text) if kind == "integer" else float(text)
        except ValueError:
            return value
        if not _fits(number, node):
            return value
        repairs.append(f"{here}: numeric string {value!r} read as {number!r}")
        return number
    return value


def _fits(value, node: dict) -> bool:
    """Whether a repaired scalar meets its node's own value constraints."""
    if "enum" in node and value not in node["enum"]:
        return False
    if isinstance(value, str):
        return node.get("minLength", 0) <= len(value) <= node.get("maxLength", len(value))
    return node.get("minimum", value) <= value <= node.get("maximum", value)


def _repair_string(value, node: dict, here: str, repairs: list[str]):
    sent_text = isinstance(value, str)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        repairs.append(f"{here}: number {value!r} given where a string is due")
        value = str(value)
    if not isinstance(value, str):
        return value
    if value != value.strip():
        repairs.append(f"{here}: surrounding whitespace trimmed from {value!r}")
        value = value.strip()
    enum = node.get("enum")
    if enum and value not in enum:
        match = next((e for e in enum if e.lower() == value.lower()), None)
        if match:
            repairs.append(f"{here}: enum value {value!r} read as {match!r}")
            value = match
        elif sent_text and _OTHER_ERROR in enum:
            # an error code outside the spec's list ("Error" for any fault): the spec's own
            # catch-all code carries it; the repair note keeps what was sent
            repairs.append(f"{here}: error code {value!r} is not in the spec, read as "
                           f"{_OTHER_ERROR!r}")
            value = _OTHER_ERROR
    if node.get("format") == "date-time":
        if _NO_OFFSET.match(value):
            repairs.append(f"{here}: timestamp {value!r} has no offset, read as UTC")
            value += "Z"
        elif (m := _SHORT_OFFSET.match(value)) and not m.group(2):
            repairs.append(f"{here}: short offset in {value!r} read as {m.group(1)}:00")
            value = m.group(1) + ":00"
    return value
