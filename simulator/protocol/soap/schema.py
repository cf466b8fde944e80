"""The OCPP 1.5 service descriptions, read once from the project's own WSDLs (`wsdl/`).

From them come (1) the catalog: every operation, which side hosts and which side initiates
it, its request / response element names and WS-Addressing actions; (2) a field model of
every message type, so a plain dict payload (camelCase keys, as in the 1.5 schema) is turned
into elements in schema order and back with the right Python types; (3) an XSD validator
(lxml's, on libxml2) for strict checking.  Nothing here does I/O after import.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from lxml import etree

from ..catalog import CHARGE_POINT, CSMS

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSAW = "http://www.w3.org/2006/05/addressing/wsdl"

CS_NS = "urn://Ocpp/Cs/2012/06/"   # CentralSystemService: hosted by the CSMS
CP_NS = "urn://Ocpp/Cp/2012/06/"   # ChargePointService: hosted by the charge point
CENTRAL_SYSTEM_SERVICE = "CentralSystemService"
CHARGE_POINT_SERVICE = "ChargePointService"

# Where each service runs and who calls it.
_SERVICES = {CENTRAL_SYSTEM_SERVICE: (CS_NS, CSMS, CHARGE_POINT),
             CHARGE_POINT_SERVICE: (CP_NS, CHARGE_POINT, CSMS)}


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: str             # an XSD built-in local name ("int", "string", ...) or a named type
    required: bool
    repeated: bool
    attributes: tuple[str, ...] = ()   # simple content with attributes (a 1.5 meter value)
    attribute_types: tuple[str, ...] = ()   # their types, in the same order


@dataclass(frozen=True, slots=True)
class Operation:
    name: str             # "BootNotification"
    service: str          # the hosting service
    namespace: str
    initiator: str        # CHARGE_POINT or CSMS
    request_element: str  # "bootNotificationRequest"
    response_element: str
    request_type: str     # "BootNotificationRequest"
    response_type: str
    action: str           # "/BootNotification"
    response_action: str  # "/BootNotificationResponse"


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    namespace: str
    host: str             # the role hosting it
    operations: dict[str, Operation]
    types: dict[str, tuple[Field, ...]]   # complex types: fields in schema order
    simple: dict[str, str]                # named simple type -> its XSD base
    enums: dict[str, tuple[str, ...]]     # named enumeration type -> its values
    validator: etree.XMLSchema

    def by_element(self, local: str) -> tuple[Operation, str] | None:
        """(operation, "request" | "response") for a body element's local name."""
        for op in self.operations.values():
            if local == op.request_element:
                return op, "request"
            if local == op.response_element:
                return op, "response"
        return None


def _local(qname: str) -> str:
    return qname.rpartition(":")[2]


def _fields(complex_type) -> tuple[Field, ...]:
    out = []
    for el in complex_type.iterfind(f"{{{XS}}}sequence/{{{XS}}}element"):
        inline = el.find(f"{{{XS}}}complexType")
        if inline is not None:     # simple content with attributes
            ext = inline.find(f"{{{XS}}}simpleContent/{{{XS}}}extension")
            found = list(ext.iterfind(f"{{{XS}}}attribute"))
            attrs = tuple(a.get("name") for a in found)
            attr_types = tuple(_local(a.get("type")) for a in found)
            typ = _local(ext.get("base"))
        else:
            attrs, attr_types, typ = (), (), _local(el.get("type"))
        out.append(Field(el.get("name"), typ, el.get("minOccurs", "1") != "0",
                         el.get("maxOccurs", "1") != "1", attrs, attr_types))
    return tuple(out)


def _load(name: str) -> Service:
    namespace, host, initiator = _SERVICES[name]
    raw = resources.files(__package__).joinpath(f"wsdl/{name}.wsdl").read_bytes()
    doc = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
    schema = doc.find(f"{{{WSDL}}}types/{{{XS}}}schema")
    types = {ct.get("name"): _fields(ct) for ct in schema.iterfind(f"{{{XS}}}complexType")}
    simple = {st.get("name"): _local(st.find(f"{{{XS}}}restriction").get("base"))
              for st in schema.iterfind(f"{{{XS}}}simpleType")}
    enums = {st.get("name"): tuple(e.get("value") for e in st.iterfind(f"{{{XS}}}restriction/{{{XS}}}enumeration"))
             for st in schema.iterfind(f"{{{XS}}}simpleType")}
    enums = {name: values for name, values in enums.items() if values}
    elements = {el.get("name"): _local(el.get("type")) for el in schema.iterfind(f"{{{XS}}}element")}
    messages = {m.get("name"): _local(m.find(f"{{{WSDL}}}part").get("element"))
                for m in doc.iterfind(f"{{{WSDL}}}message")}
    operations = {}
    for op in doc.iterfind(f"{{{WSDL}}}portType/{{{WSDL}}}operation"):
        inp, outp = op.find(f"{{{WSDL}}}input"), op.find(f"{{{WSDL}}}output")
        req, resp = messages[_local(inp.get("message"))], messages[_local(outp.get("message"))]
        operations[op.get("name")] = Operation(
            op.get("name"), name, namespace, initiator, req, resp, elements[req], elements[resp],
            inp.get(f"{{{WSAW}}}Action"), outp.get(f"{{{WSAW}}}Action"))
    return Service(name, namespace, host, operations, types, simple, enums,
                   etree.XMLSchema(etree.fromstring(etree.tostring(schema))))


SERVICES: dict[str, Service] = {n: _load(n) for n in _SERVICES}
BY_NAMESPACE: dict[str, Service] = {s.namespace: s for s in SERVICES.values()}


def service_hosted_by(role: str) -> Service:
    """The service `role` hosts (the charge point hosts ChargePointService)."""
    for s in SERVICES.values():
        if s.host == role:
            return s
    raise ValueError(f"no OCPP 1.5 service is hosted by {role!r}")


def operations_initiated_by(role: str) -> list[Operation]:
    """Every operation `role` may initiate (DataTransfer appears once per direction)."""
    return [op for s in SERVICES.values() for op in s.operations.values() if op.initiator == role]
