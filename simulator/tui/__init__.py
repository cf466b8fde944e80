"""`chargesim tui`: a Textual terminal UI over running stations (docs/tui.md)."""
