"""Domain events on RabbitMQ (hub_under_test/amqp_bus.py), against the local broker.

Broker outages are made with a TCP relay between the bus and the broker that the test takes
down (connections refused) or cuts (every open connection aborted, as a broker restart or a
network failure does): fast, deterministic, and it touches no other client of the broker.
One test has the broker itself close the bus's connection (`rabbitmqctl close_connection`).
Every test uses its own exchange and queues and deletes them afterwards.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import uuid

import aio_pika
import orjson
import pytest
from ocpp.v16 import call

from hub_helpers import charger, now, running_hub, wait_for
from hub_under_test.__main__ import parse_args
from hub_under_test.amqp_bus import AmqpBus, routing_key, station_id_of
from hub_under_test.events import Event
from hub_under_test.hub import HubConfig
from hub_under_test.messages import StationConnected

BROKER_HOST, BROKER_PORT = "127.0.0.1", 5672
BROKER = f"amqp://guest:guest@{BROKER_HOST}:{BROKER_PORT}/"


def _broker_answers() -> bool:
    try:
        socket.create_connection((BROKER_HOST, BROKER_PORT), timeout=1).close()
        return True
    except OSError:
        return False


needs_broker = pytest.mark.skipif(
    not _broker_answers(), reason=f"no RabbitMQ broker answers on {BROKER_HOST}:{BROKER_PORT} "
                                  "(start one with `rabbitmq-server -detached`)")


class Tap:
    """A test's own exchange and a queue bound to all of it (`#`), collecting messages."""

    def __init__(self):
        self.exchange = f"chargesim.test.{uuid.uuid4().hex[:12]}"
        self.messages: list[aio_pika.abc.AbstractIncomingMessage] = []
        self.extra_queues: list[str] = []

    async def open(self) -> None:
        self.conn = await aio_pika.connect(BROKER, timeout=5)
        self.channel = await self.conn.channel()
        ex = await self.channel.declare_exchange(self.exchange, aio_pika.ExchangeType.TOPIC,
                                                 durable=True)
        self.queue = await self.channel.declare_queue(f"{self.exchange}.tap", exclusive=True)
        await self.queue.bind(ex, "#")
        await self.queue.consume(self._got, no_ack=True)

    async def _got(self, message) -> None:
        self.messages.append(message)

    def bodies(self) -> list[dict]:
        return [orjson.loads(m.body) for m in self.messages]

    async def close(self) -> None:
        for name in self.extra_queues:
            await self.channel.queue_delete(name)
        await self.queue.delete(if_unused=False, if_empty=False)
        await self.channel.exchange_delete(self.exchange)
        await self.conn.close()


@pytest.fixture
async def tap():
    t = Tap()
    await t.open()
    try:
        yield t
    finally:
        await t.close()


