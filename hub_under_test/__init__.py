"""The bundled hub: an OCPP CSMS to aim the simulator at, shaped like a production hub.

stations ─▶ server (WebSocket, subprotocols) ─▶ adapters (ocpp16j; 2.0.1 / SOAP later)
         ─▶ manager (cache) ─▶ store (SQLite) and events (in-process bus; RabbitMQ later)
ops: api (HTTP commands, health, Prometheus metrics, debug frames)
"""
__all__ = ["Hub", "HubConfig", "HubError", "StationNotConnected", "UnknownAction", "serve_forever"]


def __getattr__(name: str):
    # Imported on first use, so `python -m hub_under_test.messages` runs a module the
    # package has not imported yet (no runpy RuntimeWarning).
    if name in __all__:
        from . import hub
        return getattr(hub, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
