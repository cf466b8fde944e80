"""The TUI driven headless by Textual's pilot against the bundled hub in-process: connect,
plug in, charge, stop, send a message of one's own, inject an invalid frame and see the
CSMS's CALLERROR in the log."""
from __future__ import annotations

import asyncio
import json

from textual.widgets import RichLog, Select, Static, TextArea

from simulator.station import StationOptions
from simulator.tui.app import ChargesimTui
from simulator.tui.engine import Engine
from simulator.tui.screens import MessageForm, RawFrame


def fast() -> StationOptions:
    return StationOptions(interval_scale=0.05, config={"MeterValueSampleInterval": "1"})


async def until(pilot, check, timeout: float = 30.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not (value := check()):
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)
    return value


async def dialog_ready(pilot, app):
    """Wait until a dialog is on top *and* its input holds the focus: Textual focuses it
    after mounting, so a key pressed on the first frame could go to nobody."""
    from simulator.tui.screens import Dialog
    await until(pilot, lambda: isinstance(app.screen, Dialog) and app.focused is not None
                and app.focused.screen is app.screen)
    return app.screen


def entries(app, kind=None, action=None, direction=None):
    return [e for e in app.engine.log.entries
            if (kind is None or e.kind == kind) and (action is None or e.action == action)
            and (direction is None or e.direction == direction)]


def log_text(app) -> str:
    return "\n".join(strip.text for strip in app.query_one("#log", RichLog).lines)


async def test_tui_charges_sends_and_injects_against_the_bundled_hub():
    app = ChargesimTui(Engine(), [("TUI-1", fast())], clock=False)
    async with app.run_test(size=(150, 50)) as pilot:
        await until(pilot, lambda: app.engine.fleet.get("TUI-1") is not None)
        st = app.engine.fleet.get("TUI-1")
        await until(pilot, lambda: st.view.state == "accepted")
        assert entries(app, "CALL", "BootNotification", "out")

        await pilot.press("p")                       # plug in
        await until(pilot, lambda: st.view.connector(1).plugged)
        await pilot.press("t")                       # present the tag (CARD-1 pre-filled)
        await dialog_ready(pilot, app)
        await pilot.press("enter")
        await until(pilot, lambda: st.view.connector(1).transaction_id is not None)
        [start] = entries(app, "CALL", "StartTransaction", "out")
        assert start.payload["idTag"] == "CARD-1"
        await until(pilot, lambda: entries(app, "RESULT", "StartTransaction", "in"))
        [reply] = entries(app, "RESULT", "StartTransaction", "in")
        assert reply.latency_ms is not None and reply.latency_ms >= 0
        await until(pilot, lambda: entries(app, "CALL", "MeterValues", "out"))
        await until(pilot, lambda: "TUI-1 present-tag: Started" in str(
            app.query_one("#status", Static).render()))

        await pilot.press("s")                       # the stop button
        await until(pilot, lambda: st.view.connector(1).transaction_id is None)
        [stop] = entries(app, "CALL", "StopTransaction", "out")
        assert stop.payload["reason"] == "Local"

        # a message of one's own: the form is pre-filled and checked against the schema
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, MessageForm))
        form = app.screen
        assert form.query_one("#action", Select).value == "DataTransfer"
        area = form.query_one("#payload", TextArea)
        assert json.loads(area.text) == {"vendorId": "chargesim"}
        area.text = json.dumps({"vendorId": 42})     # breaks the schema: refused in the form
        await pilot.pause(0.3)   # a button takes no second press while it shows the first
        await pilot.click("#ok")
        await until(pilot, lambda: "schema" in str(form.query_one("#problem", Static).render()))
        assert isinstance(app.screen, MessageForm) and not entries(app, "CALL", "DataTransfer")
        area.text = json.dumps({"vendorId": "chargesim", "messageId": "hello"})
        await pilot.pause(0.3)   # a button takes no second press while it shows the first
        await pilot.click("#ok")
        await until(pilot, lambda: entries(app, "RESULT", "DataTransfer", "in"))
        [sent] = entries(app, "CALL", "DataTransfer", "out")
        assert sent.payload == {"vendorId": "chargesim", "messageId": "hello"}

        # a raw frame bypasses validation; the CSMS answers with a CALLERROR
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, RawFrame))
        app.screen.query_one("#raw", TextArea).text = \
            '[2, "bad-1", "StatusNotification", {"connectorId": 1}]'
        await pilot.pause(0.3)   # a button takes no second press while it shows the first
        await pilot.click("#ok")
        [error] = await until(pilot, lambda: [e for e in entries(app, "ERROR", direction="in")
                                              if e.unique_id == "bad-1"])
        assert error.action == "StatusNotification" and error.error
        assert error.payload[0] == "OccurenceConstraintViolation"   # 1.6 spells it so
        assert "errorCode" in error.payload[1]

        # the log view shows it, and filters down to errors only
        await pilot.press("3")
        await until(pilot, lambda: "ERROR StatusNotification" in log_text(app))
        await pilot.press("E")
        await until(pilot, lambda: "BootNotification" not in log_text(app))
        assert "ERROR StatusNotification" in log_text(app)


