"""Act on running stations from outside: the driver's and the EV's verbs, a local HTTP+JSON
control API (`--control-port`), and the EV behaviour `--auto-plug`.

A driver layer: it uses only the stations' public methods, view and events.  The TUI uses
the same verbs (`perform`) and the same JSON view (`station_json`).
"""
from .actions import VERBS, ActionError, perform
from .autoplug import AutoPlug
from .fleet import Fleet, Watch
from .server import ControlServer
from .view import connector_json, station_json

__all__ = ["VERBS", "ActionError", "perform", "AutoPlug", "Fleet", "Watch", "ControlServer",
           "connector_json", "station_json"]
