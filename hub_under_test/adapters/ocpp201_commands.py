"""OCPP 2.0.1: abstract commands ⇄ CSMS-initiated 2.0.1 CALLs (the twin of `ocpp16_commands`).

- `encode(command, remote_id)` → (action, payload): what the hub sends for an abstract
  command; `remote_id` turns a hub transaction id into the station's 2.0.1 transactionId;
- `decode(command, reply)` → the command's typed result, from the station's 2.0.1 reply;
- `parse(action, payload, hub_id)` → the abstract command a raw 2.0.1 request means (the HTTP
  command API takes raw 2.0.1 payloads); one this module cannot read, or one that says more
  than its abstract form can (a Reset of one EVSE, a GetReport, ...), is a `RawCommand`.

Version-neutral names meet 2.0.1 here: the abstract `connector_id` is the 2.0.1 EVSE id (0:
the whole station), as the adapter maps StatusNotification; Reset Hard / Soft are Immediate /
OnIdle; 1.6's profile purpose ChargePointMaxProfile is ChargingStationMaxProfile; tokens the
hub sends are of type Central unless the command names a type.  1.6-only commands
(Get/ChangeConfiguration, GetDiagnostics) have no 2.0.1 request: encode raises TypeError.
"""
from __future__ import annotations

import itertools
from typing import Callable

from .. import commands as c
from ..messages import AuthorizationStatus, DataTransferResult, DataTransferStatus, IdTokenInfo
from ..messages import format_time as _fmt
from ..messages import parse_time as _time

RemoteIds = Callable[[int], "str | None"]    # hub transaction id → the station's transactionId
HubIds = Callable[[str], "int | None"]       # the station's transactionId → hub transaction id

_PURPOSE_OUT = {"ChargePointMaxProfile": "ChargingStationMaxProfile"}
_PURPOSE_IN = {v: k for k, v in _PURPOSE_OUT.items()}
_CERT_OUT = {"CentralSystemRootCertificate": "CSMSRootCertificate"}
_CERT_IN = {v: k for k, v in _CERT_OUT.items()}
_TRIGGER_OUT = {"DiagnosticsStatusNotification": "LogStatusNotification",
                "SignChargePointCertificate": "SignChargingStationCertificate"}
_TRIGGER_IN = {v: k for k, v in _TRIGGER_OUT.items()}
_RESET_OUT = {c.ResetKind.HARD: "Immediate", c.ResetKind.SOFT: "OnIdle"}
_RESET_IN = {v: k for k, v in _RESET_OUT.items()}
CENTRAL = "Central"

_remote_start_ids = itertools.count(1)


def _opt(out: dict, key: str, value, conv: Callable = lambda v: v) -> dict:
    if value is not None:
        out[key] = conv(value)
    return out


def _opt_time(value):
    return _time(value) if value is not None else None


def _status(reply: dict) -> c.CommandStatus | None:
    return c.CommandStatus(reply["status"]) if "status" in reply else None


# -- shared structures ----------------------------------------------------------------------

def id_token(value: str, kind: str | None = None) -> dict:
    return {"idToken": value, "type": kind or CENTRAL}


def id_token_info(info: IdTokenInfo) -> dict:
    """IdTokenInfoType: the abstract statuses are all 2.0.1 statuses (Unknown included)."""
    out = {"status": info.status.value}
    _opt(out, "cacheExpiryDateTime", info.expiry_date, _fmt)
    if info.parent_id_token:
        out["groupIdToken"] = id_token(info.parent_id_token)
    return out


def read_id_token_info(p: dict) -> IdTokenInfo:
    group = p.get("groupIdToken")
    return IdTokenInfo(AuthorizationStatus(p["status"]), _opt_time(p.get("cacheExpiryDateTime")),
                       group["idToken"] if group else None)


