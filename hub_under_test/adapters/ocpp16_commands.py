"""OCPP 1.6 (with the security extensions): abstract commands ⇄ CSMS-initiated 1.6 CALLs.

Three directions, all pure:
- `encode(command)` → (action, payload): what the hub sends for an abstract command;
- `decode(command, reply)` → the command's typed result, from the station's 1.6 reply;
- `parse(action, payload)` → the abstract command a raw 1.6 request means (the HTTP command
  API takes raw 1.6 payloads); a request this module cannot read becomes a `RawCommand`.

Replies and raw requests reach here validated against the 1.6 schemas (the session checks
our requests before sending and the station's replies on arrival), so required fields are
present.  TriggerMessage and ExtendedTriggerMessage share one abstract command: the plain
one is used whenever it can ask for the message.
"""
from __future__ import annotations

from typing import Callable

from .. import commands as c
from ..messages import AuthorizationStatus, DataTransferResult, DataTransferStatus, IdTokenInfo
from ..messages import format_time as _fmt
from ..messages import parse_time as _time

_TRIGGERABLE = frozenset({"BootNotification", "DiagnosticsStatusNotification",
                          "FirmwareStatusNotification", "Heartbeat", "MeterValues",
                          "StatusNotification"})
_AUTH_16 = {AuthorizationStatus.UNKNOWN: "Invalid"}   # what 1.6 says for an unknown token


def _opt(out: dict, key: str, value, conv: Callable = lambda v: v) -> dict:
    if value is not None:
        out[key] = conv(value)
    return out


def _opt_time(value: str | None):
    return _time(value) if value is not None else None


def _status(reply: dict) -> c.CommandStatus | None:
    return c.CommandStatus(reply["status"]) if "status" in reply else None


# -- shared structures ----------------------------------------------------------------------

def id_tag_info(info: IdTokenInfo) -> dict:
    out = {"status": _AUTH_16.get(info.status, info.status.value)}
    _opt(out, "expiryDate", info.expiry_date, _fmt)
    if info.parent_id_token:
        out["parentIdTag"] = info.parent_id_token
    return out


def _read_id_tag_info(p: dict) -> IdTokenInfo:
    return IdTokenInfo(AuthorizationStatus(p["status"]), _opt_time(p.get("expiryDate")),
                       p.get("parentIdTag"))


def schedule_to_wire(s: c.ChargingSchedule) -> dict:
    periods = [_opt({"startPeriod": p.start, "limit": p.limit}, "numberPhases", p.phases)
               for p in s.periods]
    out = {"chargingRateUnit": s.rate_unit, "chargingSchedulePeriod": periods}
    _opt(out, "duration", s.duration)
    _opt(out, "startSchedule", s.start, _fmt)
    return _opt(out, "minChargingRate", s.min_rate)


def schedule_from_wire(p: dict) -> c.ChargingSchedule:
    return c.ChargingSchedule(
        rate_unit=p["chargingRateUnit"],
        periods=[c.SchedulePeriod(sp["startPeriod"], sp["limit"], sp.get("numberPhases"))
                 for sp in p["chargingSchedulePeriod"]],
        duration=p.get("duration"), start=_opt_time(p.get("startSchedule")),
        min_rate=p.get("minChargingRate"))


def profile_to_wire(prof: c.ChargingProfile) -> dict:
    """csChargingProfiles / chargingProfile (also how the hub's HTTP view shows a profile)."""
    out = {"chargingProfileId": prof.profile_id, "stackLevel": prof.stack_level,
           "chargingProfilePurpose": prof.purpose, "chargingProfileKind": prof.kind}
    _opt(out, "transactionId", prof.transaction_id)
    _opt(out, "recurrencyKind", prof.recurrency)
    _opt(out, "validFrom", prof.valid_from, _fmt)
    _opt(out, "validTo", prof.valid_to, _fmt)
    out["chargingSchedule"] = schedule_to_wire(prof.schedule)
    return out


def profile_from_wire(p: dict) -> c.ChargingProfile:
    return c.ChargingProfile(
        profile_id=p["chargingProfileId"], stack_level=p["stackLevel"],
        purpose=p["chargingProfilePurpose"], kind=p["chargingProfileKind"],
        schedule=schedule_from_wire(p["chargingSchedule"]), transaction_id=p.get("transactionId"),
        recurrency=p.get("recurrencyKind"), valid_from=_opt_time(p.get("validFrom")),
        valid_to=_opt_time(p.get("validTo")))


