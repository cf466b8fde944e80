"""The head of a SOAP envelope -- what kind of message, its correlation id and operation --
read without parsing the XML, for frame counters (run statistics, progress) that must stay
cheap.  The OCPP-J equivalent is a regex over `[2,"id","Action"`; this is the same for
WS-Addressing.  It is a reading aid, never a check: `envelope.parse` is.
"""
from __future__ import annotations

import re

from ..codec import CALL, CALLERROR, CALLRESULT

__all__ = ["soap_head"]

_HEADER = r"<(?:[\w.-]+:)?{}\b[^>]*>\s*([^<\s]+)\s*</"
_ACTION = re.compile(_HEADER.format("Action"))
_MESSAGE_ID = re.compile(_HEADER.format("MessageID"))
_RELATES_TO = re.compile(_HEADER.format("RelatesTo"))
_FAULT = re.compile(r"<(?:[\w.-]+:)?Fault\b")


def _first(pattern: re.Pattern, raw: str) -> str | None:
    m = pattern.search(raw)
    return m.group(1) if m else None


def soap_head(raw: str) -> tuple[int, str, str | None] | None:
    """(CALL | CALLRESULT | CALLERROR, correlation id, operation) of an OCPP 1.5 envelope:
    a request's MessageID, a response's or fault's RelatesTo ("" when missing); None when
    `raw` does not look like one."""
    action = _first(_ACTION, raw)
    if action is None:
        if _FAULT.search(raw):
            return CALLERROR, _first(_RELATES_TO, raw) or "", None
        return None
    name = re.split(r"[/#:]", action.rstrip("/"))[-1]
    if name == "fault" or _FAULT.search(raw):
        return CALLERROR, _first(_RELATES_TO, raw) or "", None
    if name.endswith("Response"):
        return CALLRESULT, _first(_RELATES_TO, raw) or "", name[:-len("Response")]
    return CALL, _first(_MESSAGE_ID, raw) or "", name
