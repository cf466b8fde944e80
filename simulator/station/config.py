"""Configuration store: typed keys with read-only and reboot flags.

Values travel as strings (that is how OCPP 1.6 carries them) and are parsed and checked on
every change, so a CSMS's bad value is answered Rejected instead of breaking the station.
Listeners hear about each effective change (the station restarts its heartbeat, sampler…).
A change to a key that needs a reboot is answered RebootRequired and held until the next
reset.  The keys themselves are the dialect's (1.6: dialects/ocpp16/config_keys.py); the
station reads them by neutral setting name (settings.py).
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from collections import ChainMap
from functools import lru_cache
from types import MappingProxyType
from typing import Callable, Iterable, Mapping

BOOL, INT, CSL, STR = "bool", "int", "csl", "str"


class ChangeResult(enum.StrEnum):
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    REBOOT_REQUIRED = "RebootRequired"
    NOT_SUPPORTED = "NotSupported"


@dataclass(frozen=True, slots=True)
class KeySpec:
    name: str
    kind: str
    default: str
    readonly: bool = False
    reboot: bool = False
    allowed: frozenset[str] | None = None  # CSL items (or STR values) that are allowed
    pattern: re.Pattern | None = None      # CSL items must match this
    max_items: int | None = None
    minimum: int = 0
    maximum: int | None = None
    write_only: bool = False               # never shown (a password): GetConfiguration, reports


def parse(spec: KeySpec, text: str):
    """The typed value of `text` for `spec`, or ValueError saying why not."""
    text = text.strip()
    if spec.kind == BOOL:
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{spec.name} takes true or false, not {text!r}")
        return text.lower() == "true"
    if spec.kind == INT:
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(f"{spec.name} takes an integer, not {text!r}")
        value = int(text)
        if value < spec.minimum or (spec.maximum is not None and value > spec.maximum):
            raise ValueError(f"{spec.name} out of range: {value}")
        return value
    if spec.kind == CSL:
        items = [i.strip() for i in text.split(",")] if text else []
        if any(not i for i in items):
            raise ValueError(f"{spec.name}: empty item in {text!r}")
        if spec.max_items is not None and len(items) > spec.max_items:
            raise ValueError(f"{spec.name}: at most {spec.max_items} items")
        for item in items:
            if spec.allowed is not None and item not in spec.allowed:
                raise ValueError(f"{spec.name}: {item!r} is not supported")
            if spec.pattern is not None and not spec.pattern.fullmatch(item):
                raise ValueError(f"{spec.name}: {item!r} is malformed")
        return items
    if spec.allowed is not None and text not in spec.allowed:
        raise ValueError(f"{spec.name}: {text!r} is not supported")
    if spec.pattern is not None and text and not spec.pattern.fullmatch(text):
        raise ValueError(f"{spec.name}: value is malformed")   # no echo: may be a secret
    return text


def render(spec: KeySpec, value) -> str:
    if spec.kind == BOOL:
        return "true" if value else "false"
    if spec.kind == CSL:
        return ",".join(value)
    return str(value)


Listener = Callable[[str, object], None]


@lru_cache(maxsize=128)
def _shared(specs: tuple[KeySpec, ...]) -> tuple[Mapping[str, KeySpec], Mapping[str, object]]:
    """The name table and parsed defaults of a key set (read-only: shared by stations)."""
    table = {s.name: s for s in specs}
    return (MappingProxyType(table),
            MappingProxyType({n: parse(s, s.default) for n, s in table.items()}))


class ConfigStore:
    def __init__(self, specs: Iterable[KeySpec], values: dict[str, str] | None = None):
        shared_specs, self._defaults = _shared(tuple(specs))
        # Definitions and defaults are shared by every station of the same shape; a station
        # keeps only its own changes (a spec it narrows, a value that is not the default).
        self.specs: ChainMap[str, KeySpec] = ChainMap({}, shared_specs)
        self._values: dict[str, object] = {}
        self._pending: dict[str, object] = {}   # held until reboot
        self._listeners: list[Listener] = []
        for name, text in (values or {}).items():
            self.set(name, text)

    # -- reading ---------------------------------------------------------------------
    def __contains__(self, name: str) -> bool:
        return name in self.specs

    def __getitem__(self, name: str):
        try:
            return self._values[name]
        except KeyError:
            return self._defaults[name]

    def get(self, name: str, default=None):
        return self[name] if name in self._defaults else default

    def text(self, name: str) -> str:
        return render(self.specs[name], self[name])

    def entries(self, keys: Iterable[str] | None = None
                ) -> tuple[list[tuple[str, str, bool]], list[str]]:
        """([(key, value, readonly)], [unknown keys]) for GetConfiguration."""
        names = list(self.specs) if keys is None else list(dict.fromkeys(keys))
        known = [(n, self.text(n), self.specs[n].readonly) for n in names if n in self.specs]
        unknown = [n for n in names if n not in self.specs]
        return known, unknown

    @property
    def pending(self) -> dict[str, object]:
        return dict(self._pending)

    # -- changing --------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def change(self, name: str, text: str) -> ChangeResult:
        """A change requested by the CSMS (ChangeConfiguration)."""
        spec = self.specs.get(name)
        if spec is None:
            return ChangeResult.NOT_SUPPORTED
        if spec.readonly:
            return ChangeResult.REJECTED
        try:
            value = parse(spec, text)
        except ValueError:
            return ChangeResult.REJECTED
        if spec.reboot:
            self._pending[name] = value
            return ChangeResult.REBOOT_REQUIRED
        self._store(name, value)
        return ChangeResult.ACCEPTED

    def set(self, name: str, text: str) -> None:
        """A change by the station itself (initial values, boot interval): read-only keys
        included, effective at once.  Raises KeyError / ValueError on a bad key or value."""
        spec = self.specs[name]
        self._pending.pop(name, None)
        self._store(name, parse(spec, str(text)))

    def apply_pending(self) -> list[str]:
        """Make the changes held for a reboot effective (called while rebooting)."""
        names = list(self._pending)
        for name in names:
            self._store(name, self._pending.pop(name))
        return names

    def _store(self, name: str, value) -> None:
        changed = self[name] != value
        if value == self._defaults[name]:
            self._values.pop(name, None)
        else:
            self._values[name] = value
        if changed:
            for listener in self._listeners:
                listener(name, value)
