"""The standard library as it was before gevent monkey-patched it.

A Locust process runs gevent and patches `socket`, `threading` and friends; the engine
there runs plain asyncio in a real OS thread (simulator/swarm/engine.py).  What the engine
takes from a patched module must be the original: a gevent socket made in that thread
starts a gevent hub of its own and goes through gevent on every call.
"""
from __future__ import annotations

import sys


def original(module: str, name: str):
    """`module.name` as the standard library defines it, patched or not."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched(module):
        return monkey.get_original(module, name)
    return getattr(__import__(module), name)
