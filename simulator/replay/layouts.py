"""The layouts a log can have, and telling them apart from the first lines."""
from __future__ import annotations

from . import hub_export, jsonl, ocppj, soap
from .records import LogError

CHARGESIM = "chargesim-jsonl"      # our own recording format (docs/recording-format.md)
HUB_EXPORT = "hub-export"          # GET /stations/{id}/frames of the bundled hub
OCPP_J = "ocpp-j-lines"            # one OCPP-J frame per line, optionally with a prefix
SOAP = "soap"                      # SOAP envelopes, one per block
LAYOUTS = (CHARGESIM, HUB_EXPORT, OCPP_J, SOAP)

SNIFF_LINES = 20


def detect(text: str) -> str:
    """The layout of `text`, judged by its first non-empty lines (LogError if none fits)."""
    head = [line for line in text.split("\n") if line.strip()][:SNIFF_LINES]
    if not head:
        raise LogError("the log is empty")
    if jsonl.is_header(head[0]):
        return CHARGESIM
    stripped = text.lstrip()
    if stripped.startswith("[") and stripped[1:].lstrip()[:1] in ("{", "]"):
        return HUB_EXPORT
    for line in head:   # the first line that holds a frame decides; prefix-only lines do not
        if soap.starts_envelope(line):
            return SOAP
        if ocppj.frame_span(line) is not None:
            return OCPP_J
    if head[0].lstrip().startswith("{"):
        raise LogError("JSON objects without a chargesim-recording header line: not a layout "
                       f"this reader knows ({', '.join(LAYOUTS)})")
    raise LogError(f"no known layout ({', '.join(LAYOUTS)}) fits the first lines: neither an "
                   f"OCPP-J frame nor a SOAP envelope in the first {len(head)} of them")


def check(name: str) -> str:
    if name not in LAYOUTS:
        raise LogError(f"unknown layout {name!r}; known: {', '.join(LAYOUTS)}")
    return name
