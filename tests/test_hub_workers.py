"""`python -m hub_under_test --workers 2` (hub_under_test/workers.py) against the local broker:
stations spread over two worker processes sharing the port, CSMS-initiated commands routed
through RabbitMQ to whichever worker holds the station, a worker killed mid-run and its
stations finishing their transactions on the survivor.  The chargers are `ocpp`-library
ChargePoints (an independent peer)."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import uuid

import aio_pika
import aiohttp
import orjson
import pytest
import websockets
from ocpp.v16 import call

from hub_helpers import Charger, now
from test_hub_store_backends import target  # noqa: F401  (fixture: SQLite file, PostgreSQL)
from hub_under_test.hub import HubConfig
from hub_under_test.workers import (WorkerUsageError, check_workers, decode_error,
                                    encode_error, station_key)
from simulator.protocol import ErrorCode, OcppError
from simulator.protocol.codec import CallError
from simulator.session import CallErrorReceived, CallTimeout

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


# -- pieces that need no broker ------------------------------------------------------------------

def test_station_keys_cannot_collide_with_the_broadcast_key():
    assert station_key("CP-1") == "s.CP-1"
    assert station_key("%workers") == "s.%25workers"
    assert len(station_key("x" * 255).encode()) <= 255


def test_each_worker_records_to_its_own_file():
    from hub_under_test.workers import worker_file
    assert worker_file("hub.jsonl", "worker-1") == "hub.worker-1.jsonl"
    assert worker_file("runs.d/hub", "worker-2") == "runs.d/hub.worker-2"


def test_errors_cross_the_wire_as_the_same_exceptions():
    e = decode_error(encode_error(CallErrorReceived("Reset", CallError(
        "u1", ErrorCode.NOT_SUPPORTED, "NotSupported", "no", {"a": 1}))))
    assert isinstance(e, CallErrorReceived) and e.error.code is ErrorCode.NOT_SUPPORTED
    assert e.error.details == {"a": 1}
    e = decode_error(encode_error(CallTimeout("Reset", "u2", 3.0)))
    assert isinstance(e, CallTimeout) and e.timeout == 3.0
    e = decode_error(encode_error(OcppError(ErrorCode.FORMAT_VIOLATION, "bad")))
    assert isinstance(e, OcppError) and e.code is ErrorCode.FORMAT_VIOLATION


def test_workers_need_a_shared_store():
    with pytest.raises(WorkerUsageError, match="processes share"):
        check_workers(HubConfig(db_path=":memory:"), 2)
    with pytest.raises(WorkerUsageError, match="at least 1"):
        check_workers(HubConfig(db_path="h.db"), 0)


async def test_managers_sharing_a_store_hand_stations_over(target):
    """Two workers' managers over one store (a SQLite file, PostgreSQL): a station that moves adopts its running
    transaction (hygiene and stop work there), and a tag charging at a station of the
    other worker is ConcurrentTx."""
    from hub_under_test.events import InProcessBus
    from hub_under_test.manager import Manager
    from hub_under_test.messages import TransactionStart, TransactionStop, utcnow
    from hub_under_test.store import Store
    stores = [Store(target) for _ in range(2)]
    a, b = (Manager(s, InProcessBus(), shared_store=True, flush_interval=0) for s in stores)
    try:
        for m in (a, b):
            await m.start()
            m.put_tag("TAG", "Accepted")
        a.connected("CS-1", "ocpp1.6")
        started = await a.start_transaction(TransactionStart("CS-1", 1, "TAG", 100, utcnow()))
        assert started.id_token_info.status.value == "Accepted"
        b.connected("CS-2", "ocpp1.6")   # the same tag at another worker's station
        other = await b.start_transaction(TransactionStart("CS-2", 1, "TAG", 0, utcnow()))
        assert other.id_token_info.status.value == "ConcurrentTx"
        await b.stop_transaction(TransactionStop("CS-2", other.transaction_id, 0, utcnow()))

        a.disconnected("CS-1", 1006, "worker died")   # CS-1 moves to b
        assert started.transaction_id not in a.active
        b.connected("CS-1", "ocpp1.6")
        assert started.transaction_id in b.active
        stopped = await b.stop_transaction(TransactionStop(
            "CS-1", started.transaction_id, 300, utcnow()))
        assert stopped.known and stopped.energy_wh == 200
        row = stores[0].get_transaction(started.transaction_id)
        assert row["meter_stop"] == 300 and row["stop_time"] is not None
    finally:
        for m, s in zip((a, b), stores):
            await m.stop()
            s.close()


# -- two workers ------------------------------------------------------------------------------

class Station:
    """One `ocpp`-library charger connection (a station reconnects with a new one)."""

    def __init__(self, url: str, station_id: str):
        self.url, self.id = url, station_id
        self.ws = self.cp = self.task = None
        self.transaction_id: int | None = None

    async def connect(self, tries: int = 1) -> None:
        """Connect (a reconnecting charger tries again: a connection that reached the
        killed worker's listening socket as it died is reset)."""
        for attempt in range(tries):
            try:
                self.ws = await websockets.connect(f"{self.url}/{self.id}",
                                                   subprotocols=["ocpp1.6"], compression=None,
                                                   open_timeout=10)
                break
            except (OSError, websockets.exceptions.InvalidMessage):
                if attempt == tries - 1:
                    raise
                await asyncio.sleep(0.1)
        self.cp = Charger(self.id, self.ws, response_timeout=10)
        self.task = asyncio.create_task(self.cp.start())

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self.ws is not None:
            await self.ws.close()


@contextlib.asynccontextmanager
async def worker_hub(tmp_path, exchange: str):
    log_file = open(tmp_path / "hub.log", "wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub_under_test", "--workers", "2", "--port", "0",
        "--api-port", "0", "--db", str(tmp_path / "hub.db"), "--amqp", BROKER,
        "--amqp-exchange", exchange, "--rate-limit", "0", "--accept-unknown-tags",
        stdout=asyncio.subprocess.PIPE, stderr=log_file)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert line.startswith("chargesim hub: OCPP ws://"), \
            line + (tmp_path / "hub.log").read_text()
        url = line.split()[3].removesuffix("/{station_id}")
        api = line.split()[5]
        yield proc, url, api
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(proc.wait(), 20)
            if proc.returncode is None:
                proc.kill()
        log_file.close()


async def _get(http, url):
    async with http.get(url) as r:
        return r.status, await r.json()


async def _wait(predicate, timeout=15.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@needs_broker
async def test_two_workers_route_commands_and_survive_a_killed_worker(tmp_path):
    exchange = f"chargesim.test.{uuid.uuid4().hex[:12]}"
    broker = await aio_pika.connect(BROKER, timeout=5)
    channel = await broker.channel()
    events_ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    tap = await channel.declare_queue(f"{exchange}.tap", exclusive=True)
    await tap.bind(events_ex, "transaction.#")
    events: list[dict] = []

    async def collect(message):
        events.append(orjson.loads(message.body))
    await tap.consume(collect, no_ack=True)
    stations: list[Station] = []
    try:
        async with worker_hub(tmp_path, exchange) as (proc, url, api), \
                aiohttp.ClientSession() as http:

            async def placement() -> dict[str, str]:
                _, listed = await _get(http, f"{api}/stations")
                return {s["id"]: s["worker"] for s in listed}

            # stations until both workers hold two (the kernel spreads the connections)
            while len(stations) < 40:
                st = Station(url, f"CS-{len(stations)}")
                await st.connect()
                stations.append(st)
                await _wait(lambda: _has(placement, st.id))
                held = await placement()
                if min(list(held.values()).count(w) for w in ("worker-1", "worker-2")) >= 2:
                    break
            held = await placement()
            assert set(held.values()) == {"worker-1", "worker-2"}, held

            for st in stations:
                boot = await st.cp.call(call.BootNotification(charge_point_model="M",
                                                              charge_point_vendor="V"))
                assert boot.status == "Accepted"
                started = await st.cp.call(call.StartTransaction(
                    connector_id=1, id_tag=f"T-{st.id}", meter_start=1000, timestamp=now()))
                assert started.id_tag_info["status"] == "Accepted"
                st.transaction_id = started.transaction_id
            assert len({st.transaction_id for st in stations}) == len(stations)  # one store

            async def listed_as_booted():   # the front reads what the workers stored
                _, listed = await _get(http, f"{api}/stations")
                return all(s.get("registration") == "Accepted" and s.get("connected") for s in listed)
            await _wait(listed_as_booted)

            # the HTTP API is the front's: every command travels to the station's worker
            for worker in ("worker-1", "worker-2"):
                st = next(s for s in stations if held[s.id] == worker)
                async with http.post(f"{api}/stations/{st.id}/commands/GetConfiguration",
                                     json={"key": ["HeartbeatInterval"]}) as r:
                    body = await r.json()
                assert r.status == 200, body
                assert body["response"]["configurationKey"][0]["key"] == "HeartbeatInterval"
                assert ("GetConfiguration", {"key": ["HeartbeatInterval"]}) in st.cp.received
            # an abstract command (the reservations route) crosses too, and so does the
            # station's CALLERROR (the ocpp-library charger has no ReserveNow handler)
            st = stations[-1]
            async with http.post(f"{api}/stations/{st.id}/reservations", json={
                    "connectorId": 1, "idTag": "R1", "expiryDate": "2030-01-01T00:00:00Z"}) as r:
                body = await r.json()
            assert r.status == 502 and body["status"] == "callerror", body
            status, detail = await _get(http, f"{api}/stations/{st.id}")
            assert status == 200 and detail["connected"] is True
            assert detail["connection"]["worker"] == held[st.id]
            assert detail["registration"] == "Accepted"
            async with http.post(f"{api}/stations/NOBODY/commands/Reset",
                                 json={"type": "Soft"}) as r:
                assert r.status == 404
            status, frames = await _get(http, f"{api}/stations/{stations[0].id}/frames")
            assert status == 200 and any("StartTransaction" in f["raw"] for f in frames)

            # a tag changed through the front reaches the workers' caches
            st = stations[0]
            async with http.put(f"{api}/tags/CARD-W", json={"status": "Accepted"}) as r:
                assert r.status == 200
            auth = await st.cp.call(call.Authorize(id_tag="CARD-W"))
            assert auth.id_tag_info["status"] == "Accepted"   # now in the worker's cache
            async with http.put(f"{api}/tags/CARD-W", json={"status": "Blocked"}) as r:
                assert r.status == 200

            async def blocked():
                auth = await st.cp.call(call.Authorize(id_tag="CARD-W"))
                return auth.id_tag_info["status"] == "Blocked"
            await _wait(blocked)

            # the same station id connecting to the other worker wins there, as on one hub
            first = await websockets.connect(f"{url}/CS-DUP", subprotocols=["ocpp1.6"])
            await _wait(lambda: _has(placement, "CS-DUP"))
            was = (await placement())["CS-DUP"]
            for _ in range(40):
                second = await websockets.connect(f"{url}/CS-DUP", subprotocols=["ocpp1.6"])
                await _wait(lambda: _has(placement, "CS-DUP"))
                await asyncio.sleep(0.1)
                if (await placement())["CS-DUP"] != was:
                    break
                await first.close()   # the same worker replaced it; try again
                first, was = second, (await placement())["CS-DUP"]
            else:
                pytest.fail("40 connections all reached one worker")
            await asyncio.wait_for(first.wait_closed(), 10)
            assert first.close_code == 1000 and "replaced" in first.close_reason
            assert second.close_code is None
            await second.close()

            # kill the first station's worker: its stations come back on the other
            status, health = await _get(http, f"{api}/health")
            victim = held[stations[0].id]
            pid = next(w["pid"] for w in health["workers"] if w["instance"] == victim)
            moved = [st for st in stations if held[st.id] == victim]
            os.kill(pid, signal.SIGKILL)
            for st in moved:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(st.ws.wait_closed(), 10)
                await st.close()
                await st.connect(tries=30)   # a charger whose network came back
            survivor = "worker-2" if victim == "worker-1" else "worker-1"
            await _wait(lambda: _all_on(placement, [st.id for st in moved], survivor))

            for st in stations:   # every transaction completes, wherever it started
                await st.cp.call(call.MeterValues(connector_id=1, transaction_id=st.transaction_id,
                                                  meter_value=[{"timestamp": now(), "sampledValue": [
                                                      {"value": "1400", "measurand":
                                                       "Energy.Active.Import.Register",
                                                       "unit": "Wh"}]}]))
                stopped = await st.cp.call(call.StopTransaction(
                    meter_stop=1500, timestamp=now(), transaction_id=st.transaction_id,
                    id_tag=f"T-{st.id}"))
                assert stopped.id_tag_info["status"] == "Accepted"
            _, txs = await _get(http, f"{api}/transactions?active=false")
            done = {t["id"]: t for t in txs}
            for st in stations:
                tx = done[st.transaction_id]
                assert tx["meter_stop"] == 1500 and tx.get("closed_by") != "hub", tx
            _, active = await _get(http, f"{api}/transactions?active=true")
            assert active == []

            # a command reaches a moved station on its new worker
            async with http.post(f"{api}/stations/{moved[0].id}/commands/Reset",
                                 json={"type": "Soft"}) as r:
                body = await r.json()
            assert r.status == 200 and body["response"] == {"status": "Accepted"}, body

            async def victim_dead():
                _, health = await _get(http, f"{api}/health")
                alive = {w["instance"]: w["alive"] for w in health["workers"]}
                return alive == {victim: False, survivor: True} and health
            health = await _wait(victim_dead)
            assert health["stations"] == len(stations) and health["active_transactions"] == 0

            async with http.get(f"{api}/metrics") as r:   # summed over the workers
                text = await r.text()
            boots = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                        if line.startswith('hub_messages_total{action="BootNotification"'))
            assert boots == len(stations)
            assert "hub_workers_alive 1.0" in text

            for st in stations:
                await st.close()
        assert proc.returncode == 0
        ended = [e for e in events if e["topic"] == "transaction.stopped"]
        assert {e["data"]["transaction_id"] for e in ended} >= {s.transaction_id for s in stations}
    finally:
        for st in stations:
            await st.close()
        with contextlib.suppress(Exception):
            await channel.exchange_delete(exchange)
            await channel.exchange_delete(f"{exchange}.commands")
        await broker.close()


async def _has(placement, station_id: str) -> bool:
    return station_id in await placement()


async def _all_on(placement, ids: list[str], worker: str) -> bool:
    held = await placement()
    return all(held.get(i) == worker for i in ids)


@needs_broker
async def test_a_worker_binds_its_stations_again_after_the_broker_link_comes_back():
    """Station keys are bound without aio-pika's robust bookkeeping (it walks every binding
    on each unbind: seconds of a held loop when thousands of stations leave), so the link
    binds them itself after a reconnect; a station that left is unbound."""
    from hub_under_test.workers import WorkerLink

    class _Hub:
        connections: dict = {}                      # nobody here: commands get "not_here"
    exchange = f"test-rebind-{uuid.uuid4().hex[:8]}"
    link = WorkerLink(_Hub(), "worker-t", BROKER, exchange)
    await link.start()
    conn = await aio_pika.connect(BROKER)
    try:
        channel = await conn.channel(on_return_raises=True)
        target_exchange = await channel.get_exchange(link.exchange_name)
        replies = await channel.declare_queue(exclusive=True)
        await replies.bind(target_exchange, replies.name)   # answers come on the exchange

        async def ask(station: str) -> dict:
            await target_exchange.publish(aio_pika.Message(
                orjson.dumps({"op": "send", "station": station}), reply_to=replies.name,
                correlation_id="c"), station_key(station), mandatory=True)
            message = await replies.get(timeout=5, fail=False)
            for _ in range(50):
                if message is not None:
                    break
                await asyncio.sleep(0.1)
                message = await replies.get(timeout=5, fail=False)
            assert message is not None, f"no answer for {station}"
            return orjson.loads(message.body)

        async def bound(wanted: set[str]) -> None:
            for _ in range(100):
                if link.bound == wanted:
                    return
                await asyncio.sleep(0.05)
            raise AssertionError(f"bound {link.bound}, wanted {wanted}")

        link.wanted |= {"A", "B"}
        link._wake.set()
        await bound({"A", "B"})
        assert (await ask("B"))["status"] == "not_here"
        link.wanted.discard("A")
        link._wake.set()
        await bound({"B"})
        with pytest.raises(aio_pika.exceptions.DeliveryError):
            await ask("A")                          # unbound: the broker returns it

        await link._conn.transport.connection.close()   # the broker link drops
        for _ in range(100):                             # ... comes back, binds B again
            if link._conn.connected.is_set() and link.bound == {"B"}:
                try:
                    if (await ask("B"))["status"] == "not_here":
                        break
                except aio_pika.exceptions.DeliveryError:
                    pass
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("station B's key was not bound again after the reconnect")
    finally:
        await conn.close()
        await link.close()


@needs_broker
async def test_a_second_hub_on_the_same_exchange_is_told_why_its_workers_cannot_start():
    """Two hubs with workers on one broker and one exchange would share the workers'
    command queues: the second is refused with the reason and the way out, not a
    RESOURCE_LOCKED traceback."""
    from hub_under_test.workers import WorkerLink

    class _Hub:
        connections: dict = {}
    exchange = f"test-locked-{uuid.uuid4().hex[:8]}"
    first = WorkerLink(_Hub(), "worker-1", BROKER, exchange)
    await first.start()
    try:
        second = WorkerLink(_Hub(), "worker-1", BROKER, exchange)
        with pytest.raises(WorkerUsageError) as refused:
            await second.start()
        assert repr(exchange) in str(refused.value) and "--amqp-exchange" in str(refused.value)
        other = WorkerLink(_Hub(), "worker-1", BROKER, exchange + "-b")   # its own exchange
        await other.start()
        await other.close()
    finally:
        await first.close()
