"""The chargesim command as a user runs it (in a subprocess, so exit codes are real)."""
from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import aiohttp

from tests.hub_helpers import running_hub


def chargesim(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_run_against_the_bundled_hub_passes():
    result = chargesim("run", "--stations", "2", "--seconds", "1.5")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "bundled hub: ws://127.0.0.1:" in out
    assert "SIM-00001: ok — transaction" in out and "SIM-00002: ok — transaction" in out
    assert "2 passed, 0 failed" in out


def test_run_fails_with_a_clear_reason_when_the_csms_refuses_the_tag():
    # one tag for two stations: the hub answers the second StartTransaction ConcurrentTx
    result = chargesim("run", "--stations", "2", "--seconds", "0.5", "--tag", "SHARED")
    assert result.returncode == 1
    # whichever StartTransaction reaches the hub second is refused
    assert ": FAILED at present tag SHARED" in result.stdout
    assert "ConcurrentTx" in result.stdout
    assert "1 passed, 1 failed" in result.stdout


def test_run_against_an_unreachable_csms_fails_cleanly():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    result = chargesim("run", "--csms", f"ws://127.0.0.1:{port}/ocpp", "--seconds", "0.1")
    assert result.returncode == 1
    assert "SIM-00001: FAILED at boot" in result.stdout
    assert "Traceback" not in result.stderr


async def test_station_command_stays_online_for_the_csms_to_drive():
    async with running_hub() as hub:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "simulator.cli", "station", "--csms", hub.url,
            "--id", "CLI-1", "--id", "CLI-2", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        seen = []
        try:
            while not (seen and "online" in seen[-1]):  # both booted (BootNotification accepted)
                seen.append((await asyncio.wait_for(proc.stdout.readline(), 15)).decode())
            assert "2 station(s) online" in seen[-1]
            assert {"CLI-1", "CLI-2"} <= set(hub.connections)
            async with aiohttp.ClientSession(hub.api_url) as http:
                async with http.post("/stations/CLI-2/commands/ChangeConfiguration",
                                     json={"key": "HeartbeatInterval", "value": "120"}) as r:
                    assert (await r.json())["response"] == {"status": "Accepted"}
                async with http.post("/stations/CLI-2/commands/GetConfiguration",
                                     json={"key": ["HeartbeatInterval"]}) as r:
                    keys = (await r.json())["response"]["configurationKey"]
                    assert keys[0]["value"] == "120"
        finally:
            proc.terminate()
            out, err = await asyncio.wait_for(proc.communicate(), 15)
        assert proc.returncode == 0, err.decode()
        assert any("CLI-2 boot: accepted" in line for line in seen)


async def test_station_command_waits_for_its_csms_and_stops_on_ctrl_c():
    import signal
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # no CSMS (yet): the station keeps trying
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator.cli", "station", "--csms", f"ws://127.0.0.1:{port}/ocpp",
        "--id", "CLI-W", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        seen = []
        while not (seen and "cannot connect" in seen[-1]):   # it tried, and goes on trying
            line = await asyncio.wait_for(proc.stdout.readline(), 15)
            assert line, f"the station command ended: {seen}"
            seen.append(line.decode())
        assert proc.returncode is None
        proc.send_signal(signal.SIGINT)                        # Ctrl-C while connecting
        out, err = await asyncio.wait_for(proc.communicate(), 15)
        assert proc.returncode == 0, err.decode()
        assert "stopped" in out.decode() and b"Traceback" not in err
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_station_command_stops_on_ctrl_c_while_pending():
    import signal
    async with running_hub(unknown_stations="pending") as hub:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "simulator.cli", "station", "--csms", hub.url,
            "--id", "CLI-P", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            seen = []
            while not (seen and "boot: pending" in seen[-1]):
                line = await asyncio.wait_for(proc.stdout.readline(), 15)
                assert line, f"the station command ended: {seen}"
                seen.append(line.decode())
            proc.send_signal(signal.SIGINT)                    # Ctrl-C during boot
            out, err = await asyncio.wait_for(proc.communicate(), 15)
            assert proc.returncode == 0, err.decode()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
