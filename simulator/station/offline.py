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
from .errors import StationError
from .intents import (MeterSample, TransactionEnded, TransactionIntent, TransactionStarted,
                      from_record, record)
from .offline_queue import Entry, OfflineQueue
from .transaction import StopReason, Transaction

if TYPE_CHECKING:
    from .context import FeatureContext

# The CSMS got the message but failed it (or never answered): retry, then give up.
FAILED = (CallTimeout, CallErrorReceived, InvalidResponse, OcppError)


class Offline:
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        self.queue = OfflineQueue.for_station(ctx.station_id, ctx.options.state_dir)
        # The station's power and network (it switches them: station.py), read here.
        self.powered = True
        self.network_down = False
        self.lost_power_at = None   # a PowerLoss stop is stamped with the moment of the cut
        self._lock = asyncio.Lock()
        for c in ctx.connectors[1:]:   # the register survives a restart: it only grows
            wh = self.queue.energy.get(c.id)
            if wh is not None and wh > c.meter.energy_wh:
                c.meter.energy_wh = wh
        self._recover()

    # -- what a restart finds ---------------------------------------------------------------
    def _recover(self) -> None:
        """Transactions that were running when the process died ended with the power:
        queue their StopTransaction (PowerLoss) at the last persisted register."""
        st = self.ctx
        for connector, rec in list(self.queue.open_tx.items()):
            meter_stop = int(self.queue.energy.get(connector, rec["meter_start"]))
            tx = Transaction(connector, rec["id_tag"], rec["meter_start"],
                             parse_iso(rec["start_time"]), transaction_id=rec["transaction_id"],
                             meter_stop=max(meter_stop, rec["meter_start"]),
                             stop_time=parse_iso(self.queue.energy_at.get(connector)) or utc_now(),
                             stop_reason=StopReason.POWER_LOSS, stop_id_tag=rec["id_tag"])
            self.queue.tx_closed(connector)
            self._put(TransactionEnded.of(tx))
            st.emit("queued", f"end ({StopReason.POWER_LOSS}) of transaction "
                               f"{tx.transaction_id}, found after a restart", connector)

    # -- transaction messages -------------------------------------------------------------
    def _put(self, intent: TransactionIntent, local: int | None = None) -> Entry:
        return self.queue.put(intent.kind, record(intent), local)

    def _queued(self, intent: TransactionIntent, local: int | None = None) -> Entry:
        entry = self._put(intent, local)
        self.ctx.emit("queued", f"{intent.kind} held until the CSMS is reachable",
                           intent.connector_id, action=intent.kind, queued=len(self.queue))
        return entry

    async def _send_now(self, intent: TransactionIntent, attempts: int
                        ) -> tuple[int | None, AuthorizationInfo | None] | None:
        """Send while nothing waits before it: the reply's (transactionId, idTagInfo), or
        None when the message has to wait (link down, CSMS silent, others queued first).
        Raises StationError once the CSMS has failed it `attempts` times."""
        st = self.ctx
        async with self._lock:   # one sender at a time keeps the order
            for attempt in range(1, attempts + 1):
                if self.queue or not st.may_send():
                    return None
                try:
                    return await st.deliver(intent)
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

    async def start(self, tx: Transaction) -> tuple[int, AuthorizationInfo | None]:
        """(transactionId, idTagInfo) from the CSMS, or (provisional id, None) when the
        StartTransaction waits in the queue.  Raises StationError if the CSMS fails it."""
        intent = TransactionStarted.of(tx)
        reply = await self._send_now(intent, self._attempts())
        if reply is not None and reply[0] is not None:
            self._opened(tx, reply[0])
            return reply
        local = self.queue.new_local_id()
        self._queued(intent, local)
        self._opened(tx, local)
        self._kick()
        return local, None

    def _opened(self, tx: Transaction, tx_id: int) -> None:
        if self.queue.path is not None:
            self.queue.tx_opened(tx.connector_id, {
                "transaction_id": tx_id, "id_tag": tx.id_tag, "meter_start": tx.meter_start,
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
        if tx.transaction_id is None or tx.transaction_id >= 0:
            try:
                reply = await self._send_now(intent, self._attempts())
            except StationError as e:
                st.emit("error", str(e), tx.connector_id)
                return
            if reply is not None:
                st.remember(tx.stop_id_tag, reply[1])
                return
        self._queued(intent)
        if st.may_send():
            await self.flush()

    async def meter_values(self, connector: int, tx: Transaction, snapshots) -> None:
        st = self.ctx
        self.queue.record_energy(connector, st.connectors[connector].meter.energy_wh,
                                 iso(snapshots[-1].timestamp))
        intent = MeterSample.of(connector, tx.transaction_id, snapshots)
        if not intent.snapshots:   # nothing measured: nothing to say
            return
        if tx.transaction_id >= 0:   # a provisional id waits for its start
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
                data = self.queue.resolve(entry)
                if data is None:
                    self.queue.done(entry)
                    st.emit("dropped", f"{entry.action} dropped: its transaction's start "
                                        f"never got an id", action=entry.action)
                    continue
                intent = from_record(entry.action, data)
                try:
                    tx_id, info = await st.deliver(intent)
                except SessionClosed:
                    return
                except FAILED as e:
                    entry.attempts += 1
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
                self._delivered(entry, intent, tx_id, info)   # the id mapping first, then
                self.queue.done(entry)                        # "done": a crash keeps both
                st.emit("sent_held", f"held {entry.action} sent", intent.connector_id,
                         action=entry.action,
                         transaction_id=getattr(intent, "transaction_id", None) or tx_id)

    def _delivered(self, entry: Entry, intent: TransactionIntent, tx_id: int | None,
                   info: AuthorizationInfo | None) -> None:
        st = self.ctx
        id_tag = getattr(intent, "id_token", None)
        if id_tag and info is not None:
            st.remember(id_tag, info)
        if not isinstance(intent, TransactionStarted) or entry.local is None or tx_id is None:
            return
        self.queue.remap(entry.local, tx_id)
        for c in st.connectors[1:]:
            for tx in (c.transaction, c.last_transaction):
                if tx is not None and tx.transaction_id == entry.local:
                    tx.transaction_id = tx_id
        c = st.connectors[intent.connector_id]
        st.emit("tx_remapped", f"transaction {entry.local} is {tx_id} at the CSMS", c.id,
                 provisional=entry.local, transaction_id=tx_id,
                 status=info.status if info else None)
        tx = c.transaction
        if tx is None or tx.transaction_id != tx_id or info is None or info.accepted:
            return
        # The CSMS refuses the tag the station let charge offline (1.6 §3.5.2).  Stopping
        # sends a StopTransaction: do it outside this delivery (it waits for the queue).
        if st.settings["stop_on_invalid_id"]:
            st.spawn(st.stop_transaction(c, StopReason.DEAUTHORIZED), "deauthorize")
        else:
            tx.deauthorized = True
            st.spawn(st.refresh(c), "deauthorize")
