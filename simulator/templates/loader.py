"""Station templates and fleets (YAML) → StationOptions.

A template describes one kind of charger (identity, connectors, configuration defaults,
meter/EV parameters, field quirks, canned DataTransfer answers); a fleet expands templates
into many stations by an id pattern.  The format is in docs/templates.md; the bundled
templates live beside this module (simulator/templates/) and are found by name (`load_template("ac-22kw")`).

Every mistake is a StationTemplateError naming file:line and the problem: broken YAML, an
unknown or duplicate field, a wrong type, a bad id pattern, a configuration key the station
does not have or a value it would reject.  Line numbers come from yaml's node marks, which
the loader below keeps for every mapping key and sequence item.
"""
from __future__ import annotations

import dataclasses
import re
import types
import typing
from importlib import resources
from pathlib import Path

import yaml

from ..station.config import parse as parse_config_value
from ..station.options import StationOptions

TEMPLATE_PACKAGE = "simulator.templates"
SUFFIXES = (".yaml", ".yml")
MAX_SERIAL = 25          # CiString25Type: chargePointSerialNumber
MAX_ID = 48              # a charge box identity longer than this is refused by many CSMSs

_KNOWN_VERSIONS = ("ocpp1.6", "ocpp2.0.1")


def _known_versions() -> tuple[str, ...]:
    """Every protocol a station has a dialect for (simulator/dialects PROTOCOLS)."""
    from ..dialects import PROTOCOLS
    return tuple(dict.fromkeys((*_KNOWN_VERSIONS, *PROTOCOLS)))


class StationTemplateError(ValueError):
    """A template or fleet file that cannot be used; the message is 'file:line: problem'."""

    def __init__(self, file: str, line: int | None, problem: str):
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {problem}")
        self.file, self.line, self.problem = file, line, problem


# =========================================================================================
# YAML with marks: every mapping remembers the line of each key, every list of each item
# =========================================================================================
class Node(dict):
    """A YAML mapping with the marks of its keys (file, line)."""
    file: str = "?"
    line: int | None = None
    key_lines: dict

    def where(self, key) -> tuple[str, int | None]:
        return self.key_lines.get(key, (self.file, self.line))


class Items(list):
    """A YAML sequence with the marks of its items."""
    file: str = "?"
    line: int | None = None
    item_lines: list

    def where(self, index: int) -> tuple[str, int | None]:
        return self.item_lines[index] if index < len(self.item_lines) else (self.file, self.line)


class _Loader(yaml.SafeLoader):
    pass


