"""The hub's side of the Local Authorization List (1.6 LocalAuthListManagement).

`send_local_list` builds a SendLocalList from the hub's tag store and sends it: Full (the
given tags, or every tag) or Differential (the given tags; a tag the store no longer knows is
sent without idTagInfo, which deletes it on the station).  The list version is tracked per
station in the store (`local_lists`): each update goes out as the last accepted version + 1
and is recorded only when the station accepts it.

HTTP: POST /stations/{id}/local-list {"updateType": "Full"|"Differential", "tags": [...]}
-> 200 {"status": "ok", "response": {"status": ...}, "listVersion": n, "entries": k};
GET /stations/{id}/local-list -> {"listVersion": n, "tags": [...], "updated": ...}.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from aiohttp import web

from .messages import format_time, utcnow

if TYPE_CHECKING:
    from .hub import Hub
    from .store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS local_lists (
    station_id          TEXT PRIMARY KEY,
    list_version        INTEGER NOT NULL,  -- the last version the station accepted
    update_type         TEXT NOT NULL,
    tags                TEXT NOT NULL,     -- JSON array of the idTags in the last update
    updated             TEXT NOT NULL
);
"""
UPDATE_TYPES = ("Full", "Differential")


def ensure_schema(store: Store) -> None:
    """Create this module's tables (once, when the hub starts)."""
    store.db.executescript(SCHEMA)


def local_list_state(store: Store, station_id: str) -> dict:
    row = store._row("SELECT * FROM local_lists WHERE station_id = ?", (station_id,))
    if row is None:
        return {"station_id": station_id, "listVersion": 0, "tags": [], "updated": None}
    return {"station_id": station_id, "listVersion": row["list_version"],
            "updateType": row["update_type"], "tags": orjson.loads(row["tags"]),
            "updated": row["updated"]}


def build_entries(store: Store, update_type: str, tags: list[str] | None) -> list[dict]:
    """localAuthorizationList entries from the tag store.  ValueError for a Full update
    naming a tag the store does not know (a Full list cannot delete)."""
    if update_type not in UPDATE_TYPES:
        raise ValueError(f"updateType must be Full or Differential, not {update_type!r}")
    if tags is None:
        if update_type == "Differential":
            raise ValueError("a Differential update needs the tags to send")
        rows = store.list_tags()
    else:
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            raise ValueError("tags must be a list of idTag strings")
        if len(set(tags)) != len(tags):
            raise ValueError("tags must not repeat")
        rows = []
        for t in tags:
            row = store.get_tag(t)
            if row is None and update_type == "Full":
                raise ValueError(f"tag {t!r} is not known; a Full list holds known tags only")
            rows.append(row or {"id_tag": t})
    entries = []
    for row in rows:
        entry: dict = {"idTag": row["id_tag"]}
        if "status" in row:
            info = {"status": row["status"]}
            if row.get("expiry_date"):
                info["expiryDate"] = row["expiry_date"]
            if row.get("parent_id_tag"):
                info["parentIdTag"] = row["parent_id_tag"]
            entry["idTagInfo"] = info
        entries.append(entry)
    return entries


async def send_local_list(hub: Hub, station_id: str, update_type: str,
                          tags: list[str] | None = None, timeout: float | None = None) -> dict:
    """Build, send and (when Accepted) record a SendLocalList.  Raises ValueError for bad
    input, and what `Hub.send` raises."""
    entries = build_entries(hub.store, update_type, tags)
    version = local_list_state(hub.store, station_id)["listVersion"] + 1
    payload = {"listVersion": version, "updateType": update_type,
               "localAuthorizationList": entries}
    response = await hub.send(station_id, "SendLocalList", payload, timeout)
    if response.get("status") == "Accepted":
        hub.store.db.execute(
            """INSERT INTO local_lists (station_id, list_version, update_type, tags, updated)
               VALUES (?,?,?,?,?)
               ON CONFLICT (station_id) DO UPDATE SET list_version=excluded.list_version,
                 update_type=excluded.update_type, tags=excluded.tags, updated=excluded.updated""",
            (station_id, version, update_type, orjson.dumps([e["idTag"] for e in entries]).decode(),
             format_time(utcnow())))
    return {"status": "ok", "response": response, "listVersion": version, "entries": len(entries)}


def routes(api) -> list:
    from .api import _body, _error, _json, command_response  # here: api imports this module

    async def post(request: web.Request) -> web.Response:
        body = await _body(request)
        if isinstance(body, web.Response):
            return body
        unknown = set(body) - {"updateType", "tags"}
        if unknown:
            return _error(400, f"unknown fields {sorted(unknown)}; expected updateType, tags")
        station_id = request.match_info["id"]
        return await command_response(api.hub, station_id, "SendLocalList", lambda: send_local_list(
            api.hub, station_id, body.get("updateType", "Full"), body.get("tags")))

    async def get(request: web.Request) -> web.Response:
        return _json(local_list_state(api.hub.store, request.match_info["id"]))

    return [web.post("/stations/{id}/local-list", post),
            web.get("/stations/{id}/local-list", get)]