class Relay:
    """TCP relay to the broker: `up()`, `down()` (refuse connections), `cut()` (abort the
    open ones)."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self.server: asyncio.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port,
                                                 reuse_address=True)

    async def down(self) -> None:
        if self.server is not None:
            self.server.close()
            self.cut()
            await self.server.wait_closed()
            self.server = None

    def cut(self) -> None:
        for writer in list(self.links):
            writer.transport.abort()
        self.links.clear()

    async def _link(self, reader, writer) -> None:
        b_reader, b_writer = await asyncio.open_connection(BROKER_HOST, BROKER_PORT)
        self.links |= {writer, b_writer}

        async def pipe(src, dst):
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, b_writer), pipe(b_reader, writer))


def connected(i: int) -> StationConnected:
    return StationConnected(f"CS-{i}", "ocpp1.6", "127.0.0.1")


def stations_once(messages) -> list[str]:
    """The station ids of the messages, de-duplicated by message id as a consumer would; a
    duplicate must be the very same event."""
    first: dict[str, bytes] = {}
    for m in messages:
        if m.message_id in first:
            assert m.body == first[m.message_id], "two different events share an id"
        else:
            first[m.message_id] = m.body
    return [orjson.loads(body)["data"]["station_id"] for body in first.values()]


# -- without a broker -----------------------------------------------------------------------

def test_routing_key_encodes_the_station_as_one_word():
    assert routing_key("transaction.started", "CP-1") == "transaction.started.CP-1"
    key = routing_key("status.changed", "a.b*c#d%2E")
    assert key == "status.changed.a%2Eb%2Ac%23d%252E"
    assert key.count(".") == 2 and station_id_of(key) == "a.b*c#d%2E"
    assert routing_key("files.uploaded", None) == "files.uploaded.%"
    assert station_id_of("files.uploaded.%") is None


def test_event_json_round_trip_keeps_id():
    event = Event("station.connected", "CS-1", connected(1))
    back = Event.from_json(event.to_json())
    assert (back.id, back.topic, back.station_id, back.message) == \
        (event.id, event.topic, event.station_id, event.message)
    assert Event("station.connected", "CS-1", connected(1)).id != event.id
    with pytest.raises(ValueError, match="unknown message type 'Nope'"):
        Event.from_json(orjson.dumps({"type": "Nope", "topic": "x", "station_id": None,
                                      "ts": 0, "id": "1", "data": {}}))


def test_config_and_cli():
    with pytest.raises(ValueError, match="amqp_url must be an amqp:// or amqps:// URL"):
        HubConfig(amqp_url="http://localhost:5672").check()
    with pytest.raises(ValueError, match="AMQP URL must be"):
        AmqpBus("localhost:5672")
    config, _ = parse_args(["--amqp", BROKER, "--amqp-exchange", "ev"])
    assert (config.amqp_url, config.amqp_exchange) == (BROKER, "ev")
    assert parse_args([])[0].amqp_url is None


async def test_publish_never_blocks_or_raises_with_the_broker_down(caplog):
    relay = Relay()   # never up: connection refused
    bus = AmqpBus(relay.url, exchange="unused", outbox_size=5, retry_delay=0.05)
    await bus.start()
    try:
        for i in range(8):
            bus.publish("station.connected", connected(i), f"CS-{i}")
        assert (bus.backlog, bus.dropped, bus.published, bus.connected) == (5, 3, 8, False)
        overflow = [r for r in caplog.records if "event outbox full" in r.getMessage()]
        assert len(overflow) == 1 and overflow[0].levelno == logging.ERROR
    finally:
        await bus.close()
    assert "5 events unpublished" in caplog.text


# -- against the broker ---------------------------------------------------------------------

@needs_broker
async def test_hub_session_events_reach_the_exchange(tap):
    station = "CS.7*"   # dots and wildcards in the id must not split or widen routing keys
    async with running_hub(amqp_url=BROKER, amqp_exchange=tap.exchange,
                           tags={"CARD-1": "Accepted"}) as hub:
        tap.extra_queues.append(hub.events.queue_name)
        local = hub.events.subscribe("transaction.*")   # served through the broker
        await wait_for(lambda: hub.events.connected, timeout=10)
        async with charger(hub, station) as cp:
            await cp.call(call.StatusNotification(connector_id=1, error_code="NoError",
                                                   status="Preparing", timestamp=now()))
            await cp.call(call.Authorize(id_tag="CARD-1"))
            start = await cp.call(call.StartTransaction(connector_id=1, id_tag="CARD-1",
                                                        meter_start=0, timestamp=now()))
            await cp.call(call.MeterValues(connector_id=1, transaction_id=start.transaction_id,
                                           meter_value=[{"timestamp": now(), "sampledValue": [
                                               {"value": "500"}]}]))
            await cp.call(call.StopTransaction(meter_stop=900, timestamp=now(),
                                               transaction_id=start.transaction_id))
        await wait_for(lambda: any(m.type == "station.disconnected" for m in tap.messages),
                       timeout=10)
        assert "hub_event_broker_connected 1.0" in hub.metrics.render()
        started = await local.get(10)
        stopped = await local.get(10)
        assert (started.topic, stopped.topic) == ("transaction.started", "transaction.stopped")
        assert started.message.transaction_id == start.transaction_id

    word = "CS%2E7%2A"
    keys = [m.routing_key for m in tap.messages]
    assert keys == [f"{topic}.{word}" for topic in (
        "station.connected", "station.booted", "status.changed", "token.authorized",
        "transaction.started", "meter.values", "transaction.stopped", "station.disconnected")]
    bodies = tap.bodies()
    assert all(b["station_id"] == station for b in bodies)
    ids = [m.message_id for m in tap.messages]
    assert ids == [b["id"] for b in bodies] and len(set(ids)) == len(ids)
    assert all(m.delivery_mode == aio_pika.DeliveryMode.PERSISTENT for m in tap.messages)
    assert all(m.content_type == "application/json" for m in tap.messages)
    assert [m.type for m in tap.messages] == [b["topic"] for b in bodies]
    assert bodies[4]["data"]["transaction_id"] == start.transaction_id
    assert started.id == ids[4]   # the local subscriber saw the broker's copy


@needs_broker
async def test_broker_down_at_start_loses_nothing(tap):
    relay = Relay()
    bus = AmqpBus(relay.url, exchange=tap.exchange, retry_delay=0.05, max_retry_delay=0.1)
    await bus.start()
    try:
        for i in range(200):
            bus.publish("station.connected", connected(i), f"CS-{i}")
        await asyncio.sleep(0.2)   # a few refused connection attempts
        assert (bus.connected, bus.backlog) == (False, 200)
        await relay.up()
        # the consumer may see the last batch before the broker's confirms reach the bus
        await wait_for(lambda: len(tap.messages) == 200 and not bus.backlog, timeout=10)
        assert (bus.connected, bus.backlog, bus.confirmed) == (True, 0, 200)
    finally:
        await bus.close()
        await relay.down()
    assert [b["data"]["station_id"] for b in tap.bodies()] == [f"CS-{i}" for i in range(200)]


@needs_broker
async def test_connection_cut_mid_run_loses_nothing_and_keeps_order(tap):
    relay = Relay()
    await relay.up()
    bus = AmqpBus(relay.url, exchange=tap.exchange, batch_size=50, retry_delay=0.05,
                  max_retry_delay=0.1)
    await bus.start()
    n, cuts = 3000, 0
    try:
        await wait_for(lambda: bus.connected, timeout=10)
        for i in range(n):
            bus.publish("station.connected", connected(i), f"CS-{i}")
            if i % 50 == 0:
                await asyncio.sleep(0)
            if i in (1000, 2000):
                # Cut while events are in flight: some confirmed, the batch just sent not yet.
                await wait_for(lambda: bus.connected and bus.connects == cuts + 1
                               and bus.confirmed > 0, timeout=10)
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                assert bus.backlog > 0
                relay.cut()
                cuts += 1
        await wait_for(lambda: bus.backlog == 0 and bus.connected, timeout=20)
        await wait_for(lambda: len({m.message_id for m in tap.messages}) == n, timeout=10)
    finally:
        await bus.close()
        await relay.down()
    assert cuts == 2 and bus.connects == 3

    assert stations_once(tap.messages) == [f"CS-{i}" for i in range(n)]


@needs_broker
async def test_outbox_overflow_is_counted_and_logged_then_the_rest_arrives(tap, caplog):
    relay = Relay()
    bus = AmqpBus(relay.url, exchange=tap.exchange, outbox_size=5, retry_delay=0.05,
                  max_retry_delay=0.1)
    await bus.start()
    try:
        for i in range(8):
            bus.publish("station.connected", connected(i), f"CS-{i}")
        assert (bus.backlog, bus.dropped) == (5, 3)
        await relay.up()
        await wait_for(lambda: len(tap.messages) == 5, timeout=10)
    finally:
        await bus.close()
        await relay.down()
    assert [b["data"]["station_id"] for b in tap.bodies()] == [f"CS-{i}" for i in range(5)]
    assert "event outbox full (5 events, broker unreachable)" in caplog.text
    assert "event outbox has room again; 3 events dropped so far" in caplog.text


async def _rabbitmqctl(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "-q", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    if proc.returncode:
        pytest.skip(f"rabbitmqctl {args[0]} failed: {err.decode().strip()[:200]}")
    return out.decode()


@needs_broker
@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="rabbitmqctl is not installed")
async def test_broker_closing_the_connection_loses_nothing(tap):
    bus = AmqpBus(BROKER, exchange=tap.exchange, batch_size=50, retry_delay=0.05,
                  max_retry_delay=0.1)
    await bus.start()
    published = 0

    def burst(count: int) -> None:
        nonlocal published
        for i in range(published, published + count):
            bus.publish("station.connected", connected(i), f"CS-{i}")
        published += count

    try:
        await wait_for(lambda: bus.connected, timeout=10)
        # The broker names our connection by the client property the bus sets.
        listing = await _rabbitmqctl("list_connections", "--no-table-headers", "pid",
                                     "client_properties")
        pids = [line.split("\t", 1)[0] for line in listing.splitlines()
                if f'"chargesim hub {bus.instance}"' in line]
        assert len(pids) == 1, listing
        burst(500)
        closing = asyncio.create_task(_rabbitmqctl("close_connection", pids[0], "test"))
        while not closing.done():   # keep publishing while the broker closes it
            burst(20)
            await asyncio.sleep(0.005)
        await closing
        burst(500)
        await wait_for(lambda: bus.backlog == 0 and bus.connected, timeout=20)
        await wait_for(lambda: len({m.message_id for m in tap.messages}) == published,
                       timeout=10)
    finally:
        await bus.close()
    assert bus.connects == 2

    assert stations_once(tap.messages) == [f"CS-{i}" for i in range(published)]


@needs_broker
async def test_closing_publishes_the_whole_outbox_while_the_broker_keeps_confirming(tap):
    """A hub stopping closes thousands of connections and queues an event for each just
    before the bus closes: the bus waits while the broker confirms, not a fixed time."""
    bus = AmqpBus(BROKER, exchange=tap.exchange, close_timeout=0.5)
    await bus.start()
    await wait_for(lambda: bus.connected, timeout=10)
    for i in range(8_000):
        bus.publish("station.connected", connected(i), f"CS-{i}")
    await bus.close()
    assert (bus.backlog, bus.confirmed) == (0, 8_000)
    await wait_for(lambda: len(tap.messages) >= 8_000, timeout=30)
    assert len(set(stations_once(tap.messages))) == 8_000