def _mark(mark) -> tuple[str, int]:
    return mark.name, mark.line + 1


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Node:
    loader.flatten_mapping(node)
    out = Node()
    out.file, out.line = _mark(node.start_mark)
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise StationTemplateError(*_mark(key_node.start_mark),
                                       f"field names are strings, not {key!r}")
        if key in out:
            raise StationTemplateError(*_mark(key_node.start_mark), f"duplicate field {key!r}")
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = _mark(key_node.start_mark)
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> Items:
    out = Items(loader.construct_object(child, deep=True) for child in node.value)
    out.file, out.line = _mark(node.start_mark)
    out.item_lines = [_mark(child.start_mark) for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _load_yaml(text: str, name: str) -> Node:
    try:
        loader = _Loader(text)   # the reader refuses control characters up front
    except yaml.YAMLError as e:
        raise StationTemplateError(name, None, f"broken YAML: {e}") from None
    loader.name = name  # marks carry the file name
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        raise StationTemplateError(name, line, f"broken YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise StationTemplateError(name, None, f"broken YAML: {e}") from None
    finally:
        loader.dispose()
    if not isinstance(data, Node):
        raise StationTemplateError(name, 1, "expected a mapping of fields at the top level")
    return data


def _merge(base: Node, override: Node) -> Node:
    """`override` on top of `base`: mappings merge key by key, anything else is replaced.
    Marks follow the value (an overridden field's errors point into the fleet file)."""
    out = Node(base)
    out.file, out.line, out.key_lines = base.file, base.line, dict(base.key_lines)
    for key, value in override.items():
        if isinstance(value, Node) and isinstance(base.get(key), Node):
            value = _merge(base[key], value)
        out[key] = value
        out.key_lines[key] = override.key_lines[key]
    return out


# =========================================================================================
# Finding templates
# =========================================================================================
def bundled_templates() -> dict[str, str]:
    """name → one-line description of every bundled template."""
    out = {}
    for entry in sorted(resources.files(TEMPLATE_PACKAGE).iterdir(), key=lambda e: e.name):
        if entry.is_file() and entry.name.endswith(SUFFIXES):
            name = entry.name.rsplit(".", 1)[0]
            try:
                data = _load_yaml(entry.read_text("utf-8"), entry.name)
                out[name] = str(data.get("description", "")).strip()
            except StationTemplateError as e:
                out[name] = f"(broken: {e})"
    return out


def _read(name_or_path: str | Path, relative_to: Path | None = None) -> tuple[str, str]:
    """(text, file name for messages) of a template given by bundled name or path."""
    text_name = str(name_or_path)
    path = Path(name_or_path)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if path.suffix in SUFFIXES or "/" in text_name or path.is_file():
        if not path.is_file():
            raise StationTemplateError(str(path), None, "no such template file")
        return path.read_text("utf-8"), str(path)
    bundled = resources.files(TEMPLATE_PACKAGE)
    for suffix in SUFFIXES:
        entry = bundled.joinpath(text_name + suffix)
        if entry.is_file():
            return entry.read_text("utf-8"), f"{TEMPLATE_PACKAGE.replace('.', '/')}/{text_name}{suffix}"
    raise StationTemplateError(text_name, None, f"no bundled template {text_name!r} and no such "
                               f"file; bundled: {', '.join(bundled_templates())}")


# =========================================================================================
# Template → StationOptions
# =========================================================================================
_IDENTITY = {"vendor": "vendor", "model": "model", "firmware_version": "firmware_version",
             "serial_number": "serial_number", "protocol": "version"}
_SECTIONS = ("description", "connectors", "config", "vendor_keys", "meter", "ev", "quirks",
             "data_transfer", "connector_lock", "options", "faults")
TEMPLATE_FIELDS = (*_IDENTITY, *_SECTIONS)
_CONNECTOR_FIELDS = ("type", "power_kw", "power_w", "phases", "voltage_v")
_METER_PLAIN = ("voltage_v", "power_factor")     # meter: fields without a meter_ prefix
_DT_FIELDS = ("vendor_id", "message_id", "status", "data")
# Set through their own sections, never through options:
_NOT_IN_OPTIONS = {"connectors", "config", "extra_keys", "quirks", "vendor_responses", "faults", "vendor",
                   "model", "firmware_version", "serial_number", "version", "max_power_w",
                   "phases", "current_type", "meter_clock"}


def _fail(node, key, problem: str):
    file, line = node.where(key)
    raise StationTemplateError(file, line, problem)


def _option_types() -> dict[str, object]:
    return typing.get_type_hints(StationOptions)


def _type_ok(value, hint) -> bool:
    """Whether a YAML value fits a StationOptions annotation (the simple kinds only)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    args = typing.get_args(hint)
    if origin is list:
        return isinstance(value, list) and all(_type_ok(v, args[0]) for v in value)
    if origin is tuple:
        return (isinstance(value, list) and len(value) == len(args)
                and all(_type_ok(v, a) for v, a in zip(value, args)))
    if origin is dict:
        return isinstance(value, dict) and all(
            _type_ok(k, args[0]) and _type_ok(v, args[1]) for k, v in value.items())
    return False


def _type_name(hint) -> str:
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "").replace("NoneType", "None")


def _convert(value, hint):
    if typing.get_origin(hint) is tuple and isinstance(value, list):
        return tuple(value)
    if hint is float or (typing.get_origin(hint) in (typing.Union, types.UnionType)
                         and float in typing.get_args(hint)):
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value
    return value


def _set_option(kwargs: dict, hints: dict, field: str, value, node, key) -> None:
    hint = hints[field]
    if not _type_ok(value, hint):
        _fail(node, key, f"{key}: expected {_type_name(hint)}, got {type(value).__name__} "
                         f"{value!r}")
    kwargs[field] = _convert(value, hint)


def _expect(node, key, value, kind, what: str):
    ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, float, (int, float)))
    if not ok:
        _fail(node, key, f"{key}: expected {what}, got {type(value).__name__} {value!r}")
    return value


def _unknown(node: Node, allowed, what: str) -> None:
    for key in node:
        if key not in allowed:
            _fail(node, key, f"unknown {what} field {key!r}; known: {', '.join(allowed)}")


def _connectors(node: Node, kwargs: dict) -> None:
    value = node["connectors"]
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            _fail(node, "connectors", "connectors: at least one connector")
        kwargs["connectors"] = value
        return
    if not isinstance(value, Items) or not value:
        _fail(node, "connectors", "connectors: expected a number or a list of connectors")
    specs = []
    for i, c in enumerate(value):
        if not isinstance(c, Node):
            _fail(value, i, f"connectors[{i}]: expected a mapping (type, power_kw, phases)")
        _unknown(c, _CONNECTOR_FIELDS, "connector")
        kind = str(c.get("type", "AC")).upper()
        if kind not in ("AC", "DC"):
            _fail(c, "type", f"connectors[{i}].type: AC or DC, not {c['type']!r}")
        if "power_kw" in c and "power_w" in c:
            _fail(c, "power_w", f"connectors[{i}]: give power_kw or power_w, not both")
        if "power_kw" in c:
            power = _expect(c, "power_kw", c["power_kw"], (int, float), "a number") * 1000.0
        elif "power_w" in c:
            power = float(_expect(c, "power_w", c["power_w"], (int, float), "a number"))
        else:
            _fail(value, i, f"connectors[{i}]: power_kw (or power_w) is required")
        if power <= 0:
            _fail(c, "power_kw" if "power_kw" in c else "power_w",
                  f"connectors[{i}]: power must be positive")
        phases = voltage = None
        if kind == "DC":
            # DC voltage follows the EV's pack (ev: pack_voltage_v), not the charger
            for key in ("phases", "voltage_v"):
                if key in c:
                    _fail(c, key, f"connectors[{i}]: a DC connector has no {key} "
                                  f"(the pack voltage is ev: pack_voltage_v)")
        else:
            phases = _expect(c, "phases", c.get("phases", 3), int, "1, 2 or 3")
            if phases not in (1, 2, 3):
                _fail(c, "phases", f"connectors[{i}].phases: 1, 2 or 3, not {phases}")
            voltage = c.get("voltage_v")
            if voltage is not None:
                voltage = float(_expect(c, "voltage_v", voltage, (int, float), "a number"))
        specs.append((kind, power, phases, voltage, i))
    first = specs[0]
    for kind, power, phases, voltage, i in specs[1:]:
        # The engine models one power and meter layout per station (yet).
        if (kind, power, phases, voltage) != first[:4]:
            _fail(value, i, f"connectors[{i}] differs from connectors[0]; all connectors of "
                            f"a station have the same type, power, phases and voltage (yet)")
    kind, power, phases, voltage, _ = first
    kwargs.update(connectors=len(specs), max_power_w=power, current_type=kind)
    if phases is not None:
        kwargs["phases"] = phases
    if voltage is not None:
        kwargs["voltage_v"] = voltage


def _config_text(value) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)   # a comma-separated list may be written as a YAML list
    return None


def _config(node: Node, kwargs: dict) -> None:
    cfg = node["config"]
    if not isinstance(cfg, Node):
        _fail(node, "config", "config: expected a mapping of configuration keys to values")
    out = {}
    for key, value in cfg.items():
        text = _config_text(value)
        if text is None:
            _fail(cfg, key, f"config.{key}: expected a string, number, boolean or list of strings")
        out[key] = text
    kwargs["config"] = out


def _vendor_keys(node: Node, kwargs: dict) -> None:
    from ..station.config import STR, KeySpec
    keys = node["vendor_keys"]
    if not isinstance(keys, Node):
        _fail(node, "vendor_keys", "vendor_keys: expected a mapping of key name to value")
    specs = []
    for name, value in keys.items():
        readonly = False
        if isinstance(value, Node):
            _unknown(value, ("value", "readonly"), "vendor key")
            readonly = _expect(value, "readonly", value.get("readonly", False), bool, "a boolean")
            value = value.get("value", "")
        text = _config_text(value)
        if text is None:
            _fail(keys, name, f"vendor_keys.{name}: expected a scalar value")
        specs.append(KeySpec(name, STR, text, readonly=readonly))
    kwargs["extra_keys"] = specs


def _sub_options(node: Node, section: str, prefix: str, kwargs: dict, hints: dict) -> None:
    """meter: / ev: — each key is the StationOptions field <prefix><key> (or <key>)."""
    sub = node[section]
    if not isinstance(sub, Node):
        _fail(node, section, f"{section}: expected a mapping")
    plain = _METER_PLAIN if section == "meter" else ()
    known = sorted({f[len(prefix):] for f in hints if f.startswith(prefix)} | set(plain))
    for key, value in sub.items():
        field = prefix + key if prefix + key in hints else None
        if field is None and key in plain and key in hints:
            field = key
        if field is None:
            _fail(sub, key, f"unknown {section} field {key!r}; known: {', '.join(known)}")
        _set_option(kwargs, hints, field, value, sub, key)


def _quirks(node: Node, kwargs: dict) -> None:
    from ..dialects.ocpp15s.quirks import SOAP_QUIRKS
    from ..dialects.quirks import QUIRKS
    QUIRKS = {**QUIRKS, **SOAP_QUIRKS}   # which apply to the station's protocol: its dialect says
    quirks = node["quirks"]
    if not isinstance(quirks, Items):
        _fail(node, "quirks", "quirks: expected a list of quirk names")
    for i, q in enumerate(quirks):
        if not isinstance(q, str) or q not in QUIRKS:
            _fail(quirks, i, f"unknown quirk {q!r}; known: {', '.join(QUIRKS)}")
    kwargs["quirks"] = list(dict.fromkeys(quirks))


def _faults(node: Node, kwargs: dict) -> None:
    from ..transport.faults import FaultPlan
    faults = node["faults"]
    data = _plain(faults)
    try:
        FaultPlan.from_config(data)
    except ValueError as e:
        _fail(node, "faults", str(e))
    kwargs["faults"] = data


def _plain(value):
    """A template node as plain dicts and lists (the fault plan is kept as its config)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _data_transfer(node: Node, kwargs: dict) -> None:
    from ..station.vendors import ANY, STATUSES
    entries = node["data_transfer"]
    if not isinstance(entries, Items):
        _fail(node, "data_transfer", "data_transfer: expected a list of "
                                     "{vendor_id, message_id, status, data}")
    out: dict[str, dict[str, list]] = {}
    for i, e in enumerate(entries):
        if not isinstance(e, Node):
            _fail(entries, i, f"data_transfer[{i}]: expected a mapping")
        _unknown(e, _DT_FIELDS, "data_transfer")
        if "vendor_id" not in e:
            _fail(entries, i, f"data_transfer[{i}]: vendor_id is required")
        vendor = _expect(e, "vendor_id", e["vendor_id"], str, "a string")
        message = _expect(e, "message_id", e.get("message_id", ANY), str, "a string")
        status = e.get("status", "Accepted")
        if status not in STATUSES:
            _fail(e, "status", f"data_transfer[{i}].status: one of {', '.join(STATUSES)}, "
                               f"not {status!r}")
        data = e.get("data")
        if data is not None:
            data = _expect(e, "data", data, str, "a string")
        if message in out.get(vendor, {}):
            _fail(entries, i, f"data_transfer[{i}]: {vendor}/{message} is declared twice")
        out.setdefault(vendor, {})[message] = [status, data]
    kwargs["vendor_responses"] = out


def _options(node: Node, kwargs: dict, hints: dict) -> None:
    opts = node["options"]
    if not isinstance(opts, Node):
        _fail(node, "options", "options: expected a mapping of StationOptions fields")
    allowed = [f for f in hints if f not in _NOT_IN_OPTIONS]
    for key, value in opts.items():
        if key not in allowed:
            hint = " (it has its own section)" if key in _NOT_IN_OPTIONS else ""
            _fail(opts, key, f"unknown options field {key!r}{hint}; known: {', '.join(allowed)}")
        _set_option(kwargs, hints, key, value, opts, key)


def _serial(pattern: str, node: Node, *, n: int, station_id: str) -> str:
    try:
        serial = pattern.format(n=n, id=station_id)
    except (KeyError, IndexError, ValueError) as e:
        _fail(node, "serial_number", f"serial_number: bad pattern {pattern!r} ({e}); "
                                     f"use {{n}} (station number) and {{id}} (station id)")
    if len(serial) > MAX_SERIAL:
        _fail(node, "serial_number", f"serial_number {serial!r} is longer than {MAX_SERIAL} "
                                     f"characters (chargePointSerialNumber)")
    return serial


def _to_options(node: Node, *, n: int = 1, station_id: str = "", check: bool = True
                ) -> StationOptions:
    _unknown(node, TEMPLATE_FIELDS, "template")
    hints = _option_types()
    kwargs: dict = {}
    for key, field in _IDENTITY.items():
        if key in node:
            value = node[key]
            if key == "firmware_version" and isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)   # `firmware_version: 1.5` is meant as text
            _expect(node, key, value, str, "a string")
            if key == "protocol" and value not in _known_versions():
                _fail(node, key, f"protocol {value!r} is not supported; known: "
                                 f"{', '.join(_known_versions())}")
            if key == "serial_number":
                value = _serial(value, node, n=n, station_id=station_id)
            kwargs[field] = value
    if "description" in node:
        _expect(node, "description", node["description"], str, "a string")
    if "connectors" in node:
        _connectors(node, kwargs)
    if "connector_lock" in node:
        kwargs["connector_lock"] = _expect(node, "connector_lock", node["connector_lock"], bool,
                                           "a boolean")
    for section, fn in (("config", _config), ("vendor_keys", _vendor_keys), ("quirks", _quirks),
                        ("data_transfer", _data_transfer), ("faults", _faults)):
        if section in node:
            fn(node, kwargs)
    for section, prefix in (("meter", "meter_"), ("ev", "ev_")):
        if section in node:
            _sub_options(node, section, prefix, kwargs, hints)
    if "options" in node:
        _options(node, kwargs, hints)
    options = StationOptions(**kwargs)
    if check:
        _check_station(node, options)
    return options


def _check_station(node: Node, options: StationOptions) -> None:
    """The options must build a station (the engine's own checks: meter units, security…),
    and each configuration default must be a key it has, with a value it takes."""
    from ..dialects import make_station
    try:
        probe = make_station("template-check", "ws://127.0.0.1/ocpp",
                             dataclasses.replace(options, config={}, state_dir=None))
    except (ValueError, TypeError) as e:
        raise StationTemplateError(node.file, node.line, f"these settings do not make a "
                                   f"station: {e}") from None
    if "config" not in node:
        return
    specs = probe.config.specs
    cfg = node["config"]
    for key, text in options.config.items():
        spec = specs.get(key)
        if spec is None:
            _fail(cfg, key, f"config: {key!r} is not a configuration key of this station")
        try:
            parse_config_value(spec, text)
        except ValueError as e:
            _fail(cfg, key, f"config.{key}: {e}")


def _template_node(name_or_path, relative_to: Path | None = None) -> Node:
    text, name = _read(name_or_path, relative_to)
    return _load_yaml(text, name)


def load_template(name_or_path: str | Path, *, station_id: str = "", n: int = 1,
                  overrides: dict | None = None) -> StationOptions:
    """StationOptions from a bundled template name (`"ac-22kw"`) or a YAML file path.
    `n` / `station_id` fill the serial number pattern; `overrides` (template fields, as a
    dict) are merged on top.  Raises StationTemplateError."""
    node = _template_node(name_or_path)
    if overrides:
        node = _merge(node, _as_node(overrides))
    return _to_options(node, n=n, station_id=station_id)


def _as_node(data: dict) -> Node:
    text = yaml.safe_dump(data, sort_keys=False)
    return _load_yaml(text, "<overrides>")


# =========================================================================================
# Fleets
# =========================================================================================
FLEET_FIELDS = ("description", "csms", "groups")
GROUP_FIELDS = ("template", "id_pattern", "start", "count", "overrides")
_ID_OK = re.compile(r"^[A-Za-z0-9._:*+-]+$")   # no '/', '#', '?', spaces: it is a URL segment


class Fleet(list):
    """[(station_id, StationOptions), …] in group order, with the fleet's CSMS URL (or None)."""
    csms: str | None = None
    file: str = ""


def load_fleet(path: str | Path) -> Fleet:
    """Expand a fleet file into its stations.  Raises StationTemplateError."""
    path = Path(path)
    if not path.is_file():
        raise StationTemplateError(str(path), None, "no such fleet file")
    node = _load_yaml(path.read_text("utf-8"), str(path))
    _unknown(node, FLEET_FIELDS, "fleet")
    fleet = Fleet()
    fleet.file = str(path)
    if "csms" in node:
        csms = _expect(node, "csms", node["csms"], str, "a ws:// or wss:// URL")
        if not csms.startswith(("ws://", "wss://")):
            _fail(node, "csms", f"csms: expected a ws:// or wss:// URL, not {csms!r}")
        fleet.csms = csms
    groups = node.get("groups")
    if not isinstance(groups, Items) or not groups:
        _fail(node, "groups", "groups: expected a non-empty list of station groups")
    seen: dict[str, tuple[str, int | None]] = {}
    for g_index, group in enumerate(groups):
        if not isinstance(group, Node):
            _fail(groups, g_index, f"groups[{g_index}]: expected a mapping")
        _unknown(group, GROUP_FIELDS, "group")
        for required in ("template", "count"):
            if required not in group:
                _fail(groups, g_index, f"groups[{g_index}]: {required} is required")
        template = _expect(group, "template", group["template"], str, "a template name or path")
        count = _expect(group, "count", group["count"], int, "a whole number")
        if count < 1:
            _fail(group, "count", f"count: at least 1, not {count}")
        start = _expect(group, "start", group.get("start", 1), int, "a whole number")
        pattern = _expect(group, "id_pattern", group.get("id_pattern", "SIM-{n:05d}"), str,
                          "a pattern such as SIM-{n:05d}")
        try:
            base = _template_node(template, path.parent)
        except StationTemplateError as e:
            _fail(group, "template", f"template {template!r}: {e}")
        if "overrides" in group:
            if not isinstance(group["overrides"], Node):
                _fail(group, "overrides", "overrides: expected a mapping of template fields")
            base = _merge(base, group["overrides"])
        for n in range(start, start + count):
            station_id = _station_id(pattern, n, group)
            if station_id in seen:
                file, line = seen[station_id]
                _fail(group, "id_pattern", f"station id {station_id!r} is also made by the group "
                                           f"at {file}:{line}")
            seen[station_id] = (group.file, group.line)
            # checked once per group: its stations differ only in id and serial number
            fleet.append((station_id, _to_options(base, n=n, station_id=station_id,
                                                  check=n == start)))
    return fleet


def _station_id(pattern: str, n: int, group: Node) -> str:
    if "{n" not in pattern:
        _fail(group, "id_pattern", f"id_pattern {pattern!r} has no {{n}}: every station would "
                                   f"get the same id")
    try:
        station_id = pattern.format(n=n)
    except (KeyError, IndexError, ValueError) as e:
        _fail(group, "id_pattern", f"bad id_pattern {pattern!r}: {type(e).__name__}: {e} "
                                   f"(use {{n}}, e.g. SIM-{{n:05d}})")
    if not _ID_OK.match(station_id) or len(station_id) > MAX_ID:
        _fail(group, "id_pattern", f"id_pattern {pattern!r} makes {station_id!r}: a station id is "
                                   f"1–{MAX_ID} characters of letters, digits and . _ - : * +")
    return station_id
