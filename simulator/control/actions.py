"""The verbs a driver or an EV performs at a station, with their JSON bodies checked.

One table for the control API and the TUI.  Each verb calls one public Station method;
a bad body raises ActionError(400) naming the field, and what the station cannot do now
(StationError) becomes ActionError(409) with the station's reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from ..station import STOP_REASONS, Station, StationError, StopReason


class ActionError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Verb:
    name: str
    help: str
    fields: dict[str, tuple[type | tuple[type, ...], bool]]   # name -> (types, required)
    run: Callable[[Station, dict], Awaitable[Any]]
    station_level: bool = False   # connector 0 (the station itself) allowed


def _connector(station: Station, body: dict, allow_zero: bool = False) -> int:
    c = body.get("connector")
    count = len(station.view.connectors) - 1
    low = 0 if allow_zero else 1
    if c is None:
        if count == 1:
            return 1
        raise ActionError(400, f"'connector' is required ({low}..{count})")
    if not low <= c <= count:
        raise ActionError(400, f"no connector {c} at {station.id} ({low}..{count})")
    return c


async def _plug_in(s: Station, b: dict):
    await s.plug_in(_connector(s, b), soc=b.get("soc"))


async def _present_tag(s: Station, b: dict):
    return await s.present_tag(_connector(s, b), b["tag"])


async def _unplug(s: Station, b: dict):
    await s.unplug(_connector(s, b))


async def _stop(s: Station, b: dict):
    reason = b.get("reason", StopReason.LOCAL)
    if reason not in STOP_REASONS:
        raise ActionError(400, f"unknown stop reason {reason!r}; one of "
                               f"{', '.join(sorted(STOP_REASONS))}")
    tx = await s.stop_transaction(_connector(s, b), StopReason(reason))
    return {"transaction_id": tx.transaction_id, "meter_stop": tx.meter_stop}


async def _ev_suspend(s: Station, b: dict):
    await s.ev_suspend(_connector(s, b))


async def _ev_resume(s: Station, b: dict):
    await s.ev_resume(_connector(s, b))


async def _fault(s: Station, b: dict):
    await s.fault(_connector(s, b, allow_zero=True), b.get("error_code", "OtherError"),
                  b.get("info"))


async def _clear_fault(s: Station, b: dict):
    await s.clear_fault(_connector(s, b, allow_zero=True))


async def _power_loss(s: Station, b: dict):
    await s.power_loss()


async def _power_up(s: Station, b: dict):
    await s.power_up()


async def _network_down(s: Station, b: dict):
    s.go_offline()


async def _network_up(s: Station, b: dict):
    s.come_online()


async def _reboot(s: Station, b: dict):
    if not s.request_reset(bool(b.get("hard", False))):
        raise ActionError(409, f"{s.id}: already rebooting")


async def _inject_fault(s: Station, b: dict):
    plan = dict(s.faults or {})
    plan[b["fault"]] = b["value"]
    if "seed" in b:
        plan["seed"] = b["seed"]
    try:
        return {"faults": s.set_faults(plan, reconnect=b.get("reconnect", True))}
    except ValueError as e:
        raise ActionError(400, f"inject-fault: {e}") from None


async def _clear_faults(s: Station, b: dict):
    s.set_faults(None, reconnect=b.get("reconnect", True))
    return {"faults": None}


async def _set_soc(s: Station, b: dict):
    await s.set_ev_soc(_connector(s, b), float(b["soc"]))


_NUM = (int, float)
VERBS: dict[str, Verb] = {v.name: v for v in (
    Verb("plug-in", "the EV's cable goes in", {"connector": (int, False), "soc": (_NUM, False)},
         _plug_in),
    Verb("present-tag", "an RFID card at the reader",
         {"connector": (int, False), "tag": (str, True)}, _present_tag),
    Verb("unplug", "the cable comes out", {"connector": (int, False)}, _unplug),
    Verb("stop", "the stop button: end the transaction",
         {"connector": (int, False), "reason": (str, False)}, _stop),
    Verb("ev-suspend", "the EV stops drawing", {"connector": (int, False)}, _ev_suspend),
    Verb("ev-resume", "the EV draws again", {"connector": (int, False)}, _ev_resume),
    Verb("fault", "a hardware fault (connector 0: the station)",
         {"connector": (int, False), "error_code": (str, False), "info": (str, False)},
         _fault, station_level=True),
    Verb("clear-fault", "the fault is gone", {"connector": (int, False)}, _clear_fault,
         station_level=True),
    Verb("power-loss", "the power is cut", {}, _power_loss),
    Verb("power-up", "the power is back", {}, _power_up),
    Verb("network-down", "the network is lost (no close frame)", {}, _network_down),
    Verb("network-up", "the network is back", {}, _network_up),
    Verb("reboot", "reboot (soft; {\"hard\": true} for hard)", {"hard": (bool, False)},
         _reboot),
    Verb("inject-fault", "a transport fault from now on, e.g. {\"fault\": \"drop\", "
         "\"value\": 0.1} (faults: block fields; reconnects unless \"reconnect\": false)",
         {"fault": (str, True), "value": ((int, float, list, dict), True), "seed": (int, False),
          "reconnect": (bool, False)}, _inject_fault),
    Verb("clear-faults", "no injected transport faults any more", {"reconnect": (bool, False)},
         _clear_faults),
    Verb("set-soc", "the plugged EV's state of charge in percent",
         {"connector": (int, False), "soc": (_NUM, True)}, _set_soc),
)}


def check_body(verb: Verb, body: Any) -> dict:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ActionError(400, f"the body of {verb.name} must be a JSON object")
    unknown = sorted(set(body) - set(verb.fields))
    if unknown:
        allowed = ", ".join(verb.fields) or "none"
        raise ActionError(400, f"{verb.name}: unknown field(s) {', '.join(unknown)} "
                               f"(allowed: {allowed})")
    for name, (types, required) in verb.fields.items():
        if name not in body:
            if required:
                raise ActionError(400, f"{verb.name}: '{name}' is required")
            continue
        value = body[name]
        # bool is an int in Python: only where a bool is meant
        if (isinstance(value, bool) and types is not bool) or not isinstance(value, types):
            kind = {int: "an integer", str: "a string", bool: "true or false"}.get(
                types, "a number")
            raise ActionError(400, f"{verb.name}: '{name}' must be {kind}, got {value!r}")
    return body


async def perform(station: Station, verb: str, body: Any = None) -> Any:
    """Do `verb` at `station`; returns what it did (JSON-able) or raises ActionError."""
    spec = VERBS.get(verb)
    if spec is None:
        raise ActionError(404, f"unknown verb {verb!r}; one of {', '.join(VERBS)}")
    body = check_body(spec, body)
    try:
        result = await spec.run(station, body)
    except StationError as e:
        raise ActionError(409, str(e)) from None
    return result