def schedule_to_wire(s: c.ChargingSchedule, schedule_id: int) -> dict:
    periods = [_opt({"startPeriod": p.start, "limit": p.limit}, "numberPhases", p.phases)
               for p in s.periods]
    out = {"id": schedule_id, "chargingRateUnit": s.rate_unit, "chargingSchedulePeriod": periods}
    _opt(out, "duration", s.duration)
    _opt(out, "startSchedule", s.start, _fmt)
    return _opt(out, "minChargingRate", s.min_rate)


def _periods(p: list[dict]) -> list[c.SchedulePeriod]:
    return [c.SchedulePeriod(sp["startPeriod"], sp["limit"], sp.get("numberPhases")) for sp in p]


def schedule_from_wire(p: dict) -> c.ChargingSchedule:
    return c.ChargingSchedule(p["chargingRateUnit"], _periods(p["chargingSchedulePeriod"]),
                              p.get("duration"), _opt_time(p.get("startSchedule")),
                              p.get("minChargingRate"))


def profile_to_wire(prof: c.ChargingProfile, remote_id: RemoteIds | None = None) -> dict:
    out = {"id": prof.profile_id, "stackLevel": prof.stack_level,
           "chargingProfilePurpose": _PURPOSE_OUT.get(prof.purpose, prof.purpose),
           "chargingProfileKind": prof.kind,
           "chargingSchedule": [schedule_to_wire(prof.schedule, prof.profile_id)]}
    if prof.transaction_id is not None:
        out["transactionId"] = (remote_id and remote_id(prof.transaction_id)) or str(prof.transaction_id)
    _opt(out, "recurrencyKind", prof.recurrency)
    _opt(out, "validFrom", prof.valid_from, _fmt)
    return _opt(out, "validTo", prof.valid_to, _fmt)


def profile_from_wire(p: dict, hub_id: HubIds | None = None) -> c.ChargingProfile:
    """A 2.0.1 profile as the abstract one (its first schedule: the abstract profile has one)."""
    tx = p.get("transactionId")
    tx_id = None
    if tx is not None:
        tx_id = hub_id(tx) if hub_id else None
        if tx_id is None and tx.isdigit():
            tx_id = int(tx)
    return c.ChargingProfile(
        profile_id=p["id"], stack_level=p["stackLevel"],
        purpose=_PURPOSE_IN.get(p["chargingProfilePurpose"], p["chargingProfilePurpose"]),
        kind=p["chargingProfileKind"], schedule=schedule_from_wire(p["chargingSchedule"][0]),
        transaction_id=tx_id, recurrency=p.get("recurrencyKind"),
        valid_from=_opt_time(p.get("validFrom")), valid_to=_opt_time(p.get("validTo")))


def _hash_to_wire(h: c.CertificateHash) -> dict:
    return {"hashAlgorithm": h.hash_algorithm, "issuerNameHash": h.issuer_name_hash,
            "issuerKeyHash": h.issuer_key_hash, "serialNumber": h.serial_number}


def _hash_from_wire(p: dict) -> c.CertificateHash:
    return c.CertificateHash(p["hashAlgorithm"], p["issuerNameHash"], p["issuerKeyHash"],
                             p["serialNumber"])


def component_to_wire(v: c.VariableRef) -> tuple[dict, dict]:
    component = _opt({"name": v.component}, "instance", v.component_instance)
    if v.evse_id is not None:
        component["evse"] = _opt({"id": v.evse_id}, "connectorId", v.connector_id)
    return component, _opt({"name": v.variable}, "instance", v.variable_instance)


def variable_from_wire(item: dict) -> c.VariableRef:
    comp, var = item["component"], item["variable"]
    evse = comp.get("evse") or {}
    return c.VariableRef(comp["name"], var["name"], comp.get("instance"), var.get("instance"),
                         evse.get("id"), evse.get("connectorId"), item.get("attributeType"))


def _var_to_wire(v: c.VariableRef) -> dict:
    component, variable = component_to_wire(v)
    return _opt({"component": component, "variable": variable}, "attributeType", v.attribute_type)


