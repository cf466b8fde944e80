"""The RPC session layer: the asyncio binding of `protocol.RpcCore` (timers, tasks, frame taps)."""
from .rpc import (CallErrorReceived, CallTimeout, Connection, Frame, Handler, InvalidResponse,
                  Session, SessionClosed)

__all__ = ["CallErrorReceived", "CallTimeout", "Connection", "Frame", "Handler",
           "InvalidResponse", "Session", "SessionClosed"]
