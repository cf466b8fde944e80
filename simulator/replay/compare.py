"""Comparing the CSMS's answer now with the recorded one, field by field, ignoring what
legitimately changes between runs: date-times, and values the CSMS assigns (transaction ids
…) as long as both are there with the same JSON type."""
from __future__ import annotations

from .mapping import ASSIGNED, is_time


def differences(recorded, now, path: str = "") -> list[str]:
    """What differs, as readable lines (`idTagInfo.status: recorded 'Accepted', now 'Blocked'`)."""
    where = path or "payload"
    if isinstance(recorded, dict) and isinstance(now, dict):
        out = []
        for key in recorded:
            sub = f"{path}.{key}" if path else key
            if key not in now:
                out.append(f"{sub}: recorded {_show(recorded[key])}, now missing")
            elif key in ASSIGNED and _same_type(recorded[key], now[key]):
                continue
            else:
                out += differences(recorded[key], now[key], sub)
        for key in now:
            if key not in recorded:
                sub = f"{path}.{key}" if path else key
                out.append(f"{sub}: not in the recording, now {_show(now[key])}")
        return out
    if isinstance(recorded, list) and isinstance(now, list):
        if len(recorded) != len(now):
            return [f"{where}: recorded {len(recorded)} item(s), now {len(now)}"]
        out = []
        for i, (a, b) in enumerate(zip(recorded, now)):
            out += differences(a, b, f"{path}.{i}" if path else str(i))
        return out
    if is_time(recorded) and is_time(now):
        return []
    if recorded == now and type(recorded) is type(now):
        return []
    if isinstance(recorded, (int, float)) and isinstance(now, (int, float)) \
            and not isinstance(recorded, bool) and not isinstance(now, bool) and recorded == now:
        return []
    return [f"{where}: recorded {_show(recorded)}, now {_show(now)}"]


def _same_type(a, b) -> bool:
    number = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b)
    return (isinstance(a, number) and isinstance(b, number)) or type(a) is type(b)


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
