"""OCPP-J 2.0.1: translate station-initiated 2.0.1 payloads ⇄ abstract hub messages.

Payloads arrive validated (in lenient mode: repaired) by the session against the 2.0.1
schemas; a 1.6 action on a 2.0.1 connection (StartTransaction, ...) never gets here: the
session answers it CALLERROR NotImplemented, and a schema violation FormatViolation,
OccurrenceConstraintViolation, PropertyConstraintViolation or TypeConstraintViolation.

Mapping onto the version-neutral hub: the abstract `connector_id` is the 2.0.1 EVSE id
(0: the station); an IdToken is its value (with its type on Authorize); a groupIdToken is the
parent tag.  Provisioning follows the same policy as 1.6 (BootNotification Accepted /
Pending / Rejected); while a station's last answer is Pending or Rejected, anything but
BootNotification is answered CALLERROR SecurityError (use cases B02 / B03 of the spec).

Transactions: the station names them (`transactionId`, a string).  Started becomes the
hub's TransactionStart (the core `transactions` row, with the hub's integer id), Updated
its meter values (`transaction.updated` is published), Ended its TransactionStop; the link
between the two ids, the last seqNo and every event (seqNo, triggerReason, the offline flag,
chargingState, stoppedReason, the token) are kept in `store.v201`.  Bad input the spec wants
accepted is accepted and flagged (`tx_events.flags`, `transactions.flags`, the log): a seqNo
gap or repeat, an Updated / Ended for a transaction the hub never saw started (the hub
records it from that event).  A token presented after the start (TxStartPoint EVConnected)
is recorded on the transaction.

Reports (NotifyReport, NotifyEvent, ReportChargingProfiles, NotifyChargingLimit, ...) are
stored (`store.v201.notices`; NotifyReport and NotifyEvent also update the reported device
model, `store.v201.device_variables`) and published as `station.report`.

CSMS-initiated: abstract commands ⇄ 2.0.1 CALLs via `ocpp201_commands`.
"""
from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import ClassVar

from simulator.protocol import V201, ErrorCode, OcppError

from ..commands import Command, GetVariables, Result, VariableReport
from ..manager import Manager
from ..messages import (AuthorizationStatus, AuthorizeRequest, CertificateSigningRequest,
                        ConnectorStatus, DataTransfer, DiagnosticsStatusChange,
                        FirmwareStatusChange, Heartbeat, IdTokenInfo, Implausible,
                        MeterReading, MeterSample, SecurityEvent, StationBoot, StationReport,
                        StatusChange, TransactionStart, TransactionStop, TransactionUpdated,
                        format_time, parse_time, utcnow)
from . import ocpp201_commands as wire
from .ocpp201_commands import id_token_info

log = logging.getLogger(__name__)

ENERGY = "Energy.Active.Import.Register"
_NOT_YET = ("Pending", "Rejected")


def _time(value: str, where: str) -> datetime:
    try:
        return parse_time(value)
    except ValueError:
        raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                        f"{where}: unreadable timestamp {value!r}") from None


def samples(meter_values: list[dict], where: str) -> list[MeterSample]:
    """2.0.1 MeterValueType list → abstract samples (value × 10^multiplier, in its unit)."""
    out = []
    for mv in meter_values:
        ts = _time(mv["timestamp"], f"{where}.timestamp")
        for sv in mv["sampledValue"]:
            unit = sv.get("unitOfMeasure") or {}
            multiplier = unit.get("multiplier", 0)
            try:
                value = float(sv["value"] * 10 ** multiplier)
            except OverflowError:
                value = float("inf")
            if not math.isfinite(value):   # e.g. multiplier 309: no real meter reads that
                raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                                f"{where}.sampledValue: value {sv['value']!r} x 10^{multiplier} "
                                f"is out of range")
            out.append(MeterSample(
                timestamp=ts, raw_value=str(sv["value"]), value=value,
                measurand=sv.get("measurand", ENERGY), phase=sv.get("phase"),
                unit=unit.get("unit", "Wh"), context=sv.get("context"),
                location=sv.get("location"),
                format="SignedData" if "signedMeterValue" in sv else None))
    return out


