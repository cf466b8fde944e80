"""What a recording says about the CSMS's configuration, to set up the bundled hub (or a
scenario's) so that it answers as the recorded CSMS did: the id tags (1.6 idTag / idTagInfo,
2.0.1 idToken / idTokenInfo) with their recorded status, and the heartbeat interval."""
from __future__ import annotations

from dataclasses import dataclass, field

from .replayer import recorded_answer
from .script import STATION, StationScript

_SEEDED = {"Accepted": "Accepted", "Blocked": "Blocked", "Expired": "Expired",
           "ConcurrentTx": "Accepted"}   # Invalid: unknown to the CSMS, so not seeded


@dataclass
class RecordedCsms:
    tags: dict[str, str] = field(default_factory=dict)
    heartbeat_interval: int | None = None


def recorded_csms(scripts: list[StationScript], tag_map: dict[str, str] | None = None
                  ) -> RecordedCsms:
    tag_map = tag_map or {}
    seen = RecordedCsms()
    for script in scripts:
        for e in script.exchanges:
            if e.initiator != STATION or not e.decodes:
                continue
            answer = recorded_answer(e)
            payload = e.request.message.payload
            if answer.kind != "result" or not isinstance(answer.payload, dict):
                continue
            # 1.6 / 2.0.1 say interval, 1.5 heartbeatInterval
            interval = answer.payload.get("interval", answer.payload.get("heartbeatInterval"))
            if e.action.lower() == "bootnotification" and isinstance(interval, int):
                seen.heartbeat_interval = seen.heartbeat_interval or interval
            info = answer.payload.get("idTagInfo")
            tag = payload.get("idTag") if isinstance(payload, dict) else None
            if info is None:   # 2.0.1: idTokenInfo for the request's idToken {idToken, type}
                info = answer.payload.get("idTokenInfo")
                token = payload.get("idToken") if isinstance(payload, dict) else None
                tag = token.get("idToken") if isinstance(token, dict) else None
            if isinstance(info, dict) and isinstance(tag, str) and info.get("status") in _SEEDED:
                seen.tags.setdefault(tag_map.get(tag, tag), _SEEDED[info["status"]])
    return seen