async def test_tui_adds_and_removes_stations_and_exports_the_log(tmp_path):
    app = ChargesimTui(Engine(), [("TUI-A", fast())], clock=False, options=fast())
    async with app.run_test(size=(150, 50)) as pilot:
        await until(pilot, lambda: (s := app.engine.fleet.get("TUI-A")) is not None
                    and s.view.state == "accepted")
        await pilot.press("a")
        await dialog_ready(pilot, app)
        app.screen.query_one("#id").value = "TUI-B"
        await pilot.pause(0.3)   # a button takes no second press while it shows the first
        await pilot.click("#ok")
        await until(pilot, lambda: (s := app.engine.fleet.get("TUI-B")) is not None
                    and s.view.state == "accepted")
        assert app.engine.hub.connections.keys() >= {"TUI-A", "TUI-B"}
        app.action_tab("stations")
        table = app.query_one("#stations-table")
        await until(pilot, lambda: "TUI-B" in {k.value for k in table.rows})   # shown
        app.selected = "TUI-B"
        await pilot.press("delete")
        await until(pilot, lambda: "TUI-B" not in app.engine.fleet)
        await until(pilot, lambda: "TUI-B" not in {k.value for k in table.rows})
        path = tmp_path / "log.jsonl"
        app.engine.log.export(path)
        from simulator.scenario.recording import read
        header, frames = read(path)
        assert {f["station"] for f in frames} >= {"TUI-A", "TUI-B"}
        assert any('"BootNotification"' in f["raw"] for f in frames)


async def test_tui_runs_a_scenario_and_shows_its_frames():
    app = ChargesimTui(Engine(), [], clock=False)
    async with app.run_test(size=(150, 50)) as pilot:
        await until(pilot, lambda: app.ready)
        await pilot.press("ctrl+r")
        await dialog_ready(pilot, app)
        app.screen.query_one("#value").value = "scenarios/examples/charging_session.yaml"
        await pilot.press("enter")
        await until(pilot, lambda: app.last_result is not None, timeout=30)
        assert app.last_result.passed, app.last_result.failure
        assert "PASSED" in str(app.query_one("#status", Static).render())
        assert entries(app, "CALL", "StartTransaction", "out")   # its frames, in our log
        assert len(app.engine.fleet) == 0                          # its stations left with it
        await pilot.press("ctrl+r")
        await dialog_ready(pilot, app)
        app.screen.query_one("#value").value = "no/such.yaml"
        await pilot.press("enter")
        await until(pilot, lambda: "no/such.yaml" in str(app.query_one("#status", Static).render())
                    and "cannot read" in str(app.query_one("#status", Static).render()))


async def test_tui_with_auto_plug_charges_when_the_csms_starts_remotely():
    app = ChargesimTui(Engine(auto_plug=0.05), [("TUI-R", fast())], clock=False)
    async with app.run_test(size=(150, 50)) as pilot:
        await until(pilot, lambda: (s := app.engine.fleet.get("TUI-R")) is not None
                    and s.view.state == "accepted")
        st = app.engine.fleet.get("TUI-R")
        reply = await app.engine.hub.send("TUI-R", "RemoteStartTransaction",
                                          {"idTag": "CARD-1", "connectorId": 1})
        assert reply["status"] == "Accepted"
        await until(pilot, lambda: entries(app, "CALL", "MeterValues", "out"))
        assert st.view.connector(1).status == "charging"
        assert app.station_row(st)[3] == "1:charging"


