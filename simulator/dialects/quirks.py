"""Field quirks the simulator emits on purpose, to test how a CSMS copes with real chargers.

Each quirk is a known way real chargers break OCPP-J 1.6 (seen in public issue trackers and
captures).  A station switched to a quirk (`StationOptions.quirks`, or a template's `quirks:`)
sends its normal messages through `QuirkSet.outbound`, which rewrites the action name and
payload on the way out; the session then sends them without validation.  Two quirks are not
payload rewrites: `concurrent_calls` lets several CALLs be in flight at once (against the
one-outstanding rule) and `no_subprotocol` offers no websocket subprotocol.

What a CSMS should answer: the spec's CALLERROR in strict mode; lenient mode repairs what
can be repaired (numbers, case, offsets) and says so.  docs/templates.md has the table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ..session import Session

Transform = Callable[[str, dict], tuple[str, dict]]


@dataclass(frozen=True, slots=True)
class Quirk:
    name: str
    description: str
    transform: Transform | None = None   # None: not a payload rewrite (link-level quirk)


# -- helpers -------------------------------------------------------------------------------

# where meter values are in each message (1.6 MeterValues / StopTransaction, 2.0.1
# MeterValues / TransactionEvent)
_METER_KEY = {"MeterValues": "meterValue", "StopTransaction": "transactionData",
              "TransactionEvent": "meterValue"}


def _sampled_values(action: str, payload: dict) -> Iterable[dict]:
    """Every sampledValue entry of a MeterValues or StopTransaction payload."""
    key = _METER_KEY.get(action)
    for mv in payload.get(key, ()) if key else ():
        yield from mv.get("sampledValue", ())


def _meter_values(action: str, payload: dict) -> list[dict]:
    key = _METER_KEY.get(action)
    return payload.get(key, []) if key else []


def _timestamps(payload: dict, action: str, rewrite: Callable[[str], str]) -> None:
    """Rewrite the charger's own timestamps ("timestamp" fields, top level and per meter value)."""
    if isinstance(payload.get("timestamp"), str):
        payload["timestamp"] = rewrite(payload["timestamp"])
    for mv in _meter_values(action, payload):
        if isinstance(mv.get("timestamp"), str):
            mv["timestamp"] = rewrite(mv["timestamp"])


def _number(text):
    """'604.2' → 604.2, '17' → 17; anything that is not a number stays as it was."""
    if not isinstance(text, str):
        return text
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


# -- the quirks ----------------------------------------------------------------------------

def _number_values(action: str, p: dict) -> tuple[str, dict]:
    for sv in _sampled_values(action, p):
        sv["value"] = _number(sv["value"])
    return action, p


def _number_serial(action: str, p: dict) -> tuple[str, dict]:
    if action == "BootNotification":
        for key in ("chargePointSerialNumber", "chargeBoxSerialNumber", "meterSerialNumber",
                    "iccid", "imsi"):
            if key in p:
                p[key] = _number(p[key])
    return action, p


def _no_offset(action: str, p: dict) -> tuple[str, dict]:
    _timestamps(p, action, lambda t: t[:-1] if t.endswith("Z") else t)
    return action, p


def _plus_zero(action: str, p: dict) -> tuple[str, dict]:
    _timestamps(p, action, lambda t: t[:-1] + "+00:00" if t.endswith("Z") else t)
    return action, p


def _short_offset(action: str, p: dict) -> tuple[str, dict]:
    _timestamps(p, action, lambda t: t[:-1] + "+00" if t.endswith("Z") else t)
    return action, p


def _enum_case(action: str, p: dict) -> tuple[str, dict]:
    # units lower-cased ('wh', 'kw'), as several meters send them; connector status too
    for sv in _sampled_values(action, p):
        if "unit" in sv:
            sv["unit"] = sv["unit"].lower()
    if action == "StatusNotification":
        p["status"] = p["status"].lower()
    return action, p


def _action_case(action: str, p: dict) -> tuple[str, dict]:
    # 'HeartBeat' is the spelling seen most; other actions go out with a lower-case initial
    if action == "Heartbeat":
        return "HeartBeat", p
    return action[0].lower() + action[1:], p


