"""The 1.5 SOAP station against the bundled hub's CentralSystemService: a charging session
reaches the hub's store, the hub's command API drives the station through the callback
address it learnt from `From`, and a 1.5 station shares the hub with a 1.6 one."""
from __future__ import annotations

import asyncio

from hub_helpers import Api, running_hub
from simulator.dialects import make_station

FAST = dict(interval_scale=0.01, boot_retry_min=0.01, reconnect_min=0.05, call_timeout=10)


async def test_station_and_hub_over_soap_with_a_16_station_beside():
    async with running_hub(soap_port=0, tags={"TAG15": "Accepted"}) as hub, Api(hub) as api:
        soap = make_station("S15-HUB", hub.soap_url, version="ocpp1.5", **FAST)
        json16 = make_station("J16-HUB", hub.url, **FAST)
        await asyncio.gather(soap.start(timeout=20), json16.start(timeout=20))
        try:
            row = hub.store.get_station("S15-HUB")
            assert row["vendor"] == soap.options.vendor
            await soap.plug_in(1)
            assert await soap.present_tag(1, "TAG15") == "Started"
            tx_id = soap.connectors[1].transaction.transaction_id
            await asyncio.sleep(0.05)
            # the hub calls the station back at its From address, through the command API
            status, got = await api.request("POST", "/stations/S15-HUB/commands/GetConfiguration",
                                            {"key": ["HeartbeatInterval"]})
            assert status == 200, got
            assert got["response"]["configurationKey"][0]["value"] == \
                str(hub.config.heartbeat_interval)      # the interval the hub's boot reply set
            stopped = soap.expect("tx_stopped", 1)
            status, got = await api.request("POST", "/stations/S15-HUB/commands/RemoteStopTransaction",
                                            {"transactionId": tx_id})
            assert status == 200 and got["response"] == {"status": "Accepted"}, got
            await asyncio.wait_for(stopped, 20)
            assert soap.connectors[1].last_transaction.stop_reason == "remote"
            async def stored():
                _, txs = await api.get("/transactions?station=S15-HUB")
                return txs
            for _ in range(200):       # the hub's store writes behind
                txs = await stored()
                if txs and txs[0]["meter_stop"] is not None:
                    break
                await asyncio.sleep(0.02)
            assert [(t["id"], t["meter_start"]) for t in txs] == [(tx_id, 0)]
            assert txs[0]["meter_stop"] == soap.connectors[1].last_transaction.meter_stop
            # the 1.6 station on the same hub is unaffected
            assert (await hub.send("J16-HUB", "ClearCache", {}))["status"] == "Accepted"
        finally:
            await asyncio.gather(soap.stop(), json16.stop())
