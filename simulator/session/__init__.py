"""The RPC session layer: correlation, timeouts, ordering, inbound dispatch, frame taps."""
from .rpc import (CallErrorReceived, CallTimeout, Connection, Frame, Handler, InvalidResponse,
                  Session, SessionClosed)

__all__ = ["CallErrorReceived", "CallTimeout", "Connection", "Frame", "Handler",
           "InvalidResponse", "Session", "SessionClosed"]
