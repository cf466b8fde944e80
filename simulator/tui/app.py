"""`chargesim tui`: be the charger and the driver, and watch every frame.

Three tabs: Stations (all of them, filterable, with counters), Station (the selected one:
connectors, a live power chart, configuration, reservations and charging profiles) and
Log (every frame in and out).  Keys act on the selected station and connector; see the
footer and docs/tui.md.  The app reads the engine only through the stations' public view,
events and frame taps (engine.py).
"""
from __future__ import annotations

import json
from typing import Callable

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import (DataTable, Footer, Header, Input, RichLog, Sparkline, Static,
                             TabbedContent, TabPane)

from ..control import ActionError, station_json
from ..station import StationOptions
from .engine import DEFAULT_TAG, Engine, LogEntry
from .screens import CSS as DIALOG_CSS
from .screens import AddStation, MessageForm, Prompt, RawFrame

STATION_COLUMNS = ("id", "state", "protocol", "connectors", "transaction", "power", "energy")
WIDTHS = {"id": 16, "state": 12, "protocol": 9, "connectors": 34, "transaction": 12,
          "power": 10, "energy": 12}
CONNECTOR_COLUMNS = ("#", "status", "error", "plugged", "transaction", "power", "energy",
                     "EV SoC", "limit")
COLOURS = {("out", "CALL"): "cyan", ("in", "CALL"): "magenta", ("out", "RESULT"): "green",
           ("in", "RESULT"): "green", "ERROR": "bold red", "BAD": "bold red",
           "NOTE": "dim"}


def _kw(w: float) -> str:
    return f"{w / 1000:.1f} kW"


def _kwh(wh: float) -> str:
    return f"{wh / 1000:.3f} kWh"


