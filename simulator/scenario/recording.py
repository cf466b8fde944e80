"""The frame recorder of scenario runs: the session layer's (simulator/session/recording.py),
where every driver and the hub can use it."""
from ..session.recording import FORMAT, VERSION, Recorder, read

__all__ = ["FORMAT", "VERSION", "Recorder", "read"]
