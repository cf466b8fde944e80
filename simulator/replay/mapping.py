"""What changes between a recorded run and its replay, and how frames are rewritten for it.

- station ids: `--id-map OLD=NEW` or `--id-prefix P` (P + OLD);
- values the CSMS assigns (transaction ids …): learnt by comparing the recorded answer with
  the new one, then substituted into every later frame of that station;
- timestamps: every ISO 8601 date-time string is shifted by (replay start − recording start);
- id tags, when asked (`--tag-map OLD=NEW`).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

# Fields whose value the CSMS chooses: they differ between runs legitimately.
ASSIGNED = frozenset({"transactionId", "reservationId", "chargingProfileId", "requestId",
                      "listVersion"})
TAG_KEYS = frozenset({"idTag", "parentIdTag", "idToken", "groupIdToken"})
_TIME = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$")


def is_time(value) -> bool:
    return isinstance(value, str) and _TIME.match(value) is not None


def parse_pairs(items: list[str], what: str) -> dict[str, str]:
    """OLD=NEW items of a repeatable option."""
    pairs = {}
    for item in items or ():
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise ValueError(f"{what}: expected OLD=NEW, got {item!r}")
        pairs[old] = new
    return pairs


def shift_time(value: str, offset: timedelta) -> str:
    text = value.replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moved = (moment + offset).astimezone(timezone.utc)
    return moved.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StationIds:
    def __init__(self, mapping: dict[str, str] | None = None, prefix: str = ""):
        self.mapping, self.prefix = dict(mapping or {}), prefix

    def __call__(self, station: str) -> str:
        return self.mapping.get(station, self.prefix + station)


class Mapper:
    """The substitutions of one station's replay (learnt values are per station)."""

    def __init__(self, *, time_offset: timedelta | None = None, tags: dict[str, str] | None = None):
        self.time_offset = time_offset
        self.tags = dict(tags or {})
        self.learnt: dict[str, dict] = {}     # field → {recorded value: value now}

    # -- learning ---------------------------------------------------------------------
    def learn(self, recorded, now) -> None:
        """Walk a recorded payload beside the one received now; note assigned values."""
        if isinstance(recorded, dict) and isinstance(now, dict):
            for key, value in recorded.items():
                if key not in now:
                    continue
                if key in ASSIGNED and not isinstance(value, (dict, list)) and value != now[key]:
                    self.learnt.setdefault(key, {})[value] = now[key]
                else:
                    self.learn(value, now[key])
        elif isinstance(recorded, list) and isinstance(now, list):
            for a, b in zip(recorded, now):
                self.learn(a, b)

    # -- rewriting --------------------------------------------------------------------
    def payload(self, value, key: str | None = None):
        """A recorded payload as it is sent now."""
        if isinstance(value, dict):
            return {k: self.payload(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.payload(v, key) for v in value]
        if key in ASSIGNED and key in self.learnt and _hashable(value) in self.learnt[key]:
            return self.learnt[key][value]
        if key in TAG_KEYS and isinstance(value, str) and value in self.tags:
            return self.tags[value]
        if self.time_offset is not None and is_time(value):
            return shift_time(value, self.time_offset)
        return value

    def raw(self, text: str) -> str:
        """A recorded frame's text with only the learnt values and mapped tags replaced in
        place: whitespace, key order, quoting and number spelling stay as recorded."""
        for key, values in self.learnt.items():
            for old, new in values.items():
                text = re.sub(rf'("{re.escape(key)}"\s*:\s*)("?){re.escape(str(old))}\2(?=[\s,}}\]])',
                              lambda m, new=new: f"{m[1]}{m[2]}{new}{m[2]}", text)
        for old, new in self.tags.items():
            text = re.sub(rf'("(?:{"|".join(TAG_KEYS)})"\s*:\s*"){re.escape(old)}"',
                          lambda m, new=new: f'{m[1]}{new}"', text)
        return text

    def expected(self, value, key: str | None = None):
        """A recorded answer or request as it should look now (tags mapped, learnt ids)."""
        return self.payload(value, key)


def _hashable(value):
    return value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
