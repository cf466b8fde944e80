"""1.6 transaction ids: the CSMS names a transaction by the integer it gives in the reply to
StartTransaction.  While that start waits in the offline queue the transaction runs under a
*provisional* id (negative, never sent); once the CSMS answers, the provisional id stands
for the CSMS's one in the held MeterValues / StopTransaction, which are built only at
delivery.  The station goes by its own opaque transaction id throughout: this table is the
only place that knows both, and it lives in the station's journal (`TransactionRefs`), so
a process restart still names a held transaction as before.

One record per transaction: {"csms": 4711} or {"provisional": -1} or both.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable

from ...station.errors import Undeliverable
from ...station.intents import TransactionEnded, TransactionStarted
from .transactions import id_tag_info

KEEP_ENDED = 16   # names of ended transactions kept for display (not persisted)


class TransactionIds:
    __slots__ = ("_refs_of", "_ended")

    def __init__(self, refs_of: Callable[[], object]):
        self._refs_of = refs_of           # -> the station's TransactionRefs (made after us)
        self._ended: OrderedDict[str, int] | None = None

    @property
    def _refs(self):
        return self._refs_of()

    def name(self, tx: str) -> int | None:
        """The CSMS's id, else the provisional one, else None (the start is on its way)."""
        rec = self._refs.get(tx)
        if rec is None:
            return self._ended.get(tx) if self._ended else None
        csms = rec.get("csms")
        return csms if csms is not None else rec.get("provisional")

    def csms_id(self, tx: str) -> int | None:
        rec = self._refs.get(tx)
        return None if rec is None else rec.get("csms")

    def provisional(self, tx: str) -> int:
        """Give a held start's transaction a provisional id (the next unused negative)."""
        rec = self._refs.get(tx) or {}
        if rec.get("provisional") is not None:
            return rec["provisional"]
        low = min([0, *(r.get("provisional") or 0 for _, r in self._refs.items())])
        self._refs.set(tx, {**rec, "provisional": low - 1})
        return low - 1

    def held(self, tx: str) -> bool:
        """A provisional id the CSMS has not replaced yet."""
        rec = self._refs.get(tx)
        return rec is not None and rec.get("csms") is None and rec.get("provisional") is not None

    def confirmed(self, tx: str, csms_id: int) -> int | None:
        """The CSMS's answer to the start; returns the provisional id it replaces, if any."""
        rec = self._refs.get(tx) or {}
        self._refs.set(tx, {**rec, "csms": csms_id})
        return rec.get("provisional")

    def ended(self, tx: str) -> None:
        """The end was delivered: the CSMS will not hear of it again."""
        name = self.name(tx)
        self._refs.drop(tx)
        if name is not None:
            if self._ended is None:
                self._ended = OrderedDict()
            self._ended[tx] = name
            while len(self._ended) > KEEP_ENDED:
                self._ended.popitem(last=False)

    def station_tx(self, csms_id: int) -> str | None:
        """The station's transaction the CSMS calls `csms_id` (RemoteStop, TxProfile)."""
        for tx, rec in self._refs.items():
            if rec.get("csms") == csms_id:
                return tx
        return None


class CsmsTransactions:
    """The dialect side of transactions named by the CSMS's integer ids (1.6 and 1.5 alike):
    mixed into a dialect that has `transaction_ids` (TransactionIds), `link`, `station` and
    `transaction_message(intent, csms_id) -> (action, payload or None)` in its own words."""

    def transaction_name(self, transaction: str) -> int | None:
        return self.transaction_ids.name(transaction)

    def held(self, intent) -> None:
        if isinstance(intent, TransactionStarted):
            self.transaction_ids.provisional(intent.transaction)

    def csms_transaction(self, transaction_id) -> str | None:
        """The station's transaction the CSMS calls `transaction_id`."""
        if transaction_id is None:
            return None
        return self.transaction_ids.station_tx(transaction_id)

    async def deliver(self, intent):
        """Send a transaction intent (now, or from the offline queue), naming its
        transaction by the CSMS's id: the reply's idTagInfo as AuthorizationInfo."""
        ids = self.transaction_ids
        tx = getattr(intent, "transaction", None)
        csms_id = None
        if tx is not None and not isinstance(intent, TransactionStarted):
            csms_id = ids.csms_id(tx)
            if csms_id is None and (isinstance(intent, TransactionEnded) or ids.held(tx)):
                raise Undeliverable(f"transaction {ids.name(tx)}'s start never got the "
                                    f"CSMS's id")
        action, payload = self.transaction_message(intent, csms_id)
        if payload is None:
            return None
        reply = await self.link.call(action, payload)
        info = id_tag_info(reply.get("idTagInfo"))
        if isinstance(intent, TransactionStarted):
            csms_id = reply["transactionId"]
            provisional = ids.confirmed(intent.transaction, csms_id)
            if provisional is not None:
                self.station.events.emit(
                    "tx_remapped", f"transaction {provisional} is {csms_id} at the CSMS",
                    intent.connector_id, provisional=provisional, transaction_id=csms_id,
                    transaction=intent.transaction, status=info.status if info else None)
        elif isinstance(intent, TransactionEnded):
            ids.ended(tx)
        return info