async def test_tui_answers_the_next_csms_request_as_written():
    app = ChargesimTui(Engine(), [("TUI-M", fast())], clock=False)
    async with app.run_test(size=(150, 50)) as pilot:
        await until(pilot, lambda: (s := app.engine.fleet.get("TUI-M")) is not None
                    and s.view.state == "accepted")
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MessageForm))
        form = app.screen
        assert form.query_one("#action", Select).value == "RemoteStartTransaction"
        form.query_one("#action", Select).value = "Reset"
        await pilot.pause()
        area = form.query_one("#payload", TextArea)
        assert json.loads(area.text) == {"status": "Accepted"}   # the schema's first choice
        area.text = json.dumps({"status": "Maybe"})            # not in the enum: refused
        await pilot.pause(0.3)
        await pilot.click("#ok")
        await until(pilot, lambda: "schema" in str(form.query_one("#problem", Static).render()))
        area.text = json.dumps({"status": "Rejected"})
        await pilot.pause(0.3)
        await pilot.click("#ok")
        await until(pilot, lambda: not isinstance(app.screen, MessageForm))
        reply = await app.engine.hub.send("TUI-M", "Reset", {"type": "Soft"})
        assert reply == {"status": "Rejected"}                  # ours, not the model's
        assert app.engine.fleet.get("TUI-M").view.state == "accepted"   # and no reboot


async def test_tui_edits_the_configuration_in_the_station_view():
    app = ChargesimTui(Engine(), [("TUI-C", fast())], clock=False)
    async with app.run_test(size=(150, 50)) as pilot:
        await until(pilot, lambda: (s := app.engine.fleet.get("TUI-C")) is not None
                    and s.view.state == "accepted")
        st = app.engine.fleet.get("TUI-C")
        await pilot.press("2")
        table = app.query_one("#config")
        await until(pilot, lambda: table.row_count > 0)
        table.focus()
        table.move_cursor(row=table.get_row_index("HeartbeatInterval"))
        await pilot.press("enter")
        await dialog_ready(pilot, app)
        app.screen.query_one("#value").value = "120"
        await pilot.press("enter")
        await until(pilot, lambda: st.view.config["HeartbeatInterval"] == "120")
        await until(pilot, lambda: table.get_cell("HeartbeatInterval", "value") == "120")
        status = str(app.query_one("#status", Static).render())
        assert "TUI-C HeartbeatInterval='120'" in status and "accepted" in status.lower()


async def test_tui_fault_key_injects_and_clears_a_transport_fault():
    from textual.widgets import Input
    app = ChargesimTui(Engine(), [("TUI-F", fast())], clock=False)
    async with app.run_test(size=(150, 50)) as pilot:
        await until(pilot, lambda: (s := app.engine.fleet.get("TUI-F")) is not None
                    and s.view.state == "accepted")
        st = app.engine.fleet.get("TUI-F")
        await pilot.press("F")
        await dialog_ready(pilot, app)
        app.screen.query_one(Input).value = "clock_skew=-600"
        await pilot.press("enter")
        await until(pilot, lambda: st.faults == {"clock_skew": -600})
        await pilot.press("F")
        await dialog_ready(pilot, app)
        app.screen.query_one(Input).value = "drop=2"           # not a probability
        await pilot.press("enter")
        await until(pilot, lambda: "faults.drop" in str(app.query_one("#status", Static).render()))
        assert st.faults == {"clock_skew": -600}
        await pilot.press("F")
        await dialog_ready(pilot, app)
        app.screen.query_one(Input).value = ""
        await pilot.press("enter")
        await until(pilot, lambda: st.faults is None)


async def test_a_refresh_after_the_widgets_are_gone_does_nothing():
    """CI saw the refresh timer tick while the app shut down, after Textual had removed the
    widgets: NoMatches for the stations table failed a test that had passed."""
    app = ChargesimTui(Engine(), [], clock=False)
    async with app.run_test(size=(150, 50)) as pilot:
        await until(pilot, lambda: app.ready)
    app.refresh_views()          # the widgets are pruned now; this must not raise