def _empty_sampled_value(action: str, p: dict) -> tuple[str, dict]:
    for mv in _meter_values(action, p):
        mv["sampledValue"] = []
    return action, p


def _string_values(action: str, p: dict) -> tuple[str, dict]:
    # 2.0.1 sampledValue.value is a number; chargers ported from 1.6 send text
    for sv in _sampled_values(action, p):
        if isinstance(sv.get("value"), (int, float)):
            sv["value"] = str(sv["value"])
    return action, p


def _no_seq_no(action: str, p: dict) -> tuple[str, dict]:
    if action == "TransactionEvent":
        p.pop("seqNo", None)
    return action, p


def _error_code(action: str, p: dict) -> tuple[str, dict]:
    # a charger that says "Error" for any fault instead of the spec's codes
    if action == "StatusNotification" and p.get("errorCode") != "NoError":
        p["errorCode"] = "Error"
    return action, p


QUIRKS: dict[str, Quirk] = {q.name: q for q in (
    Quirk("number_values", "sampledValue.value as a JSON number, not a string", _number_values),
    Quirk("number_serial", "numeric serial numbers (chargePointSerialNumber, iccid …) as "
                           "JSON numbers", _number_serial),
    Quirk("timestamp_no_offset", "timestamps without any UTC offset", _no_offset),
    Quirk("timestamp_plus_zero", "timestamps with '+00:00' instead of 'Z' (valid, but some "
                                 "CSMSs reject it)", _plus_zero),
    Quirk("timestamp_short_offset", "timestamps with a short offset ('+00')", _short_offset),
    Quirk("enum_case", "enum values in the wrong case (unit 'wh', status 'available')",
          _enum_case),
    Quirk("action_case", "action names in the wrong case ('HeartBeat', 'meterValues')",
          _action_case),
    Quirk("empty_sampled_value", "meter values with an empty sampledValue list",
          _empty_sampled_value),
    Quirk("error_code_out_of_spec", "StatusNotification errorCode 'Error' for any fault",
          _error_code),
    Quirk("string_values", "2.0.1: sampledValue.value as a string, not a number",
          _string_values),
    Quirk("missing_seq_no", "2.0.1: TransactionEvent without seqNo", _no_seq_no),
    Quirk("concurrent_calls", "several CALLs in flight at once (no one-outstanding rule)"),
    Quirk("no_subprotocol", "no websocket subprotocol offered in the handshake"),
)}


class QuirkSet:
    """The quirks one station emits.  Raises ValueError naming an unknown quirk."""

    def __init__(self, names: Iterable[str] = ()):
        names = list(names)
        unknown = [n for n in names if n not in QUIRKS]
        if unknown:
            raise ValueError(f"unknown quirk(s) {', '.join(map(repr, unknown))}; "
                             f"known: {', '.join(QUIRKS)}")
        self.names = tuple(dict.fromkeys(names))
        self._transforms = [QUIRKS[n].transform for n in self.names if QUIRKS[n].transform]
        self.concurrent_calls = "concurrent_calls" in self.names
        self.no_subprotocol = "no_subprotocol" in self.names

    def __bool__(self) -> bool:
        return bool(self.names)

    def __repr__(self) -> str:
        return f"QuirkSet({list(self.names)})"

    def outbound(self, action: str, payload: dict) -> tuple[str, dict]:
        """The (action, payload) to put on the wire instead of the correct ones."""
        payload = _deep_copy(payload)  # the station keeps its own data intact
        for transform in self._transforms:
            action, payload = transform(action, payload)
        return action, payload

    async def call(self, session: Session, action: str, payload: dict) -> dict:
        """Send one charger-initiated message with the quirks applied; the reply as usual."""
        wire_action, wire_payload = self.outbound(action, payload)
        # Several CALLs in flight (the field quirk): the session sends out of turn and still
        # matches each reply by unique id.
        return await session.call(wire_action, wire_payload, validate_payload=False,
                                  concurrent=self.concurrent_calls)


def _deep_copy(value):
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value

