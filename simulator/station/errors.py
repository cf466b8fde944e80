"""Errors the station raises to its drivers, and those a charger-initiated call raises."""
from __future__ import annotations

from ..protocol import OcppError
from ..session import CallErrorReceived, CallTimeout, InvalidResponse, SessionClosed

# What a failed charger-initiated call raises; the station reports these, it does not crash.
SEND_ERRORS = (CallTimeout, CallErrorReceived, InvalidResponse, SessionClosed, OcppError)


class StationError(Exception):
    """A driver asked for something the station cannot do now (with the reason)."""


class IllegalTransition(StationError):
    """A connector status change the OCPP state machine does not allow."""

    def __init__(self, connector_id: int, old: str, new: str):
        super().__init__(f"connector {connector_id}: illegal status transition {old} -> {new}")
        self.connector_id, self.old, self.new = connector_id, old, new


class ConnectFailed(StationError):
    """The transport could not be opened (refused, handshake rejected, timeout)."""
    refused = False   # the CSMS said no (HTTP status, TLS) or the settings cannot work


class BootRejected(StationError):
    """The CSMS did not accept the BootNotification within the start timeout."""

    def __init__(self, station_id: str, status: str | None, timeout: float):
        super().__init__(f"{station_id}: BootNotification not accepted within {timeout:g}s "
                         f"(last registration status: {status or 'no answer'})")
        self.status = status


class NotRegistered(StationError):
    """A charger-initiated message was due before the CSMS accepted the BootNotification."""


class UnknownMessageId(Exception):
    """Raised by a DataTransfer vendor handler for a messageId it does not know."""


class Undeliverable(StationError):
    """A dialect cannot put a held transaction intent into words (e.g. 1.6: the start of its
    transaction never got the CSMS's id); the offline queue drops it, saying why."""
