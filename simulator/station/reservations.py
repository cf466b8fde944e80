"""Reservations (OCPP 1.6 §3.11, §5.13 ReserveNow, §5.3 CancelReservation).

A reservation holds a connector (or, on connector 0, any one connector of the station) for
one idTag — or any idTag with the same parentIdTag — until its expiryDate.  The connector
shows Reserved (`Connector.reservation` is one of the physical facts its status derives
from); a transaction started by the holder ends the reservation and carries its id in
StartTransaction; the expiry timer frees the connector again.

ReserveNow answers: Rejected (no such connector, connector 0 without
ReserveConnectorZeroSupported, expiry already past), Faulted, Unavailable, Occupied (in use
or reserved for another reservation), else Accepted.  A ReserveNow with a known
reservationId replaces that reservation (and may move it to another connector).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .clock import utc_now
from .connector import Status
from .id_token import IdToken
from .reservation import Reservation

if TYPE_CHECKING:
    from .connector import Connector
    from .context import FeatureContext

ACCEPTED, FAULTED, OCCUPIED, REJECTED, UNAVAILABLE = (
    "Accepted", "Faulted", "Occupied", "Rejected", "Unavailable")


class Reservations:
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        self.by_id: dict[int, Reservation] = {}

    def __len__(self) -> int:
        return len(self.by_id)

    def get(self, reservation_id: int) -> Reservation | None:
        return self.by_id.get(reservation_id)

    # -- CSMS requests ----------------------------------------------------------------
    def reserve(self, connector_id: int, id_token: IdToken | str, expiry: datetime | None,
                reservation_id: int, group_id: str | None = None) -> str:
        st = self.ctx
        if not 0 <= connector_id < len(st.connectors):
            return REJECTED
        if connector_id == 0 and not st.settings["reserve_connector_zero"]:
            return REJECTED
        if expiry is None or expiry <= utc_now():
            return REJECTED
        old = self.by_id.get(reservation_id)
        c = st.connectors[connector_id]
        if c.fault or st.connectors[0].fault:
            return FAULTED
        if not c.operative or not st.connectors[0].operative:
            return UNAVAILABLE
        if connector_id == 0:
            # Connector 0: some connector must be free and not held by another reservation.
            if not any(self._free(x, old) for x in st.connectors[1:]):
                return OCCUPIED
        elif not self._free(c, old):
            return OCCUPIED
        if old is not None:
            self._drop(old)
        id_token = IdToken.of(id_token)
        r = Reservation(reservation_id, connector_id, id_token, expiry, group_id)
        delay = (expiry - utc_now()).total_seconds()
        r.timer = self.ctx.call_later(max(delay, 0), self._expire, r)
        self.by_id[reservation_id] = r
        if connector_id:
            c.reservation = r
        st.emit("reserved", f"reservation {reservation_id} for {id_token} until "
                             f"{expiry.isoformat()}", connector_id,
                 reservation_id=reservation_id, id_tag=id_token.value,
                 token_type=id_token.type)
        self._refresh_later(old, r)
        return ACCEPTED

    def cancel(self, reservation_id: int) -> bool:
        r = self.by_id.get(reservation_id)
        if r is None:
            return False
        self._drop(r)
        self.ctx.emit("reservation_cancelled", f"reservation {reservation_id} cancelled",
                           r.connector_id, reservation_id=reservation_id)
        self._refresh_later(r)
        return True

    # -- used by the station when a tag wants to start ---------------------------------
    def admits(self, c: Connector, id_token: IdToken | str, group_id: str | None) -> bool:
        """May `id_token` (with this parent) start on connector `c`?"""
        r = c.reservation
        if r is not None:
            return r.admits(id_token, group_id)
        # Connector-0 reservations of others: keep as many free connectors as they need.
        others = [r for r in self.by_id.values()
                  if r.connector_id == 0 and not r.admits(id_token, group_id)]
        if not others:
            return True
        free = [x for x in self.ctx.connectors[1:] if x is not c and self._free(x)]
        return len(free) >= len(others)

    def holder(self, c: Connector, id_token: IdToken | str, group_id: str | None
               ) -> Reservation | None:
        """The reservation a start by `id_token` on `c` fulfils (its own, else connector 0)."""
        if c.reservation is not None:
            return c.reservation if c.reservation.admits(id_token, group_id) else None
        return next((r for r in self.by_id.values()
                     if r.connector_id == 0 and r.admits(id_token, group_id)), None)

    def consume(self, c: Connector, id_token: IdToken | str, group_id: str | None) -> int | None:
        """A transaction starts: end the reservation it fulfils; its id for StartTransaction."""
        r = self.holder(c, id_token, group_id)
        if r is None:
            return None
        self._drop(r)
        self.ctx.emit("reservation_used", f"reservation {r.reservation_id} used by "
                                               f"{id_token}", c.id, reservation_id=r.reservation_id)
        return r.reservation_id

    def clear(self) -> None:
        """Forget every reservation (the station stops or reboots: timers die with it)."""
        for r in list(self.by_id.values()):
            self._drop(r)

    # -- internals --------------------------------------------------------------------
    def _free(self, c: Connector, replacing: Reservation | None = None) -> bool:
        return (not c.in_use and not c.plugged and not c.finishing and c.operative
                and not c.fault and c.status not in (Status.FAULTED, Status.UNAVAILABLE)
                and (c.reservation is None or c.reservation is replacing))

    def _drop(self, r: Reservation) -> None:
        if r.timer is not None:
            r.timer.cancel()
        self.by_id.pop(r.reservation_id, None)
        if r.connector_id:
            c = self.ctx.connectors[r.connector_id]
            if c.reservation is r:
                c.reservation = None

    def _expire(self, r: Reservation) -> None:
        if self.by_id.get(r.reservation_id) is not r:
            return
        self._drop(r)
        self.ctx.emit("reservation_expired", f"reservation {r.reservation_id} expired",
                           r.connector_id, reservation_id=r.reservation_id)
        self._refresh_later(r)

    def _refresh_later(self, *changed: Reservation | None) -> None:
        """Send the status changes after the reply to the CSMS request (if any)."""
        st = self.ctx
        ids = {r.connector_id for r in changed if r is not None and r.connector_id}

        async def refresh():
            for i in sorted(ids):
                await st.refresh(st.connectors[i])
        if ids:
            st.after_reply(refresh, "reservation-status")