def _evse(connector_id: int | None) -> dict:
    return {} if not connector_id else {"evse": {"id": connector_id}}


def _retries(out: dict, cmd) -> dict:
    _opt(out, "retries", cmd.retries)
    return _opt(out, "retryInterval", cmd.retry_interval)


# -- encode ---------------------------------------------------------------------------------

def _enc_remote_start(cmd: c.RemoteStart, remote_id: RemoteIds | None) -> tuple[str, dict]:
    rsid = cmd.remote_start_id if cmd.remote_start_id is not None else next(_remote_start_ids)
    out = {"idToken": id_token(cmd.id_token, cmd.token_type), "remoteStartId": rsid}
    _opt(out, "evseId", cmd.connector_id or None)
    if cmd.charging_profile is not None:
        out["chargingProfile"] = profile_to_wire(cmd.charging_profile, remote_id)
    return "RequestStartTransaction", out


def _enc_remote_stop(cmd: c.RemoteStop, remote_id: RemoteIds | None) -> tuple[str, dict]:
    tx = (remote_id and remote_id(cmd.transaction_id)) or str(cmd.transaction_id)
    return "RequestStopTransaction", {"transactionId": tx}


def _enc_firmware(cmd: c.UpdateFirmware, _) -> tuple[str, dict]:
    firmware = {"location": cmd.location, "retrieveDateTime": _fmt(cmd.retrieve_date)}
    _opt(firmware, "installDateTime", cmd.install_date, _fmt)
    _opt(firmware, "signingCertificate", cmd.signing_certificate)
    _opt(firmware, "signature", cmd.signature)
    request_id = cmd.request_id if cmd.request_id is not None else next(_remote_start_ids)
    return "UpdateFirmware", _retries({"requestId": request_id, "firmware": firmware}, cmd)


def _enc_get_log(cmd: c.GetLog, _) -> tuple[str, dict]:
    log = {"remoteLocation": cmd.location}
    _opt(log, "oldestTimestamp", cmd.oldest, _fmt)
    _opt(log, "latestTimestamp", cmd.latest, _fmt)
    return "GetLog", _retries({"logType": cmd.log_type, "requestId": cmd.request_id, "log": log},
                              cmd)


def _enc_reserve(cmd: c.ReserveNow, _) -> tuple[str, dict]:
    out = {"id": cmd.reservation_id, "expiryDateTime": _fmt(cmd.expiry_date),
           "idToken": id_token(cmd.id_token)}
    _opt(out, "evseId", cmd.connector_id or None)
    return "ReserveNow", _opt(out, "groupIdToken", cmd.parent_id_token, id_token)


def _enc_local_list(cmd: c.SendLocalList, _) -> tuple[str, dict]:
    entries = [_opt({"idToken": id_token(e.id_token)}, "idTokenInfo", e.info, id_token_info)
               for e in cmd.entries]
    out = {"versionNumber": cmd.version, "updateType": cmd.update_type.value}
    if entries:
        out["localAuthorizationList"] = entries
    return "SendLocalList", out


def _enc_clear_profile(cmd: c.ClearChargingProfile, _) -> tuple[str, dict]:
    criteria = _opt({}, "evseId", cmd.connector_id)
    _opt(criteria, "chargingProfilePurpose", cmd.purpose, lambda p: _PURPOSE_OUT.get(p, p))
    _opt(criteria, "stackLevel", cmd.stack_level)
    out = _opt({}, "chargingProfileId", cmd.profile_id)
    if criteria:
        out["chargingProfileCriteria"] = criteria
    return "ClearChargingProfile", out


def _enc_trigger(cmd: c.TriggerMessage, _) -> tuple[str, dict]:
    out = {"requestedMessage": _TRIGGER_OUT.get(cmd.message, cmd.message)}
    return "TriggerMessage", {**out, **_evse(cmd.connector_id)}


