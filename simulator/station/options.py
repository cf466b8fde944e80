"""What a virtual station is: its hardware and how it behaves around the protocol."""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import __version__
from ..protocol import STRICT
from .config import KeySpec


@dataclass
class StationOptions:
    connectors: int = 1
    version: str = "ocpp1.6"
    # identity sent in BootNotification
    vendor: str = "chargesim"
    model: str = "VirtualAC"
    serial_number: str | None = None
    firmware_version: str = __version__
    # hardware
    max_power_w: float = 11_000.0       # per connector (11 kW: 16 A, 3 phases, 230 V)
    phases: int = 3
    voltage_v: float = 230.0
    meter_start_wh: float = 0.0
    ev_capacity_wh: float = 60_000.0
    connector_lock: bool = True          # without one, UnlockConnector answers NotSupported
    seed: int | None = None              # None: derived from the station id (reproducible)
    # configuration: initial values of keys, and extra (vendor) keys
    config: dict[str, str] = field(default_factory=dict)
    extra_keys: list[KeySpec] = field(default_factory=list)
    # transport / session
    basic_auth: tuple[str, str] | None = None
    mode: str = STRICT
    call_timeout: float = 30.0
    # timing.  interval_scale multiplies every protocol interval (heartbeat, sampling,
    # retries, timeouts) — tests and demos use < 1.  Energy is always integrated over real
    # time, so meter values stay coherent with their timestamps.
    interval_scale: float = 1.0
    boot_retry_default: float = 30.0     # s, when Pending/Rejected come with interval 0
    boot_retry_min: float = 1.0          # s, floor for any boot retry
    reconnect_min: float = 1.0           # s, first reconnect delay, doubling up to max
    reconnect_max: float = 30.0
    reboot_delay: float = 1.0            # s (scaled), how long a reset keeps the station down
    event_log_size: int = 200
