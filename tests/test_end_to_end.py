"""Our station against our hub: a full charging session, CSMS commands through the HTTP API,
and one station's bad input leaving another's session unharmed."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest
import websockets

from simulator.station import Station, StationOptions
from simulator.dialects import make_station
from tests.hub_helpers import running_hub

TAG = "E2E-TAG"


def fast(**kw) -> StationOptions:
    return StationOptions(interval_scale=0.05, config={"MeterValueSampleInterval": "2"}, **kw)


async def test_full_charging_session_is_stored_by_the_hub():
    async with running_hub(tags={TAG: "Accepted"}, flush_interval=0.1) as hub:
        # 350 kW so that a fraction of a second of charging shows in whole Wh
        station = make_station("E2E-1", hub.url, fast(max_power_w=350_000))
        await station.start()
        try:
            await station.plug_in(1)
            assert station.connectors[1].status.value == "preparing"
            started = station.expect("tx_started", 1)
            assert await station.present_tag(1, TAG) == "Started"
            tx_id = (await asyncio.wait_for(started, 5)).data["transaction_id"]
            assert station.connectors[1].status.value == "charging"
            for _ in range(3):  # periodic MeterValues reach the hub
                await asyncio.wait_for(station.expect("meter", 1), 5)
            assert await station.present_tag(1, TAG) == "Stopped"
            await station.unplug(1)
            assert station.connectors[1].status.value == "available"
        finally:
            await station.stop()

        tx = hub.store.get_transaction(tx_id)
        assert tx["station_id"] == "E2E-1" and tx["id_tag"] == TAG
        assert tx["stop_reason"] == "Local" and tx["meter_stop"] > tx["meter_start"]
        readings = hub.store.meter_values(tx_id)
        energy = [float(r["value"]) for r in readings
                  if r["measurand"] == "Energy.Active.Import.Register"]
        assert len(energy) >= 3 and energy == sorted(energy)  # the register only grows
        station_row = hub.store.get_station("E2E-1")
        assert station_row["vendor"] == "chargesim"


async def test_hub_command_api_drives_our_station():
    async with running_hub(tags={TAG: "Accepted"}) as hub:
        station = make_station("E2E-2", hub.url, fast(connectors=2))
        await station.start()
        try:
            async with aiohttp.ClientSession(hub.api_url) as http:
                async def command(action, payload):
                    async with http.post(f"/stations/E2E-2/commands/{action}", json=payload) as r:
                        return r.status, await r.json()

                status, body = await command("GetConfiguration", {"key": ["NumberOfConnectors", "Nope"]})
                assert status == 200
                assert body["response"]["configurationKey"][0]["value"] == "2"
                assert body["response"]["unknownKey"] == ["Nope"]

                started = station.expect("tx_started", 2)
                await station.plug_in(2)
                status, body = await command("RemoteStartTransaction", {"idTag": TAG, "connectorId": 2})
                assert (status, body["response"]) == (200, {"status": "Accepted"})
                tx_id = (await asyncio.wait_for(started, 5)).data["transaction_id"]

                stopped = station.expect("tx_stopped", 2)
                status, body = await command("RemoteStopTransaction", {"transactionId": tx_id})
                assert body["response"] == {"status": "Accepted"}
                assert (await asyncio.wait_for(stopped, 5)).data["reason"] == "remote"

                status, body = await command("RemoteStopTransaction", {"transactionId": 999999})
                assert body["response"] == {"status": "Rejected"}

                # the station's schema check of the hub's payload, relayed as a 400
                status, body = await command("ChangeAvailability", {"connectorId": 1})
                assert status == 400 and body["code"] == "OccurenceConstraintViolation"
        finally:
            await station.stop()
        assert hub.store.get_transaction(tx_id)["stop_reason"] == "Remote"


async def test_bad_frames_from_one_station_do_not_harm_another():
    async with running_hub(tags={TAG: "Accepted"}) as hub:
        good = make_station("E2E-GOOD", hub.url, fast())
        await good.start()
        try:
            async with websockets.connect(f"{hub.url}/E2E-BAD", subprotocols=["ocpp1.6"]) as bad:
                for frame in ["{not json", '[2, "x1", "FooBar", {}]', "[5]",
                              '[2, "x2", "Heartbeat", {"extra": true}]']:
                    await bad.send(frame)
                with pytest.raises(websockets.ConnectionClosed):
                    await bad.send("x" * (200 * 1024))  # over the 64 KiB frame limit
                    await bad.recv()
                    await bad.recv()
                    await bad.recv()
            # the good station still charges
            await good.plug_in(1)
            assert await good.present_tag(1, TAG) == "Started"
            assert await good.present_tag(1, TAG) == "Stopped"
        finally:
            await good.stop()