def _enc_data_transfer(cmd: c.SendDataTransfer, _) -> tuple[str, dict]:
    out = _opt({"vendorId": cmd.vendor_id}, "messageId", cmd.message_id)
    return "DataTransfer", _opt(out, "data", cmd.data)


_ENCODE: dict[type, Callable[..., tuple[str, dict]]] = {
    c.Reset: lambda x, _: ("Reset", {"type": _RESET_OUT[x.kind]}),
    c.ChangeAvailability: lambda x, _: ("ChangeAvailability", {
        "operationalStatus": "Operative" if x.operative else "Inoperative", **_evse(x.connector_id)}),
    c.ClearCache: lambda x, _: ("ClearCache", {}),
    c.RemoteStart: _enc_remote_start,
    c.RemoteStop: _enc_remote_stop,
    c.UnlockConnector: lambda x, _: ("UnlockConnector", {"evseId": x.connector_id,
                                                         "connectorId": 1}),
    c.TriggerMessage: _enc_trigger,
    c.SendDataTransfer: _enc_data_transfer,
    c.ReserveNow: _enc_reserve,
    c.CancelReservation: lambda x, _: ("CancelReservation", {"reservationId": x.reservation_id}),
    c.SendLocalList: _enc_local_list,
    c.GetLocalListVersion: lambda x, _: ("GetLocalListVersion", {}),
    c.SetChargingProfile: lambda x, ids: ("SetChargingProfile", {
        "evseId": x.connector_id, "chargingProfile": profile_to_wire(x.profile, ids)}),
    c.ClearChargingProfile: _enc_clear_profile,
    c.GetCompositeSchedule: lambda x, _: ("GetCompositeSchedule", _opt(
        {"duration": x.duration, "evseId": x.connector_id}, "chargingRateUnit", x.rate_unit)),
    c.UpdateFirmware: _enc_firmware,
    c.GetLog: _enc_get_log,
    c.CertificateSigned: lambda x, _: ("CertificateSigned", {"certificateChain": x.certificate_chain}),
    c.InstallCertificate: lambda x, _: ("InstallCertificate", {
        "certificateType": _CERT_OUT.get(x.kind, x.kind), "certificate": x.certificate}),
    c.DeleteCertificate: lambda x, _: ("DeleteCertificate", {
        "certificateHashData": _hash_to_wire(x.certificate)}),
    c.GetInstalledCertificates: lambda x, _: ("GetInstalledCertificateIds", {
        "certificateType": [_CERT_OUT.get(x.kind, x.kind)]}),
    c.GetVariables: lambda x, _: ("GetVariables", {
        "getVariableData": [_var_to_wire(v) for v in x.variables]}),
    c.SetVariables: lambda x, _: ("SetVariables", {
        "setVariableData": [{**_var_to_wire(s.variable), "attributeValue": s.value}
                            for s in x.settings]}),
    c.RawCommand: lambda x, _: (x.action, x.payload),
}


def encode(command: c.Command, remote_id: RemoteIds | None = None) -> tuple[str, dict]:
    """The 2.0.1 action and payload for an abstract command.  TypeError if 2.0.1 cannot say
    it (the 1.6 configuration keys are 2.0.1 variables: GetVariables / SetVariables)."""
    enc = _ENCODE.get(type(command))
    if enc is None:
        raise TypeError(f"OCPP 2.0.1 has no request for {type(command).__name__}")
    return enc(command, remote_id)


# -- parse ----------------------------------------------------------------------------------

def _only(p: dict, *keys: str) -> dict:
    """A request saying more than its abstract form can is kept raw (ValueError)."""
    extra = set(p) - set(keys) - {"customData"}
    if extra:
        raise ValueError(f"fields {sorted(extra)} have no abstract form")
    return p


