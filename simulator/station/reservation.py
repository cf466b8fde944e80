"""A reservation: which connector it holds (0: any one of the station), for which id token
(or group), until when.  A value type: connectors hold one (`Connector.reservation`), the
reservations feature (reservations.py) makes and ends them.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from .id_token import IdToken


@dataclass(eq=False)
class Reservation:
    reservation_id: int
    connector_id: int            # 0: any connector of the station
    id_token: IdToken
    expiry: datetime
    group_id: str | None = None
    timer: asyncio.TimerHandle | None = None

    @property
    def id_tag(self) -> str:
        """The id token's value (kept for drivers written before tokens had a type)."""
        return self.id_token.value

    def admits(self, id_token: IdToken | str, group_id: str | None) -> bool:
        return IdToken.of(id_token) == self.id_token or (
            self.group_id is not None and group_id == self.group_id)
