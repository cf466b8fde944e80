"""The JSON Schema of scenario files, as Python data.

`scenarios/scenario.schema.json` is written from this (`python -m simulator.scenario.schema
--write`); a test keeps the two in sync.  Editors that know JSON Schema (VS Code's YAML
extension: `# yaml-language-server: $schema=../scenario.schema.json`) complete and check
scenario files with it.  The loader checks the same schema, step by step, so that its errors
point at the step and line that is wrong.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

FORMAT_VERSION = 1
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "scenarios" / "scenario.schema.json"

_ANY = {}
_STR = {"type": "string"}
_NUM = {"type": ["number", "string"], "description": "seconds (or a ${...} reference)"}
_INT = {"type": ["integer", "string"]}
_OBJ = {"type": "object"}
_STATION = {"type": "string", "description": "station id; optional when the scenario has one station"}
_CONNECTOR = {"type": ["integer", "string"], "description": "connector id (default 1)"}
_SAVE = {"type": "string", "pattern": r"^[A-Za-z_][\w-]*$",
         "description": "store the result under this variable name, for ${name.path}"}
_EXPECT = {"type": "object", "description": "dotted path -> value or matcher",
           "additionalProperties": {"$ref": "#/$defs/expectation"}}
_TIMEOUT = {"type": ["number", "string"], "description": "seconds before the step fails"}
_REPLY = {"type": "object", "description": "expectation on the answer to that CALL (a CALLERROR "
                                          "answer is {code, description, details})",
          "additionalProperties": {"$ref": "#/$defs/expectation"}}
_SINCE = {"enum": ["step", "start"],
          "description": "look at messages since the last action step (default) or the run start"}
_ERROR = {"type": "object", "additionalProperties": False, "required": ["code"],
          "properties": {"code": _STR, "description": _STR, "details": _OBJ}}


def _step(description: str, properties: dict, required=(), allow_scalar=None) -> dict:
    body = {"type": "object", "description": description, "additionalProperties": False,
            "properties": properties}
    if required:
        body["required"] = list(required)
    if allow_scalar:  # short form: `plug_in: CS1`, `sleep: 2`
        return {"description": description, "anyOf": [allow_scalar, body]}
    return body


def _at(extra: dict | None = None) -> dict:
    return {"station": _STATION, "connector": _CONNECTOR, **(extra or {})}


_STEPS_REF = {"type": "array", "items": {"$ref": "#/$defs/step"}}

STEP_KINDS: dict[str, dict] = {
    # -- the station's hardware and its user -------------------------------------------------
    "boot": _step("connect and boot a station (stations boot at the start unless `boot: false`)",
                  {"station": _STATION, "expect": {"enum": ["Accepted", "Pending", "Rejected"]},
                   "timeout": _TIMEOUT}, allow_scalar=_STR),
    "shutdown": _step("close the station's connection and stop its timers",
                      {"station": _STATION}, allow_scalar=_STR),
    "plug_in": _step("the EV's cable goes in", _at({"soc": {"type": ["number", "string"]}}),
                     allow_scalar=_STR),
    "unplug": _step("the EV's cable comes out", _at(), allow_scalar=_STR),
    "present_tag": _step("an RFID card at the connector's reader",
                         _at({"tag": _STR, "expect": {
                             "description": "what the station did",
                             "anyOf": [{"$ref": "#/$defs/tag_result"},
                                       {"type": "array", "items": {"$ref": "#/$defs/tag_result"}}]},
                             "save": _SAVE}), required=["tag"]),
    "start_charging": _step("plug in (if needed), present the tag, wait for the accepted "
                            "transaction; saves {transactionId, idTag, connectorId, status}",
                            _at({"tag": _STR, "save": _SAVE, "timeout": _TIMEOUT,
                                 "expect": {"description": "idTagInfo status the CSMS must give",
                                            "type": "string"}}), required=["tag"]),
    "stop_charging": _step("end the connector's transaction: with `tag` by presenting it, "
                           "else as the station would (reason)",
                           _at({"tag": _STR, "reason": {"$ref": "#/$defs/stop_reason"},
                                "save": _SAVE, "timeout": _TIMEOUT})),
    "suspend_ev": _step("the EV stops taking energy (SuspendedEV)", _at(), allow_scalar=_STR),
    "resume_ev": _step("the EV takes energy again", _at(), allow_scalar=_STR),
    "fault": _step("a hardware fault (connector 0: the whole station)",
                   _at({"error_code": {"$ref": "#/$defs/error_code"}, "info": _STR})),
    "clear_fault": _step("the fault is gone", _at(), allow_scalar=_STR),
    "power_loss": _step("the station loses power: running transactions end with PowerLoss, "
                        "the link drops; after `duration` it boots again",
                        {"station": _STATION, "duration": _NUM, "timeout": _TIMEOUT},
                        allow_scalar=_STR),
    "go_offline": _step("the network link drops (the station keeps running)",
                        {"station": _STATION}, allow_scalar=_STR),
    "come_online": _step("the network link is back: reconnect (no new boot)",
                         {"station": _STATION, "timeout": _TIMEOUT}, allow_scalar=_STR),
    "set_faults": _step("transport faults from now on (a faults: block; null or {}: none); "
                        "the link is dropped and reopened so they apply at once",
                        {"station": _STATION, "faults": {"type": ["object", "null"]}},
                        required=["faults"]),
    "reboot": _step("the station reboots by itself (as on a Reset): wait for the new boot",
                    {"station": _STATION, "hard": {"type": "boolean"}, "timeout": _TIMEOUT},
                    allow_scalar=_STR),
    # -- messages ------------------------------------------------------------------------------
    "send": _step("send any charger-initiated message; omitted payload fields are filled by "
                  "the station model where it knows them",
                  {"station": _STATION, "action": _STR, "payload": _OBJ, "expect": _EXPECT,
                   "expect_error": {"type": ["string", "object"]}, "save": _SAVE,
                   "timeout": _TIMEOUT, "validate": {"type": "boolean"}}, required=["action"]),
    "answer": _step("answer the next CSMS request of `action` with this reply or CALLERROR "
                    "instead of the station model (one-shot)",
                    {"station": _STATION, "action": _STR, "reply": _OBJ, "error": _ERROR},
                    required=["action"]),
    "expect_request": _step("wait for a CSMS-initiated request (answered by the model or a "
                            "preceding `answer`)",
                            {"station": _STATION, "action": _STR, "expect": _EXPECT,
                             "reply": _REPLY, "save": _SAVE, "save_reply": _SAVE,
                             "timeout": _TIMEOUT, "since": _SINCE},
                            required=["action"]),
    "expect_sent": _step("wait for a message the station sent (a CALL of `action`)",
                         {"station": _STATION, "action": _STR, "expect": _EXPECT, "save": _SAVE,
                          "reply": _REPLY, "save_reply": _SAVE, "timeout": _TIMEOUT,
                          "since": _SINCE}, required=["action"]),
    "expect_no_request": _step("no request of `action` is seen during `for` seconds: from the "
                               "CSMS (default), or sent by the station with `direction: sent`",
                               {"station": _STATION, "action": _STR, "for": _NUM,
                                "direction": {"enum": ["received", "sent"]}, "since": _SINCE},
                               required=["action", "for"]),
    "wait_event": _step("wait for a station event (tx_started, status, boot, ...)",
                        _at({"event": _STR, "expect": _EXPECT, "save": _SAVE,
                             "timeout": _TIMEOUT, "since": _SINCE}), required=["event"]),
    "wait_status": _step("wait until the connector has this status",
                         _at({"status": {"$ref": "#/$defs/status"}, "timeout": _TIMEOUT}),
                         required=["status"]),
    "csms": _step("make the CSMS send a request to the station (bundled hub: its command API; "
                  "other CSMS: the `csms.trigger` configuration); checks the station's answer",
                  {"station": _STATION, "action": _STR, "payload": _OBJ, "expect": _EXPECT,
                   "expect_error": {"type": ["string", "object"]}, "save": _SAVE,
                   "timeout": _TIMEOUT, "prompt": _STR}, required=["action"]),
    # -- checks, variables, flow ---------------------------------------------------------------
    "assert": _step("check the station's state now",
                    _at({"status": {"anyOf": [{"$ref": "#/$defs/status"}, {"$ref": "#/$defs/matcher"}]},
                         "error_code": _STR, "transaction": {"type": "boolean"},
                         "plugged": {"type": "boolean"}, "registration": {"type": ["string", "null"]},
                         "online": {"type": "boolean"},
                         "config": {"type": "object",
                                    "additionalProperties": {"$ref": "#/$defs/expectation"}}})),
    "check": _step("check values (usually ${...} references)",
                   {"value": _ANY, "expect": {"$ref": "#/$defs/expectation"}, "message": _STR},
                   required=["value", "expect"]),
    "set": {"type": "object", "description": "set variables",
            "propertyNames": {"pattern": r"^[A-Za-z_][\w-]*$"}},
    "sleep": {"description": "wait this many seconds", "type": ["number", "string"]},
    "log": {"description": "print a line in the run output", "type": "string"},
    "repeat": _step("run `steps` `times` times; `as` names the 1-based counter",
                    {"times": _INT, "as": {"type": "string"}, "steps": _STEPS_REF},
                    required=["times", "steps"]),
    "for_each": _step("run `steps` once per item (or per station of a group), "
                      "one after the other or in parallel",
                      {"stations": {"type": ["string", "array"],
                                    "description": "`all`, a group name or a list of ids"},
                       "items": {"type": ["array", "string"]}, "as": {"type": "string"},
                       "parallel": {"type": "boolean"}, "steps": _STEPS_REF},
                      required=["as", "steps"]),
    "parallel": {"description": "run these steps at once (each may be a `do` block)",
                 "type": "array", "items": {"$ref": "#/$defs/step"}},
    "do": {"description": "a block of steps, one after the other", **_STEPS_REF},
}

COMMON_STEP_KEYS = {
    "name": {"type": "string", "description": "shown in progress and reports"},
    "within": {"type": ["number", "string"],
               "description": "timing assertion: the step must complete within this many seconds"},
    "at_least": {"type": ["number", "string"],
                 "description": "timing assertion: the step must not complete sooner than this "
                                "many seconds (e.g. the next Heartbeat)"},
}

_STATION_ENTRY = {
    "type": "object", "additionalProperties": False, "required": ["id"],
    "properties": {
        "id": {"type": "string", "description": "station id; with `count`, a pattern with {n}"},
        "count": {"type": "integer", "minimum": 1, "description": "a fleet of this many stations"},
        "group": {"type": "string", "description": "a name for the fleet (for `for_each`)"},
        "protocol": {"enum": ["ocpp1.6", "ocpp2.0.1", "ocpp1.5"], "description": "ocpp1.6, ocpp2.0.1 or ocpp1.5 (SOAP); steps name the messages of the station's protocol"},
        "template": {"type": "string", "description": "a station template name, when available"},
        "connectors": {"type": "integer", "minimum": 1},
        "vendor": _STR, "model": _STR, "serial_number": _STR,
        "max_power_w": {"type": "number"},
        "connector_lock": {"type": "boolean"},
        "config": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]},
                   "description": "initial configuration keys"},
        "boot": {"type": "boolean", "description": "boot at the start of the run (default true)"},
        "password": {"type": "string", "description": "HTTP Basic password (user: the station id)"},
        "faults": {"type": "object", "description": "transport faults injected on the station's "
                                                    "connections (a template's faults: block)"},
    },
}

_TRIGGER = {
    "type": "object", "additionalProperties": False,
    "description": "how to make a CSMS other than the bundled hub act (`csms` steps)",
    "properties": {
        "http": {"type": "object", "additionalProperties": False, "required": ["url"],
                 "properties": {"url": _STR, "method": {"enum": ["GET", "POST", "PUT", "PATCH"]},
                                "headers": {"type": "object", "additionalProperties": _STR},
                                "body": _ANY}},
        "command": {"type": "string", "description": "shell command; ${station}, ${action}, "
                                                     "${payload} (JSON) are filled in"},
        "prompt": {"type": "boolean", "description": "ask a person (only when run at a terminal)"},
    },
}

_HUB_FIRMWARE = {
    "type": "object",
    "description": "firmware images the bundled hub serves at ${hub.api_url}/firmware/{name}: "
                   "name -> the image's text, or {file: path} (relative to the scenario's "
                   "folder); a first line `firmware-version: <v>` sets the version the "
                   "station boots with",
    "propertyNames": {"pattern": r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$"},
    "additionalProperties": {"anyOf": [
        {"type": "string"},
        {"type": "object", "additionalProperties": False, "required": ["file"],
         "properties": {"file": {"type": "string"}}}]},
}

SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://chargesim.invalid/scenario.schema.json",
    "title": "chargesim scenario",
    "description": "A test scenario for chargesim: stations, steps and assertions.",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "steps"],
    "properties": {
        "version": {"const": FORMAT_VERSION, "description": "scenario format version"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "csms": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "url": {"type": "string", "description": "`bundled` (default) or a ws:// endpoint "
                                                         "without the station id"},
                "hub": {"type": "object", "additionalProperties": False,
                        "description": "settings of the bundled hub for this scenario",
                        "properties": {
                            "tags": {"type": "object", "additionalProperties": {
                                "anyOf": [{"enum": ["Accepted", "Blocked", "Expired", "Invalid"]},
                                          {"type": "object"}]}},
                            "heartbeat_interval": {"type": "integer"},
                            "unknown_stations": {"enum": ["accept", "pending", "reject", "refuse"]},
                            "known_stations": {"type": "array", "items": _STR},
                            "certificate_authority": {
                                "type": "boolean",
                                "description": "the hub signs SignCertificate CSRs with a "
                                               "throwaway CA (default false: NotSupported)"},
                            "firmware": _HUB_FIRMWARE}},
                "trigger": _TRIGGER,
            },
        },
        "options": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "interval_scale": {"type": "number", "exclusiveMinimum": 0,
                                   "description": "multiplies every protocol interval (default 0.05)"},
                "step_timeout": {"type": "number", "exclusiveMinimum": 0,
                                 "description": "default timeout of a step, seconds (default 10)"},
                "timeout": {"type": "number", "exclusiveMinimum": 0,
                            "description": "the whole scenario, seconds (default 120)"},
                "call_timeout": {"type": "number", "exclusiveMinimum": 0},
                "mode": {"enum": ["strict", "lenient"]},
            },
        },
        "stations": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/station"}},
        "variables": {"type": "object", "propertyNames": {"pattern": r"^[A-Za-z_][\w-]*$"}},
        "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/step"}},
    },
    "$defs": {
        "station": _STATION_ENTRY,
        "step": {
            "type": "object", "description": "one step: exactly one step kind, plus name/within",
            "properties": {**{k: {"$ref": f"#/$defs/step_{k}"} for k in STEP_KINDS},
                           **COMMON_STEP_KEYS},
            "additionalProperties": False,
            "oneOf": [{"required": [k]} for k in STEP_KINDS],
        },
        **{f"step_{k}": v for k, v in STEP_KINDS.items()},
        "matcher": {
            "type": "object", "additionalProperties": False, "minProperties": 1,
            "properties": {"eq": _ANY, "ne": _ANY, "in": {"type": "array"},
                           "not_in": {"type": "array"}, "matches": _STR,
                           "gt": {"type": ["number", "string"]}, "ge": {"type": ["number", "string"]},
                           "lt": {"type": ["number", "string"]}, "le": {"type": ["number", "string"]},
                           "exists": {"type": "boolean"},
                           "type": {"enum": ["string", "integer", "number", "boolean", "object",
                                             "array", "null"]},
                           "contains": _ANY, "length": _ANY},
        },
        "expectation": {"description": "a value that must be equal, or a matcher", **_ANY},
        "status": {"enum": ["Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE",
                            "Finishing", "Reserved", "Unavailable", "Faulted"]},
        "tag_result": {"enum": ["Started", "Authorized", "Stopped", "Cancelled", "Rejected",
                                "NotAllowed", "Unavailable", "Reserved"]},
        "stop_reason": {"enum": ["Local", "Remote", "EVDisconnected", "HardReset", "SoftReset",
                                 "PowerLoss", "Reboot", "UnlockCommand", "DeAuthorized",
                                 "EmergencyStop", "Other"]},
        "error_code": {"enum": ["ConnectorLockFailure", "EVCommunicationError", "GroundFailure",
                                "HighTemperature", "InternalError", "LocalListConflict",
                                "OtherError", "OverCurrentFailure", "OverVoltage",
                                "PowerMeterFailure", "PowerSwitchFailure", "ReaderFailure",
                                "ResetFailure", "UnderVoltage", "WeakSignal"]},
    },
}


def schema_json() -> str:
    return json.dumps(SCHEMA, indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--write"]:
        SCHEMA_FILE.parent.mkdir(parents=True, exist_ok=True)
        SCHEMA_FILE.write_text(schema_json())
        print(f"wrote {SCHEMA_FILE}")
    else:
        sys.stdout.write(schema_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
