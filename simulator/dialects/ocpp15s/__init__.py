"""OCPP 1.5 over SOAP (OCPP-S): the same station, speaking SOAP 1.2 with WS-Addressing.

`dialect.py` is the `Dialect` (boot, status, transactions, intents; dispatch of the CSMS's
requests); `link.py` the HTTP exchanges and the station's own ChargePointService endpoint
around the sans-I/O `SoapRpcCore`; `messages.py` the 1.5 payloads the station sends;
`handlers.py` the CSMS's requests; `names.py` the 1.5 words for the station's values;
`quirks.py` SOAP quirks emitted on purpose.  See docs/soap.md.
"""
from .dialect import Ocpp15SoapDialect
from .link import VERSION

__all__ = ["VERSION", "Ocpp15SoapDialect"]
