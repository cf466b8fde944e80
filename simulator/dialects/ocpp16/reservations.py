"""1.6 Reservation profile: ReserveNow and CancelReservation."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...station.clock import parse_iso
from .connectors import station_connector
from .transactions import id_token

if TYPE_CHECKING:
    from ...station.station import Station


async def handle_reserve_now(st: Station, p: dict) -> dict:
    return {"status": st.reservations.reserve(
        station_connector(st, p["connectorId"]), id_token(p["idTag"]), parse_iso(p["expiryDate"]), p["reservationId"],
        p.get("parentIdTag"))}


async def handle_cancel_reservation(st: Station, p: dict) -> dict:
    return {"status": "Accepted" if st.reservations.cancel(p["reservationId"]) else "Rejected"}


HANDLERS = {"ReserveNow": handle_reserve_now, "CancelReservation": handle_cancel_reservation}
