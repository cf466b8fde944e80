"""`${= EXPR}`: small arithmetic on scenario values, parsed here and never evaluated as code.

    ${= mv2.value - mv1.value}          the difference of two readings
    ${= to_kw(power.value)}             W → kW (to_w, to_kwh, to_wh the other ways)
    ${= max(a.value, b.value) * 2 + 1}

Numbers, references (`name.path.0.field`, as in `${...}`; in an expression `-` is always
minus, so a key with a hyphen cannot be used here), `+ - * / // %`, unary minus, parentheses
and the functions below.  A referenced value must read as a number: an int or float, or a
string holding one (OCPP 1.6 sends sampled values as strings).  Anything else (attribute
access, other names, strings, calls of anything not listed) is a TemplateError naming it.
"""
from __future__ import annotations

import math
import re

from .errors import TemplateError

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
                    r"|(?P<name>[A-Za-z_]\w*(?:\.\w+)*)"
                    r"|(?P<op>//|[-+*/%(),]))")


def number(value, what: str = "value"):
    """`value` as an int or float if it reads as a number, else a TemplateError."""
    n = as_number(value)
    if n is None:
        raise TemplateError(f"{what} is {value!r}, not a number")
    return n


def as_number(value):
    """An int or float for numbers and numeric strings, None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        try:
            n = float(text)
        except ValueError:
            return None
        return n if math.isfinite(n) else None
    return None


def _round(x, digits=0):
    return round(x, int(digits)) if digits else round(x)


FUNCTIONS = {
    "abs": (abs, 1, 1),
    "min": (min, 1, 99),
    "max": (max, 1, 99),
    "round": (_round, 1, 2),
    "number": (lambda x: x, 1, 1),
    "to_kw": (lambda w: w / 1000, 1, 1),      # W → kW
    "to_w": (lambda kw: kw * 1000, 1, 1),     # kW → W
    "to_kwh": (lambda wh: wh / 1000, 1, 1),   # Wh → kWh
    "to_wh": (lambda kwh: kwh * 1000, 1, 1),  # kWh → Wh
}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise TemplateError(f"${{= {text}}}: cannot read {text[pos:].strip()[:20]!r} "
                                f"(numbers, references, + - * / // %, parentheses and "
                                f"{', '.join(FUNCTIONS)})")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def evaluate(text: str, lookup):
    """The value of the expression `text`; `lookup(path)` reads a reference (None: only
    check the syntax, as the loader does)."""
    parser = _Parser(text, _tokens(text), lookup)
    value = parser.expr()
    if parser.pos != len(parser.tokens):
        raise TemplateError(f"${{= {text}}}: unexpected {parser.tokens[parser.pos][1]!r}")
    if lookup is None:
        return None
    if isinstance(value, float):   # 1.2 - 0.6 is 0.6, not 0.5999999999999999
        value = float(f"{value:.12g}")
    return value


class _Parser:
    def __init__(self, text, tokens, lookup):
        self.text, self.tokens, self.lookup, self.pos = text, tokens, lookup, 0

    def _peek(self):
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _take(self, op=None):
        if self.pos >= len(self.tokens):
            raise TemplateError(f"${{= {self.text}}}: ends too early")
        tok = self.tokens[self.pos]
        if op is not None and tok[1] != op:
            raise TemplateError(f"${{= {self.text}}}: expected {op!r}, found {tok[1]!r}")
        self.pos += 1
        return tok

    def expr(self):
        value = self.term()
        while self._peek() in ("+", "-"):
            op = self._take()[1]
            right = self.term()
            value = value + right if op == "+" else value - right
        return value

    def term(self):
        value = self.unary()
        while self._peek() in ("*", "/", "//", "%"):
            op = self._take()[1]
            right = self.unary()
            if op != "*" and right == 0 and self.lookup is not None:
                raise TemplateError(f"${{= {self.text}}}: division by zero")
            value = {"*": lambda: value * right, "/": lambda: value / right,
                     "//": lambda: value // right, "%": lambda: value % right}[op]()
        return value

    def unary(self):
        if self._peek() in ("-", "+"):
            op = self._take()[1]
            value = self.unary()
            return -value if op == "-" else value
        return self.atom()

    def atom(self):
        kind, text = self._take()
        if kind == "num":
            return number(text)
        if text == "(":
            value = self.expr()
            self._take(")")
            return value
        if kind == "name":
            if self._peek() == "(":
                return self.call(text)
            if self.lookup is None:   # syntax check only
                return 1
            return number(self.lookup(text), f"${{{text}}}")
        raise TemplateError(f"${{= {self.text}}}: unexpected {text!r}")

    def call(self, name):
        if name not in FUNCTIONS:
            raise TemplateError(f"${{= {self.text}}}: unknown function {name}(); "
                                f"known: {', '.join(FUNCTIONS)}")
        fn, low, high = FUNCTIONS[name]
        self._take("(")
        args = []
        if self._peek() != ")":
            args.append(self.expr())
            while self._peek() == ",":
                self._take(",")
                args.append(self.expr())
        self._take(")")
        if not low <= len(args) <= high:
            raise TemplateError(f"${{= {self.text}}}: {name}() takes "
                                f"{low if low == high else f'{low} to {high}'} argument(s)")
        return fn(*args)


def names(text: str) -> set[str]:
    """Root names an expression references (not its function names)."""
    found = set()
    try:
        tokens = _tokens(text)
    except TemplateError:
        return found
    for i, (kind, tok) in enumerate(tokens):
        nxt = tokens[i + 1][1] if i + 1 < len(tokens) else None
        if kind == "name" and nxt != "(":
            found.add(tok.split(".")[0])
    return found
