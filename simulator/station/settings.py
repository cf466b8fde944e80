"""The station's settings by neutral name, over its dialect's configuration store.

Station code reads `settings["heartbeat_interval"]`, never a protocol's key: the dialect
says which of its configuration keys (1.6) or device-model variables (2.0.1) holds each
setting (`Dialect.setting_keys`).  Values are the store's typed values (int, bool, list).
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from types import MappingProxyType
from typing import Callable, Mapping

from .config import ConfigStore

# Every setting the station reads; a dialect maps each of them.
NAMES = frozenset({
    # timers
    "heartbeat_interval", "meter_interval", "clock_aligned_interval", "connection_timeout",
    "ping_interval",
    # what is measured
    "sampled_measurands", "aligned_measurands", "stop_sampled_measurands",
    "stop_aligned_measurands",
    # authorization
    "authorization_cache_enabled", "authorize_remote_start", "local_list_enabled",
    "local_list_max_length", "local_list_max_send", "local_authorize_offline",
    "local_pre_authorize", "allow_offline_tx_for_unknown_id",
    # transactions
    "stop_on_ev_disconnect", "stop_on_invalid_id", "tx_message_attempts",
    "tx_message_retry_interval", "reserve_connector_zero",
    # smart charging
    "profile_max_stack_level", "schedule_allowed_units", "schedule_max_periods",
    "max_profiles_installed",
    # security
    "security_profile", "authorization_key", "cpo_name", "certificate_store_max_length",
    "certificate_chain_max_size",
})

Listener = Callable[[str, object], None]


@lru_cache(maxsize=16)
def _reverse(items: tuple[tuple[str, str], ...]) -> Mapping[str, str]:
    """key -> setting name, shared by the stations of one dialect."""
    return MappingProxyType({key: name for name, key in items})


class Settings:
    def __init__(self, store: ConfigStore, keys: Mapping[str, str]):
        missing = NAMES - set(keys)
        if missing:
            raise ValueError(f"the dialect maps no configuration key for {sorted(missing)}")
        self.store = store
        self.keys = keys
        self._names = _reverse(tuple(keys.items()))

    def key(self, name: str) -> str:
        """The dialect's name of a setting (for messages a CSMS user reads)."""
        return self.keys[name]

    def __getitem__(self, name: str):
        return self.store[self.keys[name]]

    def set(self, name: str, value) -> None:
        """The station's own change (effective at once, read-only settings included)."""
        self.store.set(self.keys[name], str(value))

    def raise_minimum(self, name: str, minimum: int) -> None:
        """From now on the setting may not go below `minimum` (e.g. the security profile)."""
        key = self.keys[name]
        self.store.specs[key] = replace(self.store.specs[key], minimum=minimum)

    def subscribe(self, listener: Listener) -> None:
        """`listener(name, value)` for each effective change of a setting."""
        names = self._names

        def on_change(key: str, value) -> None:
            name = names.get(key)
            if name is not None:
                listener(name, value)
        self.store.subscribe(on_change)
