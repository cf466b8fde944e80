"""SOAP field quirks the 1.5 station emits on purpose, to test how a CSMS copes.

Each is a way real OCPP-S chargers bend SOAP 1.2 / WS-Addressing.  A station switched to a
quirk (`StationOptions.quirks`, a template's `quirks:`) sends every envelope it builds --
its requests and its answers to the CSMS -- through `SoapQuirks.apply`, which rewrites the
XML after the codec built (and validated) it.  The hub's lenient mode repairs the ones the
field shows (docs/soap.md); a strict CSMS answers with a SOAP fault.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from lxml import etree

from ...protocol.soap.envelope import SOAP_ENV, WSA

# prefixes a charger hard-codes (the codec's are s / a / o): the OCPP namespace as the
# default namespace, and long-form prefixes for SOAP and WS-Addressing
ODD_PREFIXES = {"soap": "SOAP-ENV", "wsa": "wsa5", "ocpp": None}
_MISSING = ("MessageID", "To", "ReplyTo")


@dataclass(frozen=True, slots=True)
class SoapQuirk:
    name: str
    description: str


SOAP_QUIRKS: dict[str, SoapQuirk] = {q.name: q for q in (
    SoapQuirk("soap_odd_prefixes", "SOAP-ENV / wsa5 prefixes and the OCPP namespace as the "
                                   "default namespace (valid; a CSMS must not care)"),
    SoapQuirk("soap_whitespace", "indented XML and whitespace around every simple value"),
    SoapQuirk("soap_missing_headers", "no WS-Addressing MessageID, To and ReplyTo headers"),
    SoapQuirk("soap_no_from", "no WS-Addressing From header: the CSMS cannot call back"),
    SoapQuirk("soap_out_of_order", "the elements of each message in reverse schema order"),
    SoapQuirk("soap_split_unit", "a meter value's unit as a <unit> element after the value, "
                                 "not as its attribute"),
)}


class SoapQuirks:
    """The SOAP quirks of one station.  Raises ValueError naming an unknown quirk."""

    def __init__(self, names: Iterable[str] = ()):
        names = list(dict.fromkeys(names))
        unknown = [n for n in names if n not in SOAP_QUIRKS]
        if unknown:
            raise ValueError(f"quirk(s) {', '.join(map(repr, unknown))} do not apply to OCPP "
                             f"1.5 SOAP; known: {', '.join(SOAP_QUIRKS)}")
        self.names = tuple(names)

    def __bool__(self) -> bool:
        return bool(self.names)

    def __contains__(self, name: str) -> bool:
        return name in self.names

    @property
    def prefixes(self) -> dict | None:
        """The prefixes to build with (None: the codec's own)."""
        return ODD_PREFIXES if "soap_odd_prefixes" in self.names else None

    def apply(self, envelope: bytes) -> bytes:
        """The envelope as this station sends it.  Only our own, just-built bytes come here."""
        tree_quirks = [n for n in self.names if n != "soap_odd_prefixes"]
        if not tree_quirks:
            return envelope
        root = etree.fromstring(envelope)
        header = root.find(f"{{{SOAP_ENV}}}Header")
        body = root.find(f"{{{SOAP_ENV}}}Body")
        if header is not None and "soap_missing_headers" in self.names:
            _drop(header, _MISSING)
        if header is not None and "soap_no_from" in self.names:
            _drop(header, ("From",))
        payload = body[0] if body is not None and len(body) else None
        if payload is not None and "soap_split_unit" in self.names:
            _split_units(payload)
        if payload is not None and "soap_out_of_order" in self.names:
            _reverse(payload)
        if "soap_whitespace" in self.names:
            _pad(root)
            etree.indent(root, space="    ")
        return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _drop(header, names: tuple[str, ...]) -> None:
    for child in list(header):
        if etree.QName(child).namespace == WSA and etree.QName(child).localname in names:
            header.remove(child)


def _split_units(payload) -> None:
    """<value unit="Wh">12</value> -> <value>12</value><unit>Wh</unit>."""
    for value in list(payload.iter(f"{{{etree.QName(payload).namespace}}}value")):
        unit = value.attrib.pop("unit", None)
        if unit is not None:
            el = etree.Element(f"{{{etree.QName(value).namespace}}}unit")
            el.text = unit
            value.addnext(el)


def _reverse(node) -> None:
    children = [c for c in node if isinstance(c.tag, str)]
    if len({etree.QName(c).localname for c in children}) > 1:
        for c in reversed(children):
            node.append(c)       # re-appending moves it to the end
    for c in children:
        _reverse(c)


def _pad(root) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and len(el) == 0 and el.text:
            el.text = f"  {el.text}\n  "
