"""What every dialect's `send_defaults` reads from the station model: the connector a
payload names (or the step's), its meter, and the CSMS's name for its transaction."""
from __future__ import annotations


def connector_for(station, connector_id, fallback: int):
    """The connector `connector_id` names if it exists, else connector 1 (or 0)."""
    cid = fallback if connector_id is None else connector_id
    if isinstance(cid, int) and 0 <= cid < len(station.connectors):
        return station.connectors[cid]
    return station.connectors[min(1, len(station.connectors) - 1)]


def meter_wh(connector) -> int:
    return int(connector.meter.read().energy_wh) if connector.meter is not None else 0


def transaction_name(dialect, connector, *, running_only: bool = False):
    """The CSMS's name for the connector's transaction (the last one, unless
    `running_only`), or None."""
    tx = connector.transaction if running_only else (connector.transaction
                                                       or connector.last_transaction)
    return dialect.transaction_name(tx.id) if tx is not None else None
