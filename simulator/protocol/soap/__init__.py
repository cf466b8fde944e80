"""OCPP 1.5 over SOAP 1.2, without I/O: the project's service descriptions (`wsdl/`), the
operation catalog and field model read from them (`schema`), the envelope codec with its
faults and lenient repairs (`envelope`) and MessageID / RelatesTo correlation (`rpc`).
Import from the submodules; see docs/soap.md."""
