"""1.6 LocalAuthListManagement: SendLocalList and GetLocalListVersion."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...station.local_list import ListEntry, list_version, send_local_list
from .transactions import id_tag_info, id_token

if TYPE_CHECKING:
    from ...station.station import Station


async def handle_send_local_list(st: Station, p: dict) -> dict:
    entries = [ListEntry(id_token(e["idTag"]), id_tag_info(e.get("idTagInfo")))
               for e in p.get("localAuthorizationList") or []]
    return {"status": send_local_list(st, p["updateType"], p["listVersion"], entries)}


async def handle_get_local_list_version(st: Station, p: dict) -> dict:
    return {"listVersion": list_version(st)}


HANDLERS = {"SendLocalList": handle_send_local_list,
            "GetLocalListVersion": handle_get_local_list_version}