def _hash_to_wire(h: c.CertificateHash) -> dict:
    return {"hashAlgorithm": h.hash_algorithm, "issuerNameHash": h.issuer_name_hash,
            "issuerKeyHash": h.issuer_key_hash, "serialNumber": h.serial_number}


def _hash_from_wire(p: dict) -> c.CertificateHash:
    return c.CertificateHash(p["hashAlgorithm"], p["issuerNameHash"], p["issuerKeyHash"],
                             p["serialNumber"])


def _retries(out: dict, cmd) -> dict:
    _opt(out, "retries", cmd.retries)
    return _opt(out, "retryInterval", cmd.retry_interval)


# -- encode: abstract command → (action, payload) ------------------------------------------

def _enc_update_firmware(cmd: c.UpdateFirmware) -> tuple[str, dict]:
    if not cmd.signed:
        return "UpdateFirmware", _retries({"location": cmd.location,
                                           "retrieveDate": _fmt(cmd.retrieve_date)}, cmd)
    firmware = {"location": cmd.location, "retrieveDateTime": _fmt(cmd.retrieve_date),
                "signingCertificate": cmd.signing_certificate, "signature": cmd.signature}
    _opt(firmware, "installDateTime", cmd.install_date, _fmt)
    return "SignedUpdateFirmware", _retries({"requestId": cmd.request_id, "firmware": firmware},
                                            cmd)


def _enc_get_log(cmd: c.GetLog) -> tuple[str, dict]:
    log = {"remoteLocation": cmd.location}
    _opt(log, "oldestTimestamp", cmd.oldest, _fmt)
    _opt(log, "latestTimestamp", cmd.latest, _fmt)
    return "GetLog", _retries({"logType": cmd.log_type, "requestId": cmd.request_id, "log": log},
                              cmd)


def _enc_trigger(cmd: c.TriggerMessage) -> tuple[str, dict]:
    action = "TriggerMessage" if cmd.message in _TRIGGERABLE else "ExtendedTriggerMessage"
    return action, _opt({"requestedMessage": cmd.message}, "connectorId", cmd.connector_id)


def _enc_diagnostics(cmd: c.GetDiagnostics) -> tuple[str, dict]:
    out = _retries({"location": cmd.location}, cmd)
    _opt(out, "startTime", cmd.start_time, _fmt)
    return "GetDiagnostics", _opt(out, "stopTime", cmd.stop_time, _fmt)


def _enc_local_list(cmd: c.SendLocalList) -> tuple[str, dict]:
    entries = [_opt({"idTag": e.id_token}, "idTagInfo", e.info, id_tag_info) for e in cmd.entries]
    return "SendLocalList", {"listVersion": cmd.version, "updateType": cmd.update_type.value,
                             "localAuthorizationList": entries}


def _enc_reserve(cmd: c.ReserveNow) -> tuple[str, dict]:
    out = {"connectorId": cmd.connector_id, "expiryDate": _fmt(cmd.expiry_date),
           "idTag": cmd.id_token, "reservationId": cmd.reservation_id}
    return "ReserveNow", _opt(out, "parentIdTag", cmd.parent_id_token)


def _enc_clear_profile(cmd: c.ClearChargingProfile) -> tuple[str, dict]:
    out = _opt({}, "id", cmd.profile_id)
    _opt(out, "connectorId", cmd.connector_id)
    _opt(out, "chargingProfilePurpose", cmd.purpose)
    return "ClearChargingProfile", _opt(out, "stackLevel", cmd.stack_level)


def _enc_remote_start(cmd: c.RemoteStart) -> tuple[str, dict]:
    out = _opt({"idTag": cmd.id_token}, "connectorId", cmd.connector_id)
    return "RemoteStartTransaction", _opt(out, "chargingProfile", cmd.charging_profile,
                                          profile_to_wire)


def _enc_data_transfer(cmd: c.SendDataTransfer) -> tuple[str, dict]:
    out = _opt({"vendorId": cmd.vendor_id}, "messageId", cmd.message_id)
    return "DataTransfer", _opt(out, "data", cmd.data)


