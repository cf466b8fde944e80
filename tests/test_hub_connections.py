"""Opening handshakes, duplicate station ids and bad input — while a bystander keeps working."""
from __future__ import annotations

import asyncio
import contextlib
import logging

import orjson
import pytest
import websockets
from ocpp.v16 import call
from websockets.exceptions import ConnectionClosed, InvalidStatus

from hub_helpers import charger, exchange, raw_station, running_hub, wait_for


@contextlib.asynccontextmanager
async def hub_with_bystander(**config):
    """A hub with an `ocpp`-library charger connected throughout; on exit it must still work."""
    async with running_hub(**config) as hub:
        async with charger(hub, "BYSTANDER") as bystander:
            yield hub, bystander
            hb = await bystander.call(call.Heartbeat())
            assert hb.current_time
            assert "BYSTANDER" in hub.connections


async def refused(url: str, subprotocols=None) -> tuple[int, str]:
    with pytest.raises(InvalidStatus) as info:
        await websockets.connect(url, subprotocols=subprotocols)
    return info.value.response.status_code, info.value.response.body.decode()


# -- subprotocol negotiation and paths ------------------------------------------------

async def test_no_subprotocol_is_refused_with_a_reason():
    async with hub_with_bystander() as (hub, _):
        status, body = await refused(f"{hub.url}/CS-X")
        assert status == 400
        assert "no OCPP subprotocol offered; supported: ocpp1.6" in body
        assert hub.metrics.refused.value(reason="subprotocol") == 1


async def test_no_subprotocol_is_accepted_with_a_fallback_version():
    async with hub_with_bystander(fallback_version="ocpp1.6") as (hub, _):
        async with raw_station(hub, "LEGACY", subprotocols=None) as ws:
            assert ws.subprotocol is None
            reply = await exchange(ws, [2, "1", "Heartbeat", {}])
            assert reply[0] == 3 and reply[1] == "1"
            assert hub.connections["LEGACY"].version == "ocpp1.6"


async def test_only_unsupported_subprotocols_are_refused():
    async with hub_with_bystander(fallback_version="ocpp1.6") as (hub, _):
        status, body = await refused(f"{hub.url}/CS-X", ["ocpp2.1", "ocpp1.5"])
        assert status == 400
        assert "none of the offered subprotocols (ocpp2.1, ocpp1.5) is supported" in body
        assert "supported: ocpp1.6, ocpp2.0.1" in body


async def test_supported_subprotocol_is_selected_among_several():
    async with hub_with_bystander() as (hub, _):
        async with raw_station(hub, "MULTI", subprotocols=["ocpp2.1", "ocpp1.6"]) as ws:
            assert ws.subprotocol == "ocpp1.6"
        async with raw_station(hub, "MULTI2", subprotocols=["ocpp1.6", "ocpp2.0.1"]) as ws:
            assert ws.subprotocol == "ocpp1.6"   # the station's first choice the hub speaks


@pytest.mark.parametrize("path", ["/", "/ocpp", "/ocpp/", "/central/CS-1", "/ocpp/a/b"])
async def test_wrong_path_is_refused_with_404(path):
    async with running_hub() as hub:
        base = hub.url.rsplit("/ocpp", 1)[0]
        status, body = await refused(base + path, ["ocpp1.6"])
        assert status == 404
        assert "/ocpp/{station_id}" in body


async def test_station_id_is_url_decoded():
    async with running_hub() as hub:
        async with raw_station(hub, "CS%20one") as ws:
            await exchange(ws, [2, "1", "Heartbeat", {}])
            assert "CS one" in hub.connections


# -- duplicate station ids ------------------------------------------------------------

async def test_duplicate_station_replaces_the_old_connection(caplog):
    caplog.set_level(logging.WARNING, "hub_under_test")
    async with hub_with_bystander() as (hub, _):
        async with raw_station(hub, "DUP") as old:
            assert (await exchange(old, [2, "a", "Heartbeat", {}]))[0] == 3
            old_conn = hub.connections["DUP"]
            async with raw_station(hub, "DUP") as new:
                with pytest.raises(ConnectionClosed) as info:
                    await asyncio.wait_for(old.recv(), 2)
                assert info.value.rcvd.code == 1000
                assert info.value.rcvd.reason == "replaced by a new connection"
                assert (await exchange(new, [2, "b", "Heartbeat", {}]))[0] == 3
                await asyncio.sleep(0.05)  # the old handler's clean-up must not unregister the new one
                assert hub.connections["DUP"] is not old_conn
                assert hub.manager.stations["DUP"].connected
        assert "replaces the one from" in caplog.text
        assert hub.metrics.replaced.value() == 1


