"""Canned DataTransfer answers, so a template can give a station vendor behaviour without code.

`StationOptions.vendor_responses` = {vendorId: {messageId: [status, data]}}; the messageId
"*" answers any message id not listed.  A vendor with no match for the message id answers
UnknownMessageId, an unknown vendor UnknownVendorId (the station's own rule), as 1.6 §4.3
asks.  Code that needs real logic registers a handler instead:
`station.register_vendor(vendor_id, handler)` with handler(message_id, data) returning a
status or (status, data), sync or async, raising UnknownMessageId.
"""
from __future__ import annotations

from .errors import UnknownMessageId

STATUSES = ("Accepted", "Rejected", "UnknownMessageId", "UnknownVendorId")
ANY = "*"


class CannedVendor:
    """A vendor handler answering from a table."""

    def __init__(self, vendor_id: str, replies: dict[str, list | tuple]):
        self.vendor_id = vendor_id
        self.replies: dict[str, tuple[str, str | None]] = {}
        for message_id, reply in replies.items():
            status, data = (list(reply) + [None])[:2] if isinstance(reply, (list, tuple)) else (reply, None)
            if status not in STATUSES:
                raise ValueError(f"DataTransfer {vendor_id}/{message_id}: status {status!r} is "
                                 f"not one of {', '.join(STATUSES)}")
            if data is not None and not isinstance(data, str):
                raise ValueError(f"DataTransfer {vendor_id}/{message_id}: data must be a string")
            self.replies[message_id] = (status, data)
        self.received: list[tuple[str | None, str | None]] = []   # what the CSMS sent

    def __call__(self, message_id: str | None, data: str | None) -> tuple[str, str | None]:
        self.received.append((message_id, data))
        reply = self.replies.get(message_id or "")
        if reply is None:
            reply = self.replies.get(ANY)
        if reply is None:
            raise UnknownMessageId(message_id)
        return reply


def canned_vendors(responses: dict[str, dict]) -> dict[str, CannedVendor]:
    return {vendor_id: CannedVendor(vendor_id, replies) for vendor_id, replies in responses.items()}
