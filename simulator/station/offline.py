"""A charger without its CSMS: transaction messages wait in the offline queue, the rest is
dropped; the network can go away (go_offline / come_online) and so can the power
(power_loss / power_up).  The station owns one `Offline` and delegates to it.

While the queue holds anything, every new transaction message goes behind it (order is
what a CSMS's billing depends on); with an empty queue and a live link they go straight out.
Delivery runs under one lock, after an accepted boot (or a reconnect while registered).
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..session import CallErrorReceived, CallTimeout, InvalidResponse, SessionClosed
from ..protocol import OcppError
from .auth import AuthorizationInfo
from .clock import iso, parse_iso, utc_now
from .errors import StationError, Undeliverable
from .id_token import DEFAULT_TYPE, IdToken
from .intents import (TransactionEnded, TransactionIntent, TransactionStarted,
                      TransactionUpdated, from_record, record)
from .offline_queue import Entry, OfflineQueue, TransactionRefs
from .transaction import StartState, StopReason, Transaction, Trigger

if TYPE_CHECKING:
    from .context import FeatureContext

# The CSMS got the message but failed it (or never answered): retry, then give up.
FAILED = (CallTimeout, CallErrorReceived, InvalidResponse, OcppError)


class Offline:
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        self.queue = OfflineQueue.for_station(ctx.station_id, ctx.options.state_dir)
        self.refs = TransactionRefs(self.queue)   # the dialect's notes (offline_queue.py)
        # The station's power and network (it switches them: station.py), read here.
        self.powered = True
        self.network_down = False
        self.lost_power_at = None   # a PowerLoss stop is stamped with the moment of the cut
        self._lock = asyncio.Lock()
        for c in ctx.connectors[1:]:   # the register survives a restart: it only grows
            wh = self.queue.energy.get(c.id)
            if wh is not None and wh > c.meter.energy_wh:
                c.meter.energy_wh = wh

    # -- what a restart finds ---------------------------------------------------------------
    def recover(self) -> None:
        """Transactions that were running when the process died ended with the power:
        queue their StopTransaction (PowerLoss) at the last persisted register."""
        st = self.ctx
        for connector, rec in list(self.queue.open_tx.items()):
            if "id" not in rec:   # an older journal's record: nothing to say it by
                self.queue.tx_closed(connector)
                continue
            meter_stop = int(self.queue.energy.get(connector, rec["meter_start"]))
            token = IdToken(rec["id_token"], rec.get("token_type") or DEFAULT_TYPE)
            tx = Transaction(connector, token, rec["meter_start"], parse_iso(rec["start_time"]),
                             id=rec["id"], evse_id=rec.get("evse_id"),
                             meter_stop=max(meter_stop, rec["meter_start"]),
                             stop_time=parse_iso(self.queue.energy_at.get(connector)) or utc_now(),
                             stop_reason=StopReason.POWER_LOSS, stop_id_token=token,
                             name_of=st.transaction_name)
            self.queue.tx_closed(connector)
            self._queued(TransactionEnded.of(tx), quiet=True)
            st.emit("queued", f"end ({StopReason.POWER_LOSS}) of transaction "
                               f"{tx.transaction_id}, found after a restart", connector,
                    transaction=tx.id)

    # -- transaction messages -------------------------------------------------------------
    def _queued(self, intent: TransactionIntent, quiet: bool = False) -> Entry:
        entry = self.queue.put(intent.kind, record(intent))
        self.ctx.held(intent)   # the dialect's turn (1.6: a start gets a provisional id)
        if not quiet:
            self.ctx.emit("queued", f"{intent.kind} held until the CSMS is reachable",
                          intent.connector_id, action=intent.kind, queued=len(self.queue))
        return entry

    async def _send_now(self, intent: TransactionIntent, attempts: int
                        ) -> tuple[AuthorizationInfo | None] | None:
        """Send while nothing waits before it: (the reply's authorization info,), or
        None when the message has to wait (link down, CSMS silent, others queued first).
        Raises StationError once the CSMS has failed it `attempts` times."""
        st = self.ctx
        async with self._lock:   # one sender at a time keeps the order
            for attempt in range(1, attempts + 1):
                if self.queue or not st.may_send():
                    return None
                try:
                    return (await st.deliver(intent),)
                except (SessionClosed, CallTimeout):
                    return None
                except FAILED as e:
                    st.emit("error", f"{intent.kind} attempt {attempt}/{attempts} failed: "
                                      f"{e}", intent.connector_id)
                    if attempt == attempts:
                        raise StationError(f"{intent.kind} failed after {attempts} "
                                           f"attempt(s): {e}") from e
                    await asyncio.sleep(self._retry_delay(attempt))
        return None

    def _attempts(self) -> int:
        return max(1, self.ctx.settings["tx_message_attempts"])

    async def start(self, tx: Transaction) -> AuthorizationInfo | None:
        """Send the start now (the CSMS's authorization answer: `tx.start_state` is then
        CONFIRMED), or hold it in the queue (None, HELD: the transaction runs on the
        station's decision).  Raises StationError if the CSMS fails it."""
        intent = TransactionStarted.of(tx)
        reply = await self._send_now(intent, self._attempts())
        self._opened(tx)
        if reply is not None:
            tx.start_state = StartState.CONFIRMED
            return reply[0]
        tx.start_state = StartState.HELD
        self._queued(intent)
        self._kick()
        return None

    def _opened(self, tx: Transaction) -> None:
        if self.queue.path is not None:
            self.queue.tx_opened(tx.connector_id, {
                "id": tx.id, "evse_id": tx.evse_id, "id_token": tx.id_token.value,
                "token_type": tx.id_token.type, "meter_start": tx.meter_start,
                "start_time": iso(tx.start_time)})

    async def stop(self, tx: Transaction) -> None:
        """Send the StopTransaction now, or queue it; the CSMS failing it is reported."""
        st = self.ctx
        if tx.stop_reason == StopReason.POWER_LOSS and self.lost_power_at is not None:
            tx.stop_time = self.lost_power_at
        # The stop reading is the register's last word: a restart must not start below it.
        meter = st.connectors[tx.connector_id].meter
        self.queue.record_energy(tx.connector_id, max(meter.energy_wh, tx.meter_stop),
                                 iso(tx.stop_time))
        self.queue.tx_closed(tx.connector_id)
        intent = TransactionEnded.of(tx)
        if tx.start_state != StartState.HELD:   # a held start goes first: queue behind it
            try:
                reply = await self._send_now(intent, self._attempts())
            except StationError as e:
                st.emit("error", str(e), tx.connector_id)
                return
            if reply is not None:
                st.remember(tx.stop_id_token, reply[0])
                return
        self._queued(intent)
        if st.may_send():
            await self.flush()

    async def meter_values(self, connector: int, tx: Transaction, snapshots,
                           trigger: str = Trigger.METER_PERIODIC) -> None:
        st = self.ctx
        self.queue.record_energy(connector, st.connectors[connector].meter.energy_wh,
                                 iso(snapshots[-1].timestamp))
        intent = TransactionUpdated.of(tx, snapshots, trigger)
        if not intent.snapshots:   # nothing measured: nothing to say
            return
        if tx.start_state != StartState.HELD:   # a held start goes first
            try:
                if await self._send_now(intent, 1) is not None:
                    return
            except StationError as e:   # the CSMS refused it: a real charger moves on
                st.emit("error", str(e), connector)
                return
        self._queued(intent)
        self._kick()

    def _kick(self) -> None:
        """Queued while the link is up (the CSMS was silent): deliver (and retry) now."""
        st = self.ctx
        if st.may_send():
            st.spawn(self.flush(), "flush")

    def _retry_delay(self, attempt: int) -> float:
        st = self.ctx
        return (st.settings["tx_message_retry_interval"] * attempt
                * st.options.interval_scale)

    # -- delivery ----------------------------------------------------------------------------
    async def flush(self) -> None:
        """Deliver the queue in order while the station may send.  A message the CSMS fails
        is retried TransactionMessageAttempts times, RetryInterval × attempt apart, then
        dropped; a lost link leaves it at the head for the next reconnect."""
        st = self.ctx
        async with self._lock:
            while self.queue and st.may_send():
                entry = self.queue.head()
                intent = from_record(entry.action, entry.payload)
                try:
                    info = await st.deliver(intent)
                except Undeliverable as e:
                    self.queue.done(entry)
                    st.emit("dropped", f"{entry.action} dropped: {e}", action=entry.action)
                    continue
                except SessionClosed:
                    return
                except FAILED as e:
                    self.queue.tried(entry)
                    attempts = max(1, st.settings["tx_message_attempts"])
                    st.emit("error", f"held {entry.action} attempt {entry.attempts}/{attempts} "
                                      f"failed: {e}")
                    if entry.attempts >= attempts:
                        self.queue.done(entry)
                        st.emit("dropped", f"{entry.action} given up after {attempts} "
                                            f"attempt(s)", action=entry.action)
                    else:
                        await asyncio.sleep(self._retry_delay(entry.attempts))
                    continue
                self._delivered(intent, info)   # the dialect noted its ids in deliver(), then
                self.queue.done(entry)          # "done": a crash keeps both
                st.emit("sent_held", f"held {entry.action} sent", intent.connector_id,
                        action=entry.action, transaction=intent.transaction,
                        transaction_id=st.transaction_name(intent.transaction))

    def _delivered(self, intent: TransactionIntent, info: AuthorizationInfo | None) -> None:
        st = self.ctx
        token = getattr(intent, "id_token", None)
        if token and info is not None:
            st.remember(IdToken(token, intent.token_type or DEFAULT_TYPE), info)
        if not isinstance(intent, TransactionStarted):
            return
        c = st.connectors[intent.connector_id]
        for tx in (c.transaction, c.last_transaction):
            if tx is not None and tx.id == intent.transaction:
                tx.start_state = StartState.CONFIRMED
        tx = c.transaction
        if tx is None or tx.id != intent.transaction or info is None or info.accepted:
            return
        # The CSMS refuses the tag the station let charge offline (1.6 §3.5.2).  Stopping
        # sends a StopTransaction: do it outside this delivery (it waits for the queue).
        if st.settings["stop_on_invalid_id"]:
            st.spawn(st.stop_transaction(c, StopReason.DEAUTHORIZED), "deauthorize")
        else:
            tx.deauthorized = True
            st.spawn(st.refresh(c), "deauthorize")
