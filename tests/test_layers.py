"""The design's layers, enforced: import contracts and a version-neutral station.

Each `[[tool.importlinter.contracts]]` of pyproject.toml is its own test case, checked by
`lint-imports` (import-linter).  A contract the code breaks today is listed in BROKEN_TODAY
and expected to fail (strictly: the mark must go the moment the code complies).

The second half checks that no module under simulator/station names a 1.6 wire field or
configuration key in a string literal: those names belong to the 1.6 dialect.
"""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATION = ROOT / "simulator" / "station"

# contract id -> why it is broken today
BROKEN_TODAY: dict[str, str] = {}


def _contracts() -> list[dict]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]["contracts"]


def _lint_imports() -> Path:
    exe = Path(sys.executable).parent / "lint-imports"
    if not exe.exists():
        pytest.fail(f"{exe} not found: install the dev extra (pip install -e '.[dev]')")
    return exe


def _params():
    for contract in _contracts():
        cid = contract["id"]
        marks = ([pytest.mark.xfail(strict=True, reason=BROKEN_TODAY[cid])]
                 if cid in BROKEN_TODAY else [])
        yield pytest.param(cid, contract["name"], id=cid, marks=marks)


@pytest.mark.parametrize("cid, name", list(_params()))
def test_import_contract(cid, name):
    out = subprocess.run([str(_lint_imports()), "--no-cache", "--contract", cid],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        report = out.stdout.split("Broken contracts", 1)[-1].strip("-\n ")
        pytest.fail(f"import contract {cid!r} ({name}) is broken:\n{report}{out.stderr}",
                    pytrace=False)


def test_every_known_breakage_names_a_contract():
    assert set(BROKEN_TODAY) <= {c["id"] for c in _contracts()}


# -- no 1.6 names in the station ------------------------------------------------------
def _camel_case(name: str) -> bool:
    """Two words or more run together (connectorId, SuspendedEV): never a plain word."""
    return re.search(r"[a-z][A-Z]|[A-Z]{2}", name) is not None and name.isalnum()


def _schema_properties(node, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            found.add(key)
            _schema_properties(value, found)
        for value in node.values():
            _schema_properties(value, found)
    elif isinstance(node, list):
        for value in node:
            _schema_properties(value, found)
    return found


def ocpp16_names() -> frozenset[str]:
    """1.6 names a neutral station has no business spelling: the property names of every
    1.6 JSON schema (the ocpp package's), the 1.6 configuration keys (the spec's, security
    whitepaper included), and the ChargePointStatus and stop Reason values -- all of them
    camelCase only, so generic words ("status", "value", "Accepted", "Charging") pass."""
    import ocpp.v16
    from ocpp.v16.enums import ChargePointStatus, ConfigurationKey, Reason
    names: set[str] = set()
    for schema in (Path(ocpp.v16.__file__).parent / "schemas").glob("*.json"):
        _schema_properties(json.loads(schema.read_text()), names)
    names.update(k.value for k in ConfigurationKey)
    names.update(v.value for enum in (ChargePointStatus, Reason) for v in enum)
    return frozenset(n for n in names if _camel_case(n))


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def wire_names_in(source: str, names: frozenset[str], where: str) -> list[str]:
    """`where:line: name` for each forbidden name in a string literal of `source` (f-string
    parts included, docstrings not: prose may cite the spec)."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            for word in re.findall(r"[A-Za-z][A-Za-z0-9]*", node.value):
                if word in names:
                    hits.append(f"{where}:{node.lineno}: {word}")
    return sorted(set(hits), key=lambda h: (h.split(":")[0], int(h.split(":")[1]), h))


def test_the_forbidden_names_are_1_6_names_not_plain_words():
    names = ocpp16_names()
    assert {"connectorId", "idTagInfo", "transactionId", "chargingProfile",   # wire fields
            "HeartbeatInterval", "SecurityProfile",                         # configuration
            "SuspendedEVSE", "EVDisconnected", "PowerLoss"} <= names        # enums
    assert not {"status", "value", "timestamp", "Accepted", "Charging", "Local"} & names


def test_the_scanner_finds_literals_and_skips_docstrings():
    source = ('"""Reads idTag."""\n'
              'def f(p, n):\n'
              '    """connectorId in prose is fine."""\n'
              '    return p["idTag"], f"{n}: HeartbeatInterval", p["status"]\n')
    assert wire_names_in(source, ocpp16_names(), "m") == ["m:4: HeartbeatInterval", "m:4: idTag"]


def test_station_names_no_1_6_wire_field_or_configuration_key():
    names = ocpp16_names()
    hits = []
    for path in sorted(STATION.rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        hits += wire_names_in(path.read_text(encoding="utf-8"), names, where)
    if hits:
        pytest.fail(f"{len(hits)} 1.6 names in string literals under simulator/station (they "
                    "belong in the 1.6 dialect):\n" + "\n".join(hits), pytrace=False)


# -- no 2.0.1 names in the station either ----------------------------------------------
def ocpp201_names() -> frozenset[str]:
    """The property names of every 2.0.1 JSON schema and the device model's component and
    variable names (camelCase; plain acronyms such as EVSE are hardware words, not wire)."""
    import ocpp.v201

    from simulator.dialects.ocpp201.device_model import model
    names: set[str] = set()
    for schema in (Path(ocpp.v201.__file__).parent / "schemas").glob("*.json"):
        _schema_properties(json.loads(schema.read_text()), names)
    dm = model(2, 0)
    names |= {v.component for v in dm.variables} | {v.name for v in dm.variables}
    return frozenset(n for n in names if _camel_case(n) and not n.isupper())


def test_station_names_no_2_0_1_wire_field_or_device_model_variable():
    names = ocpp201_names()
    assert {"seqNo", "triggerReason", "evseId", "idTokenInfo", "OCPPCommCtrlr",
            "TxUpdatedInterval"} <= names
    hits = []
    for path in sorted(STATION.rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        hits += wire_names_in(path.read_text(encoding="utf-8"), names, where)
    if hits:
        pytest.fail(f"{len(hits)} 2.0.1 names in string literals under simulator/station "
                    "(they belong in the 2.0.1 dialect):\n" + "\n".join(hits), pytrace=False)
