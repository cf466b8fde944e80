"""SOAP message dumps (OCPP 1.2/1.5, and 1.6 over SOAP): one XML envelope per block, possibly
over several lines, optionally led (on its own line or the same one) by a timestamp,
direction marker and station id.

Elements are matched on namespaces, never on prefixes.  The XML is parsed with the stdlib
after refusing any DTD: without a DOCTYPE there are no entities to expand and nothing
external to fetch, so no extra dependency is needed.  The body's namespace says which
service it addresses (Central System or Charge Point), so the direction needs no marker.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

from ..protocol import Call, CallError, CallResult, Message
from .infer import marker_direction
from .prefix import DIR, TS, WORD, tokens
from .records import IN, OUT, LoggedFrame, LogRead, SoapMessage

SOAP_ENVELOPES = {"http://schemas.xmlsoap.org/soap/envelope/",      # SOAP 1.1
                  "http://www.w3.org/2003/05/soap-envelope"}        # SOAP 1.2
WS_ADDRESSING = {"http://www.w3.org/2005/08/addressing",
                 "http://schemas.xmlsoap.org/ws/2004/08/addressing"}
_OCPP_NS = re.compile(r"urn://Ocpp/(?P<service>Cs|Cp)/(?P<date>\d{4}/\d{2})/?$")
_PROTOCOL_BY_DATE = {"2010/08": "ocpp1.2", "2012/06": "ocpp1.5", "2015/10": "ocpp1.6"}
_SERVICE = {"Cs": "CentralSystem", "Cp": "ChargePoint"}

_START = re.compile(r"<(?:\?xml\b|(?:[\w.-]+:)?Envelope\b)")
_OPEN = re.compile(r"<(?:[\w.-]+:)?Envelope\b")
_END = re.compile(r"</(?:[\w.-]+:)?Envelope\s*>")


def starts_envelope(text: str) -> bool:
    return _START.search(text) is not None


def read(lines: list[str], result: LogRead, *, perspective: str | None, station: str | None) -> None:
    header: list = []             # tokens of the line(s) before the next envelope
    stations: dict[str, str] = {} # MessageID -> station: a response names none, its request does
    block: list[str] = []
    first = 0
    for number, text in enumerate(lines, 1):
        if block and _OPEN.search(text) and any(_OPEN.search(b) for b in block):
            result.problem(first, "truncated SOAP envelope (the next one starts on line "
                                  f"{number} before it closes)")
            block, header = [], []
        if block:
            block.append(text)
        elif (m := _START.search(text)) is not None:
            header += tokens(text[:m.start()])
            block, first = [text[m.start():]], number
        elif text.strip().startswith("["):
            result.problem(number, "an OCPP-J frame line in a SOAP dump (mixed layouts?)")
            continue
        elif text.strip():
            header = tokens(text)
            continue
        else:
            continue
        joined = "\n".join(block)
        end = _END.search(joined)
        if end is None:
            continue
        if joined[end.end():].strip():
            rest = joined[end.end():].strip()[:40]
            result.problem(number, f"text after the envelope ignored: {rest!r}")
        frame = _frame(first, joined[:end.end()], header, result, perspective, station)
        if isinstance(frame.message, SoapMessage):
            if frame.station is None and frame.message.relates_to in stations:
                frame = replace(frame, station=stations[frame.message.relates_to])
            if frame.message.message_id and frame.station:
                stations[frame.message.message_id] = frame.station
        result.frames.append(frame)
        header, block = [], []
    if block:
        result.problem(first, "truncated SOAP envelope (no closing Envelope tag)")


def _frame(number: int, xml: str, header: list, result: LogRead, perspective: str | None,
           station: str | None) -> LoggedFrame:
    ts = next((t.value for t in header if t.kind == TS), None)
    marker = next((t.value for t in header if t.kind == DIR), None)
    words = [t.text for t in header if t.kind == WORD]
    station = words[-1] if words else station
    message, protocol, error = _parse(xml)
    if error:
        result.problem(number, error)
        direction = marker_direction(marker, perspective) if marker and perspective else None
        return LoggedFrame(number, ts, station, direction, protocol, xml, None, error)
    if message.service == "CentralSystem":
        direction = IN if message.is_response else OUT
    elif message.service == "ChargePoint":
        direction = OUT if message.is_response else IN
    else:
        direction = marker_direction(marker, perspective) if marker and perspective else None
    if direction is None:
        result.problem(number, "direction unknown: the body is in no OCPP namespace and no "
                               "marker with a perspective says")
    elif marker and perspective and marker_direction(marker, perspective) != direction:
        result.problem(number, f"direction marker disagrees with the body's namespace "
                               f"({message.service} service); the namespace is believed")
    return LoggedFrame(number, ts, message.charge_box_identity or station, direction, protocol,
                       xml, message, None, action=message.action)


def _parse(xml: str) -> tuple[SoapMessage | None, str | None, str | None]:
    if re.search(r"<!(?:DOCTYPE|ENTITY)", xml):
        return None, None, "DTD in the envelope refused (entities are never expanded)"
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as e:
        return None, None, f"XML does not parse: {e}"
    ns, local = _split(root.tag)
    if local != "Envelope" or ns not in SOAP_ENVELOPES:
        return None, None, f"not a SOAP envelope: root element {root.tag!r}"
    soap_header = root.find(f"{{{ns}}}Header")
    body = root.find(f"{{{ns}}}Body")
    fields: dict[str, str] = {}
    for element in (soap_header if soap_header is not None else []):
        e_ns, e_local = _split(element.tag)
        if e_ns in WS_ADDRESSING or (e_local == "chargeBoxIdentity" and _OCPP_NS.match(e_ns)):
            fields[e_local] = (element.text or "").strip()
    content = next(iter(body), None) if body is not None else None
    if content is None:
        return None, None, "SOAP envelope without a body element"
    b_ns, b_local = _split(content.tag)
    service, protocol = "unknown", None
    if (m := _OCPP_NS.match(b_ns)) is not None:
        service, protocol = _SERVICE[m["service"]], _PROTOCOL_BY_DATE.get(m["date"])
    action = fields.get("Action", "").lstrip("/") or _action_of(b_local)
    is_response = action.endswith("Response") or b_local.endswith("Response")
    action = action.removesuffix("Response")
    return (SoapMessage(action, is_response, fields.get("MessageID"), fields.get("RelatesTo"),
                        fields.get("chargeBoxIdentity"), service), protocol, None)


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _action_of(element: str) -> str:
    """bootNotificationRequest -> BootNotification (for envelopes without WS-Addressing)."""
    name = element.removesuffix("Request")
    return name[:1].upper() + name[1:]


def as_rpc(raw: str) -> tuple[Message | None, str | None]:
    """An OCPP 1.5 envelope as the RPC message it stands for, for replay: a request is a
    Call (its MessageID the unique id), a response a CallResult and a fault a CallError
    (both by RelatesTo).  Read with the 1.5 codec, leniently (a replay compares what was
    said, it does not police the recording); (None, why) when the codec refuses it."""
    from ..protocol.soap.envelope import LENIENT, SoapFault, parse
    from ..protocol.soap.rpc import FAULT_TO_ERROR
    try:
        msg = parse(raw, mode=LENIENT)
    except SoapFault as e:
        return None, f"SOAP envelope refused: {e}"
    h = msg.headers
    if msg.kind == "request":
        if not h.message_id:
            return None, "SOAP request without MessageID: its answer cannot be matched"
        return Call(h.message_id, msg.operation.name, msg.payload), None
    if not h.relates_to:
        return None, "SOAP response without RelatesTo: it answers no request we can tell"
    if msg.kind == "response":
        return CallResult(h.relates_to, msg.payload), None
    f = msg.fault
    return CallError(h.relates_to, FAULT_TO_ERROR.get(f.kind), f.subcode or f.code, f.reason,
                     {"soapCode": f.code}), None


def operation_name(action: str) -> str | None:
    """The OCPP 1.5 operation `action` names, or None when 1.5 has no such operation."""
    from ..protocol.soap.schema import SERVICES
    return next((op.name for svc in SERVICES.values() for op in svc.operations.values()
                 if op.name == action), None)
