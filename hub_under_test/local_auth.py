"""The Local Authorization List, the hub's side (1.6 LocalAuthListManagement).

`send_local_list` builds the abstract SendLocalList from the hub's tag store and sends it:
Full (the given tags, or every tag) or Differential (the given tags; a tag the store no
longer knows goes without token info, which deletes it on the station).  Each update goes
out as the last accepted version + 1; `observe` records a list the station accepted, however
it was sent, in the store (`store.local_lists`).
"""
from __future__ import annotations

from typing import Awaitable, Callable

from .commands import Command, LocalListEntry, Outcome, Result, SendLocalList, UpdateType
from .messages import format_time, utcnow
from .store import Store

UPDATE_TYPES = tuple(u.value for u in UpdateType)


class LocalLists:
    def __init__(self, store: Store, token_info: Callable, send: Callable[..., Awaitable[Result]]):
        self.store = store
        self.token_info = token_info   # Manager.tag_info: id tag → IdTokenInfo | None
        self.send = send

    def state(self, station_id: str) -> dict | None:
        """The list the station accepted last: {"list_version", "update_type", "tags",
        "updated"}, or None (none yet: version 0)."""
        return self.store.local_lists.get(station_id)

    def version(self, station_id: str) -> int:
        state = self.state(station_id)
        return state["list_version"] if state else 0

    def entries(self, update_type: str, tags: list[str] | None) -> list[LocalListEntry]:
        """The list's entries from the tag store.  ValueError for bad input, or a Full update
        naming a tag the store does not know (a Full list cannot delete)."""
        if update_type not in UPDATE_TYPES:
            raise ValueError(f"updateType must be Full or Differential, not {update_type!r}")
        if tags is None:
            if update_type == "Differential":
                raise ValueError("a Differential update needs the tags to send")
            tags = [row["id_tag"] for row in self.store.list_tags()]
        elif not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            raise ValueError("tags must be a list of idTag strings")
        elif len(set(tags)) != len(tags):
            raise ValueError("tags must not repeat")
        out = []
        for tag in tags:
            info = self.token_info(tag)
            if info is None and update_type == "Full":
                raise ValueError(f"tag {tag!r} is not known; a Full list holds known tags only")
            out.append(LocalListEntry(tag, info))
        return out

    async def send_local_list(self, station_id: str, update_type: str,
                              tags: list[str] | None = None, timeout: float | None = None
                              ) -> tuple[Outcome, int, int]:
        """Build and send a list: (the station's answer, the version sent, entries)."""
        entries = self.entries(update_type, tags)
        version = self.version(station_id) + 1
        result = await self.send(station_id, SendLocalList(version, UpdateType(update_type),
                                                           entries), timeout)
        return result, version, len(entries)

    def observe(self, station_id: str, command: Command, result: Result) -> None:
        if isinstance(command, SendLocalList) and result.accepted:
            self.store.local_lists.save(station_id, command.version, command.update_type.value,
                                        [e.id_token for e in command.entries],
                                        format_time(utcnow()))
