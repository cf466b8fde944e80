"""`${name.path}` references in scenario values — lookups only, never evaluation.

A string that is exactly one reference keeps the referenced value's type (a transaction id
stays an integer); references inside longer strings are formatted into the text.  Paths are
dot-separated keys and list indexes: `${tx.transactionId}`, `${conf.configurationKey.0.value}`.
`$${` writes a literal `${`.  `${= EXPR}` is a small arithmetic expression on references
(expressions.py: `${= mv2.value - mv1.value}`, `${= to_kw(p.value)}`), parsed, not evaluated.
"""
from __future__ import annotations

import json
import re

from . import expressions
from .errors import TemplateError

REF = re.compile(r"\$\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*\}")
EXPR = re.compile(r"\$\{=([^{}]*)\}")
_ESCAPED = "$${"
_MISSING = object()


def refs(value) -> set[str]:
    """Root names referenced anywhere in `value` (for the loader's undefined-variable check)."""
    found: set[str] = set()
    if isinstance(value, str):
        text = value.replace(_ESCAPED, "")
        for m in REF.finditer(text):
            found.add(m.group(1).split(".")[0])
        for m in EXPR.finditer(text):
            found |= expressions.names(m.group(1))
    elif isinstance(value, dict):
        for v in value.values():
            found |= refs(v)
    elif isinstance(value, list):
        for v in value:
            found |= refs(v)
    return found


def expression_problem(value) -> str | None:
    """The first `${= ...}` in `value` that does not parse (for the loader), or None."""
    if isinstance(value, str):
        for m in EXPR.finditer(value.replace(_ESCAPED, "")):
            try:
                expressions.evaluate(m.group(1).strip(), None)
            except TemplateError as e:
                return str(e)
    elif isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for v in value:
            problem = expression_problem(v)
            if problem:
                return problem
    return None


def lookup(variables: dict, path: str):
    parts = path.split(".")
    value = variables.get(parts[0], _MISSING)
    if value is _MISSING:
        raise TemplateError(f"undefined variable ${{{path}}}")
    for i, part in enumerate(parts[1:], 1):
        value = get_path(value, part)
        if value is _MISSING:
            raise TemplateError(f"${{{path}}}: {'.'.join(parts[:i])} has no {part!r}")
    return value


def get_path(value, part: str):
    if isinstance(value, dict):
        return value.get(part, _MISSING)
    if isinstance(value, list) and re.fullmatch(r"-?\d+", part):
        i = int(part)
        return value[i] if -len(value) <= i < len(value) else _MISSING
    return _MISSING


def render(value, variables: dict):
    """`value` with every reference replaced (recursively through dicts and lists)."""
    if isinstance(value, str):
        return _render_str(value, variables)
    if isinstance(value, dict):
        return {k: render(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, variables) for v in value]
    return value


def _render_str(text: str, variables: dict):
    whole = REF.fullmatch(text)
    if whole:
        return lookup(variables, whole.group(1))
    if "${" not in text:
        return text
    whole = EXPR.fullmatch(text.strip())
    if whole and _ESCAPED not in text:
        return _evaluate(whole.group(1), variables)
    pieces = text.split(_ESCAPED)
    out = [REF.sub(lambda m: _text(lookup(variables, m.group(1))),
                   EXPR.sub(lambda m: _text(_evaluate(m.group(1), variables)), p))
           for p in pieces]
    return "${".join(out)


def _evaluate(expression: str, variables: dict):
    return expressions.evaluate(expression.strip(), lambda path: lookup(variables, path))


def _text(value) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
