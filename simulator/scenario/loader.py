"""Load scenario files: YAML → checked `Scenario`, or a `ScenarioFileError` naming the file,
line and problem.  Everything is checked before anything connects: YAML syntax, the JSON
Schema (step by step, so errors point at the step), unknown step kinds, station references
and variables used before they are defined.
"""
from __future__ import annotations

import copy
import difflib
from pathlib import Path

import jsonschema
import yaml
from jsonschema.exceptions import best_match

from . import templating
from .errors import ScenarioFileError
from .model import CsmsSpec, Scenario, StationSpec, Step
from .schema import COMMON_STEP_KEYS, SCHEMA, STEP_KINDS

BUILTIN_VARIABLES = {"env", "scenario", "csms", "hub"}
# ${hub.api_url} / ${hub.url}: the bundled hub's addresses (its HTTP API serves firmware
# images and takes uploads); only the bundled hub has them
HUB_VARIABLE = "hub"
_KEY = "<key>"

_TOP_SCHEMA = copy.deepcopy(SCHEMA)
_TOP_SCHEMA["$defs"]["step"] = {"type": "object"}  # steps are checked one by one
_TOP = jsonschema.Draft202012Validator(_TOP_SCHEMA)
_KIND_VALIDATORS = {
    k: jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": f"#/$defs/step_{k}"})
    for k in STEP_KINDS}
_COMMON_VALIDATORS = {k: jsonschema.Draft202012Validator(v) for k, v in COMMON_STEP_KEYS.items()}


