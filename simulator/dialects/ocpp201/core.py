"""2.0.1 provisioning, device model, availability, authorization and remote control: the
CSMS requests of blocks B, C, F, G, H and P, answered by calling the station's neutral
operations (and the device model for Get/SetVariables and the reports)."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ...protocol import ErrorCode, OcppError
from ...station.clock import now_iso, parse_iso
from ...station.local_list import ListEntry, list_version, send_local_list
from ...station.transaction import StopReason
from . import names
from .device_model import READ_ONLY, WRITE_ONLY
from .transactions import id_token, id_token_info

if TYPE_CHECKING:
    from ...station.station import Station


def boot_payload(st: Station, reason: str) -> dict:
    opts = st.options
    cs = {"model": opts.model, "vendorName": opts.vendor, "firmwareVersion": opts.firmware_version}
    if opts.serial_number:
        cs["serialNumber"] = opts.serial_number
    return {"chargingStation": cs, "reason": reason}


def _connector(st: Station, evse: dict | int | None) -> int | None:
    """The station's connector of a 2.0.1 EVSE (one connector each); None: not there."""
    if evse is None:
        return 0
    evse_id = evse["id"] if isinstance(evse, dict) else evse
    connector = evse.get("connectorId", 1) if isinstance(evse, dict) else 1
    if not 0 <= evse_id < len(st.evses) or (evse_id > 0 and connector != 1):
        return None
    return st.evses[evse_id].connectors[0].id if evse_id else 0


# -- B device model ------------------------------------------------------------------------
def value_of(st: Station, var, attr: str = "Actual") -> str:
    """A variable attribute's value: the store's, or for the few that report the station's
    state (availability, power, clock, list size) that state now."""
    if attr == "Actual":
        if var.name in ("AvailabilityState", "Available"):
            c = st.connectors[st.evses[var.evse].connectors[0].id] if var.evse else st.connectors[0]
            if var.name == "Available":
                return "true" if c.operative else "false"
            return names.STATUS[c.status]
        if var.name == "Power" and var.evse:
            c = st.evses[var.evse].connectors[0]
            return f"{c.meter.read().power_w:.0f}"
        if var.component == "ClockCtrlr" and var.name == "DateTime":
            return now_iso()
        if var.component == "LocalAuthListCtrlr" and var.name == "Entries":
            return str(len(st.local_list))
    return st.config.text(var.key(attr))


def _item_result(item: dict, status: str, attr: str, **extra) -> dict:
    return {"attributeStatus": status, "attributeType": attr, "component": item["component"],
            "variable": item["variable"], **extra}


def _limit(st: Station, instance: str, items: list) -> None:
    model = st.dialect.model
    var = model.index[("DeviceDataCtrlr", None, None)][("ItemsPerMessage", instance)]
    limit = st.config[var.key()]
    if len(items) > limit:
        raise OcppError(ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
                        f"at most {limit} items per {instance} "
                        f"(DeviceDataCtrlr.ItemsPerMessage[{instance}])")


async def get_variables(st: Station, p: dict) -> dict:
    items = p["getVariableData"]
    _limit(st, "GetVariables", items)
    out = []
    for item in items:
        attr = item.get("attributeType", "Actual")
        status, var = st.dialect.model.find(item["component"], item["variable"], attr)
        if status != "Accepted":
            out.append(_item_result(item, status, attr))
        elif var.mutability == WRITE_ONLY:
            out.append(_item_result(item, "Rejected", attr))
        else:
            out.append(_item_result(item, "Accepted", attr,
                                    attributeValue=value_of(st, var, attr)))
    return {"getVariableResult": out}


async def set_variables(st: Station, p: dict) -> dict:
    items = p["setVariableData"]
    _limit(st, "SetVariables", items)
    out = []
    for item in items:
        attr = item.get("attributeType", "Actual")
        status, var = st.dialect.model.find(item["component"], item["variable"], attr)
        if status == "Accepted":
            if var.mutability == READ_ONLY:
                status = "Rejected"
            else:   # the store checks type, limits and values list: Rejected / RebootRequired
                status = st.change_configuration(var.key(attr), item["attributeValue"])
                if status not in ("Accepted", "Rejected", "RebootRequired"):
                    status = "Rejected"
        out.append(_item_result(item, status, attr))
    return {"setVariableResult": out}


def _report_item(st: Station, var) -> dict:
    attrs = []
    for attr, _ in var.attributes:
        a: dict = {"type": attr, "mutability": var.mutability, "persistent": True,
                   "constant": var.mutability == READ_ONLY}
        if var.mutability != WRITE_ONLY:
            a["value"] = value_of(st, var, attr)
        attrs.append(a)
    return {"component": var.component_payload(), "variable": var.variable_payload(),
            "variableAttribute": attrs, "variableCharacteristics": var.characteristics()}


