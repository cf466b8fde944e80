"""Domain events on RabbitMQ: the `EventBus` interface over a durable topic exchange.

Publishing.  `publish` (the hub's hot path) appends the event to a bounded in-memory outbox
and returns; it never waits for the broker and never raises.  One task drains the outbox,
in order, to the exchange over a channel with publisher confirms, and removes events only
once the broker has confirmed them (persistent messages, so a durable queue keeps them
across a broker restart).  While the broker is unreachable the outbox fills and the task
reconnects with backoff; when the broker returns the outbox is published in order.  A batch
cut off by a broken connection is published again: delivery is at-least-once, and every
event carries a unique id (AMQP `message_id`, and `id` in the body) that consumers
de-duplicate on.  A full outbox refuses new events: counted in `dropped` and logged.

Routing keys.  `<topic>.<station>`, e.g. `transaction.started.CP-1`.  The station id is one
word: `%`, `.`, `*` and `#` are written `%25`, `%2E`, `%2A`, `%23` (URL percent-encoding,
so `urllib.parse.unquote` reads it back; `station_id_of` does); an event without a station
has the word `%`, which no encoded id can be.  Bind `transaction.*.*` for every transaction
event, `#.CP-1` for one station's events, `#` for all.

Subscribing.  Local subscribers (`subscribe`) are served through the broker, so in
distributed mode they see the events of every hub instance: each bus instance has one queue
(`<exchange>.<instance>`, removed by the broker a minute after its last consumer left) bound
with one routing pattern per subscribed topic pattern — never a queue per station.  Events
are handed to subscribers as by `InProcessBus`, duplicates (by event id) dropped.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
import urllib.parse
import uuid
from collections import OrderedDict, deque
from datetime import datetime, timezone

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from pamqp.commands import Basic

from .events import Event, InProcessBus, Subscription
from .messages import Message

log = logging.getLogger(__name__)

DEFAULT_EXCHANGE = "chargesim.events"
NO_STATION = "%"
_ESCAPE = str.maketrans({"%": "%25", ".": "%2E", "*": "%2A", "#": "%23"})


def routing_key(topic: str, station_id: str | None) -> str:
    """`<topic>.<station>` with the station id as one encoded word (see the module doc)."""
    return f"{topic}.{NO_STATION if station_id is None else station_id.translate(_ESCAPE)}"


def station_id_of(key: str) -> str | None:
    """The station id a routing key names (the inverse of `routing_key`'s encoding)."""
    word = key.rsplit(".", 1)[-1]
    return None if word == NO_STATION else urllib.parse.unquote(word)


def check_url(url: str) -> str:
    if not isinstance(url, str) or urllib.parse.urlsplit(url).scheme not in ("amqp", "amqps"):
        raise ValueError(f"AMQP URL must be amqp://user:password@host:port/vhost "
                         f"or amqps://..., got {url!r}")
    return url


class AmqpBus(InProcessBus):
    """An `EventBus` on a RabbitMQ topic exchange, with an outbox (see the module doc).

    `backlog` (events waiting in the outbox), `connected`, `published`, `confirmed`,
    `dropped` (outbox full) and `connects` are for metrics and tests."""

    def __init__(self, url: str, *, exchange: str = DEFAULT_EXCHANGE, instance: str | None = None,
                 outbox_size: int = 100_000, batch_size: int = 256, retry_delay: float = 0.25,
                 max_retry_delay: float = 5.0, close_timeout: float = 5.0,
                 queue_size: int = 1000, seen_ids: int = 10_000):
        super().__init__(queue_size)
        if not exchange:
            raise ValueError("AMQP exchange name must not be empty")
        if outbox_size < 1 or batch_size < 1:
            raise ValueError("outbox_size and batch_size must be at least 1")
        self.url = check_url(url)
        self.exchange_name = exchange
        self.instance = instance or f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        self.queue_name = f"{exchange}.{self.instance}"
        self.outbox: deque[Event] = deque()
        self.outbox_size = outbox_size
        self.batch_size = batch_size
        self.retry_delay, self.max_retry_delay = retry_delay, max_retry_delay
        self.close_timeout = close_timeout
        self.connected = False
        self.confirmed = 0
        self.dropped = 0
        self.connects = 0
        self._overflowing = False
        self._seen: OrderedDict[str, None] = OrderedDict()   # recent ids, for de-duplication
        self._seen_max = seen_ids
        self._wake = asyncio.Event()     # outbox or subscriptions changed, or connection lost
        self._task: asyncio.Task | None = None
        self._conn = self._channel = self._exchange = self._queue = None
        self._bound: set[str] = set()    # routing patterns bound on this connection

    @property
    def backlog(self) -> int:
        return len(self.outbox)

    # -- EventBus ---------------------------------------------------------------------
    async def start(self) -> None:
        """Start the outbox task; does not wait for the broker (it may be down)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"amqp-bus {self.exchange_name}")

    async def close(self) -> None:
        """Publish what the outbox holds, then disconnect.  It waits as long as the broker
        keeps confirming (a hub closing thousands of connections queues an event for each
        just before this: a fixed deadline lost thousands of them), and gives up once
        `close_timeout` seconds pass with no event confirmed, or the broker is gone.  Events
        left over are logged as lost."""
        if self._task is not None:
            loop = asyncio.get_running_loop()
            confirmed, stalled_at = self.confirmed, loop.time() + self.close_timeout
            while self.outbox and self.connected:
                if self.confirmed != confirmed:
                    confirmed, stalled_at = self.confirmed, loop.time() + self.close_timeout
                elif loop.time() >= stalled_at:
                    break
                await asyncio.sleep(0.01)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.outbox:
            log.warning("event bus closed with %d events unpublished (broker %s)",
                        len(self.outbox), "connected" if self.connected else "unreachable")
        await self._disconnect()
        await super().close()

    def publish(self, topic: str, message: Message, station_id: str | None = None) -> None:
        self.published += 1
        if len(self.outbox) >= self.outbox_size:
            self.dropped += 1
            if not self._overflowing:
                self._overflowing = True
                log.error("event outbox full (%d events, broker %s): dropping new events "
                          "until it drains", self.outbox_size,
                          "connected" if self.connected else "unreachable")
            return
        self.outbox.append(Event(topic, station_id, message))
        self._wake.set()

    def subscribe(self, pattern: str, callback=None) -> Subscription:
        sub = super().subscribe(pattern, callback)
        self._wake.set()   # the outbox task binds the pattern
        return sub

    def unsubscribe(self, subscription: Subscription) -> None:
        super().unsubscribe(subscription)
        self._wake.set()

    # -- the outbox task --------------------------------------------------------------
    async def _run(self) -> None:
        delay = self.retry_delay
        while True:
            try:
                await self._connect()
                delay = self.retry_delay
                await self._pump()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.connected:
                    log.warning("event broker connection lost (%s); %d events wait in the "
                                "outbox", exc or type(exc).__name__, len(self.outbox))
                else:
                    log.log(logging.WARNING if delay == self.retry_delay else logging.DEBUG,
                            "event broker unreachable (%s); retrying, %d events wait in the "
                            "outbox", exc or type(exc).__name__, len(self.outbox))
                await self._disconnect()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_retry_delay)

    async def _connect(self) -> None:
        self._conn = await aio_pika.connect(
            self.url, timeout=10,
            client_properties={"connection_name": f"chargesim hub {self.instance}"})
        self._conn.close_callbacks.add(lambda *_: self._wake.set())
        self._channel = await self._conn.channel(publisher_confirms=True)
        self._exchange = await self._channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
        self._bound = set()
        self.connected = True
        self.connects += 1
        log.info("event broker connected: exchange %s, %d events in the outbox",
                 self.exchange_name, len(self.outbox))

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        self._channel = self._exchange = self._queue = None
        self.connected = False
        if conn is not None and not conn.is_closed:
            try:
                await asyncio.wait_for(conn.close(), 2)
            except Exception:
                pass   # it is going away either way

    async def _pump(self) -> None:
        while True:
            if self._conn.is_closed:
                raise ConnectionError("connection closed")
            await self._bind()
            if self.outbox:
                await self._publish_batch()
                continue
            self._wake.clear()
            await self._wake.wait()

    async def _publish_batch(self) -> None:
        batch = list(itertools.islice(self.outbox, self.batch_size))
        # One channel keeps the order; confirms come back for the whole pipelined batch.  The
        # underlying aiormq channel: aio-pika's Message wrapper cost a fifth of the throughput.
        channel = await self._channel.get_underlay_channel()
        results = await asyncio.gather(
            *(channel.basic_publish(e.to_json(), exchange=self.exchange_name,
                                    routing_key=routing_key(e.topic, e.station_id),
                                    properties=self._properties(e), timeout=30)
              for e in batch),
            return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
            if not isinstance(result, Basic.Ack):
                raise ConnectionError(f"broker did not confirm an event: {result!r}")
        for _ in batch:   # only now: a failed batch is published again, same ids
            self.outbox.popleft()
        self.confirmed += len(batch)
        if self._overflowing and len(self.outbox) < self.outbox_size:
            self._overflowing = False
            log.warning("event outbox has room again; %d events dropped so far", self.dropped)

    @staticmethod
    def _properties(event: Event) -> Basic.Properties:
        return Basic.Properties(
            content_type="application/json", message_id=event.id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT.value, message_type=event.topic,
            timestamp=datetime.fromtimestamp(event.ts, timezone.utc), app_id="chargesim-hub")

    # -- local subscribers, through the broker ----------------------------------------
    async def _bind(self) -> None:
        """Bind this instance's queue to what the subscribers ask for (one binding per
        pattern; the last word of the routing key is the station)."""
        wanted = {f"{sub.pattern}.*" for sub in self.subscriptions}
        if wanted == self._bound:
            return
        if self._queue is None:
            if not wanted:
                return
            self._queue = await self._channel.declare_queue(
                self.queue_name, durable=False, arguments={"x-expires": 60_000})
            await self._queue.consume(self._on_message, no_ack=True)
        for key in wanted - self._bound:
            await self._queue.bind(self._exchange, key)
        for key in self._bound - wanted:
            await self._queue.unbind(self._exchange, key)
        self._bound = wanted

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            event = Event.from_json(message.body)
        except Exception as exc:
            log.warning("undecodable event %s (%s): %s", message.message_id,
                        message.routing_key, exc)
            return
        if event.id in self._seen:
            return
        self._seen[event.id] = None
        if len(self._seen) > self._seen_max:
            self._seen.popitem(last=False)
        self.deliver(event)
