"""Expectations on payloads and values.

An expectation is a mapping of dotted paths to expected values or matchers:

    expect: {status: Accepted, idTagInfo.status: {in: [Accepted, ConcurrentTx]},
             configurationKey.0.value: {matches: "^[0-9]+$"}, transactionId: {gt: 0}}

A value that is a mapping whose keys are all matcher names is a matcher; anything else must
be equal (use `{eq: {...}}` for a literal mapping).  The empty path `.` is the whole value.  gt/ge/lt/le compare numerically when both sides read
as numbers (numeric strings included); eq/in stay exact.
"""
from __future__ import annotations

import re

from .expressions import as_number
from .templating import _MISSING, get_path

TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
         "object": dict, "array": list, "null": type(None)}
MATCHERS = ("eq", "ne", "in", "not_in", "matches", "gt", "ge", "lt", "le", "exists", "type",
            "contains", "length")


def is_matcher(spec) -> bool:
    return isinstance(spec, dict) and bool(spec) and all(k in MATCHERS for k in spec)


def resolve(value, path: str):
    if path in (".", ""):
        return value
    for part in path.split("."):
        value = get_path(value, part)
        if value is _MISSING:
            return _MISSING
    return value


def check(actual, expectation: dict) -> list[str]:
    """Every way `actual` differs from `expectation` (empty: it matches)."""
    problems = []
    for path, spec in expectation.items():
        value = resolve(actual, str(path))
        problems += [f"{path}: {p}" for p in match(value, spec)]
    return problems


def match(value, spec) -> list[str]:
    if not is_matcher(spec):
        spec = {"eq": spec}
    if value is _MISSING:
        if spec.get("exists") is False:
            return []
        return ["is missing"]
    problems = []
    for name, want in spec.items():
        ok = _MATCH[name](value, want)
        if not ok:
            problems.append(f"{_show(value)} {_DESCRIBE[name]} {_show(want)}")
    return problems


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _cmp(op):
    """Order comparisons are numeric whenever both sides read as numbers: OCPP 1.6 sends
    sampled values as strings ("1.2"), and `${...}` of one is a string too."""
    def f(value, want):
        a, b = as_number(value), as_number(want)
        if a is None or b is None:
            return False
        return op(a, b)
    return f


def _eq(value, want) -> bool:
    if isinstance(value, bool) or isinstance(want, bool):
        return type(value) is type(want) and value == want
    return value == want


_MATCH = {
    "eq": _eq,
    "ne": lambda v, w: not _eq(v, w),
    "in": lambda v, w: any(_eq(v, x) for x in w),
    "not_in": lambda v, w: not any(_eq(v, x) for x in w),
    "matches": lambda v, w: isinstance(v, str) and re.search(w, v) is not None,
    "gt": _cmp(lambda a, b: a > b), "ge": _cmp(lambda a, b: a >= b),
    "lt": _cmp(lambda a, b: a < b), "le": _cmp(lambda a, b: a <= b),
    "exists": lambda v, w: bool(w),
    "type": lambda v, w: isinstance(v, TYPES[w]) and not (w in ("integer", "number")
                                                          and isinstance(v, bool)),
    "contains": lambda v, w: (isinstance(v, str) and isinstance(w, str) and w in v)
    or (isinstance(v, list) and any(_eq(x, w) or (isinstance(w, dict) and isinstance(x, dict)
                                                  and not check(x, w)) for x in v)),
    "length": lambda v, w: hasattr(v, "__len__") and not match(len(v), w),
}
_DESCRIBE = {"eq": "is not", "ne": "must not be", "in": "is not one of", "not_in": "is one of",
             "matches": "does not match", "gt": "is not >", "ge": "is not >=", "lt": "is not <",
             "le": "is not <=", "exists": "exists, expected exists:", "type": "is not of type",
             "contains": "does not contain", "length": "does not have length"}


def _show(v) -> str:
    text = repr(v)
    return text if len(text) <= 120 else text[:117] + "..."
