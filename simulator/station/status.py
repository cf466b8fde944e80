"""Connector status: bring each connector's status in line with its physical facts
(connector.py derives it, the dialect's table says which moves are legal), report it, and
apply availability changes that had to wait; hardware faults."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .connector import Connector, Status
from .errors import SEND_ERRORS, StationError

if TYPE_CHECKING:
    from .station_face import StationFace


class ConnectorStatus:
    __slots__ = ("st",)

    def __init__(self, station: StationFace):
        self.st = station

    def _in_use(self, c: Connector) -> bool:
        if c.id == 0:
            return any(x.in_use for x in self.st.connectors[1:])
        return c.in_use

    async def refresh(self, c: Connector) -> None:
        """Bring the status in line with the facts; apply a scheduled availability change
        once the connector is no longer in use (a second, legal, step).  Smart charging
        shares the station's limit anew first: a connector that starts drawing never
        draws before the others have given up their part."""
        changed = self.st.smart_charging.update()
        await self._move(c, c.desired_status())
        if c.reservation is not None:  # Unavailable -> Available -> Reserved (reservations.py)
            await self._move(c, c.desired_status())
        if c.scheduled_operative is not None and not self._in_use(c):
            c.operative, c.scheduled_operative = c.scheduled_operative, None
            self.st.events.emit("availability", "Operative" if c.operative else "Inoperative", c.id)
            await self._move(c, c.desired_status())
        if c.id != 0 and self.st.connectors[0].scheduled_operative is not None:
            await self.refresh(self.st.connectors[0])
        for other in changed:   # its grant crossed 0 / the minChargingRate: SuspendedEVSE or back
            if other is not c:
                await self.refresh(other)

    async def _move(self, c: Connector, new: Status) -> None:
        if not c.set_status(new):
            return
        if c.meter is not None:
            c.meter.set_drawing(new == Status.CHARGING)
        if new == Status.UNAVAILABLE:
            c.finishing = False  # the finished session is over from the user's point of view
        self.st.events.emit("status", str(new), c.id, status=str(new), error_code=c.error_code)
        if self.st.booting.may_send():
            await self.send(c)

    async def send(self, c: Connector) -> None:
        try:
            await self.st.dialect.status_notification(c)
        except SEND_ERRORS as e:
            self.st.events.emit("error", f"StatusNotification failed: {e}", c.id)

    async def fault(self, connector_id: int, error_code: str = "OtherError",
                    info: str | None = None) -> None:
        """Report a hardware fault (connector 0: the station); the connector goes Faulted."""
        c = self.st.connectors[connector_id] if connector_id == 0 else self.st.connector(connector_id)
        if error_code == "NoError":
            raise StationError("a fault needs an error code other than NoError")
        c.fault, c.info = error_code, info
        if c.status == Status.FAULTED:  # already faulted: report the new error code
            c.error_code = error_code
            if self.st.booting.may_send():
                await self.send(c)
            return
        await self.refresh(c)

    async def clear_fault(self, connector_id: int) -> None:
        c = self.st.connectors[connector_id] if connector_id == 0 else self.st.connector(connector_id)
        c.fault, c.info = None, None
        await self.refresh(c)