def _evse_id(p: dict) -> int:
    evse = p.get("evse")
    if evse and evse.get("connectorId") not in (None, 1):
        raise ValueError("a connector of a multi-connector EVSE has no abstract form")
    return evse["id"] if evse else 0


def _parse_remote_start(p: dict, hub_id) -> c.RemoteStart:
    _only(p, "idToken", "remoteStartId", "evseId", "chargingProfile")
    profile = p.get("chargingProfile")
    return c.RemoteStart(p["idToken"]["idToken"], p.get("evseId"),
                         profile_from_wire(profile, hub_id) if profile else None,
                         p["remoteStartId"], p["idToken"]["type"])


def _parse_remote_stop(p: dict, hub_id) -> c.RemoteStop:
    tx = hub_id(p["transactionId"]) if hub_id else None
    if tx is None:
        raise ValueError("a transaction the hub does not know")
    return c.RemoteStop(tx)


def _parse_firmware(p: dict, _) -> c.UpdateFirmware:
    fw = p["firmware"]
    return c.UpdateFirmware(fw["location"], _time(fw["retrieveDateTime"]), p.get("retries"),
                            p.get("retryInterval"), p["requestId"],
                            _opt_time(fw.get("installDateTime")), fw.get("signingCertificate"),
                            fw.get("signature"))


def _parse_get_log(p: dict, _) -> c.GetLog:
    log = p["log"]
    return c.GetLog(p["logType"], p["requestId"], log["remoteLocation"],
                    _opt_time(log.get("oldestTimestamp")), _opt_time(log.get("latestTimestamp")),
                    p.get("retries"), p.get("retryInterval"))


def _parse_local_list(p: dict, _) -> c.SendLocalList:
    return c.SendLocalList(p["versionNumber"], c.UpdateType(p["updateType"]), [
        c.LocalListEntry(e["idToken"]["idToken"],
                         read_id_token_info(e["idTokenInfo"]) if "idTokenInfo" in e else None)
        for e in p.get("localAuthorizationList", [])])


def _parse_reserve(p: dict, _) -> c.ReserveNow:
    _only(p, "id", "expiryDateTime", "idToken", "evseId", "groupIdToken")
    group = p.get("groupIdToken")
    return c.ReserveNow(p["id"], p.get("evseId", 0), p["idToken"]["idToken"],
                        _time(p["expiryDateTime"]), group["idToken"] if group else None)


def _parse_clear_profile(p: dict, _) -> c.ClearChargingProfile:
    crit = p.get("chargingProfileCriteria", {})
    purpose = crit.get("chargingProfilePurpose")
    return c.ClearChargingProfile(p.get("chargingProfileId"), crit.get("evseId"),
                                  _PURPOSE_IN.get(purpose, purpose), crit.get("stackLevel"))


def _parse_installed(p: dict, _) -> c.GetInstalledCertificates:
    kinds = p.get("certificateType", [])
    if len(kinds) != 1:
        raise ValueError("the abstract command asks for one certificate type")
    return c.GetInstalledCertificates(_CERT_IN.get(kinds[0], kinds[0]))


