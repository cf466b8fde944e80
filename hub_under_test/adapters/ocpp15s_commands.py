"""OCPP 1.5 (SOAP): abstract commands ⇄ CSMS-initiated ChargePointService requests.

The 1.5 requests the CSMS initiates are, field for field, the 1.6 Core ones without
charging profiles (1.6 grew out of 1.5), so most of them are read and written by
`ocpp16_commands`.  What differs is said here:
- SendLocalList's list is `localAuthorisationList` (British spelling) and its answer may be
  `HashError` (read as Failed: the abstract result has no hash);
- UnlockConnector answers Accepted / Rejected (not Unlocked / UnlockFailed);
- RemoteStartTransaction carries no charging profile; there is no TriggerMessage, no smart
  charging, no security extension: such a command is a TypeError naming it.
Payload dicts are the SOAP codec's (simulator/protocol/soap/envelope.py): the 1.5 schema's
camelCase names, repeated elements as lists.
"""
from __future__ import annotations

from .. import commands as c
from . import ocpp16_commands as v16

# commands whose 1.5 request is the 1.6 one, byte for byte
_SAME = frozenset({c.Reset, c.ChangeAvailability, c.ChangeConfiguration, c.GetConfiguration,
                   c.ClearCache, c.RemoteStop, c.UnlockConnector, c.SendDataTransfer,
                   c.ReserveNow, c.CancelReservation, c.GetLocalListVersion, c.GetDiagnostics,
                   c.RawCommand})
_LIST_16, _LIST_15 = "localAuthorizationList", "localAuthorisationList"


def encode(command: c.Command) -> tuple[str, dict]:
    """The 1.5 operation and payload for an abstract command.  TypeError if 1.5 cannot say it."""
    kind = type(command)
    if kind in _SAME:
        return v16.encode(command)
    if kind is c.RemoteStart:
        if command.charging_profile is not None:
            raise TypeError("OCPP 1.5 RemoteStartTransaction carries no charging profile")
        return v16.encode(command)
    if kind is c.UpdateFirmware:
        if command.signed:
            raise TypeError("OCPP 1.5 has no signed firmware update")
        return v16.encode(command)
    if kind is c.SendLocalList:
        action, payload = v16.encode(command)
        entries = payload.pop(_LIST_16)
        if entries:
            payload[_LIST_15] = entries
        return action, payload
    raise TypeError(f"OCPP 1.5 has no request for {kind.__name__}")


def parse(operation: str, payload) -> c.Command:
    """The abstract command a raw 1.5 request means (RawCommand when there is none)."""
    if operation == "SendLocalList" and isinstance(payload, dict) and _LIST_15 in payload:
        payload = {**payload, _LIST_16: payload[_LIST_15]}
        del payload[_LIST_15]
    return v16.parse(operation, payload)


def decode(command: c.Command, reply: dict) -> c.Result:
    """The typed result of `command` from the charge point's 1.5 answer."""
    if isinstance(command, c.SendLocalList) and reply.get("status") == "HashError":
        return c.Outcome(c.CommandStatus.FAILED)
    return v16.decode(command, reply)