def _start_report(st: Station, request_id: int, variables: list) -> str:
    if not variables:
        return "EmptyResultSet"
    model = st.dialect.model
    per = st.config[model.index[("DeviceDataCtrlr", None, None)][
        ("ItemsPerMessage", "GetReport")].key()]

    async def send():
        parts = [variables[i:i + per] for i in range(0, len(variables), per)]
        generated = now_iso()
        for n, part in enumerate(parts):
            payload = {"requestId": request_id, "generatedAt": generated, "seqNo": n,
                       "tbc": n < len(parts) - 1,
                       "reportData": [_report_item(st, v) for v in part]}
            await st.dialect.link.call("NotifyReport", payload)
        st.events.emit("report_sent", f"NotifyReport {request_id}: {len(variables)} "
                                      f"variables in {len(parts)} parts")
    st.tasks.after_reply(send, f"report-{request_id}")
    return "Accepted"


async def get_base_report(st: Station, p: dict) -> dict:
    variables = list(st.dialect.model.variables)
    if p["reportBase"] == "ConfigurationInventory":
        variables = [v for v in variables if v.mutability != READ_ONLY]
    elif p["reportBase"] == "SummaryInventory":
        variables = [v for v in variables if v.name in ("AvailabilityState", "Available")]
    return {"status": _start_report(st, p["requestId"], variables)}


async def get_report(st: Station, p: dict) -> dict:
    wanted = p.get("componentVariable")
    variables = list(st.dialect.model.variables)
    if wanted:
        picked = []
        for cv in wanted:
            comp, var = cv["component"], cv.get("variable")
            evse = comp.get("evse") or {}
            for v in variables:
                if v.component != comp["name"] or comp.get("instance"):
                    continue
                if "id" in evse and (v.evse != evse["id"] or v.connector != evse.get("connectorId", v.connector)):
                    continue
                if var and (v.name != var["name"] or v.instance != var.get("instance", v.instance)):
                    continue
                if v not in picked:
                    picked.append(v)
        variables = picked
    criteria = p.get("componentCriteria")
    if criteria:   # components whose Active / Available / Enabled / Problem variable is true
        chosen = {v.component_key for v in st.dialect.model.variables
                  if v.name in criteria and v.data_type == "boolean"
                  and value_of(st, v) == "true"}
        variables = [v for v in variables if v.component_key in chosen]
    return {"status": _start_report(st, p["requestId"], variables)}


# -- B reset ---------------------------------------------------------------------------------
async def reset(st: Station, p: dict) -> dict:
    if p.get("evseId") is not None:
        return _reset_evse(st, p["evseId"], p["type"])
    if p["type"] == "Immediate":
        ok = st.request_reset(hard=True)
        if ok:
            st.dialect.boot_reason = "RemoteReset"
        return {"status": "Accepted" if ok else "Rejected"}
    if any(c.transaction is not None for c in st.connectors[1:]):
        st.dialect.reset_when_idle()
        return {"status": "Scheduled"}
    ok = st.request_reset(hard=False)
    if ok:
        st.dialect.boot_reason = "RemoteReset"
    return {"status": "Accepted" if ok else "Rejected"}


def _reset_evse(st: Station, evse_id: int, kind: str) -> dict:
    """Reset of one EVSE (B11/B12): Immediate stops its transaction (ImmediateReset); the
    station's link and the other EVSEs go on.  OnIdle of an EVSE in use is not offered."""
    c = _connector(st, evse_id)
    if not c:
        return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}
    tx = st.connectors[c].transaction
    if tx is None:
        st.events.emit("evse_reset", f"EVSE {evse_id} reset ({kind}), idle", c)
        return {"status": "Accepted"}
    if kind != "Immediate":
        return {"status": "Rejected", "statusInfo": {
            "reasonCode": "TxInProgress",
            "additionalInfo": "OnIdle of one EVSE waits for nobody here: reset it Immediate"}}

    async def stop():
        await st.stop_transaction(c, StopReason.HARD_RESET)
    st.tasks.after_reply(stop, f"reset-evse-{evse_id}")
    return {"status": "Accepted"}


# -- G availability ----------------------------------------------------------------------------
async def change_availability(st: Station, p: dict) -> dict:
    c = _connector(st, p.get("evse"))
    if c is None:
        return {"status": "Rejected"}
    return {"status": st.change_availability(c, p["operationalStatus"] == "Operative")}


# -- C authorization -------------------------------------------------------------------------
async def clear_cache(st: Station, p: dict) -> dict:
    return {"status": "Accepted" if st.clear_cache() else "Rejected"}


async def send_local_list_(st: Station, p: dict) -> dict:
    entries = [ListEntry(id_token(e["idToken"]), id_token_info(e.get("idTokenInfo")))
               for e in p.get("localAuthorizationList") or []]
    status = send_local_list(st, p["updateType"], p["versionNumber"], entries)
    return {"status": status if status in ("Accepted", "VersionMismatch") else "Failed"}


async def get_local_list_version(st: Station, p: dict) -> dict:
    return {"versionNumber": list_version(st)}


