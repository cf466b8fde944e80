"""The hub's debug page in a real headless browser (the system's chromium, driven by
Playwright): stations with their state, one station's frames with the hub's answers, and a
command sent from the form reaching the station."""
from __future__ import annotations

import os
import shutil

import pytest
from ocpp.v16 import call

from hub_helpers import Api, charger, exchange, now, raw_station, running_hub

playwright = pytest.importorskip("playwright.async_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="needs the system chromium (.ci/run installs it)")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


async def test_debug_page_shows_stations_frames_and_sends_a_command():
    async with running_hub() as hub, charger(hub, "CS-DBG") as cp, charger(hub, "CS-OTHER"):
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError",
                                              status="Available", timestamp=now()))
        async with playwright.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = await browser.new_page()
                await page.goto(f"{hub.api_url}/debug")
                row = page.locator('#stations tr[data-id="CS-DBG"]')
                await row.wait_for()
                assert "Accepted" in await row.inner_text()
                assert "1: Available" in await row.inner_text()
                assert await page.locator('#stations tr[data-id="CS-OTHER"]').count() == 1

                await row.click()
                frames = page.locator("#frames tbody")
                await frames.locator("tr.from-station", has_text="BootNotification").wait_for()
                # the hub's answer to the boot is shown too
                await frames.locator("tr.from-hub", has_text="Accepted").first.wait_for()

                await page.select_option("#action", "Reset")
                await page.fill("#payload", '{"type": "Soft"}')
                await page.click("#send")
                await page.locator("#answer", has_text='"status":"ok"').wait_for()
                assert "Accepted" in await page.inner_text("#answer")
                await frames.locator("tr.from-hub", has_text='"Reset"').wait_for()
            finally:
                await browser.close()
        assert ("Reset", {"type": "Soft"}) in cp.received


async def test_commands_of_a_protocol():
    async with running_hub() as hub, Api(hub) as api:
        status, actions = await api.get("/debug/commands?protocol=ocpp1.6")
        assert status == 200 and "Reset" in actions and "Heartbeat" not in actions
        status, body = await api.get("/debug/commands?protocol=ocpp9")
        assert status == 400 and body["parameter"] == "protocol"


async def test_debug_page_marks_frames_lenient_mode_repaired():
    async with running_hub(mode="lenient") as hub, raw_station(hub, "CS-LEN") as ws:
        await exchange(ws, [2, "b", "BootNotification", {"chargePointVendor": "V",
                                                         "chargePointModel": "M"}])
        await exchange(ws, [2, "s", "StatusNotification", {
            "connectorId": 1, "errorCode": "NoError", "status": "available", "timestamp": now()}])
        async with playwright.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = await browser.new_page()
                await page.goto(f"{hub.api_url}/debug")
                await page.locator('#stations tr[data-id="CS-LEN"]').click()
                frames = page.locator("#frames tbody")
                repaired = frames.locator("tr.repaired")
                await repaired.first.wait_for()
                assert await repaired.count() == 1   # the StatusNotification, not the boot
                text = await repaired.inner_text()
                assert "StatusNotification" in text and "repaired" in text
                assert "read as 'Available'" in await repaired.locator(".badge").get_attribute("title")
            finally:
                await browser.close()
