"""The bundled hub: an OCPP CSMS to aim the simulator at, shaped like a production hub.

stations ─▶ server (WebSocket, subprotocols) ─▶ adapters (ocpp16j; 2.0.1 / SOAP later)
         ─▶ manager (cache) ─▶ store (SQLite) and events (in-process bus; RabbitMQ later)
ops: api (HTTP commands, health, Prometheus metrics, debug frames)
"""
from .hub import Hub, HubConfig, HubError, StationNotConnected, UnknownAction, serve_forever

__all__ = ["Hub", "HubConfig", "HubError", "StationNotConnected", "UnknownAction", "serve_forever"]
