"""The manager: the hub's business logic over abstract messages, with an in-memory cache.

The cache answers the hot path without a round trip to the store:

- Heartbeat and every other inbound message only update `last_seen` in memory; connector
  statuses are updated in memory; both are written behind to SQLite in one batch every
  `flush_interval` seconds, when the station disconnects, and when the hub stops;
- Authorize for a known tag is answered from the tag cache (a miss falls through to the store
  once, so tags written to SQLite by someone else are still found);
- the running transactions are held in memory (loaded from the store at start) for the
  ConcurrentTx check and for quick stop handling.

Transactions (start / stop), boots, meter values and firmware / diagnostics statuses are
written through at once: they are the data a test wants to see in the store.

CSMS-initiated commands: the features (reservations, local lists, charging profiles,
certificates; one module each) send abstract commands (`commands.py`) through `execute`,
which the hub binds to the station's adapter (`commander`).  Every answered command, also
one sent raw through the HTTP command API, comes back through `command_done`, so the
features' records in the store reflect whatever went to the stations.

Transaction hygiene: at most one active transaction per connector.  A new StartTransaction
on a connector that has one, or a BootNotification (the station restarted: whatever ran
before is over; not one the hub asked for with TriggerMessage), closes the stale one in the
store (`closed_by = 'hub'`, the reason `STALE_NEW_START` / `STALE_REBOOT`, meter stop = the
last energy reading seen) and publishes `transaction.stopped`; a later StopTransaction from
the station for it still records the station's own figures.  Messages that cannot be true
(a StartTransaction on connector 0 or below, a stop before its start or below its meter
start, an energy register going down, a negative connector) raise `Implausible` in strict
mode (the adapter answers a CALLERROR); in lenient mode they are stored, flagged
(`transactions.flags`; meter values: logged and counted) and logged.

Shared store (`shared_store`, hub workers: several processes over one store, each holding
some of the stations): the cache holds only the stations connected here.  A station that
connects is adopted (its registration and running transactions read from the store: it may
have run on another worker before), a station that leaves is dropped from the running
transactions, and the ConcurrentTx check also asks the store for the tag's running
transactions on other workers.  `forget_tag` / `forget_station` drop what another process
changed.

Rules (1.6 semantics, expressed version-neutrally):
- id tags are Accepted / Blocked / Expired / Invalid, with an optional expiry and parent;
  an Accepted tag past its expiry is Expired; an unknown tag is UNKNOWN (the 1.6 adapter
  says Invalid); an Accepted tag whose known parent is not Accepted takes the parent's status;
- a StartTransaction with a tag that already has a running (accepted) transaction is
  answered ConcurrentTx (unless `allow_concurrent_tags`: load tests charge one tag at many
  stations); `accept_unknown_tags` answers Accepted for tags the hub does not know; the transaction is still recorded (1.6 requires a transaction id),
  the station is expected to stop it.  Authorize is not refused for running tags: a card
  presented to stop a transaction must be Accepted.  An exact repeat of a StartTransaction
  (same station, connector, tag, meter start and timestamp; a charger retrying after a lost
  reply) gets the same transaction id back, also after a hub restart (found in the store);
  an exact repeat of a StopTransaction already stored (same meterStop and timestamp) is
  answered again without a second stop (no event, no samples stored twice); a reading
  (same transaction, timestamp, measurand, phase, unit, context, location and value) already
  stored is not stored again (a MeterValues retried from a station's offline queue);
- stations: a station registered by the operator (Accepted) or ever accepted before is
  Accepted; one the operator rejected is Rejected; any other is answered by the
  `unknown_stations` policy: accept (and remember it), pending, or reject.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Awaitable, Callable

from .commands import Command, Result, TriggerMessage
from .errors import StationNotConnected
from .events import EventBus
from .local_auth import LocalLists
from .messages import (AuthorizationStatus, AuthorizeRequest, BootResult,
                       CertificateSigningRequest, CertificateSigningResult, ConnectorStatus,
                       DataTransfer, DataTransferResult, DataTransferStatus,
                       DiagnosticsStatusChange, FileUploaded, FirmwareStatusChange, Heartbeat,
                       HeartbeatResult, IdTokenInfo, MeterReading, MeterSample,
                       RegistrationStatus, SecurityEvent, StationBoot, StationConnected,
                       StationDisconnected, StatusChange, TransactionStart, TransactionStarted,
                       TransactionStop, TransactionStopped, Implausible, format_time,
                       parse_time, utcnow)
from .pki import CertificateAuthority, Certificates
from .reservations import Reservations
from .smart_charging import ChargingProfiles
from .store import TAG_STATUSES, Store
from .store.files import FileStore

log = logging.getLogger(__name__)

# refuse: no auto-registration, an unknown station is refused at the handshake (security.py)
UNKNOWN_STATION_POLICIES = ("accept", "pending", "reject", "refuse")
_POLICY_STATUS = {"accept": RegistrationStatus.ACCEPTED, "pending": RegistrationStatus.PENDING,
                  "reject": RegistrationStatus.REJECTED, "refuse": RegistrationStatus.REJECTED}

STALE_NEW_START = "StaleNewTransaction"   # the connector started another transaction
STALE_REBOOT = "StaleReboot"              # the station booted again
MAX_ID_TAG = 20   # characters: the 1.6 IdToken (CiString20Type) every adapter can carry today
ENERGY = "Energy.Active.Import.Register"

DataTransferHandler = Callable[[DataTransfer], Awaitable[DataTransferResult]]
Commander = Callable[[str, Command, "float | None"], Awaitable[Result]]


@dataclass(slots=True)
class ConnectorState:
    status: str
    error_code: str | None
    info: str | None
    vendor_error_code: str | None
    updated: datetime

    def as_dict(self, connector_id: int) -> dict:
        return {"connector_id": connector_id, "status": self.status, "error_code": self.error_code,
                "info": self.info, "vendor_error_code": self.vendor_error_code,
                "updated": format_time(self.updated)}


@dataclass(slots=True)
class StationState:
    station_id: str
    registration: str | None = None  # last answer to a BootNotification
    operator: str | None = None      # the operator's decision: Accepted / Rejected / None
    connected: bool = False
    protocol: str | None = None
    remote: str | None = None
    connected_at: datetime | None = None
    last_seen: datetime | None = None
    last_boot: datetime | None = None
    vendor: str | None = None
    model: str | None = None
    firmware_status: str | None = None
    diagnostics_status: str | None = None
    firmware_request_id: int | None = None      # of SignedFirmwareStatusNotification
    diagnostics_request_id: int | None = None   # of LogStatusNotification
    connectors: dict[int, ConnectorState] = field(default_factory=dict)

    def summary(self) -> dict:
        return {"id": self.station_id, "connected": self.connected, "protocol": self.protocol,
                "registration": self.registration, "vendor": self.vendor, "model": self.model,
                "connected_at": self.connected_at and format_time(self.connected_at),
                "last_seen": self.last_seen and format_time(self.last_seen),
                "connectors": {str(cid): c.status for cid, c in sorted(self.connectors.items())}}


@dataclass(slots=True)
class TagState:
    id_tag: str
    status: str
    expiry_date: datetime | None
    parent_id_tag: str | None


@dataclass(slots=True)
class ActiveTransaction:
    id: int
    station_id: str
    connector_id: int
    id_tag: str
    meter_start: int
    start_time: datetime
    authorized: bool
    meter_last: int | None = None   # the last energy register reading seen (Wh)
    readings: set | None = None     # its stored readings' keys (None: not read from the store yet)


class Manager:
    def __init__(self, store: Store, events: EventBus, *, heartbeat_interval: int = 300,
                 unknown_stations: str = "accept", flush_interval: float = 5.0,
                 ca: CertificateAuthority | None = None, files: FileStore | None = None,
                 lenient: bool = False, allow_concurrent_tags: bool = False,
                 accept_unknown_tags: bool = False, shared_store: bool = False):
        if unknown_stations not in UNKNOWN_STATION_POLICIES:
            raise ValueError(f"unknown_stations must be one of {UNKNOWN_STATION_POLICIES}")
        self.store = store
        self.events = events
        self.heartbeat_interval = heartbeat_interval
        self.unknown_stations = unknown_stations
        self.flush_interval = flush_interval
        self.lenient = lenient
        self.allow_concurrent_tags = allow_concurrent_tags
        self.accept_unknown_tags = accept_unknown_tags
        self.shared_store = shared_store
        self.stations: dict[str, StationState] = {}
        self.tags: dict[str, TagState] = {}
        self.active: dict[int, ActiveTransaction] = {}
        self._tx_by_tag: dict[str, int] = {}  # tag → its running accepted transaction
        self._tx_by_start: dict[tuple, int] = {}  # start message → running transaction
        self._tx_by_connector: dict[tuple[str, int], int] = {}  # (station, connector) → running
        self._triggered_boot: set[str] = set()  # asked for a BootNotification: not a reboot
        self._dirty_seen: set[str] = set()
        self._dirty_connectors: set[tuple[str, int]] = set()
        self._flusher: asyncio.Task | None = None
        self.data_transfer_handlers: dict[str, DataTransferHandler] = {}
        self.counters = {"transactions_started": 0, "transactions_stopped": 0, "boots": 0,
                         "meter_samples": 0, "repeats_ignored": 0, "store_flushes": 0, "transactions_closed_stale": 0,
                         "implausible": 0, "tag_cache_hits": 0, "tag_cache_misses": 0}
        self.commander: Commander | None = None   # the hub: command → the station's adapter
        self.files = files
        self.reservations = Reservations(store, events, self.execute, self.require_connected)
        self.local_lists = LocalLists(store, self.stored_tag_info, self.execute)
        self.profiles = ChargingProfiles(store, events)
        self.certificates = Certificates(store, ca, self.execute)
        self._observers = (self.reservations.observe, self.local_lists.observe,
                           self.profiles.observe)

    # -- lifecycle --------------------------------------------------------------------
    def load(self) -> None:
        """Fill the cache from the store (tags, known stations, running transactions)."""
        for row in self.store.list_tags():
            self.tags[row["id_tag"]] = _tag_state(row)
        for row in self.store.list_stations():
            st = self._station(row["id"])
            st.registration = row["status"]
            st.operator = row.get("registration")
            st.vendor, st.model = row["vendor"], row["model"]
            st.firmware_status = row["firmware_status"]
            st.diagnostics_status = row["diagnostics_status"]
            if row["last_seen"]:
                st.last_seen = parse_time(row["last_seen"])
            for c in self.store.get_connectors(row["id"]):
                st.connectors[c["connector_id"]] = ConnectorState(
                    c["status"], c["error_code"], c["info"], c["vendor_error_code"],
                    parse_time(c["updated"]))
        if self.shared_store:   # running transactions are adopted with their station
            return
        for row in self.store.open_transactions():
            tx = _active_of(row)
            stale = self._tx_by_connector.get((tx.station_id, tx.connector_id))
            if stale is not None:   # written before transaction hygiene: the newer one wins
                self._close_stale(self.active[stale], STALE_NEW_START)
            self._add_active(tx)

    async def start(self) -> None:
        self.load()
        if self.flush_interval > 0:
            self._flusher = asyncio.create_task(self._flush_periodically(), name="hub-flush")

    async def stop(self) -> None:
        self.certificates.close()
        if self._flusher is not None:
            self._flusher.cancel()
            try:
                await self._flusher
            except asyncio.CancelledError:
                pass
            self._flusher = None
        self.flush()

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                self.flush()
            except Exception:
                log.exception("flushing the cache to the store failed")

    def flush(self, station_id: str | None = None) -> None:
        """Write behind the dirty last-seen times and connector statuses (all, or one station's)."""
        seen = {s for s in self._dirty_seen if station_id is None or s == station_id}
        conns = {k for k in self._dirty_connectors if station_id is None or k[0] == station_id}
        if not seen and not conns:
            return
        self.store.touch_stations({s: self.stations[s].last_seen for s in seen})
        rows = []
        for sid, cid in conns:
            c = self.stations[sid].connectors[cid]
            rows.append((sid, cid, c.status, c.error_code, c.info, c.vendor_error_code, c.updated))
        self.store.save_connectors(rows)
        self._dirty_seen -= seen
        self._dirty_connectors -= conns
        self.counters["store_flushes"] += 1

    # -- stations ---------------------------------------------------------------------
    def _station(self, station_id: str) -> StationState:
        st = self.stations.get(station_id)
        if st is None:
            st = self.stations[station_id] = StationState(station_id)
        return st

    def seen(self, station_id: str) -> None:
        """Any message from a station: it is alive (in memory only; flushed later)."""
        self._station(station_id).last_seen = utcnow()
        self._dirty_seen.add(station_id)

    def adopt(self, station_id: str) -> None:
        """Shared store: read a station that connects here (it may have been connected to
        another worker): its registration and its running transactions."""
        st = self._station(station_id)
        row = self.store.get_station(station_id)
        if row is not None:
            st.registration, st.operator = row["status"], row.get("registration")
        for tx in [t for t in self.active.values() if t.station_id == station_id]:
            self._drop_active(tx)
        for row in self.store.open_transactions(station_id):
            tx = _active_of(row)
            stale = self._tx_by_connector.get((tx.station_id, tx.connector_id))
            if stale is not None:
                self._close_stale(self.active[stale], STALE_NEW_START)
            self._add_active(tx)

    def forget_tag(self, id_tag: str) -> None:
        """Another process changed the tag: the next lookup reads the store."""
        self.tags.pop(id_tag, None)

    def forget_station(self, station_id: str) -> None:
        """Another process changed the station's registration: read it again."""
        st = self.stations.get(station_id)
        row = self.store.get_station(station_id)
        if st is not None and row is not None:
            st.registration, st.operator = row["status"], row.get("registration")

    def connected(self, station_id: str, protocol: str, remote: str | None = None) -> None:
        if self.shared_store:
            self.adopt(station_id)
        st = self._station(station_id)
        st.connected, st.protocol, st.remote = True, protocol, remote
        st.connected_at = utcnow()
        self.seen(station_id)
        self.events.publish(StationConnected.TOPIC, StationConnected(station_id, protocol, remote),
                            station_id)

    def disconnected(self, station_id: str, code: int | None = None, reason: str | None = None) -> None:
        st = self._station(station_id)
        st.connected = False
        try:
            self.flush(station_id)
        except Exception:
            log.exception("%s: flushing on disconnect failed", station_id)
        if self.shared_store:   # the station may come back on another worker
            for tx in [t for t in self.active.values() if t.station_id == station_id]:
                self._drop_active(tx)
        self.events.publish(StationDisconnected.TOPIC, StationDisconnected(station_id, code, reason),
                            station_id)

    def set_registration(self, station_id: str, status: str | None) -> None:
        """The operator's decision for a station: 'Accepted', 'Rejected' or None (policy)."""
        if status not in ("Accepted", "Rejected", None):
            raise ValueError("registration must be 'Accepted', 'Rejected' or null")
        self._station(station_id).operator = status
        self.store.set_operator_registration(station_id, status)

    async def boot(self, msg: StationBoot) -> BootResult:
        st = self._station(msg.station_id)
        if st.operator == "Rejected":
            status = RegistrationStatus.REJECTED
        elif st.operator == "Accepted" or st.registration == RegistrationStatus.ACCEPTED.value:
            status = RegistrationStatus.ACCEPTED
        else:
            status = _POLICY_STATUS[self.unknown_stations]
        now = utcnow()
        st.registration, st.last_boot, st.last_seen = status.value, now, now
        st.vendor, st.model = msg.vendor, msg.model
        self.store.record_boot(msg, status.value, now)
        self.counters["boots"] += 1
        if msg.station_id in self._triggered_boot:   # TriggerMessage: the station runs on
            self._triggered_boot.discard(msg.station_id)
        else:
            for tx in [t for t in self.active.values() if t.station_id == msg.station_id]:
                self._close_stale(tx, STALE_REBOOT)
        if status is not RegistrationStatus.ACCEPTED:
            log.info("%s: BootNotification answered %s (unknown_stations=%s)", msg.station_id,
                     status.value, self.unknown_stations)
        self.events.publish(StationBoot.TOPIC, msg, msg.station_id)
        return BootResult(status, now, self.heartbeat_interval)

    async def heartbeat(self, msg: Heartbeat) -> HeartbeatResult:
        # The hot path: `seen` already ran for this message; nothing else to do.
        return HeartbeatResult(utcnow())

    async def status_change(self, msg: StatusChange) -> None:
        if msg.connector_id < 0:
            self._implausible(msg.station_id, "StatusNotification",
                              f"connectorId {msg.connector_id} is negative")
        st = self._station(msg.station_id)
        status = msg.status.value if isinstance(msg.status, ConnectorStatus) else msg.status
        old = st.connectors.get(msg.connector_id)
        new = ConnectorState(status, msg.error_code, msg.info, msg.vendor_error_code,
                             msg.timestamp or utcnow())
        if old is None or (old.status, old.error_code, old.info, old.vendor_error_code) != (
                new.status, new.error_code, new.info, new.vendor_error_code):
            self._dirty_connectors.add((msg.station_id, msg.connector_id))
        st.connectors[msg.connector_id] = new
        self.events.publish(StatusChange.TOPIC, msg, msg.station_id)

    async def firmware_status(self, msg: FirmwareStatusChange) -> None:
        st = self._station(msg.station_id)
        st.firmware_status, st.firmware_request_id = msg.status, msg.request_id
        self.store.update_station(msg.station_id, firmware_status=msg.status)
        self.events.publish(FirmwareStatusChange.TOPIC, msg, msg.station_id)

    async def diagnostics_status(self, msg: DiagnosticsStatusChange) -> None:
        st = self._station(msg.station_id)
        st.diagnostics_status, st.diagnostics_request_id = msg.status, msg.request_id
        self.store.update_station(msg.station_id, diagnostics_status=msg.status)
        self.events.publish(DiagnosticsStatusChange.TOPIC, msg, msg.station_id)

    async def security_event(self, msg: SecurityEvent) -> None:
        log.info("%s: security event %s %s", msg.station_id, msg.type, msg.tech_info or "")
        self.store.security_events.add(msg.station_id, msg.type, format_time(msg.timestamp),
                                       msg.tech_info)
        self.events.publish(SecurityEvent.TOPIC, msg, msg.station_id)

    async def sign_certificate(self, msg: CertificateSigningRequest
                               ) -> CertificateSigningResult | None:
        """Sign a station's CSR (None: this hub has no CA)."""
        return self.certificates.sign(msg)

    def deliver_certificate(self, msg: CertificateSigningRequest,
                            result: CertificateSigningResult) -> None:
        """After the signing answer is on the wire: send the chain (CertificateSigned)."""
        self.certificates.deliver(msg.station_id, result)

    def file_uploaded(self, station_id: str, name: str, data: bytes) -> None:
        """A station's upload arrived (GetDiagnostics / GetLog): keep it, publish it."""
        if self.files is None:
            raise RuntimeError("this hub keeps no files (it has no HTTP API)")
        self.files.save_upload(station_id, name, data)
        self.events.publish(FileUploaded.TOPIC, FileUploaded(station_id, name, len(data)),
                            station_id)

    # -- CSMS-initiated commands ------------------------------------------------------
    async def execute(self, station_id: str, command: Command,
                      timeout: float | None = None) -> Result:
        """Send an abstract command to a connected station; its typed result."""
        if self.commander is None:
            raise RuntimeError("the manager has no commander (Hub binds one at start)")
        return await self.commander(station_id, command, timeout)

    def require_connected(self, station_id: str) -> None:
        st = self.stations.get(station_id)
        if st is None or not st.connected:
            raise StationNotConnected(f"station {station_id!r} is not connected")

    def command_done(self, station_id: str, command: Command, result: Result) -> None:
        """Every answered command, however it was sent: the features record it."""
        if isinstance(command, TriggerMessage) and command.message == "BootNotification" \
                and getattr(result, "accepted", False):
            self._triggered_boot.add(station_id)
        for observe in self._observers:
            try:
                observe(station_id, command, result)
            except Exception:
                log.exception("%s: recording %s failed", station_id, type(command).__name__)

    async def data_transfer(self, msg: DataTransfer) -> DataTransferResult:
        self.events.publish(DataTransfer.TOPIC, msg, msg.station_id)
        handler = self.data_transfer_handlers.get(msg.vendor_id)
        if handler is None:
            return DataTransferResult(DataTransferStatus.UNKNOWN_VENDOR_ID)
        return await handler(msg)

    # -- id tags ----------------------------------------------------------------------
    def put_tag(self, id_tag: str, status: str = "Accepted", expiry_date: datetime | str | None = None,
                parent_id_tag: str | None = None) -> dict:
        """Add or update a tag (store and cache).  Raises ValueError for a bad id, status or
        date."""
        if not isinstance(id_tag, str) or not id_tag or len(id_tag) > MAX_ID_TAG:
            raise ValueError(f"an id tag is 1 to {MAX_ID_TAG} characters, not {id_tag!r}")
        if parent_id_tag is not None and (not isinstance(parent_id_tag, str)
                                          or len(parent_id_tag) > MAX_ID_TAG):
            raise ValueError(f"parentIdTag is at most {MAX_ID_TAG} characters, "
                             f"not {parent_id_tag!r}")
        if isinstance(expiry_date, str):
            try:
                expiry_date = parse_time(expiry_date)
            except ValueError:
                raise ValueError(f"expiryDate {expiry_date!r} is not an RFC 3339 timestamp") from None
        row = self.store.put_tag(id_tag, status, expiry_date, parent_id_tag)
        self.tags[id_tag] = _tag_state(row)
        return row

    def delete_tag(self, id_tag: str) -> bool:
        self.tags.pop(id_tag, None)
        return self.store.delete_tag(id_tag)

    def stored_tag_info(self, id_tag: str) -> IdTokenInfo | None:
        """A tag as the store holds it (no expiry or parent rules applied), or None."""
        row = self.store.get_tag(id_tag)
        if row is None:
            return None
        return IdTokenInfo(AuthorizationStatus(row["status"]),
                           parse_time(row["expiry_date"]) if row["expiry_date"] else None,
                           row["parent_id_tag"])

    def _tag(self, id_tag: str) -> TagState | None:
        tag = self.tags.get(id_tag)
        if tag is not None:
            self.counters["tag_cache_hits"] += 1
        else:
            self.counters["tag_cache_misses"] += 1
            row = self.store.get_tag(id_tag)
            if row is not None:
                tag = self.tags[id_tag] = _tag_state(row)
        return tag

    def id_token_info(self, id_tag: str, now: datetime | None = None, _depth: int = 0) -> IdTokenInfo:
        tag = self._tag(id_tag)
        if tag is None:
            return IdTokenInfo(AuthorizationStatus.ACCEPTED if self.accept_unknown_tags
                               else AuthorizationStatus.UNKNOWN)
        now = now or utcnow()
        status = AuthorizationStatus(tag.status)
        if status is AuthorizationStatus.ACCEPTED and tag.expiry_date is not None \
                and tag.expiry_date <= now:
            status = AuthorizationStatus.EXPIRED
        if status is AuthorizationStatus.ACCEPTED and tag.parent_id_tag and _depth < 5 \
                and tag.parent_id_tag != id_tag and self._tag(tag.parent_id_tag) is not None:
            parent = self.id_token_info(tag.parent_id_tag, now, _depth + 1)
            if parent.status is not AuthorizationStatus.ACCEPTED:
                status = parent.status
        return IdTokenInfo(status, tag.expiry_date, tag.parent_id_tag)

    async def authorize(self, msg: AuthorizeRequest) -> IdTokenInfo:
        info = self.id_token_info(msg.id_token)
        self.events.publish(AuthorizeRequest.TOPIC, msg, msg.station_id)
        return info

    # -- transactions -----------------------------------------------------------------
    def _implausible(self, station_id: str, action: str, problem: str) -> str:
        """Strict: refuse the message (Implausible).  Lenient: log it and return the flag
        to store with what was received."""
        self.counters["implausible"] += 1
        if not self.lenient:
            log.warning("%s: %s refused: %s", station_id, action, problem)
            raise Implausible(problem)
        log.warning("%s: %s stored though %s (lenient mode)", station_id, action, problem)
        return problem

    def _add_active(self, tx: ActiveTransaction) -> None:
        self.active[tx.id] = tx
        self._tx_by_start[_start_key(tx)] = tx.id
        self._tx_by_connector[(tx.station_id, tx.connector_id)] = tx.id
        if tx.authorized:
            self._tx_by_tag[tx.id_tag] = tx.id

    def _drop_active(self, tx: ActiveTransaction) -> None:
        self.active.pop(tx.id, None)
        self._tx_by_start.pop(_start_key(tx), None)
        if self._tx_by_connector.get((tx.station_id, tx.connector_id)) == tx.id:
            del self._tx_by_connector[(tx.station_id, tx.connector_id)]
        if self._tx_by_tag.get(tx.id_tag) == tx.id:
            del self._tx_by_tag[tx.id_tag]

    def _close_stale(self, tx: ActiveTransaction, reason: str) -> None:
        """End a transaction the station will not end itself (it rebooted, or its connector
        started another): stored as closed by the hub, with the last reading seen."""
        self._drop_active(tx)
        meter_stop = tx.meter_last if tx.meter_last is not None else tx.meter_start
        self.store.close_stale_transaction(tx.id, meter_stop, utcnow(), reason)
        self.profiles.transaction_ended(tx.station_id, tx.connector_id, tx.id,
                                        unnamed=reason != STALE_NEW_START)
        self.counters["transactions_closed_stale"] += 1
        log.info("%s: transaction %d on connector %d closed by the hub (%s)", tx.station_id,
                 tx.id, tx.connector_id, reason)
        self.events.publish(TransactionStopped.TOPIC, TransactionStopped(
            tx.station_id, tx.id, True, meter_stop - tx.meter_start, reason, None, "hub"),
            tx.station_id)

    async def start_transaction(self, msg: TransactionStart) -> TransactionStarted:
        key = (msg.station_id, msg.connector_id, msg.id_token, msg.meter_start, msg.timestamp)
        tx = self.active.get(self._tx_by_start.get(key, -1))
        if tx is None:   # not running here: stopped since, or started by another worker
            row = self.store.find_transaction_start(*key)
            if row is not None:
                tx = _active_of(row)
        if tx is not None:  # a charger retrying a StartTransaction whose reply it lost
            log.info("%s: repeated StartTransaction for transaction %d", msg.station_id, tx.id)
            info = self.id_token_info(msg.id_token)
            if not tx.authorized and info.status is AuthorizationStatus.ACCEPTED:
                info = IdTokenInfo(AuthorizationStatus.CONCURRENT_TX, info.expiry_date,
                                   info.parent_id_token)
            return TransactionStarted(msg.station_id, tx.id, tx.connector_id, tx.id_tag,
                                      tx.meter_start, tx.start_time, info)
        flags = []
        if msg.connector_id <= 0:
            flags.append(self._implausible(msg.station_id, "StartTransaction",
                                           f"connectorId {msg.connector_id} is not a connector "
                                           "(transactions run on connectors 1 and up)"))
        if msg.meter_start < 0:
            flags.append(self._implausible(msg.station_id, "StartTransaction",
                                           f"meterStart {msg.meter_start} is negative"))
        stale = self.active.get(self._tx_by_connector.get((msg.station_id, msg.connector_id), -1))
        if stale is not None:
            self._close_stale(stale, STALE_NEW_START)
        info = self.id_token_info(msg.id_token)
        if info.status is AuthorizationStatus.ACCEPTED and not self.allow_concurrent_tags \
                and (msg.id_token in self._tx_by_tag or self._running_elsewhere(msg.id_token)):
            info = IdTokenInfo(AuthorizationStatus.CONCURRENT_TX, info.expiry_date,
                               info.parent_id_token)
        authorized = info.status is AuthorizationStatus.ACCEPTED
        tx_id = self.store.start_transaction(msg.station_id, msg.connector_id, msg.id_token,
                                             info.status.value, msg.meter_start, msg.timestamp,
                                             msg.reservation_id, "; ".join(flags) or None)
        self._add_active(ActiveTransaction(tx_id, msg.station_id, msg.connector_id, msg.id_token,
                                           msg.meter_start, msg.timestamp, authorized,
                                           readings=set()))
        self.counters["transactions_started"] += 1
        result = TransactionStarted(msg.station_id, tx_id, msg.connector_id, msg.id_token,
                                    msg.meter_start, msg.timestamp, info)
        self.events.publish(TransactionStarted.TOPIC, result, msg.station_id)
        return result

    def _running_elsewhere(self, id_tag: str) -> bool:
        """Shared store: the tag has an accepted running transaction at a station of
        another worker (this worker's own are in the cache)."""
        if not self.shared_store:
            return False
        row = self.store.open_transaction_of_tag(id_tag, AuthorizationStatus.ACCEPTED.value)
        return row is not None and row["id"] not in self.active

    async def stop_transaction(self, msg: TransactionStop) -> TransactionStopped:
        tx = self.active.get(msg.transaction_id)
        if tx is not None:
            start_meter, start_time, connector = tx.meter_start, tx.start_time, tx.connector_id
        else:   # stopped already (by the hub, or a retry), or unknown
            row = self.store.get_transaction(msg.transaction_id)
            start_meter, start_time, connector = (
                (row["meter_start"], parse_time(row["start_time"]), row["connector_id"]) if row
                else (None, None, 0))
            if row is not None and row["closed_by"] == "station" \
                    and row["meter_stop"] == msg.meter_stop \
                    and row["stop_time"] == format_time(msg.timestamp):
                # a charger retrying a StopTransaction whose reply it lost: answered again
                log.info("%s: repeated StopTransaction for transaction %d", msg.station_id,
                         msg.transaction_id)
                self.counters["repeats_ignored"] += 1
                info = self.id_token_info(msg.id_token) if msg.id_token else None
                return TransactionStopped(msg.station_id, msg.transaction_id, True,
                                          msg.meter_stop - start_meter, msg.reason, info)
        flags = []
        if start_meter is not None and msg.meter_stop < start_meter:
            flags.append(self._implausible(msg.station_id, "StopTransaction",
                                           f"meterStop {msg.meter_stop} is below the "
                                           f"transaction's meterStart {start_meter}"))
        if start_time is not None and msg.timestamp < start_time:
            flags.append(self._implausible(msg.station_id, "StopTransaction",
                                           f"stop time {format_time(msg.timestamp)} is before "
                                           f"the start {format_time(start_time)}"))
        info = self.id_token_info(msg.id_token) if msg.id_token else None
        if tx is not None:
            if tx.station_id != msg.station_id:
                log.warning("%s: stops transaction %d of station %s", msg.station_id, tx.id,
                            tx.station_id)
            self._drop_active(tx)
        known = self.store.stop_transaction(msg.transaction_id, msg.meter_stop, msg.timestamp,
                                            msg.reason, msg.id_token, "; ".join(flags) or None)
        if not known:
            known = start_meter is not None
            log.warning("%s: StopTransaction for %s transaction %d", msg.station_id,
                        "already stopped" if known else "unknown", msg.transaction_id)
        elif start_meter is not None:
            self.profiles.transaction_ended(msg.station_id, connector, msg.transaction_id)
        if msg.samples:
            samples = self._new_readings(tx, msg.samples) if tx is not None else msg.samples
            self._store_samples(msg.station_id, connector, msg.transaction_id, samples)
        self.counters["transactions_stopped"] += 1
        result = TransactionStopped(msg.station_id, msg.transaction_id, known,
                                    msg.meter_stop - start_meter if start_meter is not None
                                    else None, msg.reason, info)
        self.events.publish(TransactionStopped.TOPIC, result, msg.station_id)
        return result

    async def meter_reading(self, msg: MeterReading) -> None:
        if msg.connector_id < 0:
            self._implausible(msg.station_id, "MeterValues",
                              f"connectorId {msg.connector_id} is negative")
        tx = self.active.get(msg.transaction_id) if msg.transaction_id is not None else None
        if tx is not None:
            # the station's energy register (not a phase's, not the EV's) only goes up
            last = floor = tx.meter_start if tx.meter_last is None else tx.meter_last
            for s in msg.samples:
                if s.measurand == ENERGY and s.value is not None and s.phase is None \
                        and s.location in (None, "Outlet") and s.unit in ("Wh", "kWh"):
                    wh = s.value * 1000 if s.unit == "kWh" else s.value
                    if wh < floor - 1:   # 1 Wh: a register read with decimals vs meterStart
                        self._implausible(msg.station_id, "MeterValues",
                                          f"the energy register went down to {wh:g} Wh "
                                          f"(transaction {tx.id} was at {floor} Wh)")
                    last = max(last, int(wh))
            tx.meter_last = last
            samples = self._new_readings(tx, msg.samples)
            if not samples and msg.samples:   # all stored already: a retry
                log.info("%s: repeated MeterValues for transaction %d", msg.station_id, tx.id)
                self.counters["repeats_ignored"] += 1
                await self.store.written()   # the first may still be on its way to the store
                return
        else:
            samples = msg.samples
        self._store_samples(msg.station_id, msg.connector_id, msg.transaction_id, samples)
        self.events.publish(MeterReading.TOPIC, msg, msg.station_id)
        await self.store.written()   # answered once stored (one COMMIT for many stations)

    def _new_readings(self, tx: ActiveTransaction, samples: list[MeterSample]) -> list[MeterSample]:
        """The samples of a running transaction not stored before (a retried message's are)."""
        if tx.readings is None:   # loaded at start or adopted: what the store holds
            tx.readings = self.store.meter_reading_keys(tx.id)
        new, keys, last, text = [], [], None, None
        for s in samples:
            if s.timestamp is not last:   # the samples of one reading share it: format it once
                last, text = s.timestamp, format_time(s.timestamp)
            key = (text, s.measurand, s.phase, s.unit, s.context, s.location,
                   s.value if s.value is not None else s.raw_value)
            if key not in tx.readings:
                new.append(s)
                keys.append(key)
        tx.readings.update(keys)
        return new

    def _store_samples(self, station_id: str, connector_id: int, transaction_id: int | None,
                       samples: list[MeterSample]) -> None:
        self.store.add_meter_values([
            (transaction_id, station_id, connector_id, s.timestamp, s.measurand, s.phase, s.unit,
             s.context, s.location, s.value if s.value is not None else s.raw_value)
            for s in samples])
        self.counters["meter_samples"] += len(samples)

    # -- views ------------------------------------------------------------------------
    def list_tags(self) -> list[dict]:
        return self.store.list_tags()

    def get_tag(self, id_tag: str) -> dict | None:
        return self.store.get_tag(id_tag)

    def list_transactions(self, station_id: str | None = None, active: bool | None = None,
                          limit: int = 1000) -> list[dict]:
        """Transactions, newest first."""
        return self.store.list_transactions(station_id, active, limit)

    def station_detail(self, station_id: str) -> dict | None:
        """Everything known about a station: identity from the store, live state from the cache."""
        st = self.stations.get(station_id)
        row = self.store.get_station(station_id)
        if st is None and row is None:
            return None
        st = st or self._station(station_id)
        row = row or {}
        return {
            "id": station_id, "connected": st.connected, "protocol": st.protocol,
            "remote": st.remote, "registration": st.registration,
            "operator_registration": st.operator,
            "vendor": row.get("vendor"), "model": row.get("model"), "serial": row.get("serial"),
            "firmware": row.get("firmware"), "iccid": row.get("iccid"), "imsi": row.get("imsi"),
            "meter_type": row.get("meter_type"), "meter_serial": row.get("meter_serial"),
            "last_boot": row.get("last_boot"),
            "connected_at": st.connected_at and format_time(st.connected_at),
            "last_seen": st.last_seen and format_time(st.last_seen),
            "firmware_status": st.firmware_status, "diagnostics_status": st.diagnostics_status,
            "firmware_request_id": st.firmware_request_id,
            "diagnostics_request_id": st.diagnostics_request_id,
            "connectors": [c.as_dict(cid) for cid, c in sorted(st.connectors.items())],
            "transactions": self.store.list_transactions(station_id, limit=50),
        }


def _active_of(row: dict) -> ActiveTransaction:
    return ActiveTransaction(row["id"], row["station_id"], row["connector_id"], row["id_tag"],
                             row["meter_start"], parse_time(row["start_time"]),
                             row["id_tag_status"] == AuthorizationStatus.ACCEPTED.value)


def _start_key(tx: ActiveTransaction) -> tuple:
    return (tx.station_id, tx.connector_id, tx.id_tag, tx.meter_start, tx.start_time)


def _tag_state(row: dict) -> TagState:
    if row["status"] not in TAG_STATUSES:
        log.warning("tag %s has status %r; read as Invalid", row["id_tag"], row["status"])
    return TagState(row["id_tag"], row["status"] if row["status"] in TAG_STATUSES else "Invalid",
                    parse_time(row["expiry_date"]) if row["expiry_date"] else None,
                    row["parent_id_tag"])