class ChargesimTui(App):
    TITLE = "chargesim"
    AUTO_FOCUS = "#stations-table"   # the keys act at once, not in the filter box
    CSS = DIALOG_CSS + """
    #tabs { height: 1fr; }
    #tabs > ContentSwitcher { height: 1fr; }
    TabPane { height: 1fr; padding: 0; }
    #counters { height: 1; padding: 0 1; background: $boost; }
    #status { height: 1; padding: 0 1; background: $panel; }
    #stations-table { height: 1fr; }
    #station-title { height: 1; padding: 0 1; text-style: bold; }
    #connectors { height: auto; max-height: 12; }
    #power { height: 2; margin: 0 1; }
    #power-label { height: 1; padding: 0 1; color: $text-muted; }
    #station-lower { height: 1fr; }
    #config { width: 1fr; }
    #station-state { width: 1fr; padding: 0 1; }
    #log { height: 1fr; }
    Input { margin: 0 0; }
    """
    BINDINGS = [
        Binding("p", "verb('plug-in')", "Plug"),
        Binding("t", "present_tag", "Tag"),
        Binding("u", "verb('unplug')", "Unplug"),
        Binding("s", "verb('stop')", "Stop"),
        Binding("e", "toggle('ev')", "EV"),
        Binding("f", "toggle('fault')", "Fault"),
        Binding("o", "toggle('power')", "Power"),
        Binding("n", "toggle('network')", "Net"),
        Binding("r", "verb('reboot')", "Reboot"),
        Binding("g", "set_soc", "SoC"),
        Binding("F", "inject_fault", "Inject transport fault", show=False),
        Binding("c", "custom_call", "Msg"),
        Binding("x", "raw_frame", "Raw"),
        Binding("m", "manual_answer", "Answer next", show=False),
        Binding("a", "add_station", "Add"),
        Binding("ctrl+r", "scenario", "Run scenario", show=False),
        Binding("delete", "remove_station", "Remove", show=False),
        Binding("space", "pause", "Pause log", show=False),
        Binding("E", "errors_only", "Errors only", show=False),
        Binding("v", "pretty", "Pretty/compact payloads", show=False),
        Binding("ctrl+s", "export", "Export log", show=False),
        Binding("1", "tab('stations')", "Stations", show=False),
        Binding("2", "tab('station')", "Station", show=False),
        Binding("3", "tab('log')", "Log", show=False),
        Binding("right_square_bracket", "connector(1)", "Next connector", show=False),
        Binding("left_square_bracket", "connector(-1)", "Previous connector", show=False),
        Binding("slash", "search", "Filter", show=False),
        Binding("escape", "leave_input", "Back", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, engine: Engine, stations: list[tuple[str, StationOptions | None]],
                 *, clock: bool = True, refresh: float = 0.5, options: StationOptions | None = None):
        super().__init__()
        self.engine = engine
        self.initial = stations
        self.clock = clock            # False: no wall-clock time in the views (snapshots)
        self.refresh_every = refresh
        self.options = options or StationOptions()
        self.selected: str | None = stations[0][0] if stations else None
        self.connector = 1
        self.filter = ""
        self.log_filter = ""
        self.errors_only = False
        self.paused = False
        self.pretty = True
        self._rows: dict[str, tuple] = {}
        self._shown_connector_rows: tuple = ()
        self._config_shown: dict[str, str] = {}
        self.ready = False           # the CSMS is up and the first stations are added
        self.last_result: object = None

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="stations", id="tabs"):
            with TabPane("Stations", id="stations"):
                yield Static("", id="counters")
                yield Input(placeholder="filter: id, state or status words", id="filter")
                table = DataTable(id="stations-table", cursor_type="row", zebra_stripes=True)
                yield table
            with TabPane("Station", id="station"):
                yield Static("", id="station-title")
                yield DataTable(id="connectors", cursor_type="row")
                yield Static("", id="power-label")
                yield Sparkline([], id="power", summary_function=max)
                with Horizontal(id="station-lower"):
                    yield DataTable(id="config", cursor_type="row")
                    yield Static("", id="station-state")
            with TabPane("Log", id="log-tab"):
                yield Input(placeholder="filter: station / action / kind words "
                                        "(E: errors only, space: pause)", id="log-filter")
                yield RichLog(id="log", max_lines=5000, wrap=True, markup=False)
        yield Static("", id="status")
        yield Footer()

    async def on_mount(self) -> None:
        stations = self.query_one("#stations-table", DataTable)
        for name in STATION_COLUMNS:
            stations.add_column(name, key=name, width=WIDTHS[name])
        connectors = self.query_one("#connectors", DataTable)
        for name in CONNECTOR_COLUMNS:
            connectors.add_column(name, key=name, width=14 if name in ("status", "error") else 11)
        config = self.query_one("#config", DataTable)
        config.add_column("key", key="key")
        config.add_column("value", key="value")
        stations.focus()
        self.engine.log.listeners.append(self._on_frame)
        await self.engine.start()
        for station_id, options in self.initial:
            self._add(station_id, options)
        self.ready = True
        self.refresh_views()
        self.set_interval(self.refresh_every, self.refresh_views)

    async def on_unmount(self) -> None:
        await self.engine.stop()

    # -- helpers --------------------------------------------------------------------------
    def say(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def _add(self, station_id: str, options: StationOptions | None) -> None:
        self.engine.add_station(station_id, options or self.options)
        if self.selected is None:
            self.selected = station_id

    def _station(self):
        return self.engine.fleet.get(self.selected) if self.selected else None

    def _connector_view(self):
        st = self._station()
        if st is None:
            return None
        conns = st.view.connectors
        return conns[self.connector] if self.connector < len(conns) else None

    # -- views ----------------------------------------------------------------------------
    def station_row(self, station) -> tuple:
        return self._row(station_json(station, self.engine.fleet.watch(station.id)))

    @staticmethod
    def _row(view: dict) -> tuple:
        conns = view["connectors"][1:]
        txs = [c["transaction_id"] for c in conns if c["transaction_id"] is not None]
        state = view["state"] if view["online"] or view["state"] != "accepted" else "offline"
        return (view["id"], state, view["protocol"],
                " ".join(f"{c['id']}:{c['status']}" for c in conns),
                ",".join(txs) or "-", _kw(sum(c.get("power_w", 0.0) for c in conns)),
                _kwh(sum(c["energy_wh"] or 0.0 for c in conns)))

    def refresh_views(self) -> None:
        # Shutting down, Textual removes the widgets before it stops the app's timers: a
        # tick in between would find no table.
        if not self.ready or not self.is_running:
            return
        self._refresh_stations()
        self._refresh_station()

    def _refresh_stations(self) -> None:
        table = self.query_one("#stations-table", DataTable)
        views = [station_json(s, self.engine.fleet.watch(s.id)) for s in self.engine.fleet]
        rows = {v["id"]: self._row(v) for v in views}
        words = self.filter.lower().split()
        shown = {k: r for k, r in rows.items()
                 if all(any(w in str(cell).lower() for cell in r) for w in words)}
        for key in [k for k in self._rows if k not in shown]:
            table.remove_row(key)
            del self._rows[key]
        for key, row in shown.items():
            old = self._rows.get(key)
            if old is None:
                table.add_row(*row, key=key)
            elif old != row:
                for name, new, was in zip(STATION_COLUMNS, row, old):
                    if new != was:
                        table.update_cell(key, name, new)
            self._rows[key] = row
        states = [r[1] for r in rows.values()]
        charging = sum("charging" in r[3] for r in rows.values())
        power = sum(c.get("power_w", 0.0) for v in views for c in v["connectors"][1:])
        where = self.engine.url or "…"
        csms = "bundled hub" if self.engine.hub is not None else where
        if self.engine.control is not None:
            csms += f"  ·  control API {self.engine.control.url}"
        self.query_one("#counters", Static).update(
            f"{len(rows)} stations  {states.count('accepted')} online  "
            f"{len(rows) - states.count('accepted')} not online  {charging} charging  "
            f"{_kw(power)} total  ·  CSMS: {csms}  ·  shown {len(shown)}")

    def _refresh_station(self) -> None:
        st = self._station()
        title = self.query_one("#station-title", Static)
        if st is None:
            title.update("no station selected (a: add)")
            return
        watch = self.engine.fleet.watch(st.id)
        view = station_json(st, watch, config=True)
        title.update(f"{view['id']}  {view['protocol']}  {view['state']}  "
                     f"registration: {view['registration'] or '-'}  "
                     f"connector {self.connector} selected ([ ])")
        table = self.query_one("#connectors", DataTable)
        rows = tuple(
            (str(c["id"]), c["status"], c["error_code"], "yes" if c["plugged"] else "no",
             c["transaction_id"] or "-", _kw(c.get("power_w", 0.0)) if c["id"] else "",
             _kwh(c["energy_wh"]) if c["energy_wh"] is not None else "",
             f"{c['ev_soc']:.0f} %" if "ev_soc" in c else "",
             _kw(watch.limit_w[c["id"]]) if c["id"] in watch.limit_w else "")
            for c in view["connectors"])
        if rows != self._shown_connector_rows:
            cursor = table.cursor_row
            table.clear()
            for row in rows:
                table.add_row(*row, key=row[0])
            if cursor is not None and cursor < len(rows):
                table.move_cursor(row=cursor)
            self._shown_connector_rows = rows
        history = list(watch.history.get(self.connector, ()))
        self.query_one("#power", Sparkline).data = history if any(history) else []
        self.query_one("#power-label", Static).update(
            f"power at #{self.connector}: now {_kw(watch.power_w.get(self.connector, 0.0))}, "
            f"peak {_kw(max(history, default=0.0))} over the last {len(history)} samples")
        config = view["config"]
        if config != self._config_shown:
            ct = self.query_one("#config", DataTable)
            ct.clear()
            for key in sorted(config):
                ct.add_row(key, config[key], key=key)
            self._config_shown = dict(config)
        c = view["connectors"][self.connector] if self.connector < len(view["connectors"]) else None
        lines = []
        if c is not None and c["transaction_id"] is not None:
            lines.append(f"transaction {c['transaction_id']} on #{c['id']}: "
                         f"{_kwh(c['energy_wh'] or 0)} at {_kw(c.get('power_w', 0.0))}")
        else:
            lines.append(f"no transaction on #{self.connector}")
        lines.append("reservations: " + (", ".join(f"{rid} {what}" for rid, what in
                                                   sorted(watch.reservations.items())) or "none"))
        lines.append("charging profiles: " + (", ".join(
            what for _, what in sorted(watch.profiles.items())) or "none"))
        lines.append("")
        lines.append("Enter on a key: edit it.  Recent events:")
        url = self.engine.url or ""
        for e in list(st.view.recent_events)[-8:]:
            lines.append(f"  {e}".replace(url, "CSMS") if url else f"  {e}")
        self.query_one("#station-state", Static).update("\n".join(lines))

    # -- log ------------------------------------------------------------------------------
    def _shows(self, entry: LogEntry) -> bool:
        return ((not self.errors_only or entry.error)
                and (not self.log_filter or entry.matches(self.log_filter)))

    def format_entry(self, e: LogEntry) -> Text:
        arrow = "→" if e.direction == "out" else "←"
        style = COLOURS.get((e.direction, e.kind)) or COLOURS.get(e.kind, "white")
        line = Text()
        if self.clock:
            from datetime import datetime
            line.append(datetime.fromtimestamp(e.frame.ts).strftime("%H:%M:%S.%f")[:-3] + " ",
                        "dim")
        line.append(f"{arrow} {e.station} ", style)
        line.append(f"{e.kind} {e.action or ''}".rstrip(), style)
        if e.latency_ms is not None:
            line.append(f"  {e.latency_ms:.0f} ms", "yellow")
        if e.frame.note:
            line.append(f"  ({e.frame.note})", "italic")
        if e.kind == "NOTE":
            return line
        if e.kind == "BAD":
            line.append("\n    " + e.frame.raw)
            return line
        body = (json.dumps(e.payload, indent=2) if self.pretty else json.dumps(e.payload))
        line.append("\n" + "\n".join("    " + x for x in body.splitlines()), "default")
        return line

    def _on_frame(self, entry: LogEntry) -> None:
        if self.paused or not self._shows(entry):
            return
        try:
            self.query_one("#log", RichLog).write(self.format_entry(entry))
        except Exception:   # before mount / after unmount
            pass

    def _rewrite_log(self) -> None:
        log = self.query_one("#log", RichLog)
        log.clear()
        for entry in list(self.engine.log.entries)[-2000:]:
            if self._shows(entry):
                log.write(self.format_entry(entry))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.filter = event.value
            self._refresh_stations()
        elif event.input.id == "log-filter":
            self.log_filter = event.value
            self._rewrite_log()

    def action_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self._rewrite_log()
        self.say("log paused" if self.paused else "log running")

    def action_pretty(self) -> None:
        self.pretty = not self.pretty
        self._rewrite_log()

    def action_errors_only(self) -> None:
        self.errors_only = not self.errors_only
        self._rewrite_log()
        self.say("log: errors only" if self.errors_only else "log: all frames")

    def action_export(self) -> None:
        def done(path):
            if path:
                try:
                    n = self.engine.log.export(path, [e for e in self.engine.log.entries
                                                      if self._shows(e)])
                    self.say(f"exported {n} frames to {path}")
                except OSError as e:
                    self.say(f"export failed: {e}")
        self.push_screen(Prompt("Export the log (recording format, JSONL) to:",
                                "chargesim-tui.jsonl"), done)

    # -- selection ------------------------------------------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "stations-table" and event.row_key is not None:
            self.selected = event.row_key.value
            self._shown_connector_rows = ()
            self._config_shown = {}
        elif event.data_table.id == "connectors" and event.row_key is not None:
            cid = int(event.row_key.value)
            if cid >= 1:
                self.connector = cid

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "stations-table":
            self.action_tab("station")
        elif event.data_table.id == "config":
            self._edit_config(event.row_key.value)

    def action_search(self) -> None:
        tab = self.query_one("#tabs", TabbedContent).active
        self.query_one("#log-filter" if tab == "log-tab" else "#filter", Input).focus()

    def action_leave_input(self) -> None:
        tab = self.query_one("#tabs", TabbedContent).active
        target = {"stations": "#stations-table", "station": "#connectors"}.get(tab, "#log")
        self.query_one(target).focus()

    def action_tab(self, tab: str) -> None:
        pane = "log-tab" if tab == "log" else tab
        self.query_one("#tabs", TabbedContent).active = pane
        # focus follows (a focused widget in another pane would switch the tab back)
        target = {"stations": "#stations-table", "station": "#connectors"}.get(pane, "#log")
        self.query_one(target).focus()

    def action_connector(self, step: int) -> None:
        st = self._station()
        if st is None:
            return
        count = len(st.view.connectors) - 1
        self.connector = (self.connector - 1 + step) % count + 1
        self._refresh_station()

    # -- verbs ----------------------------------------------------------------------------
    def action_verb(self, verb: str, body: dict | None = None) -> None:
        if self.selected is None:
            self.say("no station selected")
            return
        if body is None:
            body = {} if verb in ("power-loss", "power-up", "network-down", "network-up",
                                  "reboot") else {"connector": self.connector}
        self.do_verb(self.selected, verb, body)

    @work(group="verbs")
    async def do_verb(self, station_id: str, verb: str, body: dict) -> None:
        try:
            result = await self.engine.act(station_id, verb, body)
        except ActionError as e:
            self.say(f"{verb}: {e}")
            return
        self.last_result = result
        self.say(f"{station_id} {verb}" + (f": {result}" if result is not None else ": done"))
        self.refresh_views()

    def action_toggle(self, what: str) -> None:
        st = self._station()
        c = self._connector_view()
        if st is None or c is None:
            return
        if what == "ev":
            self.action_verb("ev-resume" if c.status == "suspended_ev" else "ev-suspend")
        elif what == "fault":
            self.action_verb("clear-fault" if c.status == "faulted" else "fault")
        elif what == "power":
            self.action_verb("power-up" if st.view.state == "powered_off" else "power-loss")
        elif what == "network":
            self.action_verb("network-down" if st.view.online else "network-up")

    def _ask(self, prompt: Prompt, then: Callable[[str], None]) -> None:
        self.push_screen(prompt, lambda value: value is not None and then(value))

    def action_present_tag(self) -> None:
        self._ask(Prompt(f"Tag at connector {self.connector}:", DEFAULT_TAG),
                  lambda tag: self.action_verb("present-tag",
                                               {"connector": self.connector, "tag": tag}))

    def action_set_soc(self) -> None:
        def go(value: str):
            try:
                soc = float(value)
            except ValueError:
                self.say(f"set-soc: {value!r} is not a number")
                return
            self.action_verb("set-soc", {"connector": self.connector, "soc": soc})
        self._ask(Prompt(f"EV state of charge at connector {self.connector} (%):", "80"), go)

    def action_inject_fault(self) -> None:
        """A transport fault through the control API's verbs: `drop=0.1`, `delay=[0.1,0.5]`,
        `clock_skew=-300` (a `faults:` field = a JSON value); empty: clear all."""
        def go(value: str):
            value = value.strip()
            if not value:
                self.action_verb("clear-faults", {})
                return
            name, sep, raw = value.partition("=")
            try:
                parsed = json.loads(raw) if sep else None
            except ValueError:
                parsed = None
            if parsed is None:
                self.say(f"inject-fault: expected field=value (e.g. drop=0.1), got {value!r}")
                return
            self.action_verb("inject-fault", {"fault": name.strip(), "value": parsed})
        self._ask(Prompt("Transport fault (field=value, e.g. drop=0.1; empty: clear):",
                         "drop=0.1"), go)

    def _edit_config(self, key: str) -> None:
        st = self._station()
        if st is None:
            return
        def go(value: str):
            result = st.change_configuration(key, value)
            self.say(f"{st.id} {key}={value!r}: {result}")
            self._config_shown = {}
            self.refresh_views()
        self._ask(Prompt(f"{st.id}: {key}", st.view.config.get(key, "")), go)

    # -- messages of the user's making -----------------------------------------------------
    def action_custom_call(self) -> None:
        st = self._station()
        if st is None:
            return
        version = st.options.version
        form = MessageForm(f"Send from {st.id} ({version}); checked against the schema",
                           self.engine.outbound_actions(version),
                           lambda a: self.engine.template(st, a, self.connector),
                           lambda a, p: self.engine.check(st, a, p), initial="DataTransfer")
        self.push_screen(form, lambda r: r is not None and self.send_call(st.id, *r))

    @work(group="calls")
    async def send_call(self, station_id: str, action: str, payload: dict) -> None:
        try:
            reply = await self.engine.call(station_id, action, payload)
        except Exception as e:
            self.say(f"{action}: {type(e).__name__}: {e}")
            return
        self.last_result = reply
        self.say(f"{station_id} {action}: {json.dumps(reply)}")

    def action_raw_frame(self) -> None:
        st = self._station()
        if st is None:
            return
        text = '[2, "injected-1", "StatusNotification", {"connectorId": 1}]'
        self.push_screen(RawFrame(st.id, text),
                         lambda t: t is not None and self.send_raw(st.id, t))

    @work(group="calls")
    async def send_raw(self, station_id: str, text: str) -> None:
        try:
            await self.engine.send_raw(station_id, text)
        except Exception as e:
            self.say(f"raw frame: {e}")
            return
        self.say(f"{station_id}: injected {len(text)} characters")

    def action_manual_answer(self) -> None:
        st = self._station()
        if st is None:
            return
        version = st.options.version
        form = MessageForm(f"Answer the next CSMS request to {st.id} with (checked):",
                           self.engine.inbound_actions(version),
                           lambda a: self.engine.template(st, a, self.connector, response=True),
                           lambda a, p: self.engine.check(st, a, p, response=True),
                           initial="RemoteStartTransaction", ok="Set answer")
        def done(result):
            if result is not None:
                action, reply = result
                self.engine.answer_next(st.id, action, reply)
                self.say(f"{st.id}: the next {action} gets {json.dumps(reply)}")
        self.push_screen(form, done)

    # -- stations at run time -----------------------------------------------------------------
    def action_add_station(self) -> None:
        n = len(self.engine.fleet) + 1
        while f"SIM-{n:05d}" in self.engine.fleet:
            n += 1
        def done(result):
            if result is None:
                return
            sid, template = result
            try:
                options = None
                if template:
                    from ..templates.loader import load_template
                    options = load_template(template, station_id=sid)
                self._add(sid, options)
            except (ValueError, OSError) as e:
                self.say(f"add: {e}")
                return
            self.say(f"added {sid}")
            self.refresh_views()
        self.push_screen(AddStation(f"SIM-{n:05d}"), done)

    def action_scenario(self) -> None:
        self._ask(Prompt("Run a scenario file (its frames go to the log):",
                         "scenarios/examples/charging_session.yaml"), self.run_scenario)

    @work(group="scenarios")
    async def run_scenario(self, path: str) -> None:
        def progress(kind, data):
            if kind == "step_end":
                step = data["step"]
                self.say(f"scenario: {step.label}: {step.status}")
        self.say(f"scenario {path}: starting")
        try:
            result = await self.engine.run_scenario(path, progress)
        except Exception as e:   # a bad file: its file:line message
            self.say(f"scenario: {e}")
            return
        self.last_result = result
        verdict = "PASSED" if result.passed else f"FAILED at {result.where}: {result.failure}"
        self.say(f"scenario {result.name}: {verdict} ({result.duration:.1f}s)")
        self.refresh_views()

    def action_remove_station(self) -> None:
        if self.selected is None:
            return
        self.remove(self.selected)

    @work(group="stations")
    async def remove(self, station_id: str) -> None:
        await self.engine.remove_station(station_id)
        if self.selected == station_id:
            self.selected = next(iter(self.engine.fleet.ids), None)
        self.say(f"removed {station_id}")
        self.refresh_views()
