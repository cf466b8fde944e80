"""`chargesim run SCENARIO --csms http://…`: a CentralSystemService URL is right for
scenarios whose stations say protocol: ocpp1.5 (no --protocol needed, the files say it)."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.hub_helpers import running_hub

PACK = Path(__file__).resolve().parents[1] / "scenarios" / "conformance" / "ocpp15-csms"


async def test_a_15_scenario_runs_against_a_soap_url_given_on_the_command_line():
    async with running_hub(soap_port=0) as hub:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "simulator.cli", "run",
            str(PACK / "TC15_013_CSMS_unlock_connector.yaml"), "--csms", hub.soap_url,
            "--trigger-http", f"{hub.api_url}/stations/${{station}}/commands/${{action}}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
    text = out.decode()
    assert proc.returncode == 0, text
    assert "1 passed, 0 failed" in text
