"""The control API (simulator.control) against the bundled hub: each verb changes what the
CSMS sees, bad requests get JSON errors, and --auto-plug completes a remote-started charge."""
from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp
import pytest

from simulator.control import AutoPlug, ControlServer, Fleet
from simulator.dialects import make_station
from simulator.station import StationOptions
from tests.hub_helpers import running_hub

TAG = "CARD-1"


def fast(**kw) -> StationOptions:
    return StationOptions(interval_scale=0.05, config={"MeterValueSampleInterval": "1"}, **kw)


async def until(check, timeout: float = 10.0):
    """Poll `check()` (sync or async) until it is truthy; returns its value."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > end:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


class HubView:
    """What the CSMS sees, through its own HTTP API."""

    def __init__(self, http: aiohttp.ClientSession, station_id: str):
        self.http, self.id = http, station_id

    async def detail(self) -> dict:
        async with self.http.get(f"/stations/{self.id}") as r:
            return await r.json()

    async def status(self, connector: int = 1) -> str | None:
        for c in (await self.detail())["connectors"]:
            if c.get("connector_id", c.get("id")) == connector:
                return c.get("status")
        return None

    async def calls(self, action: str) -> list[dict]:
        async with self.http.get(f"/stations/{self.id}/frames") as r:
            frames = await r.json()
        out = []
        for f in frames:
            if not f["raw"]:   # connection notes
                continue
            msg = json.loads(f["raw"])
            if f["direction"] == "out" and msg[0] == 2 and msg[2] == action:
                out.append(msg[3])
        return out

    async def command(self, action: str, payload: dict) -> dict:
        async with self.http.post(f"/stations/{self.id}/commands/{action}", json=payload) as r:
            assert r.status == 200, await r.text()
            return (await r.json())["response"]


@contextlib.asynccontextmanager
async def rig(station_id: str, *, auto_plug: bool = False, **options):
    async with running_hub(tags={TAG: "Accepted"}, flush_interval=0.1) as hub:
        station = make_station(station_id, hub.url, fast(**options))
        fleet = Fleet()
        fleet.add(station)
        plug = AutoPlug(station, delay=0.05) if auto_plug else None
        await station.start()
        try:
            async with ControlServer(fleet) as server, \
                    aiohttp.ClientSession(server.url) as control, \
                    aiohttp.ClientSession(hub.api_url) as hub_http:
                yield station, control, HubView(hub_http, station_id)
        finally:
            if plug is not None:
                plug.close()
            await station.stop()


async def act(control, station_id, verb, body=None, expect=200):
    async with control.post(f"/stations/{station_id}/actions/{verb}",
                            data=None if body is None else json.dumps(body)) as r:
        data = await r.json()
        assert r.status == expect, data
        return data


async def test_remote_start_with_auto_plug_charges_and_remote_stop_unplugs():
    async with rig("CTL-AUTO", auto_plug=True) as (station, control, hub):
        answer = await hub.command("RemoteStartTransaction", {"idTag": TAG, "connectorId": 1})
        assert answer["status"] == "Accepted"
        [start] = await until(lambda: hub.calls("StartTransaction"))
        assert start["idTag"] == TAG and start["connectorId"] == 1
        await until(lambda: hub.calls("MeterValues"))
        assert await hub.status() == "Charging"
        statuses = [p["status"] for p in await hub.calls("StatusNotification")]
        assert "Charging" in statuses
        tx_id = station.view.connector(1).transaction_id
        assert (await hub.command("RemoteStopTransaction",
                                  {"transactionId": int(tx_id)}))["status"] == "Accepted"
        [stop] = await until(lambda: hub.calls("StopTransaction"))
        assert stop["reason"] == "Remote"
        # the EV leaves: Finishing, then Available at the CSMS
        await until(lambda: _is(hub.status(), "Available"))
        assert station.view.connector(1).plugged is False


async def _is(status_coro, want):
    return await status_coro == want


async def test_without_auto_plug_a_remote_start_waits_for_a_cable():
    async with rig("CTL-NOAUTO") as (station, control, hub):
        waiting = station.expect("waiting_for_cable", 1)
        await hub.command("RemoteStartTransaction", {"idTag": TAG, "connectorId": 1})
        await asyncio.wait_for(waiting, 5)
        assert await hub.calls("StartTransaction") == []
        # the control API is the driver now
        await act(control, "CTL-NOAUTO", "plug-in", {"connector": 1})
        await until(lambda: hub.calls("StartTransaction"))


async def test_driver_verbs_change_what_the_csms_sees():
    sid = "CTL-VERBS"
    async with rig(sid) as (station, control, hub):
        await act(control, sid, "plug-in", {"connector": 1, "soc": 30})
        await until(lambda: _is(hub.status(), "Preparing"))
        done = await act(control, sid, "present-tag", {"connector": 1, "tag": TAG})
        assert done["result"] == "Started"
        assert done["view"]["connectors"][1]["status"] == "charging"
        await until(lambda: _is(hub.status(), "Charging"))
        await act(control, sid, "ev-suspend", {"connector": 1})
        await until(lambda: _is(hub.status(), "SuspendedEV"))
        await act(control, sid, "ev-resume", {"connector": 1})
        await until(lambda: _is(hub.status(), "Charging"))
        await act(control, sid, "set-soc", {"connector": 1, "soc": 100})
        await until(lambda: _is(hub.status(), "SuspendedEV"))
        stopped = await act(control, sid, "stop", {"connector": 1})
        assert stopped["result"]["transaction_id"] is not None
        [stop] = await until(lambda: hub.calls("StopTransaction"))
        assert stop["reason"] == "Local"
        await until(lambda: _is(hub.status(), "Finishing"))
        await act(control, sid, "unplug", {"connector": 1})
        await until(lambda: _is(hub.status(), "Available"))
        await act(control, sid, "fault", {"connector": 1, "error_code": "GroundFailure"})
        await until(lambda: _is(hub.status(), "Faulted"))
        [*_, faulted] = await hub.calls("StatusNotification")
        assert faulted["errorCode"] == "GroundFailure"
        await act(control, sid, "clear-fault", {"connector": 1})
        await until(lambda: _is(hub.status(), "Available"))


async def test_network_power_and_reboot_verbs_change_what_the_csms_sees():
    sid = "CTL-NET"
    async with rig(sid) as (station, control, hub):
        async def connected():
            return (await hub.detail())["connected"]
        boots = len(await hub.calls("BootNotification"))
        await act(control, sid, "network-down")
        await until(lambda: _not(connected()))
        await act(control, sid, "network-up")
        await until(connected)
        await act(control, sid, "power-loss")
        await until(lambda: _not(connected()))
        await act(control, sid, "power-up")
        await until(connected)
        await until(lambda: _more(hub.calls("BootNotification"), boots))   # a cold boot
        boots = len(await hub.calls("BootNotification"))
        await until(lambda: station.view.registration is not None)
        await act(control, sid, "reboot")
        await until(lambda: _more(hub.calls("BootNotification"), boots))


async def _not(coro):
    return not await coro


async def _more(coro, n):
    return len(await coro) > n


async def test_views_and_errors_are_json():
    sid = "CTL-ERR"
    async with rig(sid, connectors=2) as (station, control, hub):
        async with control.get("/stations") as r:
            [view] = await r.json()
        assert view["id"] == sid and view["protocol"] == "ocpp1.6" and view["online"]
        assert [c["id"] for c in view["connectors"]] == [0, 1, 2]
        async with control.get(f"/stations/{sid}") as r:
            detail = await r.json()
        assert detail["config"]["HeartbeatInterval"]
        for path, status, words in [
                (f"/stations/NOPE/actions/plug-in", 404, "unknown station 'NOPE'"),
                (f"/stations/{sid}/actions/fly", 404, "unknown verb 'fly'"),
        ]:
            async with control.post(path, json={"connector": 1}) as r:
                assert r.status == status and words in (await r.json())["error"]
        async with control.get("/stations/NOPE") as r:
            assert r.status == 404 and "NOPE" in (await r.json())["error"]
        async with control.get(f"/stations/{sid}/actions/plug-in") as r:
            assert r.status == 405 and "GET" in (await r.json())["error"]
        cases = [
            ("plug-in", "{nope", 400, "not JSON"),
            ("plug-in", "[1]", 400, "must be a JSON object"),
            ("plug-in", json.dumps({}), 400, "'connector' is required (1..2)"),
            ("plug-in", json.dumps({"connector": 3}), 400, "no connector 3"),
            ("plug-in", json.dumps({"connector": "1"}), 400, "must be an integer"),
            ("plug-in", json.dumps({"connector": 1, "colour": "red"}), 400, "unknown field"),
            ("present-tag", json.dumps({"connector": 1}), 400, "'tag' is required"),
            ("unplug", json.dumps({"connector": 1}), 409, "not plugged in"),
            ("stop", json.dumps({"connector": 1, "reason": "Bored"}), 400, "unknown stop reason"),
            ("stop", json.dumps({"connector": 1}), 409, "no transaction"),
            ("set-soc", json.dumps({"connector": 1, "soc": 50}), 409, "no EV plugged in"),
            ("power-up", None, 409, "has power"),
        ]
        for verb, body, status, words in cases:
            async with control.post(f"/stations/{sid}/actions/{verb}", data=body) as r:
                data = await r.json()
                assert r.status == status and words in data["error"], (verb, body, data)
        async with control.get("/verbs") as r:
            verbs = await r.json()
        assert {"plug-in", "present-tag", "unplug", "stop", "ev-suspend", "ev-resume", "fault",
                "clear-fault", "power-loss", "power-up", "network-down", "network-up",
                "reboot", "set-soc", "inject-fault", "clear-faults"} == set(verbs)


def test_control_port_in_use_is_a_clear_error():
    async def go():
        async with ControlServer(Fleet()) as first:
            with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{first.port}"):
                await ControlServer(Fleet(), first.port).start()
    asyncio.run(go())


async def test_inject_fault_verb_skews_what_the_csms_sees_and_clear_faults_ends_it():
    from datetime import datetime, timedelta, timezone

    def age(ts: str) -> timedelta:
        return datetime.now(timezone.utc) - datetime.fromisoformat(ts.replace("Z", "+00:00"))

    sid = "CTL-FAULT"
    async with rig(sid) as (station, control, hub):
        bad = await act(control, sid, "inject-fault", {"fault": "drop", "value": 2}, expect=400)
        assert "faults.drop" in bad["error"] and station.faults is None
        bad = await act(control, sid, "inject-fault", {"fault": "warp", "value": 1}, expect=400)
        assert "unknown field" in bad["error"]
        done = await act(control, sid, "inject-fault", {"fault": "clock_skew", "value": -86400})
        assert station.faults == {"clock_skew": -86400}
        assert done["result"]["faults"] == {"clock_skew": -86400}
        await until(lambda: station.view.registration is not None and station.online)
        await act(control, sid, "plug-in", {"connector": 1})
        await until(lambda: _more(hub.calls("StatusNotification"), 0))

        async def skewed():
            sent = [c for c in await hub.calls("StatusNotification") if c.get("timestamp")]
            return sent and age(sent[-1]["timestamp"]) > timedelta(hours=12)
        await until(skewed)
        await act(control, sid, "clear-faults")
        assert station.faults is None
        await until(lambda: station.view.registration is not None and station.online)
        await act(control, sid, "unplug", {"connector": 1})

        async def current():
            sent = [c for c in await hub.calls("StatusNotification") if c.get("timestamp")]
            return sent and age(sent[-1]["timestamp"]) < timedelta(hours=1)
        await until(current)