async def test_duplicate_station_rejected_with_409_under_reject_policy():
    async with hub_with_bystander(duplicate_policy="reject") as (hub, _):
        async with raw_station(hub, "DUP") as first:
            status, body = await refused(f"{hub.url}/DUP", ["ocpp1.6"])
            assert status == 409 and "already connected" in body
            assert (await exchange(first, [2, "a", "Heartbeat", {}]))[0] == 3
        await wait_for(lambda: "DUP" not in hub.connections)
        async with raw_station(hub, "DUP") as again:  # free again once the first has gone
            assert (await exchange(again, [2, "b", "Heartbeat", {}]))[0] == 3


# -- bad input on a raw socket --------------------------------------------------------

async def no_reply(ws, timeout: float = 0.2) -> bool:
    try:
        await asyncio.wait_for(ws.recv(), timeout)
    except asyncio.TimeoutError:
        return True
    return False


@pytest.mark.parametrize("frame, code", [
    ([2, "u1", "FooBar", {}], "NotImplemented"),
    ([2, "u2", "Reset", {"type": "Hard"}], "NotSupported"),  # CSMS-initiated, sent by a station
    ([2, "u3", "StartTransaction", {"connectorId": 1, "idTag": "A", "timestamp": "2024-01-01T00:00:00Z"}],
     "OccurenceConstraintViolation"),  # 1.6 spelling
    ([2, "u4", "StartTransaction", {"connectorId": "one", "idTag": "A", "meterStart": 0,
                                    "timestamp": "2024-01-01T00:00:00Z"}], "TypeConstraintViolation"),
    ([2, "u5", "StatusNotification", {"connectorId": 1, "errorCode": "Error", "status": "Available"}],
     "PropertyConstraintViolation"),
    ([2, "u6", "Heartbeat", {"extra": 1}], "FormationViolation"),  # 1.6 spelling
    ([2, "u7", "Heartbeat", []], "FormationViolation"),
    ([2, "u8", "Heartbeat"], "FormationViolation"),
    ([7, "u9", "Heartbeat", {}], "ProtocolError"),  # unknown type id: 1.6 has no MessageTypeNotSupported
])
async def test_bad_calls_get_the_right_callerror(frame, code):
    async with hub_with_bystander() as (hub, _):
        async with raw_station(hub, "BAD") as ws:
            reply = await exchange(ws, frame)
            assert reply[:3] == [4, frame[1], code]
            assert isinstance(reply[3], str) and reply[3]
            # the session goes on
            assert (await exchange(ws, [2, "ok", "Heartbeat", {}]))[:2] == [3, "ok"]
        assert hub.metrics.call_errors.value(code=code) == 1


@pytest.mark.parametrize("raw, note", [
    ('[2, "x", "Heartbeat", {},', "not valid JSON"),
    ("hello", "not valid JSON"),
    ('{"a": 1}', "JSON array"),
    ('[3, "nobody-asked", {}]', "reply to no outstanding call"),
])
async def test_unanswerable_frames_are_logged_and_dropped(raw, note, caplog):
    caplog.set_level(logging.WARNING, "simulator.session")
    async with hub_with_bystander() as (hub, _):
        async with raw_station(hub, "BAD") as ws:
            await ws.send(raw)
            assert await no_reply(ws)
            assert (await exchange(ws, [2, "ok", "Heartbeat", {}]))[:2] == [3, "ok"]
        frames = hub.server.frames.get("BAD")
        tapped = [f for f in frames if f.raw == raw]
        assert tapped and note in tapped[0].note
        assert "BAD" in caplog.text
        assert hub.metrics.rejected_frames.value() == 1


async def test_duplicate_unique_id_while_the_first_is_in_flight():
    from hub_under_test.messages import DataTransferResult, DataTransferStatus

    async with hub_with_bystander() as (hub, _):
        release = asyncio.Event()

        async def slow(msg):
            await release.wait()
            return DataTransferResult(DataTransferStatus.ACCEPTED)
        hub.manager.data_transfer_handlers["slow"] = slow
        async with raw_station(hub, "DUPID") as ws:
            await ws.send(orjson.dumps([2, "same", "DataTransfer", {"vendorId": "slow"}]).decode())
            await ws.send(orjson.dumps([2, "same", "Heartbeat", {}]).decode())
            first = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
            assert first[:3] == [4, "same", "ProtocolError"]
            assert "already in use" in first[3]
            release.set()
            second = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
            assert second == [3, "same", {"status": "Accepted"}]


