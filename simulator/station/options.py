"""What a virtual station is: its hardware and how it behaves around the protocol."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .. import __version__
from ..protocol import STRICT
from .config import KeySpec


@dataclass(slots=True)   # one copy per station: no __dict__
class StationOptions:
    connectors: int = 1
    version: str = "ocpp1.6"
    # identity sent in BootNotification
    vendor: str = "chargesim"
    model: str = "VirtualAC"
    serial_number: str | None = None
    firmware_version: str = __version__
    # firmware updates (simulator/station/firmware.py): a failure to inject on purpose
    # (DownloadFailed | InstallationFailed | InvalidSignature), and what happens to running
    # transactions before installing: "wait" for them to end, or "stop" them (reason Reboot)
    firmware_failure: str | None = None
    firmware_install: str = "wait"
    # hardware
    max_power_w: float = 11_000.0       # per connector (11 kW: 16 A, 3 phases, 230 V)
    phases: int = 3
    voltage_v: float = 230.0
    meter_start_wh: float = 0.0
    # meter and EV model (simulator/station/meter.py, ev.py)
    current_type: str = "AC"             # "AC" (phases × voltage_v) or "DC" (battery pack)
    power_factor: float = 1.0            # AC: P = Σ U·I·pf
    meter_units: str = "Wh"              # "Wh" (Wh, W) or "kWh" (kWh, kW) on the wire
    meter_clock: Callable[[], float] | None = None  # s, integrates energy; None: monotonic
    ev_capacity_wh: float = 60_000.0
    ev_initial_soc: float | None = None  # %, at plug-in; None: 10..60 from the seeded rng
    ev_ac_max_w: float | None = None     # the EV's onboard charger: AC draw is min(offered,
                                         # this); None: the EV takes all that is offered
    ev_dc_max_w: float = 150_000.0       # DC: the most the battery accepts ...
    ev_taper_soc: float = 80.0           # ... up to this SoC (%), then falling linearly ...
    ev_taper_floor: float = 0.1          # ... to this fraction of ev_dc_max_w at 100 %
    ev_pack_voltage_v: float = 400.0     # DC: nominal pack voltage (90..105 % with SoC)
    connector_lock: bool = True          # without one, UnlockConnector answers NotSupported
    seed: int | None = None              # None: derived from the station id (reproducible)
    # configuration: initial values of keys, and extra (vendor) keys
    config: dict[str, str] = field(default_factory=dict)
    extra_keys: list[KeySpec] = field(default_factory=list)
    # transport / session
    basic_auth: tuple[str, str] | None = None
    # a station that is called back over HTTP (OCPP 1.5 SOAP) hosts its service here:
    # host and port to bind (port 0: an ephemeral one), and the URL to announce instead of
    # the bound one (behind NAT or a proxy; None: the bound address)
    callback_host: str = "127.0.0.1"
    callback_port: int = 0
    callback_url: str | None = None
    # security (1.6 security whitepaper; simulator/station/security.py).  Certificates and
    # keys: PEM text or file paths.  ca_certs are installed as CentralSystemRootCertificate.
    security_profile: int = 0            # 0 none, 1 Basic auth, 2 TLS + Basic auth, 3 mTLS
    authorization_key: str | None = None  # the Basic auth password (config AuthorizationKey)
    cpo_name: str | None = None
    ca_certs: list[str] = field(default_factory=list)
    client_cert: str | None = None
    client_key: str | None = None
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
    # attempts to reach the CSMS when started (None: until it answers, as a real charger);
    # reconnecting after a lost link never gives up
    connect_attempts: int | None = None
    # Local address the station connects from (e.g. 127.0.0.7): one source address reaches
    # about 28,000 connections to one hub address, so big swarms spread over several.
    source_address: str | None = None
    reboot_delay: float = 1.0            # s (scaled), how long a reset keeps the station down
    event_log_size: int = 200
    # where the offline queue is persisted (<state_dir>/<id>.offline.jsonl); None: memory
    state_dir: str | None = None
    # field quirks emitted on purpose (simulator/dialects/quirks.py), e.g. ["number_values"]
    quirks: list[str] = field(default_factory=list)
    # canned DataTransfer answers: {vendorId: {messageId or "*": [status, data or None]}}
    # (simulator/station/vendors.py; templates declare them under data_transfer:)
    vendor_responses: dict[str, dict[str, list]] = field(default_factory=dict)
    # faults injected at the transport (simulator/transport/faults.py; a template's faults:)
    faults: dict | None = None