def energy_wh(items: list[MeterSample], context: str | None = None) -> int | None:
    """The station's energy register in Wh: the last reading of `context` if there is one,
    else the last reading (None: no energy register reading at all)."""
    last = last_of_context = None
    for s in items:
        if s.measurand == ENERGY and s.phase is None and s.location in (None, "Outlet") \
                and s.unit in ("Wh", "kWh") and s.value is not None:
            last = int(round(s.value * 1000 if s.unit == "kWh" else s.value))
            if context is not None and s.context == context:
                last_of_context = last
    return last_of_context if last_of_context is not None else last


def _component_rows(component: dict, variable: dict, attributes: list[dict]) -> list[tuple]:
    evse = component.get("evse") or {}
    return [(component["name"], component.get("instance"), evse.get("id"), evse.get("connectorId"),
             variable["name"], variable.get("instance"), a.get("type", "Actual"), a.get("value"),
             a.get("mutability")) for a in attributes]


class Ocpp201Adapter:
    version: ClassVar[str] = V201
    __slots__ = ("station_id", "manager", "session")

    def __init__(self, station_id: str, manager: Manager):
        self.station_id = station_id
        self.manager = manager
        self.session = None

    def attach(self, session) -> None:
        self.session = session

    @property
    def _v201(self):
        return self.manager.store.v201

    async def handle(self, action: str, payload: dict) -> dict:
        self.manager.seen(self.station_id)
        handler = _HANDLERS.get(action)
        if handler is None:
            raise OcppError(ErrorCode.NOT_SUPPORTED, f"{action} is not supported by this hub")
        if action != "BootNotification":
            st = self.manager.stations.get(self.station_id)
            if st is not None and st.registration in _NOT_YET:
                raise OcppError(ErrorCode.SECURITY_ERROR,
                                f"{action} refused: the station's registration is "
                                f"{st.registration}; only BootNotification until it is "
                                "Accepted")
        try:
            return await handler(self, payload)
        except Implausible as e:
            raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, str(e)) from None

    # -- CSMS-initiated -----------------------------------------------------------------
    def _remote_id(self, transaction_id: int) -> str | None:
        link = self._v201.remote_id(transaction_id)
        return link[1] if link else None

    def _hub_id(self, remote_id: str) -> int | None:
        row = self._v201.transaction(self.station_id, remote_id)
        return row["transaction_id"] if row else None

    def parse_command(self, action: str, payload) -> Command:
        return wire.parse(action, payload, self._hub_id)

    def action_of(self, command: Command) -> str:
        return wire.encode(command, self._remote_id)[0]

    async def execute(self, command: Command, timeout: float | None = None) -> Result:
        action, payload = wire.encode(command, self._remote_id)
        reply = await self.session.call(action, payload, timeout=timeout)
        result = wire.decode(command, reply)
        self._learn(command, result)
        return result

    async def send_raw(self, action: str, payload: dict, timeout: float | None = None
                       ) -> tuple[Command, Result, dict]:
        command = wire.parse(action, payload, self._hub_id)
        reply = await self.session.call(action, payload, timeout=timeout)
        result = wire.decode(command, reply)
        self._learn(command, result)
        return command, result, reply

    def _learn(self, command: Command, result: Result) -> None:
        """GetVariables answers are the device model as it is: keep the accepted values."""
        if isinstance(command, GetVariables) and isinstance(result, VariableReport):
            rows = [(r.variable.component, r.variable.component_instance, r.variable.evse_id,
                     r.variable.connector_id, r.variable.variable, r.variable.variable_instance,
                     r.variable.attribute_type or "Actual", r.value, None)
                    for r in result.results if r.status == "Accepted"]
            if rows:
                self._v201.put_variables(self.station_id, rows, format_time(utcnow()))

    # -- B provisioning -----------------------------------------------------------------
    async def boot_notification(self, p: dict) -> dict:
        cs = p["chargingStation"]
        modem = cs.get("modem") or {}
        result = await self.manager.boot(StationBoot(
            station_id=self.station_id, vendor=cs["vendorName"], model=cs["model"],
            serial_number=cs.get("serialNumber"), firmware_version=cs.get("firmwareVersion"),
            iccid=modem.get("iccid"), imsi=modem.get("imsi"), reason=p["reason"]))
        return {"status": result.status.value, "currentTime": format_time(result.current_time),
                "interval": result.interval}

    async def heartbeat(self, p: dict) -> dict:
        result = await self.manager.heartbeat(Heartbeat(self.station_id))
        return {"currentTime": format_time(result.current_time)}

    async def status_notification(self, p: dict) -> dict:
        connector = p["connectorId"]
        await self.manager.status_change(StatusChange(
            station_id=self.station_id, connector_id=p["evseId"],
            status=ConnectorStatus(p["connectorStatus"]),
            info=f"connector {connector}" if connector != 1 else None,
            timestamp=_time(p["timestamp"], "timestamp")))
        return {}

    async def notify_report(self, p: dict) -> dict:
        rows = []
        for item in p.get("reportData", []):
            rows += _component_rows(item["component"], item["variable"], item["variableAttribute"])
        if rows:
            self._v201.put_variables(self.station_id, rows, format_time(utcnow()))
        return self._report("NotifyReport", p, len(p.get("reportData", [])))

    # -- C authorization ----------------------------------------------------------------
    async def authorize(self, p: dict) -> dict:
        return {"idTokenInfo": id_token_info(await self._authorize(p["idToken"]))}

    async def _authorize(self, token: dict) -> IdTokenInfo:
        if token["type"] == "NoAuthorization":
            return IdTokenInfo(AuthorizationStatus.ACCEPTED)
        return await self.manager.authorize(AuthorizeRequest(self.station_id, token["idToken"],
                                                             token["type"]))

    # -- E transactions -----------------------------------------------------------------
    async def transaction_event(self, p: dict) -> dict:
        tx_info = p["transactionInfo"]
        remote, kind, seq = tx_info["transactionId"], p["eventType"], p["seqNo"]
        ts = _time(p["timestamp"], "timestamp")
        evse_id = p["evse"]["id"] if "evse" in p else None
        token = p.get("idToken")
        tok = token["idToken"] if token and token["type"] != "NoAuthorization" else None
        readings = samples(p.get("meterValue", []), "meterValue")
        v201 = self._v201
        link = v201.transaction(self.station_id, remote)
        flags: list[str] = []
        info: IdTokenInfo | None = None
        tx_id = None
        repeat = False   # a seqNo seen before: a retry (its reply was lost), nothing re-applied
        if link is not None:
            tx_id, last = link["transaction_id"], link["last_seq_no"]
            if last is not None and seq > last + 1:
                missing = f"{last + 1}" if seq == last + 2 else f"{last + 1}..{seq - 1}"
                flags.append(f"seqNo gap: {missing} missing before {seq}")
            elif last is not None and seq <= last:
                repeat = True
                flags.append(f"seqNo {seq} repeated or out of order (last was {last})")
            if kind == "Started":
                flags.append(f"Started again for transaction {remote}")
        elif kind == "Started" or evse_id is not None:
            if kind != "Started":
                flags.append(f"{kind} for unknown transaction {remote}: recorded from this event")
            elif evse_id is None:
                if not self.manager.lenient:
                    raise OcppError(ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
                                    "TransactionEvent Started without evse: the first event "
                                    "of a transaction names its EVSE")
                flags.append("Started without evse")
            # the first reading the hub sees (an unknown transaction: from this event on)
            meter_start = energy_wh(readings, "Transaction.Begin") or 0
            started = await self.manager.start_transaction(TransactionStart(
                self.station_id, evse_id or 0, tok or "", meter_start, ts,
                p.get("reservationId")))
            tx_id = started.transaction_id
            if tok:
                info = started.id_token_info
            v201.link(self.station_id, remote, tx_id, seq)
        else:
            flags.append(f"{kind} for unknown transaction {remote} without evse: events kept, "
                         "no transaction recorded")

        connector = evse_id
        if tx_id is not None and connector is None:
            active = self.manager.active.get(tx_id)
            row = None if active else self.manager.store.get_transaction(tx_id)
            connector = active.connector_id if active else (row["connector_id"] if row else 0)

        if kind == "Ended" and tx_id is not None:
            active = self.manager.active.get(tx_id)
            meter_stop = energy_wh(readings, "Transaction.End")
            if meter_stop is None:
                meter_stop = (active.meter_last if active and active.meter_last is not None
                              else active.meter_start if active else 0)
            stopped = await self.manager.stop_transaction(TransactionStop(
                self.station_id, tx_id, meter_stop, ts, tx_info.get("stoppedReason", "Local"),
                tok, [] if repeat else readings))
            if tok:
                info = stopped.id_token_info
        else:
            if tok and info is None:
                info = await self._authorize(token)
                if tx_id is not None:
                    v201.set_transaction_tag(tx_id, tok, info.status.value)
            if readings and not repeat:
                await self.manager.meter_reading(MeterReading(self.station_id, connector or 0,
                                                              tx_id, readings))

        if link is not None:
            v201.set_seq_no(self.station_id, remote, seq)
        v201.add_event(self.station_id, remote, tx_id, kind, seq, p["triggerReason"],
                       format_time(ts), p.get("offline", False), tx_info.get("chargingState"),
                       tx_info.get("stoppedReason"), tok, evse_id, "; ".join(flags) or None)
        if flags:
            log.warning("%s: TransactionEvent %s seqNo %d of %s accepted but flagged: %s",
                        self.station_id, kind, seq, remote, "; ".join(flags))
            if tx_id is not None:
                v201.flag_transaction(tx_id, "; ".join(flags))
        if kind == "Updated" and tx_id is not None:
            self.manager.events.publish(TransactionUpdated.TOPIC, TransactionUpdated(
                self.station_id, tx_id, remote, seq, p["triggerReason"], ts,
                p.get("offline", False), tx_info.get("chargingState"), tok, readings, flags),
                self.station_id)
        await self.manager.store.written()   # the event is stored before it is answered
        if token is not None:
            return {"idTokenInfo": id_token_info(info or IdTokenInfo(AuthorizationStatus.ACCEPTED))}
        return {}

    # -- J meter values -----------------------------------------------------------------
    async def meter_values(self, p: dict) -> dict:
        # outside a transaction: a transaction's readings come in its TransactionEvents
        await self.manager.meter_reading(MeterReading(
            self.station_id, p["evseId"], None, samples(p["meterValue"], "meterValue")))
        return {}

    # -- L firmware, N diagnostics, A security, P data transfer -------------------------
    async def firmware_status_notification(self, p: dict) -> dict:
        await self.manager.firmware_status(FirmwareStatusChange(
            self.station_id, p["status"], p.get("requestId")))
        return {}

    async def log_status_notification(self, p: dict) -> dict:
        await self.manager.diagnostics_status(DiagnosticsStatusChange(
            self.station_id, p["status"], p.get("requestId")))
        return {}

    async def security_event_notification(self, p: dict) -> dict:
        await self.manager.security_event(SecurityEvent(
            self.station_id, p["type"], _time(p["timestamp"], "timestamp"), p.get("techInfo")))
        return {}

    async def sign_certificate(self, p: dict) -> dict:
        request = CertificateSigningRequest(self.station_id, p["csr"])
        result = await self.manager.sign_certificate(request)
        if result is None:
            raise OcppError(ErrorCode.NOT_SUPPORTED, "this hub has no certificate authority")
        if result.accepted:
            self.session.after_reply(lambda: self.manager.deliver_certificate(request, result))
        return {"status": "Accepted" if result.accepted else "Rejected"}

    async def data_transfer(self, p: dict) -> dict:
        result = await self.manager.data_transfer(DataTransfer(
            self.station_id, p["vendorId"], p.get("messageId"), p.get("data")))
        return {"status": result.status.value, **({} if result.data is None
                                                   else {"data": result.data})}

    async def notify_event(self, p: dict) -> dict:
        # each event carries its variable's actual value: the reported device model follows
        rows = [_component_rows(e["component"], e["variable"],
                                [{"type": "Actual", "value": e["actualValue"]}])[0]
                for e in p["eventData"]]
        self._v201.put_variables(self.station_id, rows, format_time(utcnow()))
        return self._report("NotifyEvent", p, len(p["eventData"]))

    def _report(self, action: str, p: dict, items: int) -> dict:
        request_id = p.get("requestId")
        seq = p.get("seqNo")
        self._v201.add_notice(self.station_id, action, request_id, seq, format_time(utcnow()), p)
        self.manager.events.publish(StationReport.TOPIC, StationReport(
            self.station_id, action, request_id, seq, bool(p.get("tbc", False)), items),
            self.station_id)
        return {}

    # -- the other reports: stored and published ---------------------------------------
    async def report_charging_profiles(self, p: dict) -> dict:
        return self._report("ReportChargingProfiles", p, len(p["chargingProfile"]))

    async def notify_charging_limit(self, p: dict) -> dict:
        return self._report("NotifyChargingLimit", p, len(p.get("chargingSchedule", [])))

    async def cleared_charging_limit(self, p: dict) -> dict:
        return self._report("ClearedChargingLimit", p, 1)

    async def notify_monitoring_report(self, p: dict) -> dict:
        return self._report("NotifyMonitoringReport", p, len(p.get("monitor", [])))

    async def notify_customer_information(self, p: dict) -> dict:
        return self._report("NotifyCustomerInformation", p, 1)

    async def notify_display_messages(self, p: dict) -> dict:
        return self._report("NotifyDisplayMessages", p, len(p.get("messageInfo", [])))

    async def reservation_status_update(self, p: dict) -> dict:
        """The station ended a reservation (Expired / Removed): the hub's row says so."""
        repo = self.manager.store.reservations
        row = repo.get(p["reservationId"])
        if row is not None and row["station_id"] == self.station_id:
            repo.set_status(p["reservationId"], p["reservationUpdateStatus"])
        else:
            log.warning("%s: ReservationStatusUpdate for reservation %s the hub did not make",
                        self.station_id, p["reservationId"])
        return self._report("ReservationStatusUpdate", p, 1)

    async def publish_firmware_status_notification(self, p: dict) -> dict:
        return self._report("PublishFirmwareStatusNotification", p, 1)

    async def notify_ev_charging_schedule(self, p: dict) -> dict:
        self._report("NotifyEVChargingSchedule", p, 1)
        return {"status": "Accepted"}

    async def notify_ev_charging_needs(self, p: dict) -> dict:
        # The hub plans no ISO 15118 schedules: the EV's needs are kept, no schedule follows.
        self._report("NotifyEVChargingNeeds", p, 1)
        return {"status": "Rejected", "statusInfo": {"reasonCode": "NoSchedule"}}

    async def get_15118_ev_certificate(self, p: dict) -> dict:
        return {"status": "Failed", "statusInfo": {"reasonCode": "NoCertificateService"},
                "exiResponse": ""}

    async def get_certificate_status(self, p: dict) -> dict:
        return {"status": "Failed", "statusInfo": {"reasonCode": "NoOcspResponder"}}


