"""The Local Authorization List (OCPP 1.6 §3.5 and §5.15, LocalAuthListManagement).

The CSMS owns the list and sends it whole (Full) or as changes (Differential); the station
keeps it with the version the CSMS gave.  An update is all or nothing: a bad one (over the
size limits, duplicate idTags, an out-of-date Differential) leaves list and version as they
were.  Differential entries without idTagInfo delete the idTag (§5.15).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from .auth import AuthorizationInfo
from .clock import utc_now
from .id_token import IdToken

FULL, DIFFERENTIAL = "Full", "Differential"
# SendLocalList.conf statuses
ACCEPTED, FAILED, NOT_SUPPORTED, VERSION_MISMATCH = (
    "Accepted", "Failed", "NotSupported", "VersionMismatch")


@dataclass(slots=True, frozen=True)
class ListEntry:
    id_token: IdToken
    info: AuthorizationInfo | None   # None: delete (Differential only)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id_token", IdToken.of(self.id_token))

    @property
    def id_tag(self) -> str:
        return self.id_token.value


class LocalAuthList:
    def __init__(self) -> None:
        self.version = 0          # 0 = empty / never sent (GetLocalListVersion)
        self._entries: dict[IdToken, AuthorizationInfo] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, id_token: IdToken | str) -> bool:
        return IdToken.of(id_token) in self._entries

    def tokens(self) -> dict[IdToken, AuthorizationInfo]:
        return dict(self._entries)

    def entries(self) -> dict[str, AuthorizationInfo]:
        """By token value (a display view; `tokens()` keys by value and type)."""
        return {t.value: info for t, info in self._entries.items()}

    def lookup(self, id_token: IdToken | str, now: datetime | None = None) -> AuthorizationInfo | None:
        info = self._entries.get(IdToken.of(id_token))
        return None if info is None else info.as_of(now or utc_now())

    def apply(self, update_type: str, version: int, entries: list[ListEntry],
              max_length: int, max_send: int,
              key: Callable[[str], str] = str) -> tuple[str, str]:
        """Apply a SendLocalList; returns (status, why) — `why` explains a refusal, naming
        a limit by `key` (the dialect's name of the setting)."""
        if len(entries) > max_send:
            return FAILED, f"{len(entries)} entries, {key('local_list_max_send')} is {max_send}"
        tags = [e.id_token for e in entries]
        if len(set(tags)) != len(tags):
            return FAILED, "duplicate id tokens in the list"
        if update_type == FULL:
            if any(e.info is None for e in entries):
                return FAILED, "a Full update needs authorization info for every entry"
            new = {e.id_token: e.info for e in entries}
        elif update_type == DIFFERENTIAL:
            # A Differential must take the list forward; one the station has (or newer)
            # means the CSMS and station disagree: it should send the Full list.
            if version <= self.version:
                return VERSION_MISMATCH, (f"list version {version} is not newer than the "
                                          f"station's {self.version}")
            new = dict(self._entries)
            for e in entries:
                if e.info is None:
                    new.pop(e.id_token, None)
                else:
                    new[e.id_token] = e.info
        else:
            return FAILED, f"unknown update type {update_type!r}"
        if len(new) > max_length:
            return FAILED, (f"list would hold {len(new)} entries, "
                            f"{key('local_list_max_length')} is {max_length}")
        # An emptied list reads as version 0 (nothing to synchronise against).
        self._entries, self.version = new, (version if new else 0)
        return ACCEPTED, ""


# -- the station's side of the two CSMS requests (version-neutral; dialects call these) --
def send_local_list(station, update_type: str, version: int, entries: list[ListEntry]) -> str:
    """SendLocalList: NotSupported while LocalAuthListEnabled is false (§9.1.18 of 1.6)."""
    if not station.settings["local_list_enabled"]:
        status, why = NOT_SUPPORTED, f"{station.settings.key('local_list_enabled')} is false"
    else:
        status, why = station.local_list.apply(
            update_type, version, entries, station.settings["local_list_max_length"],
            station.settings["local_list_max_send"], station.settings.key)
    station.events.emit("local_list", f"{update_type} v{version} ({len(entries)} entries): {status}"
                  + (f" — {why}" if why else ""), update_type=update_type,
                  list_version=version, status=status)
    return status


def list_version(station) -> int:
    """GetLocalListVersion: 0 for an empty list, -1 while the list is disabled (the spec's
    value for a station without Local Authorization List support)."""
    if not station.settings["local_list_enabled"]:
        return -1
    return station.local_list.version
