"""Making the CSMS act: a `csms` step asks the backend to send a request to a station.

- the bundled hub: its command API (`Hub.send`), which returns the station's answer;
- any other CSMS: the scenario's `csms.trigger` — an HTTP call or a shell command, with
  ${station}, ${action} and ${payload} (JSON text) filled in — or, when run at a terminal,
  a prompt asking a person to make the CSMS do it.

Every trigger returns the station's answer when it knows it (hub), else None: the runner
then reads the answer from the frames (the CALL the station received and its reply).
"""
from __future__ import annotations

import asyncio
import json
import sys

from ..session import CallErrorReceived, CallTimeout, InvalidResponse, SessionClosed
from . import templating
from .errors import StepFailed


class CallErrorAnswer(Exception):
    def __init__(self, code: str, description: str, details):
        super().__init__(f"CALLERROR {code}: {description}")
        self.code, self.description, self.details = code, description, details


class Trigger:
    knows_answer = False

    async def send(self, station: str, action: str, payload: dict, timeout: float) -> dict | None:
        raise NotImplementedError


class HubTrigger(Trigger):
    knows_answer = True

    def __init__(self, hub):
        self.hub = hub

    async def send(self, station, action, payload, timeout):
        from hub_under_test.hub import HubError
        try:
            return await self.hub.send(station, action, payload, timeout=timeout)
        except CallErrorReceived as e:
            raise CallErrorAnswer(e.error.code_text, e.error.description, e.error.details) from None
        except (CallTimeout, InvalidResponse, SessionClosed, HubError) as e:
            raise StepFailed(f"the hub could not send {action}: {e}") from None


class HttpTrigger(Trigger):
    def __init__(self, config: dict):
        self.config = config

    async def send(self, station, action, payload, timeout):
        import aiohttp
        import os
        variables = {"station": station, "action": action, "payload": payload,
                     "env": dict(os.environ)}
        url = templating.render(self.config["url"], variables)
        body = templating.render(self.config.get("body", "${payload}"), variables)
        headers = templating.render(self.config.get("headers", {}), variables)
        method = self.config.get("method", "POST")
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
                kwargs = {"json": body} if not isinstance(body, str) else {"data": body}
                async with http.request(method, url, headers=headers, **kwargs) as r:
                    text = await r.text()
                    if r.status >= 400:
                        raise StepFailed(f"CSMS trigger {method} {url} answered HTTP {r.status}: "
                                         f"{text[:200]}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            raise StepFailed(f"CSMS trigger {method} {url} failed: {type(e).__name__}: {e}") from None
        return None


class CommandTrigger(Trigger):
    def __init__(self, command: str):
        self.command = command

    async def send(self, station, action, payload, timeout):
        import shlex
        # Values are shell-quoted: a payload cannot inject commands.
        variables = {"station": shlex.quote(station), "action": shlex.quote(action),
                     "payload": shlex.quote(json.dumps(payload, separators=(",", ":")))}
        command = templating.render(self.command, variables)
        proc = await asyncio.create_subprocess_shell(
            command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except asyncio.TimeoutError:
            proc.kill()
            raise StepFailed(f"CSMS trigger command did not finish within {timeout:g}s: {command}") from None
        if proc.returncode != 0:
            raise StepFailed(f"CSMS trigger command exited {proc.returncode}: {command}\n"
                             f"{err.decode(errors='replace')[:500]}")
        return None


class PromptTrigger(Trigger):
    async def send(self, station, action, payload, timeout):
        text = (f"\n>>> Make the CSMS send {action} to {station} with "
                f"{json.dumps(payload)}, then press Enter: ")
        await asyncio.get_running_loop().run_in_executor(None, input, text)
        return None


class NoTrigger(Trigger):
    async def send(self, station, action, payload, timeout):
        raise StepFailed(f"this step needs the CSMS to send {action}: configure `csms.trigger` "
                         f"(http or command) in the scenario, or run it at a terminal to be asked")


def make_trigger(hub, config: dict) -> Trigger:
    if hub is not None:
        return HubTrigger(hub)
    if "http" in config:
        return HttpTrigger(config["http"])
    if "command" in config:
        return CommandTrigger(config["command"])
    if config.get("prompt", True) and sys.stdin is not None and sys.stdin.isatty():
        return PromptTrigger()
    return NoTrigger()
