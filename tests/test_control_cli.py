"""`chargesim station --control-port 0 --auto-plug` as a user runs it: the API answers, a
driver verb goes through, Ctrl-C stops it cleanly."""
from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import urllib.request


async def _line(proc, pattern: str, timeout: float = 20.0) -> re.Match:
    seen = []
    async def read():
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                raise AssertionError("chargesim ended early:\n" + "".join(seen))
            line = raw.decode()
            seen.append(line)
            m = re.search(pattern, line)
            if m:
                return m
    return await asyncio.wait_for(read(), timeout)


def _http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


async def test_station_command_serves_the_control_api():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator.cli", "station", "--id", "CLI-CTL",
        "--control-port", "0", "--auto-plug",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        url = (await _line(proc, r"control API: (http://\S+)/stations"))[1]
        await _line(proc, r"station\(s\) online")
        status, views = await asyncio.to_thread(_http, "GET", f"{url}/stations")
        assert status == 200 and views[0]["id"] == "CLI-CTL" and views[0]["online"]
        status, done = await asyncio.to_thread(
            _http, "POST", f"{url}/stations/CLI-CTL/actions/plug-in", {"connector": 1})
        assert status == 200 and done["view"]["connectors"][1]["plugged"] is True
        await _line(proc, r"CLI-CTL #1 status: preparing")
        status, err = await asyncio.to_thread(
            _http, "POST", f"{url}/stations/CLI-CTL/actions/plug-in", {"connector": 1})
        assert status == 409 and "already plugged in" in err["error"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, out.decode()
    assert "stopped" in out.decode()