# -- F remote control ------------------------------------------------------------------------
async def request_start(st: Station, p: dict) -> dict:
    c = _connector(st, p.get("evseId"))
    if c is None or (p.get("evseId") == 0):
        return {"status": "Rejected"}
    token = id_token(p["idToken"])
    if p.get("chargingProfile") is not None:
        from .smart_charging import remote_start_profile
        parsed = remote_start_profile(st, p["chargingProfile"])
        if parsed is None:
            return {"status": "Rejected"}
    else:
        parsed = None
    before = {x.id: x.pending_start for x in st.connectors[1:]}
    ok = st.remote_start(token, c or None)
    if not ok:
        return {"status": "Rejected"}
    claimed = next((x for x in st.connectors[1:]
                    if x.pending_start is not None and x.pending_start is not before[x.id]), None)
    if claimed is not None:
        st.dialect.events.remote_starts[claimed.id] = p["remoteStartId"]
    if parsed is not None:
        st.smart_charging.bind_remote_start(token, parsed)
    return {"status": "Accepted"}


async def request_stop(st: Station, p: dict) -> dict:
    tx = p["transactionId"]   # the station's own id is the 2.0.1 transactionId
    return {"status": "Accepted" if st.transaction(tx) is not None and st.remote_stop(tx)
            else "Rejected"}


async def unlock_connector(st: Station, p: dict) -> dict:
    c = _connector(st, {"id": p["evseId"], "connectorId": p["connectorId"]})
    if not c:
        return {"status": "UnknownConnector"}
    if st.connectors[c].transaction is not None:
        return {"status": "OngoingAuthorizedTransaction"}
    status = await st.unlock(c)
    return {"status": "Unlocked" if status == "Unlocked" else "UnlockFailed"}


async def get_transaction_status(st: Station, p: dict) -> dict:
    """E14: whether the transaction still runs, and whether its events (or any) wait."""
    events = st.dialect.events
    tx = p.get("transactionId")
    if tx is None:
        return {"messagesInQueue": events.any_waiting()}
    return {"ongoingIndicator": st.transaction(tx) is not None,
            "messagesInQueue": events.waiting(tx)}


# TriggerMessage's requestedMessage -> the station's trigger
TRIGGERS = {"BootNotification": "boot", "FirmwareStatusNotification": "firmware_status",
            "Heartbeat": "heartbeat", "MeterValues": "meter_values",
            "TransactionEvent": "meter_values", "StatusNotification": "status"}
# ... and those the station's security part sends (their current status, a new CSR)
EXTENDED = {"LogStatusNotification": "log_status",
            "SignChargingStationCertificate": "sign_certificate"}


async def trigger_message(st: Station, p: dict) -> dict:
    message = p["requestedMessage"]
    evse = p.get("evse")
    c = _connector(st, evse) if evse is not None else None
    if evse is not None and c is None:
        return {"status": "Rejected"}
    if message == "TransactionEvent":
        targets = [st.connectors[c]] if c else st.connectors[1:]
        if not any(x.transaction is not None for x in targets):
            return {"status": "Rejected"}
    if message == "BootNotification":
        if st.registration is not None and str(st.registration) == "accepted":
            return {"status": "Rejected"}   # 2.0.1 F06.FR.17: already accepted
        st.dialect.boot_reason = "Triggered"
    if message == "StatusNotification":
        st.dialect.forget_status(c)
    if message in EXTENDED:
        return {"status": st.security.extended_trigger(EXTENDED[message], None)}
    name = TRIGGERS.get(message)
    if name is None:
        return {"status": "NotImplemented"}
    return {"status": st.trigger(name, c)}


# -- P data transfer -------------------------------------------------------------------------
async def data_transfer(st: Station, p: dict) -> dict:
    data = p.get("data")
    if data is not None and not isinstance(data, str):
        data = json.dumps(data)
    status, reply = await st.incoming_data_transfer(p["vendorId"], p.get("messageId"), data)
    return {"status": status, **({"data": reply} if reply is not None else {})}


# -- H reservation ---------------------------------------------------------------------------
async def reserve_now(st: Station, p: dict) -> dict:
    c = _connector(st, p.get("evseId"))
    if c is None:
        return {"status": "Rejected"}
    kind = p.get("connectorType")
    if kind is not None and kind not in ("cType2", "Unknown"):
        return {"status": "Rejected", "statusInfo": {
            "reasonCode": "InvalidConnectorType", "additionalInfo": f"no {kind} connector"}}
    group = p.get("groupIdToken")
    return {"status": st.reservations.reserve(
        c, id_token(p["idToken"]), parse_iso(p["expiryDateTime"]), p["id"],
        group["idToken"] if group else None)}


async def cancel_reservation(st: Station, p: dict) -> dict:
    return {"status": "Accepted" if st.reservations.cancel(p["reservationId"]) else "Rejected"}


HANDLERS = {
    "GetVariables": get_variables, "SetVariables": set_variables,
    "GetBaseReport": get_base_report, "GetReport": get_report,
    "Reset": reset, "ChangeAvailability": change_availability,
    "ClearCache": clear_cache, "SendLocalList": send_local_list_,
    "GetLocalListVersion": get_local_list_version,
    "RequestStartTransaction": request_start, "RequestStopTransaction": request_stop,
    "GetTransactionStatus": get_transaction_status,
    "UnlockConnector": unlock_connector, "TriggerMessage": trigger_message,
    "DataTransfer": data_transfer, "ReserveNow": reserve_now,
    "CancelReservation": cancel_reservation,
}
