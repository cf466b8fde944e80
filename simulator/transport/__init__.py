"""Transports: websockets for OCPP-J; an in-memory pipe for tests."""