_PARSE: dict[str, Callable[[dict, HubIds | None], c.Command]] = {
    "Reset": lambda p, _: c.Reset(_RESET_IN[_only(p, "type")["type"]]),
    "ChangeAvailability": lambda p, _: c.ChangeAvailability(
        _evse_id(p), p["operationalStatus"] == "Operative"),
    "ClearCache": lambda p, _: c.ClearCache(),
    "RequestStartTransaction": _parse_remote_start,
    "RequestStopTransaction": _parse_remote_stop,
    "UnlockConnector": lambda p, _: c.UnlockConnector(p["evseId"]) if p["connectorId"] == 1
    else c.RawCommand("UnlockConnector", p),
    "TriggerMessage": lambda p, _: c.TriggerMessage(
        _TRIGGER_IN.get(p["requestedMessage"], p["requestedMessage"]), _evse_id(p) or None),
    "DataTransfer": lambda p, _: c.SendDataTransfer(p["vendorId"], p.get("messageId"), p.get("data")),
    "ReserveNow": _parse_reserve,
    "CancelReservation": lambda p, _: c.CancelReservation(p["reservationId"]),
    "SendLocalList": _parse_local_list,
    "GetLocalListVersion": lambda p, _: c.GetLocalListVersion(),
    "SetChargingProfile": lambda p, ids: c.SetChargingProfile(
        p["evseId"], profile_from_wire(p["chargingProfile"], ids)),
    "ClearChargingProfile": _parse_clear_profile,
    "GetCompositeSchedule": lambda p, _: c.GetCompositeSchedule(
        p["evseId"], p["duration"], p.get("chargingRateUnit")),
    "UpdateFirmware": _parse_firmware,
    "GetLog": _parse_get_log,
    "CertificateSigned": lambda p, _: c.CertificateSigned(
        _only(p, "certificateChain")["certificateChain"]),
    "InstallCertificate": lambda p, _: c.InstallCertificate(
        _CERT_IN.get(p["certificateType"], p["certificateType"]), p["certificate"]),
    "DeleteCertificate": lambda p, _: c.DeleteCertificate(_hash_from_wire(p["certificateHashData"])),
    "GetInstalledCertificateIds": _parse_installed,
    "GetVariables": lambda p, _: c.GetVariables([variable_from_wire(v)
                                                 for v in p["getVariableData"]]),
    "SetVariables": lambda p, _: c.SetVariables([
        c.VariableSetting(variable_from_wire(v), v["attributeValue"]) for v in p["setVariableData"]]),
}


def parse(action: str, payload, hub_id: HubIds | None = None) -> c.Command:
    """The abstract command a raw 2.0.1 request means; RawCommand when there is none."""
    reader = _PARSE.get(action)
    if reader is not None and isinstance(payload, dict):
        try:
            return reader(payload, hub_id)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            pass
    return c.RawCommand(action, payload)


# -- decode ---------------------------------------------------------------------------------

def _dec_composite(r: dict) -> c.CompositeSchedule:
    s = r.get("schedule")
    schedule = None if s is None else c.ChargingSchedule(
        s["chargingRateUnit"], _periods(s["chargingSchedulePeriod"]), s.get("duration"),
        _opt_time(s.get("scheduleStart")))
    return c.CompositeSchedule(c.CommandStatus(r["status"]), s and s.get("evseId"),
                               s and _opt_time(s.get("scheduleStart")), schedule)


def _dec_variables(r: dict) -> c.VariableReport:
    items = r.get("getVariableResult", r.get("setVariableResult", []))
    return c.VariableReport([
        c.VariableResult(variable_from_wire(i), i["attributeStatus"], i.get("attributeValue"),
                         (i.get("attributeStatusInfo") or {}).get("reasonCode")) for i in items])


_DECODE: dict[type, Callable[[dict], c.Result]] = {
    c.LocalListVersion: lambda r: c.LocalListVersion(r["versionNumber"]),
    c.CompositeSchedule: _dec_composite,
    c.UploadResult: lambda r: c.UploadResult(_status(r), r.get("filename")),
    c.InstalledCertificates: lambda r: c.InstalledCertificates(
        c.CommandStatus(r["status"]),
        [_hash_from_wire(h["certificateHashData"]) for h in r.get("certificateHashDataChain", [])]),
    c.VariableReport: _dec_variables,
    DataTransferResult: lambda r: DataTransferResult(DataTransferStatus(r["status"]), r.get("data")),
    c.Outcome: lambda r: c.Outcome(_status(r)),
    c.RawResult: lambda r: c.RawResult(r),
}


def decode(command: c.Command, reply: dict) -> c.Result:
    """The typed result of `command` from the station's 2.0.1 reply."""
    return _DECODE[command.RESULT](reply)
