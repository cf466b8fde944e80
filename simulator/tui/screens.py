"""The TUI's dialogs: a prompt, a message form (any action of the station's protocol,
checked against its schema), raw frame injection, the next answer to a CSMS request,
and adding a station."""
from __future__ import annotations

import json

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from ..protocol import OcppError

CSS = """
Dialog { align: center middle; }
#dialog { width: 90; height: auto; max-height: 90%; border: thick $accent; padding: 1 2;
          background: $surface; }
#dialog TextArea { height: 12; }
#dialog .error { color: $error; height: auto; }
#dialog Horizontal { height: auto; margin-top: 1; }
#dialog Button { margin-right: 2; }
"""


class Dialog(ModalScreen):
    AUTO_FOCUS = "Input, TextArea"
    BINDINGS = [("escape", "cancel", "Cancel"), ("ctrl+s", "submit", "OK")]

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        self.submit()

    def buttons(self, ok: str) -> Horizontal:
        return Horizontal(Button(ok, id="ok", variant="primary"), Button("Cancel", id="cancel"))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        elif event.button.id == "ok":
            self.submit()

    def submit(self) -> None:   # pragma: no cover - overridden
        raise NotImplementedError

    def fail(self, message: str) -> None:
        self.query_one("#problem", Static).update(message)


class Prompt(Dialog):
    """One value; Enter or OK returns it."""

    def __init__(self, title: str, value: str = "", placeholder: str = ""):
        super().__init__()
        self.title_text, self.value, self.placeholder = title, value, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text)
            yield Input(self.value, placeholder=self.placeholder, id="value")
            yield Static("", id="problem", classes="error")
            yield self.buttons("OK")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def submit(self) -> None:
        self.dismiss(self.query_one("#value", Input).value)


class MessageForm(Dialog):
    """Any action: pick it, edit the payload pre-filled from the station, send it checked.

    `template(action)` gives the pre-filled payload, `check(action, payload)` raises on a
    schema violation; the result is (action, payload)."""

    def __init__(self, title: str, actions: list[str], template, check, initial: str | None = None,
                 ok: str = "Send"):
        super().__init__()
        self.title_text, self.actions = title, actions
        self.template, self.check, self.ok = template, check, ok
        self.initial = initial if initial in actions else actions[0]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"{self.title_text}  (ctrl+s: {self.ok.lower()}, esc: cancel)")
            yield Select([(a, a) for a in self.actions], value=self.initial, allow_blank=False,
                         id="action")
            yield TextArea(self._text(self.initial), id="payload", tab_behavior="focus")
            yield Static("", id="problem", classes="error")
            yield self.buttons(self.ok)

    def _text(self, action: str) -> str:
        return json.dumps(self.template(action), indent=2)

    def on_select_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.query_one("#payload", TextArea).text = self._text(event.value)
            self.fail("")

    def submit(self) -> None:
        action = self.query_one("#action", Select).value
        try:
            payload = json.loads(self.query_one("#payload", TextArea).text)
            self.check(action, payload)
        except ValueError as e:
            self.fail(f"not JSON: {e}" if isinstance(e, json.JSONDecodeError) else str(e))
            return
        except OcppError as e:
            self.fail(f"schema: {e}")
            return
        self.dismiss((action, payload))


class RawFrame(Dialog):
    """Any text as one frame: no validation at all."""

    def __init__(self, station_id: str, text: str):
        super().__init__()
        self.station_id, self.text = station_id, text

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Raw frame from {self.station_id}, sent as is, not validated  "
                        f"(ctrl+s: inject, esc: cancel)")
            yield TextArea(self.text, id="raw", tab_behavior="focus")
            yield Static("", id="problem", classes="error")
            yield self.buttons("Inject")

    def submit(self) -> None:
        text = self.query_one("#raw", TextArea).text
        if not text.strip():
            self.fail("nothing to send")
            return
        self.dismiss(text)


class AddStation(Dialog):
    def __init__(self, suggestion: str):
        super().__init__()
        self.suggestion = suggestion

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Add a station")
            yield Input(self.suggestion, placeholder="station id", id="id")
            yield Input("", placeholder="template name or file (optional)", id="template")
            yield Static("", id="problem", classes="error")
            yield self.buttons("Add")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def submit(self) -> None:
        sid = self.query_one("#id", Input).value.strip()
        if not sid:
            self.fail("a station needs an id")
            return
        self.dismiss((sid, self.query_one("#template", Input).value.strip() or None))
