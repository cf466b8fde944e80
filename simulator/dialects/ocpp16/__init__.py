"""OCPP 1.6J: every 1.6 payload the station sends or takes, one module per concern.

`dialect.py` is the `Dialect` (link, dispatch); `core.py` registration, status and the Core
and Remote Trigger requests; `transactions.py` authorization, transaction messages and meter
values (also those the offline queue delivers later); then one module each for smart
charging, firmware, diagnostics, security, the local list and reservations.  Each feature
module holds its `HANDLERS` (CSMS requests → station operations) and, where the station has
something to say, its `SENDERS` (intents → wire messages).
"""
from .dialect import VERSION, Ocpp16Dialect

__all__ = ["VERSION", "Ocpp16Dialect"]