_ENCODE: dict[type, Callable[..., tuple[str, dict]]] = {
    c.Reset: lambda x: ("Reset", {"type": x.kind.value}),
    c.ChangeAvailability: lambda x: ("ChangeAvailability", {
        "connectorId": x.connector_id, "type": "Operative" if x.operative else "Inoperative"}),
    c.ChangeConfiguration: lambda x: ("ChangeConfiguration", {"key": x.key, "value": x.value}),
    c.GetConfiguration: lambda x: ("GetConfiguration", {"key": list(x.keys)} if x.keys else {}),
    c.ClearCache: lambda x: ("ClearCache", {}),
    c.RemoteStart: _enc_remote_start,
    c.RemoteStop: lambda x: ("RemoteStopTransaction", {"transactionId": x.transaction_id}),
    c.UnlockConnector: lambda x: ("UnlockConnector", {"connectorId": x.connector_id}),
    c.TriggerMessage: _enc_trigger,
    c.SendDataTransfer: _enc_data_transfer,
    c.ReserveNow: _enc_reserve,
    c.CancelReservation: lambda x: ("CancelReservation", {"reservationId": x.reservation_id}),
    c.SendLocalList: _enc_local_list,
    c.GetLocalListVersion: lambda x: ("GetLocalListVersion", {}),
    c.SetChargingProfile: lambda x: ("SetChargingProfile", {
        "connectorId": x.connector_id, "csChargingProfiles": profile_to_wire(x.profile)}),
    c.ClearChargingProfile: _enc_clear_profile,
    c.GetCompositeSchedule: lambda x: ("GetCompositeSchedule", _opt(
        {"connectorId": x.connector_id, "duration": x.duration}, "chargingRateUnit", x.rate_unit)),
    c.UpdateFirmware: _enc_update_firmware,
    c.GetDiagnostics: _enc_diagnostics,
    c.GetLog: _enc_get_log,
    c.CertificateSigned: lambda x: ("CertificateSigned", {"certificateChain": x.certificate_chain}),
    c.InstallCertificate: lambda x: ("InstallCertificate", {"certificateType": x.kind,
                                                            "certificate": x.certificate}),
    c.DeleteCertificate: lambda x: ("DeleteCertificate", {
        "certificateHashData": _hash_to_wire(x.certificate)}),
    c.GetInstalledCertificates: lambda x: ("GetInstalledCertificateIds",
                                           {"certificateType": x.kind}),
    c.RawCommand: lambda x: (x.action, x.payload),
}


def encode(command: c.Command) -> tuple[str, dict]:
    """The 1.6 action and payload for an abstract command.  TypeError if 1.6 cannot say it."""
    enc = _ENCODE.get(type(command))
    if enc is None:
        raise TypeError(f"OCPP 1.6 has no request for {type(command).__name__}")
    return enc(command)


# -- parse: raw 1.6 request → abstract command ---------------------------------------------

def _parse_signed_firmware(p: dict) -> c.UpdateFirmware:
    fw = p["firmware"]
    return c.UpdateFirmware(fw["location"], _time(fw["retrieveDateTime"]), p.get("retries"),
                            p.get("retryInterval"), p["requestId"],
                            _opt_time(fw.get("installDateTime")), fw["signingCertificate"],
                            fw["signature"])


def _parse_get_log(p: dict) -> c.GetLog:
    log = p["log"]
    return c.GetLog(p["logType"], p["requestId"], log["remoteLocation"],
                    _opt_time(log.get("oldestTimestamp")), _opt_time(log.get("latestTimestamp")),
                    p.get("retries"), p.get("retryInterval"))


def _parse_local_list(p: dict) -> c.SendLocalList:
    return c.SendLocalList(p["listVersion"], c.UpdateType(p["updateType"]), [
        c.LocalListEntry(e["idTag"], _read_id_tag_info(e["idTagInfo"]) if "idTagInfo" in e
                         else None) for e in p.get("localAuthorizationList", [])])