async def test_over_long_frame_closes_1009_and_is_logged(caplog):
    caplog.set_level(logging.INFO, "hub_under_test")
    async with hub_with_bystander(max_frame=64 * 1024) as (hub, _):
        async with raw_station(hub, "BIG", max_size=None) as ws:
            payload = {"vendorId": "x", "data": "z" * (70 * 1024)}
            await ws.send(orjson.dumps([2, "big", "DataTransfer", payload]).decode())
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 2)
            assert info.value.rcvd.code == 1009
        await wait_for(lambda: "BIG" not in hub.connections)
        assert "BIG: connection from" in caplog.text and "closed by hub: 1009" in caplog.text
        assert hub.metrics.disconnects.value(code="1009") == 1
        assert not hub.manager.stations["BIG"].connected
        # a frame just under the limit is fine
        async with raw_station(hub, "BIG", max_size=None) as ws:
            payload = {"vendorId": "x", "data": "z" * (60 * 1024)}
            reply = await exchange(ws, [2, "ok", "DataTransfer", payload])
            assert reply == [3, "ok", {"status": "UnknownVendorId"}]


async def test_a_failing_handler_answers_internal_error_and_the_hub_lives_on():
    async with hub_with_bystander() as (hub, _):
        async def broken(msg):
            raise RuntimeError("disk on fire")
        hub.manager.data_transfer_handlers["boom"] = broken
        async with raw_station(hub, "BOOM") as ws:
            reply = await exchange(ws, [2, "1", "DataTransfer", {"vendorId": "boom"}])
            assert reply[:3] == [4, "1", "InternalError"] and "disk on fire" in reply[3]
            assert (await exchange(ws, [2, "2", "Heartbeat", {}]))[0] == 3


async def test_abrupt_disconnect_is_cleaned_up():
    async with hub_with_bystander() as (hub, _):
        ws = await websockets.connect(f"{hub.url}/GONE", subprotocols=["ocpp1.6"])
        await exchange(ws, [2, "1", "Heartbeat", {}])
        ws.transport.abort()  # no close frame
        await wait_for(lambda: "GONE" not in hub.connections)
        assert hub.metrics.disconnects.value(code="1006") == 1


async def test_hub_stop_closes_stations_with_1001():
    async with running_hub() as hub:
        ws = await websockets.connect(f"{hub.url}/S", subprotocols=["ocpp1.6"])
        await exchange(ws, [2, "1", "Heartbeat", {}])
        await hub.stop()
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 2)
        assert info.value.rcvd.code == 1001


def test_frame_log_keeps_per_station_history_within_a_total():
    from hub_under_test.server import FrameLog
    from simulator.session import Frame

    log = FrameLog(per_station=3, total=5)
    for i in range(4):
        log.record(Frame(float(i), "A", "in", "ocpp1.6", f"a{i}"))
    assert [f.raw for f in log.get("A")] == ["a1", "a2", "a3"]     # the last 3 of A
    for i in range(3):
        log.record(Frame(10.0 + i, "B", "in", "ocpp1.6", f"b{i}"))
    # 6 frames > 5: A, the least recently active, gave up its oldest
    assert [f.raw for f in log.get("A")] == ["a2", "a3"]
    assert [f.raw for f in log.get("B")] == ["b0", "b1", "b2"]
    assert [f.raw for f in log.get("B", limit=1)] == ["b2"]
    for i in range(3, 6):
        log.record(Frame(10.0 + i, "B", "in", "ocpp1.6", f"b{i}"))
    assert [f.raw for f in log.get("B")] == ["b3", "b4", "b5"]     # B's own cap
    assert [f.raw for f in log.get("A")] == ["a2", "a3"]
    log.record(Frame(20.0, "C", "in", "ocpp1.6", "c0"))
    log.record(Frame(21.0, "C", "in", "ocpp1.6", "c1"))
    assert log.get("A") is None                                   # A trimmed away first
    assert [f.raw for f in log.get("B")] == ["b3", "b4", "b5"]
