"""OCPP 2.0.1J: every 2.0.1 payload the station sends or takes, one module per concern.

`dialect.py` is the `Dialect` (link, dispatch); `device_model.py` the components and
variables (over the station's configuration store); `names.py` the 2.0.1 spelling of the
station's neutral values; `transactions.py` TransactionEvent with seqNo and the offline
flag; `core.py` provisioning, device-model requests, availability, authorization, remote
control, reservation and DataTransfer; `smart_charging.py` block K.
"""
from .dialect import VERSION, Ocpp201Dialect

__all__ = ["VERSION", "Ocpp201Dialect"]
