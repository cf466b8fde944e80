"""SVG snapshots of the TUI's main screens (pytest-textual-snapshot).

Deterministic: fixed station ids, no clock in the views, the CSMS's URL (a random port)
shown as "CSMS", and nothing that grows with time (no charging: energy stays 0).
Update after a deliberate change with `pytest tests/test_tui_snapshots.py --snapshot-update`
and look at the SVGs under tests/__snapshots__/.
"""
from __future__ import annotations

from simulator.station import StationOptions
from simulator.tui.app import ChargesimTui
from simulator.tui.engine import Engine

SIZE = (140, 40)


def app(ids=("SNAP-1", "SNAP-2", "SNAP-3"), connectors=(1, 2, 1)) -> ChargesimTui:
    stations = [(sid, StationOptions(connectors=n, interval_scale=0.05))
                for sid, n in zip(ids, connectors)]
    # refresh: the test refreshes once everything settled
    return ChargesimTui(Engine(), stations, clock=False, refresh=3600)


def settled(then=None):
    """Wait until every station is accepted and the CSMS answered all its boot-time
    StatusNotifications, then (optionally) act, then draw once more."""
    async def run_before(pilot):
        app = pilot.app
        for _ in range(500):
            await pilot.pause(0.02)
            if not app.ready:
                continue
            stations = list(app.engine.fleet)
            answered = sum(1 for e in app.engine.log.entries
                           if e.kind == "RESULT" and e.action == "StatusNotification")
            if (all(s.view.state == "accepted" for s in stations)
                    and answered >= sum(len(s.view.connectors) for s in stations)):
                break
        else:
            raise AssertionError("stations did not settle")
        if then is not None:
            await then(pilot)
        app.refresh_views()
        await pilot.pause()
    return run_before


def test_stations_view(snap_compare):
    assert snap_compare(app(), terminal_size=SIZE, run_before=settled())


def test_stations_view_filtered(snap_compare):
    async def search(pilot):
        pilot.app.query_one("#filter").value = "SNAP-2"
        await pilot.pause()
    assert snap_compare(app(), terminal_size=SIZE, run_before=settled(search))


def test_station_view_with_a_cable_plugged_in(snap_compare):
    async def plug(pilot):
        st = pilot.app.engine.fleet.get("SNAP-1")
        await st.plug_in(1)
        pilot.app.action_tab("station")
        await pilot.pause()
    assert snap_compare(app(), terminal_size=SIZE, run_before=settled(plug))


def test_message_form(snap_compare):
    async def form(pilot):
        await pilot.press("c")
        await pilot.pause()
        pilot.app.screen.query_one("#payload").cursor_blink = False   # a blink is a clock
        await pilot.pause()
    assert snap_compare(app(), terminal_size=SIZE, run_before=settled(form))
