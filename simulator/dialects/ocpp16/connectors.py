"""1.6 connector ids <-> the station's EVSEs and connectors.

1.6 knows no EVSE: a connectorId names a charging point with one plug, so connectorId n is
EVSE n with its only connector, and connectorId 0 is the station (EVSE 0).  These two
functions are the only place the 1.6 dialect turns one into the other.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...station.connector import Connector
    from ...station.station import Station


def wire_id(connector: Connector) -> int:
    """The 1.6 connectorId of a station connector: its EVSE's id."""
    if connector.number != 1:
        raise ValueError(f"1.6 cannot name connector {connector.number} of EVSE "
                         f"{connector.evse_id}: one connector per EVSE")
    return connector.id if connector.evse_id is None else connector.evse_id


def station_connector(st: Station, connector_id):
    """The station's connector for a 1.6 connectorId (EVSE n's connector 1); an id the
    station does not have (or None) is passed on for the station to answer it."""
    if isinstance(connector_id, int) and 0 <= connector_id < len(st.evses):
        return st.evses[connector_id].connector(1).id
    return connector_id