def discover(paths) -> list[Path]:
    """Scenario files: the files given, and every *.yaml / *.yml under the folders given."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(x for x in p.rglob("*") if x.suffix in (".yaml", ".yml") and x.is_file())
        elif p.exists():
            found.append(p)
        else:
            raise ScenarioFileError(str(p), "no such file or folder")
    return found


def load(path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioFileError(str(path), f"cannot read: {e.strerror or e}") from None
    return loads(text, str(path))


def loads(text: str, path: str = "<string>") -> Scenario:
    return _Loader(path).load(text)


class _Loader:
    def __init__(self, path: str):
        self.path = path
        self.lines: dict[tuple, tuple[int, int]] = {}

    def fail(self, message: str, where: tuple = ()) -> ScenarioFileError:
        line = col = None
        probe = where
        while True:
            if probe in self.lines:
                line, col = self.lines[probe]
                break
            if not probe:
                break
            probe = probe[:-1]
        return ScenarioFileError(self.path, message, line, col)

    # -- YAML → Python, remembering where each value came from ---------------------------------
    def load(self, text: str) -> Scenario:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
            problem = getattr(e, "problem", None) or str(e)
            raise ScenarioFileError(self.path, f"YAML syntax: {problem}",
                                    mark.line + 1 if mark else None,
                                    mark.column + 1 if mark else None) from None
        if node is None:
            raise ScenarioFileError(self.path, "empty file: a scenario needs `name` and `steps`")
        try:
            data = yaml.SafeLoader("").construct_document(node)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise ScenarioFileError(self.path, f"YAML: {getattr(e, 'problem', e)}",
                                    mark.line + 1 if mark else None) from None
        self._index(node, ())
        if not isinstance(data, dict):
            raise self.fail("a scenario is a mapping with `name`, `stations` and `steps`")
        self._validate(_TOP, data, ())
        return self._build(data)

    def _index(self, node, path: tuple) -> None:
        self.lines[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for k, v in node.value:
                key = k.value
                if key in seen:
                    raise ScenarioFileError(self.path, f"duplicate key {key!r}",
                                            k.start_mark.line + 1, k.start_mark.column + 1)
                seen.add(key)
                self.lines[path + (_KEY, key)] = (k.start_mark.line + 1, k.start_mark.column + 1)
                self._index(v, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                self._index(v, path + (i,))

    # -- schema ----------------------------------------------------------------------------------
    def _validate(self, validator, instance, base: tuple) -> None:
        error = best_match(validator.iter_errors(instance))
        if error is None:
            return
        where = base + tuple(error.absolute_path)
        message = error.message
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            extra = [k for k in error.instance if k not in allowed]
            if extra:
                where = where + (_KEY, extra[0])
                hint = difflib.get_close_matches(str(extra[0]), allowed, 1)
                message = (f"unknown field {extra[0]!r}"
                           + (f" (did you mean {hint[0]!r}?)" if hint else "")
                           + f"; allowed: {', '.join(sorted(allowed))}")
        raise self.fail(f"{_show_path(where)}: {message}" if where else message, where)

    # -- building the model ------------------------------------------------------------------
    def _build(self, data: dict) -> Scenario:
        csms = data.get("csms", {})
        url = csms.get("url")
        spec = CsmsSpec(url=None if url in (None, "bundled") else url,
                        hub=csms.get("hub", {}), trigger=csms.get("trigger", {}))
        self._check_hub_firmware(spec.hub.get("firmware", {}))
        stations, groups = self._stations(data.get("stations") or [{"id": "CS1"}])
        scenario = Scenario(path=self.path, name=data["name"], steps=[], stations=stations,
                            description=data.get("description", ""), tags=data.get("tags", []),
                            csms=spec, options=data.get("options", {}),
                            variables=data.get("variables", {}), groups=groups)
        scenario.steps = self._steps(data["steps"], ("steps",))
        _Checker(self, scenario).run()
        if scenario.hub_refs and not spec.bundled:
            raise ScenarioFileError(
                self.path, f"${{{HUB_VARIABLE}...}} is the bundled hub's address, but this "
                f"scenario's csms.url is {spec.url!r}: use the bundled hub, or give the "
                f"location of your CSMS's file server", scenario.hub_refs[0])
        return scenario

    def _check_hub_firmware(self, images: dict) -> None:
        """`{file: path}` images exist (relative to the scenario's folder)."""
        for name, image in images.items():
            if isinstance(image, dict):
                path = firmware_file(image["file"], self.path)
                if not path.is_file():
                    raise self.fail(f"csms.hub.firmware.{name}: no such file {str(path)!r}",
                                    ("csms", "hub", "firmware", name))

    def _stations(self, entries: list) -> tuple[list[StationSpec], dict[str, list[str]]]:
        out: list[StationSpec] = []
        groups: dict[str, list[str]] = {}
        seen: dict[str, int] = {}
        for i, e in enumerate(entries):
            where = ("stations", i)
            line = self.lines.get(where, (None,))[0]
            count = e.get("count", 1)
            if count > 1 and "{n" not in e["id"]:
                raise self.fail(f"station id {e['id']!r}: a fleet (count {count}) needs {{n}} in "
                                f"its id pattern, e.g. {e['id']}-{{n:03d}}", where + ("id",))
            options = {}
            for key in ("connectors", "vendor", "model", "serial_number", "max_power_w",
                        "connector_lock"):
                if key in e:
                    options[key] = e[key]
            if "config" in e:
                options["config"] = {k: _config_text(v) for k, v in e["config"].items()}
            if e.get("faults"):
                from ..transport.faults import FaultPlan
                try:
                    FaultPlan.from_config(e["faults"])
                except ValueError as err:
                    raise self.fail(str(err), where + ("faults",)) from None
                options["faults"] = dict(e["faults"])
            template = e.get("template")
            ids = []
            for n in range(1, count + 1):
                try:
                    sid = e["id"].format(n=n) if count > 1 or "{n" in e["id"] else e["id"]
                except (KeyError, IndexError, ValueError) as err:
                    raise self.fail(f"station id pattern {e['id']!r}: {err}", where + ("id",)) from None
                if sid in seen:
                    raise self.fail(f"duplicate station id {sid!r}", where + ("id",))
                seen[sid] = i
                ids.append(sid)
                if template is not None:
                    self._check_template(template, where + ("template",), sid, n)
                out.append(StationSpec(id=sid, line=line, group=e.get("group"),
                                       protocol=e.get("protocol"), template=template,
                                       options=dict(options), boot=e.get("boot", True),
                                       password=e.get("password"), n=n,
                                       relative_to=Path(self.path).parent))
            if e.get("group"):
                groups.setdefault(e["group"], []).extend(ids)
        return out, groups

    def _check_template(self, name: str, where: tuple, station_id: str, n: int) -> None:
        from ..templates.loader import StationTemplateError
        from .stations import load_template_options
        try:
            load_template_options(name, station_id, n, Path(self.path).parent)
        except StationTemplateError as e:
            raise self.fail(f"station template {name!r}: {e}", where) from None

    def _steps(self, items: list, base: tuple) -> list[Step]:
        return [self._step(item, base + (i,)) for i, item in enumerate(items)]

    def _step(self, item, where: tuple) -> Step:
        if not isinstance(item, dict):
            raise self.fail(f"{_show_path(where)}: a step is a mapping like `- plug_in: CS1`, "
                            f"not {type(item).__name__} {item!r}", where)
        kinds = [k for k in item if k in STEP_KINDS]
        unknown = [k for k in item if k not in STEP_KINDS and k not in COMMON_STEP_KEYS]
        if unknown:
            key = unknown[0]
            hint = difflib.get_close_matches(str(key), [*STEP_KINDS, *COMMON_STEP_KEYS], 1)
            raise self.fail(f"unknown step {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                            + f"; steps are: {', '.join(STEP_KINDS)}", where + (_KEY, key))
        if not kinds:
            raise self.fail(f"{_show_path(where)}: a step needs one of: {', '.join(STEP_KINDS)}", where)
        if len(kinds) > 1:
            raise self.fail(f"{_show_path(where)}: one step kind per step, found {' and '.join(kinds)} "
                            f"(give each its own `- `)", where + (_KEY, kinds[1]))
        kind = kinds[0]
        self._validate(_KIND_VALIDATORS[kind], item[kind], where + (kind,))
        for key, validator in _COMMON_VALIDATORS.items():
            if key in item:
                self._validate(validator, item[key], where + (key,))
        line = self.lines.get(where, (0,))[0]
        step = Step(kind, item[kind], line, item.get("name"), item.get("within"),
                    item.get("at_least"))
        if kind in ("repeat", "for_each"):
            step.children = self._steps(item[kind]["steps"], where + (kind, "steps"))
        elif kind in ("parallel", "do"):
            step.children = self._steps(item[kind], where + (kind,))
        return step


class _Checker:
    """Semantic checks the schema cannot express: station references, and variables used
    before any step defines them."""

    def __init__(self, loader: _Loader, scenario: Scenario):
        self.loader, self.scenario = loader, scenario
        self.ids = set(scenario.station_ids)
        self.facts = None   # catalog_checks.StationFacts, made on first use

    def run(self) -> None:
        defined = set(BUILTIN_VARIABLES) | set(self.scenario.variables)
        if HUB_VARIABLE in self.scenario.variables:
            raise self.loader.fail(_RESERVED, ("variables", _KEY, HUB_VARIABLE))
        for name, value in self.scenario.variables.items():
            used = templating.refs(value)
            missing = used - defined
            if missing:
                raise self.loader.fail(f"variable {name!r} uses undefined ${{{sorted(missing)[0]}}}",
                                       ("variables", name))
            if HUB_VARIABLE in used:
                self.scenario.hub_refs.append(self.loader.lines.get(("variables", name), (0,))[0])
        self._walk(self.scenario.steps, defined, station_loop=False)

    def _walk(self, steps: list[Step], defined: set[str], station_loop: bool) -> set[str]:
        for step in steps:
            defined = self._check(step, defined, station_loop)
        return defined

    def _fail(self, step: Step, message: str):
        return ScenarioFileError(self.loader.path, f"step {step.kind!r}: {message}", step.line)

    def _check(self, step: Step, defined: set[str], station_loop: bool) -> set[str]:
        args = step.args
        own = {k: v for k, v in args.items() if k != "steps"} if isinstance(args, dict) else args
        if step.kind not in ("parallel", "do"):
            used = templating.refs(own) | templating.refs([step.within, step.at_least])
            missing = used - defined
            if HUB_VARIABLE in used:
                self.scenario.hub_refs.append(step.line)
            if missing:
                raise self._fail(step, f"${{{sorted(missing)[0]}}} is not defined here (define it "
                                       f"in `variables`, or `save`/`set` it in an earlier step)")
            problem = templating.expression_problem(own)
            if problem:
                raise self._fail(step, problem)
        station = self._station_arg(step)
        if station is not None and "${" not in station and station not in self.ids:
            hint = difflib.get_close_matches(station, self.ids, 1)
            raise self._fail(step, f"unknown station {station!r}"
                             + (f" (did you mean {hint[0]!r}?)" if hint else "")
                             + f"; stations: {', '.join(sorted(self.ids))}")
        if (station is None and _uses_station(step.kind) and len(self.ids) > 1
                and not station_loop):
            raise self._fail(step, f"which station? the scenario has {len(self.ids)}: give `station:`")
        # what the protocol catalog knows: action names, who sends them, payloads, connectors
        from .catalog_checks import StationFacts, check_step
        if self.facts is None:
            self.facts = StationFacts(self.scenario)
        problem = check_step(step, station, self.facts)
        if problem:
            raise self._fail(step, problem)
        defined = set(defined)
        if isinstance(args, dict):
            names = {args[k] for k in ("save", "save_reply") if isinstance(args.get(k), str)}
            if step.kind == "set":
                names |= set(args)
            if HUB_VARIABLE in names or args.get("as") == HUB_VARIABLE:
                raise self._fail(step, _RESERVED)
            defined |= names
        if step.kind == "repeat":
            inner = defined | ({args["as"]} if "as" in args else set())
            defined |= self._walk(step.children, inner, station_loop)
        elif step.kind == "for_each":
            stations = args.get("stations")
            if stations is None and "items" not in args:
                raise self._fail(step, "give `stations` (all, a group or ids) or `items`")
            for ref in ([stations] if isinstance(stations, str) else stations or []):
                if ref != "all" and ref not in self.scenario.groups and ref not in self.ids:
                    raise self._fail(step, f"{ref!r} is neither a station nor a group "
                                           f"(groups: {', '.join(self.scenario.groups) or 'none'})")
            inner = defined | {args["as"]}
            defined |= self._walk(step.children, inner, station_loop or stations is not None)
        elif step.kind == "parallel":
            out = set(defined)
            for child in step.children:
                out |= self._check(child, defined, station_loop)
            defined = out
        elif step.kind == "do":
            defined = self._walk(step.children, defined, station_loop)
        return defined

    @staticmethod
    def _station_arg(step: Step) -> str | None:
        if isinstance(step.args, dict):
            value = step.args.get("station")
            return value if isinstance(value, str) else None
        if isinstance(step.args, str) and _uses_station(step.kind) and step.kind not in (
                "sleep", "log"):
            return step.args
        return None


_RESERVED = (f"`{HUB_VARIABLE}` is a built-in variable (${{{HUB_VARIABLE}.api_url}}: the bundled "
             f"hub's HTTP API); choose another name")


def firmware_file(path: str, scenario_path: str) -> Path:
    """A `csms.hub.firmware` `{file: path}`: relative to the scenario's folder."""
    p = Path(path)
    return p if p.is_absolute() else Path(scenario_path).parent / p


def _uses_station(kind: str) -> bool:
    return kind not in ("sleep", "log", "set", "check", "repeat", "for_each", "parallel", "do")


def _config_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _show_path(path: tuple) -> str:
    out = ""
    for p in path:
        if p == _KEY:
            continue
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out
