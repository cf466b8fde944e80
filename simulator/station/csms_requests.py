"""What the CSMS asks of the station, in neutral terms: the dialect parses a request and
calls one of these, and words the answer.  Effects that send messages of their own
(remote start, availability, reset, trigger) run after the reply is on the wire.
Also the scripted answers of scenarios (`answer_next`) and vendor DataTransfer handlers.
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from ..protocol import ErrorCode, OcppError, parse_error_code

from . import meter as m
from .auth import ACCEPTED, AuthorizationInfo
from .connector import PendingStart
from .errors import SEND_ERRORS, StationError, UnknownMessageId
from .id_token import IdToken
from .intents import DiagnosticsStatusChanged, FirmwareStatusChanged
from .lifecycle import Registration
from .transaction import StopReason

if TYPE_CHECKING:
    from .station_face import StationFace

# What the CSMS may ask the station to send now (the dialect maps its message names).
TRIGGERABLE = ("boot", "diagnostics_status", "firmware_status", "heartbeat", "meter_values",
               "status")


class CsmsRequests:
    __slots__ = ("st", "_scripted")

    def __init__(self, station: StationFace):
        self.st = station
        self._scripted: dict[str, list] = {}  # answer_next(): one-shot replies (scenarios)

    def change_configuration(self, key: str, value: str) -> str:
        result = self.st.config.change(key, value)
        self.st.events.emit("config", f"{key}={value!r}: {result}", key=key, value=value, result=str(result))
        return str(result)

    def clear_cache(self) -> bool:
        if not self.st.settings["authorization_cache_enabled"]:
            return False
        self.st.auth_cache.clear()
        self.st.events.emit("cache_cleared", "authorization cache cleared")
        return True

    async def incoming_data_transfer(self, vendor_id: str, message_id: str | None,
                                     data: str | None) -> tuple[str, str | None]:
        handler = self.st.vendors.get(vendor_id)
        if handler is None:
            return "UnknownVendorId", None
        try:
            result = handler(message_id, data)
            if inspect.isawaitable(result):
                result = await result
        except UnknownMessageId:
            return "UnknownMessageId", None
        if result is None:
            return "Accepted", None
        if isinstance(result, str):
            return result, None
        status, reply = result
        return status, reply

    def change_availability(self, connector_id: int, operative: bool) -> str:
        """Accepted, Rejected (no such connector) or Scheduled (in use: applied at its end)."""
        if not 0 <= connector_id < len(self.st.connectors):
            return "Rejected"
        targets = self.st.connectors[1:] if connector_id == 0 else [self.st.connectors[connector_id]]
        scheduled = False
        for c in targets:
            if c.operative == operative:
                c.scheduled_operative = None
            elif c.in_use:
                c.scheduled_operative, scheduled = operative, True
            else:
                c.operative, c.scheduled_operative = operative, None
        if connector_id == 0:
            c0 = self.st.connectors[0]
            if scheduled:
                c0.scheduled_operative = operative
            else:
                c0.operative, c0.scheduled_operative = operative, None
            targets = [c0, *targets]
        result = "Scheduled" if scheduled else "Accepted"
        self.st.events.emit("availability_requested",
                   f"{'Operative' if operative else 'Inoperative'}: {result}", connector_id)

        async def apply():
            for c in targets:
                await self.st.status.refresh(c)
        self.st.tasks.after_reply(apply, "change-availability")
        return result

    def remote_start(self, id_tag: IdToken | str, connector_id: int | None = None) -> bool:
        if self.st.registration != Registration.ACCEPTED:
            return False
        id_tag = IdToken.of(id_tag)
        parent = self.st.authorizer.known(id_tag)[0]   # a reservation may admit the parent
        parent = parent.group_id if parent is not None else None
        if connector_id is not None:
            if not 1 <= connector_id < len(self.st.connectors):
                return False
            c = self.st.connectors[connector_id]
            if not self.st.charging.can_start(c) or not self.st.reservations.admits(c, id_tag, parent):
                return False
        else:  # a connector with an EV waiting first, else any free one
            free = [c for c in self.st.connectors[1:]
                    if self.st.charging.can_start(c) and self.st.reservations.admits(c, id_tag, parent)]
            if not free:
                return False
            c = next((x for x in free if x.plugged), free[0])
        # Claim the connector now, so that a second request cannot take it too.
        pending = PendingStart(id_tag, AuthorizationInfo(ACCEPTED), remote=True,
                               reservation_id=self.st.reservations.consume(c, id_tag, parent))
        c.pending_start = pending
        self.st.events.emit("remote_start", f"remote start for {id_tag}", c.id, id_tag=id_tag.value)

        async def follow_up():
            if self.st.settings["authorize_remote_start"]:
                try:
                    pending.info = await self.st.charging.authorize(id_tag)
                except StationError as e:
                    self.st.events.emit("error", str(e), c.id)
                    pending.info = AuthorizationInfo("Invalid")
                if not pending.info.accepted:
                    if c.pending_start is pending:
                        c.pending_start = None
                    self.st.events.emit("tag_rejected", f"{id_tag}: {pending.info.status}", c.id)
                    await self.st.status.refresh(c)
                    return
            if c.pending_start is pending:
                try:
                    await self.st.charging.begin_start(c, pending)
                except StationError as e:
                    self.st.events.emit("error", str(e), c.id)
        self.st.tasks.after_reply(follow_up, "remote-start")
        return True

    def remote_stop(self, transaction: str) -> bool:
        """Stop the running transaction with the station's id `transaction` (the dialect
        maps the CSMS's name of it)."""
        for c in self.st.connectors[1:]:
            tx = c.transaction
            if tx is not None and tx.id == transaction and not tx.stopping:
                self.st.events.emit("remote_stop", f"remote stop of {tx.transaction_id}", c.id,
                           transaction=tx.id)
                self.st.tasks.after_reply(lambda: self.st.charging.end_transaction(c, StopReason.REMOTE), "remote-stop")
                return True
        return False

    async def unlock(self, connector_id: int) -> str:
        """Unlocked / UnlockFailed / NotSupported.  A running transaction is stopped first
        (1.6 §5.18), before the answer goes out."""
        if not self.st.options.connector_lock or not 1 <= connector_id < len(self.st.connectors):
            return "NotSupported"
        c = self.st.connectors[connector_id]
        if c.transaction is not None:
            await self.st.charging.end_transaction(c, StopReason.UNLOCK_COMMAND)
        if c.lock_fails:
            self.st.events.emit("unlock_failed", "connector lock stuck", c.id)
            return "UnlockFailed"
        self.st.events.emit("unlocked", "connector unlocked", c.id)
        return "Unlocked"

    def trigger(self, message: str, connector_id: int | None = None) -> str:
        """Send `message` (one of TRIGGERABLE) after the reply: Accepted, Rejected (no such
        connector, for the connector-related ones), NotImplemented (not one of them).  A
        connector not relevant to the message is ignored (1.6 §5.17)."""
        if message not in TRIGGERABLE:
            return "NotImplemented"
        if message not in ("meter_values", "status"):
            connector_id = None
        elif connector_id is not None and not 0 <= connector_id < len(self.st.connectors):
            return "Rejected"
        self.st.events.emit("trigger", message, connector_id)
        self.st.tasks.after_reply(lambda: self._send_triggered(message, connector_id), f"trigger-{message}")
        return "Accepted"

    async def _send_triggered(self, message: str, connector_id: int | None) -> None:
        # Triggered messages go out even while Pending: that is what TriggerMessage is for.
        try:
            if message == "boot":
                result = await self.st.dialect.boot()
                await self.st.booting.apply_boot(result)
                if result.status != Registration.ACCEPTED:
                    self.st.booting.start_boot(self.st.booting.retry_delay(result.interval))
            elif message == "heartbeat":
                await self.st.dialect.heartbeat()
                self.st.events.emit("heartbeat", "Heartbeat (triggered)")
            elif message == "status":
                ids = range(len(self.st.connectors)) if connector_id is None else [connector_id]
                for i in ids:
                    await self.st.dialect.status_notification(self.st.connectors[i])
            elif message == "meter_values":
                # No station-wide meter: connector 0 (or none) means every connector.
                ids = [connector_id] if connector_id else range(1, len(self.st.connectors))
                for i in ids:
                    c = self.st.connectors[i]
                    # a trigger asks for a reading even when no measurand is configured
                    measurands = self.st.settings["sampled_measurands"] or [m.ENERGY]
                    await self.st.charging.send_meter_values(c, c.meter.read(), "Trigger", c.transaction,
                                                  measurands, force=True)
            elif message == "diagnostics_status":
                await self.st.send(DiagnosticsStatusChanged(self.st.diagnostics_status))
            elif message == "firmware_status":
                await self.st.send(FirmwareStatusChanged(self.st.firmware_status))
        except SEND_ERRORS as e:
            self.st.events.emit("error", f"triggered {message} failed: {e}")

    def answer_next(self, action: str, reply: dict | None = None,
                    error: tuple[str, str, dict | None] | None = None) -> None:
        """Answer the next CSMS request of `action` with `reply`, or a CALLERROR
        `error` = (code, description, details), instead of the model (scenarios, tests)."""
        self._scripted.setdefault(action, []).append((reply, error))

    def take_answer(self, action: str) -> dict | None:
        """The scripted reply for `action` (consumed), None when the model answers;
        raises OcppError for a scripted CALLERROR.  Called by the dialect."""
        queue = self._scripted.get(action)
        if not queue:
            return None
        reply, error = queue.pop(0)
        self.st.events.emit("scripted_answer", f"{action}: {'CALLERROR ' + error[0] if error else reply}")
        if error is not None:
            code = parse_error_code(error[0]) or ErrorCode.GENERIC_ERROR
            raise OcppError(code, error[1] or error[0], error[2])
        return dict(reply or {})

    async def data_transfer(self, vendor_id: str, message_id: str | None = None,
                            data: str | None = None) -> tuple[str, str | None]:
        """Send a DataTransfer to the CSMS; returns (status, data)."""
        self.st.booting.require_registered()
        try:
            return await self.st.dialect.data_transfer(vendor_id, message_id, data)
        except SEND_ERRORS as e:
            raise StationError(f"DataTransfer failed: {e}") from e