_HANDLERS = {
    "BootNotification": Ocpp201Adapter.boot_notification,
    "Heartbeat": Ocpp201Adapter.heartbeat,
    "StatusNotification": Ocpp201Adapter.status_notification,
    "NotifyReport": Ocpp201Adapter.notify_report,
    "Authorize": Ocpp201Adapter.authorize,
    "TransactionEvent": Ocpp201Adapter.transaction_event,
    "MeterValues": Ocpp201Adapter.meter_values,
    "FirmwareStatusNotification": Ocpp201Adapter.firmware_status_notification,
    "LogStatusNotification": Ocpp201Adapter.log_status_notification,
    "SecurityEventNotification": Ocpp201Adapter.security_event_notification,
    "SignCertificate": Ocpp201Adapter.sign_certificate,
    "DataTransfer": Ocpp201Adapter.data_transfer,
    "NotifyEvent": Ocpp201Adapter.notify_event,
    "ReportChargingProfiles": Ocpp201Adapter.report_charging_profiles,
    "NotifyChargingLimit": Ocpp201Adapter.notify_charging_limit,
    "ClearedChargingLimit": Ocpp201Adapter.cleared_charging_limit,
    "NotifyMonitoringReport": Ocpp201Adapter.notify_monitoring_report,
    "NotifyCustomerInformation": Ocpp201Adapter.notify_customer_information,
    "NotifyDisplayMessages": Ocpp201Adapter.notify_display_messages,
    "ReservationStatusUpdate": Ocpp201Adapter.reservation_status_update,
    "PublishFirmwareStatusNotification": Ocpp201Adapter.publish_firmware_status_notification,
    "NotifyEVChargingSchedule": Ocpp201Adapter.notify_ev_charging_schedule,
    "NotifyEVChargingNeeds": Ocpp201Adapter.notify_ev_charging_needs,
    "Get15118EVCertificate": Ocpp201Adapter.get_15118_ev_certificate,
    "GetCertificateStatus": Ocpp201Adapter.get_certificate_status,
}