_PARSE: dict[str, Callable[[dict], c.Command]] = {
    "Reset": lambda p: c.Reset(c.ResetKind(p["type"])),
    "ChangeAvailability": lambda p: c.ChangeAvailability(p["connectorId"],
                                                         p["type"] == "Operative"),
    "ChangeConfiguration": lambda p: c.ChangeConfiguration(p["key"], p["value"]),
    "GetConfiguration": lambda p: c.GetConfiguration(list(p.get("key", []))),
    "ClearCache": lambda p: c.ClearCache(),
    "RemoteStartTransaction": lambda p: c.RemoteStart(
        p["idTag"], p.get("connectorId"),
        profile_from_wire(p["chargingProfile"]) if "chargingProfile" in p else None),
    "RemoteStopTransaction": lambda p: c.RemoteStop(p["transactionId"]),
    "UnlockConnector": lambda p: c.UnlockConnector(p["connectorId"]),
    "TriggerMessage": lambda p: c.TriggerMessage(p["requestedMessage"], p.get("connectorId")),
    "ExtendedTriggerMessage": lambda p: c.TriggerMessage(p["requestedMessage"],
                                                         p.get("connectorId")),
    "DataTransfer": lambda p: c.SendDataTransfer(p["vendorId"], p.get("messageId"), p.get("data")),
    "ReserveNow": lambda p: c.ReserveNow(p["reservationId"], p["connectorId"], p["idTag"],
                                         _time(p["expiryDate"]), p.get("parentIdTag")),
    "CancelReservation": lambda p: c.CancelReservation(p["reservationId"]),
    "SendLocalList": _parse_local_list,
    "GetLocalListVersion": lambda p: c.GetLocalListVersion(),
    "SetChargingProfile": lambda p: c.SetChargingProfile(
        p["connectorId"], profile_from_wire(p["csChargingProfiles"])),
    "ClearChargingProfile": lambda p: c.ClearChargingProfile(
        p.get("id"), p.get("connectorId"), p.get("chargingProfilePurpose"), p.get("stackLevel")),
    "GetCompositeSchedule": lambda p: c.GetCompositeSchedule(
        p["connectorId"], p["duration"], p.get("chargingRateUnit")),
    "UpdateFirmware": lambda p: c.UpdateFirmware(p["location"], _time(p["retrieveDate"]),
                                                 p.get("retries"), p.get("retryInterval")),
    "SignedUpdateFirmware": _parse_signed_firmware,
    "GetDiagnostics": lambda p: c.GetDiagnostics(
        p["location"], _opt_time(p.get("startTime")), _opt_time(p.get("stopTime")),
        p.get("retries"), p.get("retryInterval")),
    "GetLog": _parse_get_log,
    "CertificateSigned": lambda p: c.CertificateSigned(p["certificateChain"]),
    "InstallCertificate": lambda p: c.InstallCertificate(p["certificateType"], p["certificate"]),
    "DeleteCertificate": lambda p: c.DeleteCertificate(_hash_from_wire(p["certificateHashData"])),
    "GetInstalledCertificateIds": lambda p: c.GetInstalledCertificates(p["certificateType"]),
}


def parse(action: str, payload) -> c.Command:
    """The abstract command a raw 1.6 request means; RawCommand when there is none (an
    action this module does not know, or a payload it cannot read — the session's schema
    check then tells the sender what is wrong)."""
    reader = _PARSE.get(action)
    if reader is not None and isinstance(payload, dict):
        try:
            return reader(payload)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
    return c.RawCommand(action, payload)


# -- decode: 1.6 reply → abstract result ---------------------------------------------------

def _dec_configuration(reply: dict) -> c.ConfigurationReport:
    return c.ConfigurationReport(
        [c.ConfigurationSetting(k["key"], k["readonly"], k.get("value"))
         for k in reply.get("configurationKey", [])], list(reply.get("unknownKey", [])))


def _dec_composite(reply: dict) -> c.CompositeSchedule:
    sched = reply.get("chargingSchedule")
    return c.CompositeSchedule(c.CommandStatus(reply["status"]), reply.get("connectorId"),
                               _opt_time(reply.get("scheduleStart")),
                               schedule_from_wire(sched) if sched else None)


_DECODE: dict[type, Callable[[dict], c.Result]] = {
    c.ConfigurationReport: _dec_configuration,
    c.LocalListVersion: lambda r: c.LocalListVersion(r["listVersion"]),
    c.CompositeSchedule: _dec_composite,
    c.UploadResult: lambda r: c.UploadResult(_status(r), r.get("fileName", r.get("filename"))),
    c.InstalledCertificates: lambda r: c.InstalledCertificates(
        c.CommandStatus(r["status"]), [_hash_from_wire(h) for h in r.get("certificateHashData", [])]),
    DataTransferResult: lambda r: DataTransferResult(DataTransferStatus(r["status"]), r.get("data")),
    c.Outcome: lambda r: c.Outcome(_status(r)),
    c.RawResult: lambda r: c.RawResult(r),
}


def decode(command: c.Command, reply: dict) -> c.Result:
    """The typed result of `command` from the station's 1.6 reply."""
    return _DECODE[command.RESULT](reply)
