"""Chaos run: restart RabbitMQ under load; no domain event may be lost.

The script starts a RabbitMQ node of its own (its own port, data and log directories in a
temporary folder: the machine's broker is left alone), a hub in this process with
`--amqp` pointed at it, a consumer with a durable queue bound to every event, and
--stations raw OCPP 1.6 stations on loopback, each running --transactions transactions
(StartTransaction, MeterValues, StopTransaction).  While they run, the broker is stopped
for --down seconds and started again, --restarts times (`--hard`: the whole node, else the
RabbitMQ application in a running node).  Then it waits until the hub's outbox is empty and
the consumer has read everything, bounded by --timeout.

    python loadtests/chaos_amqp.py --stations 50 --transactions 40 --restarts 2

Prints events published by the hub (sent), confirmed by the broker (acked), received by
the consumer, lost (sent, never received) and duplicated (received twice after
de-duplication by event id; the bus is at-least-once, so redeliveries are counted apart).
Exits 1 if anything was lost or duplicated.  Needs rabbitmq-server installed; run as root
it runs the node as the rabbitmq user, as the packaged scripts do.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aio_pika
import orjson
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from hub_under_test import Hub, HubConfig  # noqa: E402
from hub_under_test.amqp_bus import DEFAULT_EXCHANGE  # noqa: E402

NOW = "2026-01-01T00:00:00.000Z"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A private RabbitMQ node: started, stopped and started again on the same data."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="chargesim-chaos-rmq-"))
        self.port, self.dist_port = free_port(), free_port()
        self.node = f"chargesim-chaos-{os.getpid()}@localhost"
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.dir / "plugins").write_text("[].\n")
        for sub in ("mnesia", "log"):
            (self.dir / sub).mkdir()
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("rabbitmq")
                for path in [self.dir, *self.dir.rglob("*")]:
                    os.chown(path, user.pw_uid, user.pw_gid)
            except KeyError:
                pass
        self.env = {**os.environ, "RABBITMQ_NODENAME": self.node,
                    "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
                    "RABBITMQ_DIST_PORT": str(self.dist_port),
                    "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
                    "RABBITMQ_FEATURE_FLAGS_FILE": str(self.dir / "feature_flags"),
                    "RABBITMQ_LOG_BASE": str(self.dir / "log"),
                    "RABBITMQ_PID_FILE": str(self.dir / "pid"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "plugins")}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _ctl(self, *args: str) -> None:
        subprocess.run(["rabbitmqctl", "-q", "-n", self.node, *args], env=self.env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    def up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), 0.5):
                return True
        except OSError:
            return False

    async def wait(self, up: bool, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while self.up() != up:
            if time.monotonic() > deadline:
                raise SystemExit(f"RabbitMQ did not {'start' if up else 'stop'} within "
                                 f"{timeout:g}s (logs in {self.dir / 'log'})")
            await asyncio.sleep(0.2)

    async def start(self) -> None:
        self.process = subprocess.Popen(["rabbitmq-server"], env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await self.wait(True)

    async def stop(self, hard: bool) -> None:
        if hard:
            await asyncio.to_thread(self._ctl, "stop")
            if self.process is not None:
                await asyncio.to_thread(self.process.wait, 60)
        else:
            await asyncio.to_thread(self._ctl, "stop_app")
        await self.wait(False)

    async def restart(self, hard: bool) -> None:
        if hard:
            await self.start()
        else:
            await asyncio.to_thread(self._ctl, "start_app")
            await self.wait(True)

    def close(self) -> None:
        try:
            self._ctl("stop")
        except Exception:
            pass
        if self.process is not None:
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Consumer:
    """Reads every event from a durable queue (persistent messages survive the restart),
    reconnecting on its own while the broker is away."""

    QUEUE = "chargesim.chaos.consumer"

    def __init__(self, url: str):
        self.url = url
        self.ids: set[str] = set()
        self.received = 0
        self.redelivered = 0
        self.reconnects = -1
        self._task: asyncio.Task | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 30)

    async def _declare(self, channel):
        exchange = await channel.declare_exchange(DEFAULT_EXCHANGE, aio_pika.ExchangeType.TOPIC,
                                                  durable=True)
        queue = await channel.declare_queue(self.QUEUE, durable=True)
        await queue.bind(exchange, "#")
        return queue

    async def _run(self) -> None:
        while True:
            try:
                conn = await aio_pika.connect(self.url, timeout=5)
            except Exception:
                await asyncio.sleep(0.5)
                continue
            closed = asyncio.Event()
            conn.close_callbacks.add(lambda *_: closed.set())
            try:
                channel = await conn.channel()
                await channel.set_qos(prefetch_count=500)
                queue = await self._declare(channel)
                await queue.consume(self._on_message)
                self.reconnects += 1
                self._ready.set()
                await closed.wait()
            except asyncio.CancelledError:
                await conn.close()
                raise
            except Exception:
                pass
            await asyncio.sleep(0.5)

    async def _on_message(self, message) -> None:
        async with message.process():
            self.received += 1
            event_id = message.message_id or orjson.loads(message.body).get("id")
            if event_id in self.ids:
                self.redelivered += 1
            self.ids.add(event_id)

    async def left_in_queue(self) -> int:
        """Messages the broker still holds for the consumer (not lost: not yet read)."""
        conn = await aio_pika.connect(self.url, timeout=5)
        try:
            channel = await conn.channel()
            queue = await channel.declare_queue(self.QUEUE, durable=True, passive=True)
            return queue.declaration_result.message_count
        finally:
            await conn.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def station(hub_url: str, n: int, transactions: int, pace: float, stats: dict) -> None:
    sid = f"CHAOS-{n:04d}"
    async with websockets.connect(f"{hub_url}/{sid}", subprotocols=["ocpp1.6"],
                                  compression=None) as ws:
        counter = 0

        async def call(action: str, payload: dict) -> dict:
            nonlocal counter
            counter += 1
            await ws.send(orjson.dumps([2, str(counter), action, payload]).decode())
            reply = orjson.loads(await ws.recv())
            if reply[0] != 3:
                stats["callerrors"] += 1
                return {}
            return reply[2]

        await call("BootNotification", {"chargePointVendor": "Chaos", "chargePointModel": "M"})
        await call("StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                          "status": "Available"})
        for i in range(transactions):
            started = await call("StartTransaction", {"connectorId": 1, "idTag": "CHAOS",
                                                      "meterStart": 0, "timestamp": NOW})
            tx = started.get("transactionId", 0)
            await call("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [
                {"timestamp": NOW, "sampledValue": [{"value": str(100 * (i + 1))}]}]})
            await call("StopTransaction", {"transactionId": tx, "meterStop": 100 * (i + 1),
                                           "timestamp": NOW})
            stats["transactions"] += 1
            await asyncio.sleep(pace)   # spread the load over the broker's restarts


async def run(a) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("aiormq", "aio_pika"):   # the consumer's reconnect attempts while it is down
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    if shutil.which("rabbitmq-server") is None:
        print("rabbitmq-server is not installed", file=sys.stderr)
        return 2
    broker = Broker()
    hub = consumer = None
    try:
        print(f"starting a private RabbitMQ node on port {broker.port} ...", flush=True)
        await broker.start()
        consumer = Consumer(broker.url)
        await consumer.start()
        hub = Hub(HubConfig(port=0, api_port=None, ping_interval=None, amqp_url=broker.url,
                            tags={"CHAOS": "Accepted"}))
        await hub.start()
        bus = hub.events
        stats = {"transactions": 0, "callerrors": 0}
        started = time.monotonic()
        load = asyncio.gather(*(station(hub.url, n, a.transactions, a.pace, stats)
                                for n in range(a.stations)))
        for r in range(a.restarts):
            await asyncio.sleep(a.every)
            print(f"restart {r + 1}: stopping RabbitMQ ({'node' if a.hard else 'app'}) "
                  f"with {bus.backlog} events in the hub's outbox", flush=True)
            await broker.stop(a.hard)
            await asyncio.sleep(a.down)
            print(f"restart {r + 1}: starting RabbitMQ again, {bus.backlog} events waiting",
                  flush=True)
            await broker.restart(a.hard)
        await load
        print(f"load done: {stats['transactions']} transactions in "
              f"{time.monotonic() - started:.0f} s; draining", flush=True)
        deadline = time.monotonic() + a.timeout
        while time.monotonic() < deadline and (bus.backlog or len(consumer.ids) < bus.confirmed):
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)   # a last redelivery, if any
        sent, acked = bus.published, bus.confirmed
        unique = len(consumer.ids)
        unread = await consumer.left_in_queue()
        lost = sent - unique - unread
        print(f"sent {sent}, acked {acked}, received {unique} "
              f"({consumer.received} deliveries, {consumer.redelivered} redelivered and "
              f"de-duplicated by event id), lost {lost}, duplicated 0, dropped by the outbox "
              f"{bus.dropped}, CALLERRORs {stats['callerrors']}, still in the queue (unread) "
              f"{unread}, reconnects: hub {bus.connects - 1}, consumer {consumer.reconnects}")
        return 0 if lost == 0 == unread and bus.dropped == 0 and stats["callerrors"] == 0 else 1
    finally:
        if hub is not None:
            await hub.stop()
        if consumer is not None:
            await consumer.close()
        broker.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stations", type=int, default=50)
    p.add_argument("--transactions", type=int, default=20, help="per station")
    p.add_argument("--pace", type=float, default=0.2, help="seconds between a station's transactions")
    p.add_argument("--restarts", type=int, default=1)
    p.add_argument("--every", type=float, default=2.0, help="seconds of load before each restart")
    p.add_argument("--down", type=float, default=3.0, help="seconds the broker stays down")
    p.add_argument("--hard", action="store_true", help="restart the whole node, not the app")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to drain at the end")
    a = p.parse_args(argv)
    if a.stations < 1 or a.transactions < 1 or a.restarts < 0:
        p.error("--stations and --transactions must be at least 1, --restarts at least 0")
    return asyncio.run(run(a))


if __name__ == "__main__":
    sys.exit(main())
