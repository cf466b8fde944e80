"""SOAP 1.2 envelopes for OCPP 1.5: plain dict payloads in, bytes out, and back.

Outbound envelopes carry WS-Addressing (`Action` = `/<Op>`, `MessageID`, `To`, `ReplyTo`,
`From` with the sender's callback URL, `RelatesTo` on responses) and the `chargeBoxIdentity`
header on requests.  Inbound, the parser is tolerant where the field is sloppy and harmless
(namespaces matched, never prefixes; whitespace trimmed in simple values; a fully qualified
`Action` URI; `chargeBoxIdentity` in either OCPP namespace) and strict where a guess would be
wrong: anything it cannot take apart raises `SoapFault`, whose `fault` is the reply to send.
DTDs are refused outright and entities never resolved, so an XXE or entity-expansion attempt
is a fault, not a file read.

Payload dicts use the 1.5 schema's camelCase names; a repeated element is a list; a 1.5
meter value's sampled value is `{"value": "604.2", "unit": "Wh", ...}` (its text and its
attributes).  Strict mode checks a payload against our XSD and names the offending element;
lenient mode first repairs the field quirks seen on real chargers and lists each repair.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from lxml import etree

from ..validation import LENIENT, STRICT
from .schema import BY_NAMESPACE, CENTRAL_SYSTEM_SERVICE, CP_NS, CS_NS, SERVICES, Operation, Service

SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
ANONYMOUS = f"{WSA}/anonymous"
FAULT_ACTION = f"{WSA}/soap/fault"
CONTENT_TYPE = "application/soap+xml; charset=utf-8"

__all__ = ["ANONYMOUS", "CONTENT_TYPE", "Fault", "FaultCode", "Headers", "Message", "SoapFault",
           "build_fault", "build_request", "build_response", "parse", "LENIENT", "STRICT"]


class FaultCode(enum.Enum):
    """Why we refuse an envelope: (SOAP 1.2 code, subcode namespace, subcode)."""
    MALFORMED = ("Sender", None, "MalformedEnvelope")
    UNKNOWN_OPERATION = ("Sender", WSA, "ActionNotSupported")
    SCHEMA_VIOLATION = ("Sender", None, "SchemaViolation")
    MISSING_HEADER = ("Sender", WSA, "MessageAddressingHeaderRequired")
    INVALID_HEADER = ("Sender", WSA, "InvalidAddressingHeader")
    INTERNAL_ERROR = ("Receiver", None, "InternalError")

    @property
    def code(self) -> str:
        return self.value[0]

    @property
    def subcode(self) -> str:
        return self.value[2]


@dataclass(slots=True)
class Fault:
    """A SOAP fault, built or received.  `kind` is None for a subcode we do not know."""
    code: str                  # "Sender" / "Receiver" / ...
    subcode: str | None
    reason: str
    kind: FaultCode | None = None


class SoapFault(Exception):
    """An envelope we refuse.  `headers`: what was readable of its header (None when not
    even that); `relates_to`: its MessageID, for the fault reply."""

    def __init__(self, kind: FaultCode, reason: str, headers: "Headers | None" = None):
        super().__init__(f"{kind.subcode}: {reason}")
        self.fault = Fault(kind.code, kind.subcode, reason, kind)
        self.headers = headers
        self.relates_to = headers.message_id if headers is not None else None


@dataclass(slots=True)
class Headers:
    action: str | None = None
    message_id: str | None = None
    to: str | None = None
    reply_to: str | None = None
    from_: str | None = None          # the sender's callback URL
    relates_to: str | None = None
    charge_box_identity: str | None = None


@dataclass(slots=True)
class Message:
    """One parsed envelope.  `kind`: "request", "response" or "fault" (then `fault` is set
    and `operation` is None).  `repairs`: quirks lenient mode fixed; `notes`: what was
    missing but did not stop us (a request with no `From` cannot be called back)."""
    headers: Headers
    kind: str
    operation: Operation | None
    payload: dict
    repairs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fault: Fault | None = None


# -- building -------------------------------------------------------------------------

def _service(name: str) -> Service:
    try:
        return SERVICES[name]
    except KeyError:
        raise ValueError(f"unknown service {name!r}: expected one of {sorted(SERVICES)}") from None


def _operation(service: Service, name: str) -> Operation:
    op = service.operations.get(name)
    if op is None:
        raise ValueError(f"{name!r} is not an operation of the OCPP 1.5 {service.name}")
    return op


DEFAULT_PREFIXES = {"soap": "s", "wsa": "a", "ocpp": "o"}


def _envelope(ns: str | None, prefixes: dict | None = None) -> tuple[etree._Element, etree._Element, etree._Element]:
    """`prefixes` may rename "soap", "wsa" and "ocpp" (None: the default namespace), so a
    caller can emit the odd prefixes some chargers hard-code; readers must not care."""
    chosen = DEFAULT_PREFIXES if prefixes is None else {**DEFAULT_PREFIXES, **prefixes}
    unknown = set(chosen) - set(DEFAULT_PREFIXES)
    if unknown:
        raise ValueError(f"unknown prefix role(s) {sorted(unknown)}: expected soap, wsa, ocpp")
    nsmap = {chosen["soap"]: SOAP_ENV, chosen["wsa"]: WSA}
    if ns is not None:
        nsmap[chosen["ocpp"]] = ns
    if len(nsmap) != (3 if ns is not None else 2):
        raise ValueError(f"prefixes must differ, got {chosen}")
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=nsmap)
    return env, etree.SubElement(env, f"{{{SOAP_ENV}}}Header"), etree.SubElement(env, f"{{{SOAP_ENV}}}Body")


def _text(parent, tag: str, value: str) -> None:
    etree.SubElement(parent, tag).text = value


def _address(parent, tag: str, url: str) -> None:
    _text(etree.SubElement(parent, f"{{{WSA}}}{tag}"), f"{{{WSA}}}Address", url)


def _serialize(env) -> bytes:
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def build_request(service: str, operation: str, payload: dict, *, charge_box_identity: str,
                  message_id: str, to: str, from_url: str | None = None,
                  reply_to: str = ANONYMOUS, validate: bool = True,
                  prefixes: dict | None = None) -> bytes:
    """A request envelope for `operation` of `service`.  `from_url` is the sender's callback
    address (a charge point's ChargePointService URL).  Raises ValueError naming the field
    when the payload does not fit the schema (unless `validate` is off)."""
    svc = _service(service)
    op = _operation(svc, operation)
    env, header, body = _envelope(svc.namespace, prefixes)
    _text(header, f"{{{svc.namespace}}}chargeBoxIdentity", charge_box_identity)
    _text(header, f"{{{WSA}}}Action", op.action)
    _text(header, f"{{{WSA}}}MessageID", message_id)
    _text(header, f"{{{WSA}}}To", to)
    _address(header, "ReplyTo", reply_to)
    if from_url is not None:
        _address(header, "From", from_url)
    _body(svc, body, op.request_element, op.request_type, payload, validate)
    return _serialize(env)


def build_response(service: str, operation: str, payload: dict, *, relates_to: str | None,
                   message_id: str, to: str = ANONYMOUS, validate: bool = True,
                   prefixes: dict | None = None) -> bytes:
    """The response envelope answering the request whose MessageID is `relates_to` (None:
    the request had none; the HTTP exchange is then the only correlation)."""
    svc = _service(service)
    op = _operation(svc, operation)
    env, header, body = _envelope(svc.namespace, prefixes)
    _text(header, f"{{{WSA}}}Action", op.response_action)
    _text(header, f"{{{WSA}}}MessageID", message_id)
    if relates_to is not None:
        _text(header, f"{{{WSA}}}RelatesTo", relates_to)
    _text(header, f"{{{WSA}}}To", to)
    _body(svc, body, op.response_element, op.response_type, payload, validate)
    return _serialize(env)


def build_fault(kind: FaultCode, reason: str, *, message_id: str,
                relates_to: str | None = None) -> bytes:
    """A SOAP 1.2 fault envelope (Sender or Receiver, with our subcode)."""
    env, header, body = _envelope(None)
    _text(header, f"{{{WSA}}}Action", FAULT_ACTION)
    _text(header, f"{{{WSA}}}MessageID", message_id)
    if relates_to is not None:
        _text(header, f"{{{WSA}}}RelatesTo", relates_to)
    fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    code = etree.SubElement(fault, f"{{{SOAP_ENV}}}Code")
    _text(code, f"{{{SOAP_ENV}}}Value", f"{DEFAULT_PREFIXES['soap']}:{kind.code}")
    sub = etree.SubElement(code, f"{{{SOAP_ENV}}}Subcode")
    value = etree.SubElement(sub, f"{{{SOAP_ENV}}}Value",
                             nsmap={"f": kind.value[1] or CS_NS})
    value.text = f"f:{kind.subcode}"
    text = etree.SubElement(etree.SubElement(fault, f"{{{SOAP_ENV}}}Reason"), f"{{{SOAP_ENV}}}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = reason
    return _serialize(env)


def _body(svc: Service, body, element: str, type_name: str, payload: dict, validate: bool) -> None:
    if not isinstance(payload, dict):
        raise ValueError(f"{element}: the payload must be a dict, got {type(payload).__name__}")
    node = etree.SubElement(body, f"{{{svc.namespace}}}{element}")
    _encode(svc, node, type_name, payload, element)
    if validate:
        errors = _schema_errors(svc, node)
        if errors:
            raise ValueError(f"{element} breaks the OCPP 1.5 schema: {errors}")


def _scalar(svc: Service, typ: str, value, path: str) -> str:
    base = svc.simple.get(typ, typ)
    if base == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"{path}: expected a boolean, got {value!r}")
        return "true" if value else "false"
    if base == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{path}: expected an integer, got {value!r}")
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"{path}: expected a string, got {value!r}")
    return value


def _encode(svc: Service, node, type_name: str, payload: dict, path: str) -> None:
    fields = svc.types[type_name]
    unknown = set(payload) - {f.name for f in fields}
    if unknown:
        raise ValueError(f"{path}: no such element(s) in {type_name}: {sorted(unknown)}")
    for f in fields:
        if f.name not in payload:
            continue
        value, where = payload[f.name], f"{path}.{f.name}"
        items = value if f.repeated else [value]
        if f.repeated and not isinstance(value, list):
            raise ValueError(f"{where}: a repeated element takes a list, got {value!r}")
        for i, item in enumerate(items):
            child = etree.SubElement(node, f"{{{svc.namespace}}}{f.name}")
            here = f"{where}[{i}]" if f.repeated else where
            if f.attributes:                       # text plus attributes
                if not isinstance(item, dict) or "value" not in item:
                    raise ValueError(f"{here}: expected {{'value': ..., attribute: ...}}, got {item!r}")
                extra = set(item) - {"value", *f.attributes}
                if extra:
                    raise ValueError(f"{here}: no such attribute(s): {sorted(extra)}")
                child.text = _scalar(svc, f.type, item["value"], here)
                for attr in f.attributes:
                    if attr in item:
                        child.set(attr, _scalar(svc, "string", item[attr], f"{here}@{attr}"))
            elif f.type in svc.types:
                if not isinstance(item, dict):
                    raise ValueError(f"{here}: expected an object ({f.type}), got {item!r}")
                _encode(svc, child, f.type, item, here)
            else:
                child.text = _scalar(svc, f.type, item, here)


# -- parsing --------------------------------------------------------------------------

# No DTD loading, no entity resolution, no network, no huge trees: the parse is safe by
# construction; a DOCTYPE is then refused outright (SOAP 1.2 forbids one).
_PARSER = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True,
                          dtd_validation=False, huge_tree=False, remove_comments=True,
                          remove_pis=True)
_NS_BRACES = re.compile(r"\{[^}]*\}")
_OCPP_NS = (CS_NS, CP_NS)


def _qname(node) -> tuple[str | None, str]:
    q = etree.QName(node)
    return q.namespace, q.localname


def _leaf_text(node) -> str:
    return (node.text or "").strip()


def parse(raw: bytes | str, *, mode: str = STRICT) -> Message:
    """Take one envelope apart.  Raises SoapFault for anything we will not process."""
    if mode not in (STRICT, LENIENT):
        raise ValueError(f"mode must be {STRICT!r} or {LENIENT!r}, got {mode!r}")
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError as e:
        raise SoapFault(FaultCode.MALFORMED, f"not well-formed XML: {e}") from None
    if root.getroottree().docinfo.doctype:
        raise SoapFault(FaultCode.MALFORMED, "a DOCTYPE is not allowed in a SOAP message "
                        "(DTDs and entities are refused)")
    ns, local = _qname(root)
    if (ns, local) != (SOAP_ENV, "Envelope"):
        hint = " (a SOAP 1.1 envelope; OCPP 1.5 uses SOAP 1.2)" if ns == SOAP11_ENV else ""
        raise SoapFault(FaultCode.MALFORMED, f"root element is {{{ns}}}{local}, not a SOAP 1.2 Envelope{hint}")
    headers = _headers(root)
    body = [c for c in root if _qname(c) == (SOAP_ENV, "Body")]
    if len(body) != 1:
        raise SoapFault(FaultCode.MALFORMED, f"expected one soap:Body, found {len(body)}", headers)
    content = [c for c in body[0] if isinstance(c.tag, str)]
    if len(content) != 1:
        raise SoapFault(FaultCode.MALFORMED, f"expected one element in soap:Body, found {len(content)}",
                        headers)
    node = content[0]
    ns, local = _qname(node)
    if (ns, local) == (SOAP_ENV, "Fault"):
        return Message(headers, "fault", None, {}, fault=_fault(node))
    return _payload_message(headers, node, ns, local, mode)


def _headers(root) -> Headers:
    h = Headers()
    for hdr in root:
        if _qname(hdr) != (SOAP_ENV, "Header"):
            continue
        for child in hdr:
            if not isinstance(child.tag, str):
                continue
            ns, local = _qname(child)
            if ns == WSA:
                if local in ("ReplyTo", "From"):
                    address = child.find(f"{{{WSA}}}Address")
                    value = _leaf_text(address) if address is not None else None
                    setattr(h, "reply_to" if local == "ReplyTo" else "from_", value or None)
                elif local in ("Action", "MessageID", "To", "RelatesTo"):
                    attr = {"Action": "action", "MessageID": "message_id", "To": "to",
                            "RelatesTo": "relates_to"}[local]
                    setattr(h, attr, _leaf_text(child) or None)
            elif local == "chargeBoxIdentity" and ns in _OCPP_NS:   # either namespace
                h.charge_box_identity = _leaf_text(child) or None
    return h


def _fault(node) -> Fault:
    def find(path):
        found = node.find(path, {"s": SOAP_ENV})
        return _leaf_text(found) if found is not None else None
    code = (find("s:Code/s:Value") or "").rpartition(":")[2]
    sub = find("s:Code/s:Subcode/s:Value")
    sub = sub.rpartition(":")[2] if sub else None
    kind = next((k for k in FaultCode if k.subcode == sub), None)
    return Fault(code, sub, find("s:Reason/s:Text") or "", kind)


def _action_name(action: str) -> str:
    """`/Heartbeat`, `urn://Ocpp/Cs/2012/06/Heartbeat`, `http://x/y#Heartbeat` -> Heartbeat."""
    return re.split(r"[/#:]", action.rstrip("/"))[-1]


def _payload_message(headers: Headers, node, ns: str | None, local: str, mode: str) -> Message:
    svc = BY_NAMESPACE.get(ns)
    if svc is None:
        raise SoapFault(FaultCode.UNKNOWN_OPERATION,
                        f"body element {local!r} is in namespace {ns!r}, not an OCPP 1.5 one "
                        f"({CS_NS} or {CP_NS})", headers)
    found = svc.by_element(local)
    if found is None:
        raise SoapFault(FaultCode.UNKNOWN_OPERATION, f"{local!r} is not an operation of the "
                        f"OCPP 1.5 {svc.name}", headers)
    op, kind = found
    msg = Message(headers, kind, op, {})
    _check_headers(msg, mode)
    msg.payload = _checked_payload(svc, node, op.request_type if kind == "request" else op.response_type,
                                   mode, msg.repairs, headers)
    return msg


def _fault_or_note(msg: Message, mode: str, kind: FaultCode, text: str) -> None:
    if mode == STRICT:
        raise SoapFault(kind, text, msg.headers)
    msg.notes.append(text)


def _check_headers(msg: Message, mode: str) -> None:
    h, op = msg.headers, msg.operation
    expected = op.name if msg.kind == "request" else f"{op.name}Response"
    if h.action is None:
        _fault_or_note(msg, mode, FaultCode.MISSING_HEADER,
                       f"no WS-Addressing Action header (the body says {expected})")
    else:
        name = _action_name(h.action)
        if name != expected:
            if name.lower() == expected.lower() and mode != STRICT:
                msg.repairs.append(f"action {h.action!r} read as {expected!r}")
            else:
                _fault_or_note(msg, mode, FaultCode.INVALID_HEADER,
                               f"Action {h.action!r} does not match the body element {expected!r}")
    if msg.kind == "request":
        if h.message_id is None:
            _fault_or_note(msg, mode, FaultCode.MISSING_HEADER, "no WS-Addressing MessageID header")
        if h.charge_box_identity is None:
            _fault_or_note(msg, mode, FaultCode.MISSING_HEADER, "no chargeBoxIdentity header")
        if op.service == CENTRAL_SYSTEM_SERVICE and h.from_ is None:
            # Not a fault: the request can be answered, but the central system has no
            # callback address for this charge point until a request carries one.
            msg.notes.append("no WS-Addressing From header: the central system cannot call "
                             "this charge point back")
    elif h.relates_to is None:
        _fault_or_note(msg, mode, FaultCode.MISSING_HEADER, "no WS-Addressing RelatesTo header")


def _trim(node) -> None:
    """Whitespace around simple values is layout, not data (xs:string would keep it)."""
    for el in node.iter():
        if isinstance(el.tag, str) and len(el) == 0 and el.text is not None:
            el.text = el.text.strip()
        for k, v in el.attrib.items():
            el.set(k, v.strip())


def _schema_errors(svc: Service, node) -> str:
    doc = etree.fromstring(etree.tostring(node))
    if svc.validator.validate(doc):
        return ""
    return "; ".join(_NS_BRACES.sub("", e.message) for e in svc.validator.error_log)


def _checked_payload(svc: Service, node, type_name: str, mode: str, repairs: list[str],
                     headers: Headers) -> dict:
    _trim(node)
    errors = _schema_errors(svc, node)
    if errors and mode != STRICT:
        _repair(svc, node, type_name, repairs, etree.QName(node).localname)
        errors = _schema_errors(svc, node)
    if errors:
        raise SoapFault(FaultCode.SCHEMA_VIOLATION, errors, headers)
    return _decode(svc, node, type_name)


def _repair(svc: Service, node, type_name: str, repairs: list[str], path: str) -> None:
    """Lenient mode: mend the SOAP field quirks in place (ARCHITECTURE: field quirks)."""
    fields = svc.types[type_name]
    names = [f.name for f in fields]
    children = [c for c in node if isinstance(c.tag, str)]
    if type_name == "MeterValue":
        _repair_meter_value(svc, node, children, repairs, path)
        children = [c for c in node if isinstance(c.tag, str)]
    for c in children:
        ns, local = _qname(c)
        if ns != svc.namespace and local in names:
            repairs.append(f"{path}.{local}: element in namespace {ns!r} read as {svc.namespace!r}")
            c.tag = f"{{{svc.namespace}}}{local}"
    order = {n: i for i, n in enumerate(names)}
    ranks = [order.get(etree.QName(c).localname, len(names)) for c in children]
    if ranks != sorted(ranks):
        repairs.append(f"{path}: elements put in schema order ({', '.join(names)})")
        for c in sorted(children, key=lambda c: order.get(etree.QName(c).localname, len(names))):
            node.append(c)            # re-appending moves the element to the end
    by_name = {f.name: f for f in fields}
    for c in node:
        f = by_name.get(etree.QName(c).localname)
        if f is None:
            continue
        if f.type in svc.types:
            _repair(svc, c, f.type, repairs, f"{path}.{f.name}")
            continue
        fixed = _enum_case(svc, f.type, c.text)
        if fixed is not None:
            repairs.append(f"{path}.{f.name}: {c.text!r} read as {fixed!r}")
            c.text = fixed
        for attr, typ in zip(f.attributes, f.attribute_types):
            fixed = _enum_case(svc, typ, c.get(attr))
            if fixed is not None:
                repairs.append(f"{path}.{f.name}@{attr}: {c.get(attr)!r} read as {fixed!r}")
                c.set(attr, fixed)


def _enum_case(svc: Service, typ: str, text: str | None) -> str | None:
    """The enumeration value `text` means when only its case is wrong (else None)."""
    values = svc.enums.get(typ)
    if not values or text is None or text in values:
        return None
    return next((v for v in values if v.lower() == text.lower()), None)


def _repair_meter_value(svc: Service, node, children, repairs: list[str], path: str) -> None:
    attrs = next(f.attributes for f in svc.types["MeterValue"] if f.name == "value")
    last_value = None
    for c in children:
        local = etree.QName(c).localname
        if local == "values":            # `values` for `value` inside a meter value
            repairs.append(f"{path}: <values> read as <value>")
            c.tag = f"{{{svc.namespace}}}value"
            local = "value"
        if local == "value":
            last_value = c
        elif local in attrs and last_value is not None:
            # A sampled value's unit (or other attribute) sent as the next element.
            repairs.append(f"{path}: <{local}> element folded into the preceding value's attribute")
            last_value.set(local, _leaf_text(c))
            node.remove(c)


def _decode(svc: Service, node, type_name: str) -> dict:
    by_name = {f.name: f for f in svc.types[type_name]}
    out: dict = {}
    for c in node:
        if not isinstance(c.tag, str):
            continue
        f = by_name[etree.QName(c).localname]   # the schema check let only these through
        if f.attributes:
            value = {"value": _leaf_text(c), **{a: c.get(a) for a in f.attributes if c.get(a) is not None}}
        elif f.type in svc.types:
            value = _decode(svc, c, f.type)
        else:
            value = _value(svc, f.type, _leaf_text(c))
        if f.repeated:
            out.setdefault(f.name, []).append(value)
        else:
            out[f.name] = value
    return out


def _value(svc: Service, typ: str, text: str):
    base = svc.simple.get(typ, typ)
    if base == "int":
        return int(text)
    if base == "boolean":
        return text in ("true", "1")
    return text
