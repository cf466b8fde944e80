"""The CSMS's 1.5 requests (ChargePointService), answered by the station's neutral
operations -- the same ones the 1.6 dialect calls, so a 1.5 station behaves as a 1.6 one.

Where a 1.5 request has the 1.6 shape, the 1.6 handler is reused as is (its payload and
reply are the same words); the others differ in a field name or in the reply's vocabulary
and are written here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...station.local_list import ListEntry, list_version, send_local_list
from ..ocpp16 import core as j_core
from ..ocpp16 import diagnostics as j_diagnostics
from ..ocpp16 import firmware as j_firmware
from ..ocpp16 import reservations as j_reservations
from ..ocpp16.connectors import station_connector
from ..ocpp16.transactions import id_tag_info, id_token
from . import names

if TYPE_CHECKING:
    from ...station.station import Station


async def unlock_connector(st: Station, p: dict) -> dict:
    status = await st.unlock(station_connector(st, p["connectorId"]))
    return {"status": "Accepted" if status == "Unlocked" else "Rejected"}


async def change_configuration(st: Station, p: dict) -> dict:
    status = st.change_configuration(p["key"], p["value"])
    return {"status": names.CONFIGURATION_STATUS.get(status, status)}


async def send_local_list_15(st: Station, p: dict) -> dict:
    # 1.5 spells it localAuthorisationList; `hash` (optional, unverifiable: the spec names
    # no algorithm) is not checked
    entries = [ListEntry(id_token(e["idTag"]), id_tag_info(e.get("idTagInfo")))
               for e in p.get("localAuthorisationList") or []]
    return {"status": send_local_list(st, p["updateType"], p["listVersion"], entries)}


async def get_local_list_version(st: Station, p: dict) -> dict:
    return {"listVersion": list_version(st)}


async def get_diagnostics(st: Station, p: dict) -> dict:
    reply = await j_diagnostics.handle_get_diagnostics(st, p)
    return {k: v for k, v in reply.items() if v is not None}   # no file: no fileName


HANDLERS = {
    "CancelReservation": j_reservations.handle_cancel_reservation,
    "ChangeAvailability": j_core.change_availability,
    "ChangeConfiguration": change_configuration,
    "ClearCache": j_core.clear_cache,
    "DataTransfer": j_core.data_transfer,
    "GetConfiguration": j_core.get_configuration,
    "GetDiagnostics": get_diagnostics,
    "GetLocalListVersion": get_local_list_version,
    "RemoteStartTransaction": j_core.remote_start,
    "RemoteStopTransaction": j_core.remote_stop,
    "ReserveNow": j_reservations.handle_reserve_now,
    "Reset": j_core.reset,
    "SendLocalList": send_local_list_15,
    "UnlockConnector": unlock_connector,
    "UpdateFirmware": j_firmware.handle_update_firmware,
}
