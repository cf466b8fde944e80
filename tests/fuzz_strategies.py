"""Hypothesis strategies and profiles shared by the fuzz tests (tests/test_fuzz_*.py) and the
long run (loadtests/fuzz.py).

Profiles: "chargesim-ci" (the default here: few examples, so the suite stays fast) and
"chargesim-long" (registered by loadtests/fuzz.py with --examples N).  Neither keeps an
example database: a run leaves no files behind.  The properties count the inputs they are
given in `COUNTS` so the long run can report them.
"""
from __future__ import annotations

import collections
import os
import string

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from simulator.protocol.catalog import catalog

CI_EXAMPLES = int(os.environ.get("CHARGESIM_FUZZ_EXAMPLES", "40"))
settings.register_profile(
    "chargesim-ci", max_examples=CI_EXAMPLES, deadline=None, database=None, derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much])
if settings.get_current_profile_name() == "default":   # loadtests/fuzz.py loads its own
    settings.load_profile("chargesim-ci")

# inputs seen per property (the long run's report)
COUNTS: collections.Counter = collections.Counter()


def count(name: str, n: int = 1) -> None:
    COUNTS[name] += n


# -- JSON values ---------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | st.integers(-(2 ** 63), 2 ** 63 - 1) | finite | st.text(max_size=40)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner,
                                                                        max_size=5),
    max_leaves=25)
json_objects = st.dictionaries(st.text(max_size=12), json_values, max_size=6)
unique_ids = st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=36)
any_ids = unique_ids | st.text(max_size=40) | st.integers() | st.none()


# -- payloads from the OCPP schemas ----------------------------------------------------------

def _resolve(node: dict, root: dict) -> dict:
    while "$ref" in node:
        target = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


_DATES = st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + ".000Z")


def from_schema(node: dict, root: dict | None = None, depth: int = 0) -> st.SearchStrategy:
    """Payloads valid for a (draft-04/06) OCPP JSON schema: the subset the OCPP schemas use."""
    root = root or node
    node = _resolve(node, root)
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        required = set(node.get("required", ()))
        fixed = {k: from_schema(v, root, depth + 1) for k, v in props.items() if k in required}
        optional = {k: from_schema(v, root, depth + 1) for k, v in props.items() if k not in required}
        if depth > 6:
            optional = {}
        return st.fixed_dictionaries(fixed, optional=optional)
    if kind == "array":
        lo = node.get("minItems", 0)
        hi = min(node.get("maxItems", lo + 3), lo + 3)
        return st.lists(from_schema(node.get("items", {}), root, depth + 1), min_size=lo, max_size=hi)
    if kind == "string":
        if node.get("format") == "date-time":
            return _DATES
        lo, hi = node.get("minLength", 0), min(node.get("maxLength", 30), 30)
        return st.text(string.ascii_letters + string.digits + " .:-_", min_size=lo, max_size=max(lo, hi))
    if kind == "integer":
        return st.integers(node.get("minimum", -(2 ** 31)), node.get("maximum", 2 ** 31))
    if kind == "number":
        return st.floats(node.get("minimum", -1e9), node.get("maximum", 1e9), allow_nan=False,
                         allow_infinity=False).map(lambda x: round(x, 1))
    if kind == "boolean":
        return st.booleans()
    return json_values


_PAYLOADS: dict[tuple[str, str, str], st.SearchStrategy] = {}


def valid_payload(version: str, action: str, kind: str = "request") -> st.SearchStrategy:
    key = (version, action, kind)
    if key not in _PAYLOADS:
        spec = catalog(version)[action]
        _PAYLOADS[key] = from_schema(spec.request_schema if kind == "request" else spec.response_schema)
    return _PAYLOADS[key]


@st.composite
def mutated(draw, payload_strategy: st.SearchStrategy) -> dict:
    """A valid payload with zero or more field-level breakages: wrong types, missing or unknown
    fields, huge strings, deep nesting, the field quirks (numbers/booleans as strings, case)."""
    payload = draw(payload_strategy)
    for _ in range(draw(st.integers(0, 3))):
        keys = list(payload)
        how = draw(st.sampled_from(["drop", "add", "retype", "huge", "deep", "case", "stringify"]))
        if how == "add" or not keys:
            payload[draw(st.text(max_size=10))] = draw(json_values)
            continue
        key = draw(st.sampled_from(keys))
        value = payload[key]
        if how == "drop":
            del payload[key]
        elif how == "retype":
            payload[key] = draw(json_values)
        elif how == "huge":
            payload[key] = "x" * draw(st.integers(1000, 70_000))
        elif how == "deep":
            depth = draw(st.integers(10, 3000))
            payload[key] = orjson_safe_nest(depth)
        elif how == "case" and isinstance(value, str):
            payload[key] = draw(st.sampled_from([value.lower(), value.upper(), f" {value} "]))
        elif how == "stringify" and isinstance(value, (bool, int, float)):
            payload[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return payload


def orjson_safe_nest(depth: int):
    """A list nested `depth` deep (orjson refuses to encode past 254, so it is built as text by
    the frame strategies when deeper; here it stays encodable)."""
    value: object = 1
    for _ in range(min(depth, 200)):
        value = [value]
    return value


# -- raw frames ------------------------------------------------------------------------------

def raw_bytes() -> st.SearchStrategy:
    """Frames as bytes: garbage, invalid UTF-8, truncated JSON, numbers a double cannot hold,
    NaN literals and nesting deeper than any parser's limit."""
    fragments = st.sampled_from([b"[", b"]", b"{", b"}", b",", b":", b'"', b"2", b"3", b"4",
                                 b'"id-1"', b'"Heartbeat"', b"1e400", b"-1e400", b"NaN",
                                 b"Infinity", b"null", b"true", b"\xff", b"\xc3", b"\xed\xa0\x80",
                                 b"\\u", b"\\ud800", b" ", b"\x00"])
    return (st.binary(max_size=200)
            | st.lists(fragments, max_size=40).map(b"".join)
            | st.integers(1, 100_000).map(lambda n: b"[" * n + b"]" * n)
            | st.integers(1, 100_000).map(lambda n: b"[" * n))
