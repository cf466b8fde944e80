"""1.6 registration and status, and the CSMS requests of the Core and Remote Trigger
profiles (answered by calling the station's neutral operations)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...protocol import ErrorCode, OcppError
from ...station.clock import now_iso
from . import names
from .connectors import station_connector, wire_id
from .transactions import id_token

if TYPE_CHECKING:
    from ...station.connector import Connector
    from ...station.options import StationOptions
    from ...station.station import Station


def boot_payload(opts: StationOptions) -> dict:
    payload = {"chargePointVendor": opts.vendor, "chargePointModel": opts.model,
               "firmwareVersion": opts.firmware_version}
    if opts.serial_number:
        payload["chargePointSerialNumber"] = opts.serial_number
    return payload


def status_payload(connector: Connector) -> dict:
    payload = {"connectorId": wire_id(connector), "errorCode": connector.error_code,
               "status": names.STATUS[connector.status], "timestamp": now_iso()}
    if connector.info:
        payload["info"] = connector.info
    return payload


def data_transfer_payload(vendor_id: str, message_id: str | None, data: str | None) -> dict:
    payload = {"vendorId": vendor_id}
    if message_id is not None:
        payload["messageId"] = message_id
    if data is not None:
        payload["data"] = data
    return payload


# -- CSMS requests ---------------------------------------------------------------------------
async def change_availability(st: Station, p: dict) -> dict:
    return {"status": st.change_availability(station_connector(st, p["connectorId"]), p["type"] == "Operative")}


async def change_configuration(st: Station, p: dict) -> dict:
    return {"status": st.change_configuration(p["key"], p["value"])}


async def clear_cache(st: Station, p: dict) -> dict:
    return {"status": "Accepted" if st.clear_cache() else "Rejected"}


async def data_transfer(st: Station, p: dict) -> dict:
    status, data = await st.incoming_data_transfer(p["vendorId"], p.get("messageId"),
                                                   p.get("data"))
    return {"status": status, **({"data": data} if data is not None else {})}


async def get_configuration(st: Station, p: dict) -> dict:
    config = st.config
    keys = p.get("key") or None
    limit = config["GetConfigurationMaxKeys"]
    if keys and len(keys) > limit:
        raise OcppError(ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
                        f"at most {limit} keys per GetConfiguration (GetConfigurationMaxKeys)")
    known, unknown = config.entries(keys)
    reply: dict = {}
    if known:
        reply["configurationKey"] = [  # write-only keys are listed without their value
            {"key": k, "readonly": ro} if config.specs[k].write_only
            else {"key": k, "readonly": ro, "value": v} for k, v, ro in known]
    if unknown:
        reply["unknownKey"] = unknown
    return reply


async def remote_start(st: Station, p: dict) -> dict:
    # A chargingProfile (TxProfile) it cannot apply rejects the start; else it is
    # installed for the transaction the start begins (smart charging).
    from .smart_charging import remote_start_profile
    profile = p.get("chargingProfile")
    parsed = None
    if profile is not None:
        parsed = remote_start_profile(st, profile)
        if parsed is None:
            return {"status": "Rejected"}
    token = id_token(p["idTag"])
    ok = st.remote_start(token, station_connector(st, p.get("connectorId")))
    if ok and parsed is not None:
        st.smart_charging.bind_remote_start(token, parsed)
    return {"status": "Accepted" if ok else "Rejected"}


async def remote_stop(st: Station, p: dict) -> dict:
    tx = st.dialect.csms_transaction(p["transactionId"])   # the CSMS's id -> the station's
    return {"status": "Accepted" if tx is not None and st.remote_stop(tx) else "Rejected"}


async def reset(st: Station, p: dict) -> dict:
    return {"status": "Accepted" if st.request_reset(hard=p["type"] == "Hard") else "Rejected"}


# TriggerMessage's requestedMessage -> the station's trigger
TRIGGERS = {"BootNotification": "boot", "DiagnosticsStatusNotification": "diagnostics_status",
            "FirmwareStatusNotification": "firmware_status", "Heartbeat": "heartbeat",
            "MeterValues": "meter_values", "StatusNotification": "status"}


async def trigger_message(st: Station, p: dict) -> dict:
    message = p["requestedMessage"]   # an unknown one (lenient mode) is NotImplemented
    return {"status": st.trigger(TRIGGERS.get(message, f"?{message}"),
                                 station_connector(st, p.get("connectorId")))}


async def unlock_connector(st: Station, p: dict) -> dict:
    return {"status": await st.unlock(station_connector(st, p["connectorId"]))}


HANDLERS = {
    "ChangeAvailability": change_availability,
    "ChangeConfiguration": change_configuration,
    "ClearCache": clear_cache,
    "DataTransfer": data_transfer,
    "GetConfiguration": get_configuration,
    "RemoteStartTransaction": remote_start,
    "RemoteStopTransaction": remote_stop,
    "Reset": reset,
    "TriggerMessage": trigger_message,
    "UnlockConnector": unlock_connector,
}
