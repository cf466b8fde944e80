"""The hub's record of the charging profiles it installed (OCPP 1.6 Smart Charging).

`Hub.send` reports every answered command here.  A SetChargingProfile the station Accepted
is stored per station (table `charging_profiles`) with the station's own replace rule (same
chargingProfileId, or same connector + purpose + stackLevel) and published as
`chargingprofile.set`; an accepted RemoteStartTransaction's chargingProfile is stored the
same way (it is a TxProfile of the transaction it starts); a ClearChargingProfile the station
Accepted removes what it matched (by id, else by connectorId / purpose / stackLevel) and
publishes `chargingprofile.cleared`.  Rejected / Unknown answers change nothing.

HTTP: GET /stations/{id}/charging-profiles -> [{"connectorId", "chargingProfile", "setAt",
"source"}], TxProfiles of ended transactions left out (they end with their transaction).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import orjson
from aiohttp import web

from .messages import Message, format_time, utcnow

if TYPE_CHECKING:
    from .hub import Hub
    from .store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS charging_profiles (
    station_id          TEXT NOT NULL,
    profile_id          INTEGER NOT NULL,
    connector_id        INTEGER NOT NULL,
    purpose             TEXT NOT NULL,
    stack_level         INTEGER NOT NULL,
    transaction_id      INTEGER,
    profile             TEXT NOT NULL,     -- the csChargingProfiles JSON as sent
    source              TEXT NOT NULL,     -- SetChargingProfile | RemoteStartTransaction
    set_at              TEXT NOT NULL,
    PRIMARY KEY (station_id, profile_id)
);
"""


@dataclass(slots=True)
class ChargingProfileSet(Message):
    TOPIC: ClassVar[str] = "chargingprofile.set"
    station_id: str
    connector_id: int
    profile_id: int
    purpose: str
    stack_level: int


@dataclass(slots=True)
class ChargingProfileCleared(Message):
    TOPIC: ClassVar[str] = "chargingprofile.cleared"
    station_id: str
    profile_ids: list[int]


def ensure_schema(store: Store) -> None:
    """Create this module's tables (once, when the hub starts)."""
    store.db.executescript(SCHEMA)


def _save(hub: Hub, station_id: str, connector_id: int, profile: dict, source: str) -> None:
    db = hub.store.db
    pid, purpose = profile["chargingProfileId"], profile["chargingProfilePurpose"]
    level = profile["stackLevel"]
    db.execute("""DELETE FROM charging_profiles WHERE station_id = ? AND (profile_id = ? OR
                  (connector_id = ? AND purpose = ? AND stack_level = ?))""",
               (station_id, pid, connector_id, purpose, level))
    db.execute("INSERT INTO charging_profiles VALUES (?,?,?,?,?,?,?,?,?)",
               (station_id, pid, connector_id, purpose, level, profile.get("transactionId"),
                orjson.dumps(profile).decode(), source, format_time(utcnow())))
    hub.events.publish(ChargingProfileSet.TOPIC, ChargingProfileSet(
        station_id, connector_id, pid, purpose, level), station_id)


def _clear(hub: Hub, station_id: str, p: dict) -> None:
    if p.get("id") is not None:
        where, args = "profile_id = ?", [p["id"]]
    else:
        parts = [(col, p.get(key)) for col, key in (("connector_id", "connectorId"),
                                                   ("purpose", "chargingProfilePurpose"),
                                                   ("stack_level", "stackLevel"))
                 if p.get(key) is not None]
        where = " AND ".join(f"{col} = ?" for col, _ in parts) or "1"
        args = [v for _, v in parts]
    sql = f"FROM charging_profiles WHERE station_id = ? AND {where}"
    ids = [r["profile_id"] for r in hub.store._rows(f"SELECT profile_id {sql}", [station_id, *args])]
    hub.store.db.execute(f"DELETE {sql}", [station_id, *args])
    hub.events.publish(ChargingProfileCleared.TOPIC, ChargingProfileCleared(station_id, ids),
                       station_id)


def on_command(hub: Hub, station_id: str, action: str, payload: dict, response: dict) -> None:
    """Called by Hub.send with each command's answer; records accepted profile changes."""
    if response.get("status") != "Accepted" or hub.store is None:
        return
    if action == "SetChargingProfile":
        _save(hub, station_id, payload["connectorId"], payload["csChargingProfiles"],
              action)
    elif action == "RemoteStartTransaction" and payload.get("chargingProfile"):
        _save(hub, station_id, payload.get("connectorId", 0), payload["chargingProfile"], action)
    elif action == "ClearChargingProfile":
        _clear(hub, station_id, payload)


def charging_profiles(hub: Hub, station_id: str) -> list[dict]:
    """The profiles the station holds, as far as the hub knows."""
    out = []
    for row in hub.store._rows("SELECT * FROM charging_profiles WHERE station_id = ? "
                               "ORDER BY connector_id, purpose, stack_level", (station_id,)):
        if row["purpose"] == "TxProfile" and row["transaction_id"] is not None:
            tx = hub.store.get_transaction(row["transaction_id"])
            if tx is not None and tx.get("stop_time"):
                continue
        out.append({"connectorId": row["connector_id"], "chargingProfile": orjson.loads(row["profile"]),
                    "source": row["source"], "setAt": row["set_at"]})
    return out


def routes(api) -> list:
    from .api import _json

    async def get(request: web.Request) -> web.Response:
        return _json(charging_profiles(api.hub, request.match_info["id"]))

    return [web.get("/stations/{id}/charging-profiles", get)]
