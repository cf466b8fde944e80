"""Bundled station templates (YAML package data); see docs/templates.md."""
