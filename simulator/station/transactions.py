"""Charging sessions: the driver's actions (cable, card, stop button, EV and EVSE
suspension), authorization, and the transaction lifecycle — started, updated with meter
values (periodic and clock-aligned), ended — in the station's neutral terms.  The offline
queue (offline.py) carries each transaction intent to the dialect, now or later.
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from . import meter as m
from .aligned import AlignedTimer
from .auth import AuthorizationInfo
from .clock import utc_now
from .connector import Connector, PendingStart, Status
from .errors import SEND_ERRORS, StationError
from .ev import EV
from .events import Text
from .id_token import IdToken
from .intents import MeterSample, TransactionUpdated
from .lifecycle import Registration
from .timers import Periodic
from .transaction import (MeterSnapshot, StartState, StopReason, Transaction, Trigger,
                          end_trigger)

if TYPE_CHECKING:
    from .station_face import StationFace

STOP_REASONS = frozenset(StopReason)
# The trigger of a transaction's meter values, from the reading's context.
_UPDATE_TRIGGER = {"Sample.Periodic": Trigger.METER_PERIODIC, "Sample.Clock": Trigger.METER_CLOCK}
_METER_TEXT = Text("{energy_wh:.1f} Wh, {power_w:.0f} W")   # formatted only when read


class Charging:
    __slots__ = ("st", "_samplers", "_aligned")

    def __init__(self, station: StationFace):
        self.st = station
        self._samplers: dict[int, Periodic] = {}
        self._aligned: AlignedTimer | None = None

    # -- timers (the station stops them with the link or the power) -------------------------
    def resume_samplers(self) -> None:
        """Back online: a running transaction whose sampler stopped gets it again."""
        for c in self.st.connectors[1:]:
            sampler = self._samplers.get(c.id)
            if c.transaction is not None and (sampler is None or not sampler.running):
                self.restart_sampler(c)

    def restart_samplers(self) -> None:
        """A new meter interval: every running transaction's sampler starts anew."""
        for c in self.st.connectors[1:]:
            if c.transaction is not None:
                self.restart_sampler(c)

    def stop_aligned(self) -> None:
        if self._aligned is not None:
            self._aligned.stop()
            self._aligned = None

    def stop_timers(self) -> None:
        self.stop_aligned()
        for sampler in self._samplers.values():
            sampler.stop()
        self._samplers.clear()

    async def plug_in(self, connector_id: int, *, soc: float | None = None) -> None:
        """The EV's cable goes in.  `soc`: the EV battery's state of charge in percent."""
        c = self.st.connector(connector_id)
        if c.plugged:
            raise StationError(f"{self.st.id}: connector {connector_id} is already plugged in")
        c.plugged, c.finishing = True, False
        if soc is None:
            soc = self.st.options.ev_initial_soc
        c.meter.connect_ev(EV.from_options(self.st.options,
                                           self.st.rng.uniform(10, 60) if soc is None else soc))
        self.st.events.emit("plugged_in", "cable plugged in", c.id)
        if (c.transaction is None and c.pending_start is not None
                and self.can_start(c, ignore_pending=True)
                and (self.st.booting.may_send() or self.st.booting.serves_offline())):
            await self._start_transaction(c, Trigger.CABLE_PLUGGED_IN)
        else:
            await self.st.status.refresh(c)

    async def unplug(self, connector_id: int) -> None:
        c = self.st.connector(connector_id)
        if not c.plugged:
            raise StationError(f"{self.st.id}: connector {connector_id} is not plugged in")
        c.plugged = c.finishing = c.ev_suspended = False
        c.meter.connect_ev(None)
        self.st.events.emit("unplugged", "cable unplugged", c.id)
        if c.transaction is not None and self.st.settings["stop_on_ev_disconnect"]:
            await self.end_transaction(c, StopReason.EV_DISCONNECTED)
        else:  # without the key the transaction stays, suspended, until the EV is back
            await self.st.status.refresh(c)

    async def present_tag(self, connector_id: int, id_tag: IdToken | str) -> str:
        """An RFID card at the connector's reader.

        Returns what it did: "Started", "Authorized" (waiting for the cable), "Stopped",
        "Cancelled" (the same card again before the cable), "Rejected" (not accepted),
        "NotAllowed" (another card may not stop this transaction), "Unavailable",
        "Reserved" (reserved for another idTag / parentIdTag).
        """
        c = self.st.connector(connector_id)
        id_tag = IdToken.of(id_tag)
        if not self.st.booting.serves_offline():   # offline, a booted charger still serves
            self.st.booting.require_registered()
        self.st.events.emit("tag", f"tag {id_tag} presented", c.id, id_tag=id_tag.value,
                   token_type=id_tag.type)
        tx = c.transaction
        if tx is not None:
            if id_tag == tx.id_token:
                await self.end_transaction(c, StopReason.LOCAL, id_tag)
                return "Stopped"
            # Another card stops it only if it belongs to the same group (parentIdTag).
            info = await self.authorize(id_tag)
            if info.accepted and tx.group_id and info.group_id == tx.group_id:
                await self.end_transaction(c, StopReason.LOCAL, id_tag)
                return "Stopped"
            self.st.events.emit("tag_refused", f"{id_tag} may not stop transaction "
                                      f"{tx.transaction_id}", c.id, id_tag=id_tag.value)
            return "NotAllowed"
        pending = c.pending_start
        if pending is not None and pending.id_token == id_tag and not pending.remote:
            self.cancel_pending_start(c)
            self.st.events.emit("start_cancelled", f"{id_tag} presented again", c.id)
            await self.st.status.refresh(c)
            return "Cancelled"
        if not self.can_start(c, ignore_pending=True):
            return "Unavailable"
        info = await self.authorize(id_tag)
        if not info.accepted:
            self.st.events.emit("tag_rejected", f"{id_tag}: {info.status}", c.id, status=info.status)
            return "Rejected"
        if not self.st.reservations.admits(c, id_tag, info.group_id):
            self.st.events.emit("tag_refused", f"{id_tag}: connector reserved", c.id, id_tag=id_tag.value)
            return "Reserved"
        rid = self.st.reservations.consume(c, id_tag, info.group_id)
        started = await self.begin_start(c, PendingStart(id_tag, info, reservation_id=rid))
        return "Started" if started else "Authorized"

    async def stop_transaction(self, connector_id: int, reason: StopReason = StopReason.LOCAL) -> Transaction:
        """End the connector's transaction (as the station would, e.g. a stop button)."""
        if reason not in STOP_REASONS:
            raise StationError(f"unknown stop reason {reason!r}; one of "
                               f"{', '.join(sorted(STOP_REASONS))}")
        reason = StopReason(reason)
        c = self.st.connector(connector_id)
        tx = c.transaction
        if tx is None:
            raise StationError(f"{self.st.id}: no transaction on connector {connector_id}")
        await self.end_transaction(c, reason)
        return tx

    async def set_flag(self, connector_id: int, flag: str, value: bool) -> None:
        c = self.st.connector(connector_id)
        setattr(c, flag, value)
        await self.st.status.refresh(c)

    async def authorize(self, id_tag: IdToken) -> AuthorizationInfo:
        use_cache = self.st.settings["authorization_cache_enabled"]
        # Local list / cache / offline rules decide first (auth.Authorizer).
        local, source = self.st.authorizer.decide(id_tag, online=self.st.booting.may_send())
        if local is not None:
            self.st.events.emit("authorize", f"{id_tag} {local.status} ({source})", status=local.status,
                       cached=True, source=source)
            return local
        try:
            info = await self.st.dialect.authorize(id_tag)
        except SEND_ERRORS as e:
            raise StationError(f"Authorize {id_tag} failed: {e}") from e
        if use_cache:
            self.st.auth_cache.store(id_tag, info)
        self.st.events.emit("authorize", f"{id_tag} {info.status}", status=info.status, cached=False)
        return info

    def remember(self, id_tag: IdToken | None, info: AuthorizationInfo | None) -> None:
        if id_tag is not None and info is not None and self.st.settings["authorization_cache_enabled"]:
            self.st.auth_cache.store(id_tag, info)

    def can_start(self, c: Connector, ignore_pending: bool = False) -> bool:
        station = self.st.connectors[0]
        return (c.transaction is None and (ignore_pending or c.pending_start is None)
                and c.operative and c.scheduled_operative is not False and not c.fault
                and station.operative and not station.fault
                and c.status not in (Status.UNAVAILABLE, Status.FAULTED))

    def cancel_pending_start(self, c: Connector) -> None:
        if c.pending_start is not None and c.pending_start.timer is not None:
            c.pending_start.timer.cancel()
        c.pending_start = None

    async def begin_start(self, c: Connector, pending: PendingStart) -> bool:
        """An authorised start: go Preparing, and start now if the cable is in, else wait
        ConnectionTimeOut for it.  True if the transaction started."""
        if c.pending_start is not None and c.pending_start is not pending:
            self.cancel_pending_start(c)
        c.pending_start = pending
        await self.st.status.refresh(c)
        if c.pending_start is not pending:
            # while the status went out, the cable came in and started with it (or it was
            # cancelled): nothing is left to start here
            return c.transaction is not None and c.transaction.id_token == pending.id_token
        if c.plugged:
            await self._start_transaction(c)
            return True
        timeout = self.st.settings["connection_timeout"] * self.st.options.interval_scale
        pending.timer = asyncio.get_running_loop().call_later(
            timeout, self._connection_timeout, c, pending)
        self.st.events.emit("waiting_for_cable", f"{pending.id_token} authorised; plug in within "
                                        f"{timeout:g}s", c.id)
        return False

    def _connection_timeout(self, c: Connector, pending: PendingStart) -> None:
        if c.pending_start is pending:
            c.pending_start = None
            self.st.events.emit("start_timeout", f"no cable within "
                       f"{self.st.settings.key('connection_timeout')} for {pending.id_token}", c.id)
            self.st.tasks.spawn(self.st.status.refresh(c), "connection-timeout")

    async def _start_transaction(self, c: Connector, trigger: Trigger | None = None
                                 ) -> Transaction:
        pending = c.pending_start
        if trigger is None:
            trigger = Trigger.REMOTE_START if pending.remote else Trigger.AUTHORIZED
        self.cancel_pending_start(c)
        c.finishing = False
        reading = c.meter.read()
        tx = Transaction(c.id, pending.id_token, int(reading.energy_wh), utc_now(),
                         group_id=pending.info.group_id, remote=pending.remote,
                         reservation_id=pending.reservation_id, evse_id=c.evse_id,
                         trigger=trigger, name_of=self.st.dialect.transaction_name)
        self._snapshot_for_stop(tx, reading, "Transaction.Begin", "stop_sampled_measurands")
        c.transaction = tx
        try:
            info = await self.st.offline.start(tx)   # None: queued, runs offline
        except StationError:
            c.transaction = None
            await self.st.status.refresh(c)
            raise
        if info is None:  # the local decision stands until the CSMS answers (offline.py)
            info = pending.info
        else:
            self.remember(tx.id_token, info)
        if info.group_id:
            tx.group_id = info.group_id
        tx_id = tx.transaction_id
        self.st.events.emit("tx_started", f"transaction {tx_id} for {tx.id_tag} ({info.status})", c.id,
                   transaction_id=tx_id, transaction=tx.id, id_tag=tx.id_tag,
                   token_type=tx.id_token.type, meter_start=tx.meter_start,
                   status=info.status, trigger=str(trigger))
        if not info.accepted:
            if self.st.settings["stop_on_invalid_id"]:
                await self.end_transaction(c, StopReason.DEAUTHORIZED)
                return tx
            tx.deauthorized = True  # keep the transaction, deliver no energy (SuspendedEVSE)
        if tx.stop_requested is not None:  # stopped while StartTransaction was under way
            await self.end_transaction(c, *tx.stop_requested)
            return tx
        await self.st.status.refresh(c)
        self.restart_sampler(c)
        return tx

    async def end_transaction(self, c: Connector, reason: str, id_tag: IdToken | None = None
                                ) -> None:
        tx = c.transaction
        if tx is None or tx.stopping:
            return
        if tx.start_state == StartState.SENDING:
            tx.stop_requested = (reason, id_tag)
            return
        tx.stopping = True
        self._cancel_sampler(c)
        c.meter.set_drawing(False)  # the contactor opens now, not when the CSMS answers
        reading = c.meter.read()
        tx.meter_stop = max(int(reading.energy_wh), tx.meter_start)
        tx.stop_time, tx.stop_reason, tx.stop_id_token = utc_now(), reason, id_tag or tx.id_token
        self._snapshot_for_stop(tx, reading, "Transaction.End", "stop_sampled_measurands")
        c.transaction, c.last_transaction = None, tx
        c.finishing, c.evse_suspended = c.plugged, False
        self.st.events.emit("tx_stopped", f"transaction {tx.transaction_id} stopped ({reason}), "
                                 f"{tx.energy_wh} Wh", c.id, transaction_id=tx.transaction_id,
                   transaction=tx.id, reason=reason, meter_stop=tx.meter_stop,
                   trigger=str(end_trigger(reason)))
        await self.st.offline.stop(tx)   # now, or queued until the CSMS is back
        await self.st.status.refresh(c)

    def _snapshot_for_stop(self, tx: Transaction, reading: m.Reading, context: str,
                           setting: str, at=None) -> None:
        measurands = self.st.settings[setting]
        if measurands:
            tx.add_data(MeterSnapshot(at or utc_now(), context, reading.samples(measurands)))

    def _cancel_sampler(self, c: Connector) -> None:
        sampler = self._samplers.pop(c.id, None)
        if sampler is not None:
            sampler.stop()

    def restart_sampler(self, c: Connector) -> None:
        self._cancel_sampler(c)
        interval = self.st.settings["meter_interval"]
        if c.transaction is not None and interval > 0:
            self._samplers[c.id] = Periodic(self.st.tasks.spawn, interval * self.st.options.interval_scale,
                                            lambda: self._sample(c), f"sampler-{c.id}")

    async def _sample(self, c: Connector) -> bool:
        tx = c.transaction
        if tx is None:
            return False
        reading = c.meter.read()
        self._snapshot_for_stop(tx, reading, "Sample.Periodic", "stop_sampled_measurands")
        await self.send_meter_values(c, reading, "Sample.Periodic", tx,
                                      self.st.settings["sampled_measurands"])
        await self.st.status.refresh(c)  # a full battery turns Charging into SuspendedEV
        return True

    async def send_meter_values(self, c: Connector, reading: m.Reading, context: str,
                                 tx: Transaction | None, measurands, force: bool = False,
                                 at=None) -> None:
        self.st.events.emit("meter", _METER_TEXT, c.id,
                   energy_wh=reading.energy_wh, power_w=reading.power_w, context=context)
        samples = reading.samples(measurands)
        trigger = _UPDATE_TRIGGER.get(context, Trigger.TRIGGER)
        if (samples and tx is not None and tx.start_state != StartState.SENDING
                and not force):
            # transaction data waits out an outage, in order (offline.py)
            await self.st.offline.meter_values(
                c.id, tx, [MeterSnapshot(at or utc_now(), context, samples)], trigger)
            return
        if not samples or not (force or self.st.booting.may_send()):
            return
        snapshots = [MeterSnapshot(at or utc_now(), context, samples)]
        # a held start's transaction has no name the CSMS knows yet: values without one
        intent = (TransactionUpdated.of(tx, snapshots, trigger)
                  if tx is not None and tx.start_state == StartState.CONFIRMED
                  else MeterSample.of(c.id, snapshots, c.evse_id))
        try:
            await self.st.dialect.deliver(intent)
        except SEND_ERRORS as e:
            self.st.events.emit("error", f"MeterValues failed: {e}", c.id)

    def restart_aligned(self) -> None:
        self.stop_aligned()
        interval = self.st.settings["clock_aligned_interval"]
        if interval > 0 and self.st.online and self.st.registration == Registration.ACCEPTED:
            self._aligned = AlignedTimer(self.st.tasks.spawn, interval * self.st.options.interval_scale,
                                         self._aligned_sample, "aligned")

    async def _aligned_sample(self, boundary=None) -> None:
        """Clock-aligned readings (Sample.Clock) of every connector, in or out of a
        transaction, all read first and stamped with the boundary (aligned.py)."""
        readings = [(c, c.meter.read(), c.transaction) for c in self.st.connectors[1:]]
        for c, reading, tx in readings:
            if tx is not None:
                self._snapshot_for_stop(tx, reading, "Sample.Clock", "stop_aligned_measurands",
                                        at=boundary)
            await self.send_meter_values(c, reading, "Sample.Clock", tx,
                                          self.st.settings["aligned_measurands"], at=boundary)
