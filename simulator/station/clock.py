"""Wall-clock timestamps as OCPP wants them: UTC, millisecond precision, a `Z` suffix.

Some chargers and CSMSs reject `+00:00`, so we never emit it; on input any ISO 8601 form
is accepted and a timestamp without an offset is read as UTC.
"""
from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return iso(utc_now())


def parse_iso(text: str | None) -> datetime | None:
    """An aware datetime, or None when the text is missing or unreadable."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
