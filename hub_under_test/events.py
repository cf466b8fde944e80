"""Domain events on a bus: publish/subscribe by topic.

Topics are dotted routing keys ("station.booted", "transaction.started", "status.changed",
"meter.values", ...; each message class in `messages` names its own `TOPIC`).  Patterns
follow AMQP topic-exchange rules: `*` matches one word, `#` zero or more, so the RabbitMQ
implementation (`amqp_bus.AmqpBus`: a topic exchange, one queue per hub instance with
routing bindings) sits behind the same `EventBus` interface.

`publish` never blocks and never raises: the hub's hot path does not wait for observers or
a broker.  Implementations buffer and deliver on their own schedule.
"""
from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Protocol

import orjson

from .messages import MESSAGES, PROTOCOL_VERSION, Message, from_dict, to_dict

log = logging.getLogger(__name__)

Callback = Callable[["Event"], None | Awaitable[None]]


@dataclass(slots=True)
class Event:
    topic: str
    station_id: str | None
    message: Message
    ts: float = field(default_factory=time.time)
    # unique per event, kept across re-deliveries: at-least-once consumers de-duplicate on it
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> bytes:
        """The wire form for a broker: an envelope around the message's JSON form."""
        return orjson.dumps({"id": self.id, "topic": self.topic,
                             "type": type(self.message).__name__,
                             "version": PROTOCOL_VERSION, "station_id": self.station_id,
                             "ts": self.ts, "data": to_dict(self.message)})

    @classmethod
    def from_json(cls, body: bytes) -> "Event":
        """The inverse of `to_json`; a message type this hub does not know is a ValueError."""
        env = orjson.loads(body)
        message_cls = MESSAGES.get(env.get("type"))
        if message_cls is None:
            raise ValueError(f"event of unknown message type {env.get('type')!r}")
        return cls(env["topic"], env["station_id"], from_dict(message_cls, env["data"]),
                   env["ts"], env["id"])


class Subscription:
    """One subscriber.  With a callback, events are delivered to it; without one they are
    queued (bounded: when full the oldest is dropped and counted) for `get()`."""

    def __init__(self, bus: "EventBus", pattern: str, callback: Callback | None, maxsize: int):
        self.bus = bus
        self.pattern = pattern
        self.callback = callback
        self.queue: asyncio.Queue[Event] | None = None if callback else asyncio.Queue(maxsize)
        self.dropped = 0

    def matches(self, topic: str) -> bool:
        return topic_matches(self.pattern, topic)

    async def get(self, timeout: float | None = None) -> Event:
        if self.queue is None:
            raise RuntimeError("this subscription delivers to a callback")
        return await asyncio.wait_for(self.queue.get(), timeout)

    def close(self) -> None:
        self.bus.unsubscribe(self)


class EventBus(Protocol):
    """What the hub needs from a bus: `InProcessBus` here, `amqp_bus.AmqpBus` on RabbitMQ."""

    def publish(self, topic: str, message: Message, station_id: str | None = None) -> None: ...
    def subscribe(self, pattern: str, callback: Callback | None = None) -> Subscription: ...
    def unsubscribe(self, subscription: Subscription) -> None: ...
    async def start(self) -> None: ...
    async def close(self) -> None: ...


def _match(pattern: tuple[str, ...], topic: tuple[str, ...]) -> bool:
    if not pattern:
        return not topic
    head = pattern[0]
    if head == "#":
        return _match(pattern[1:], topic) or (bool(topic) and _match(pattern, topic[1:]))
    if not topic:
        return False
    return (head == "*" or head == topic[0]) and _match(pattern[1:], topic[1:])


@functools.lru_cache(maxsize=4096)
def topic_matches(pattern: str, topic: str) -> bool:
    """AMQP topic matching: `*` is exactly one word, `#` zero or more words."""
    if pattern == "#" or pattern == topic:
        return True
    return _match(tuple(pattern.split(".")), tuple(topic.split(".")))


class InProcessBus:
    """Delivers events to subscribers in this process.

    Plain callbacks are called within `publish` (keep them quick); coroutine callbacks run
    as tasks.  A failing subscriber is logged and affects neither the publisher nor other
    subscribers.
    """

    def __init__(self, queue_size: int = 1000):
        self.queue_size = queue_size
        self.subscriptions: list[Subscription] = []
        self.published = 0
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.subscriptions.clear()

    def subscribe(self, pattern: str, callback: Callback | None = None) -> Subscription:
        sub = Subscription(self, pattern, callback, self.queue_size)
        self.subscriptions.append(sub)
        return sub

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self.subscriptions:
            self.subscriptions.remove(subscription)

    def publish(self, topic: str, message: Message, station_id: str | None = None) -> None:
        self.published += 1
        if self.subscriptions:
            self.deliver(Event(topic, station_id, message))

    def deliver(self, event: Event) -> None:
        """Hand an event to the matching subscribers of this process."""
        topic = event.topic
        for sub in self.subscriptions:
            if not sub.matches(topic):
                continue
            if sub.queue is not None:
                if sub.queue.full():
                    sub.queue.get_nowait()
                    sub.dropped += 1
                sub.queue.put_nowait(event)
            else:
                self._deliver(sub, event)

    def _deliver(self, sub: Subscription, event: Event) -> None:
        try:
            result = sub.callback(event)
        except Exception:
            log.exception("event subscriber %r failed on %s", sub.callback, event.topic)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("event subscriber failed", exc_info=task.exception())
