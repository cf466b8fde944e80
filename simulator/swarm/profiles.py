"""Behaviour profiles of a swarm's stations: how often they charge, for how long, how often
they reboot or drop off the network.  Rates are per station and hour; events are drawn as a
Poisson process from each station's own seeded rng, so a fleet spreads itself out."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    description: str = ""
    heartbeat_interval: int = 300     # s; given to the bundled hub (a CSMS sets its own)
    sessions_per_hour: float = 1.0    # per charging (not idle) station
    session_seconds: float = 1800.0   # how long one session charges
    meter_interval: int = 60          # s, MeterValueSampleInterval
    idle_share: float = 0.0           # share of stations that never charge (0..1)
    reboots_per_hour: float = 0.0     # stop + start: a new connection and boot
    offline_per_hour: float = 0.0     # network drops: the link is lost and comes back
    offline_seconds: float = 30.0     # how long a drop lasts
    template: str | None = None       # a station template (docs/templates.md)
    connectors: int = 1
    version: str = "ocpp1.6"
    tag: str = "SWARM-{n}"            # id tag per station ({n}: the station number)
    time_scale: float = 1.0           # < 1 runs every duration and interval faster (tests)
    source_addresses: tuple[str, ...] = ()  # local IPs the stations connect from, in turn

    def __post_init__(self):
        for name in ("sessions_per_hour", "session_seconds", "reboots_per_hour",
                     "offline_per_hour", "offline_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"profile {self.name}: {name} must not be negative "
                                 f"(got {getattr(self, name)})")
        if not 0 <= self.idle_share <= 1:
            raise ValueError(f"profile {self.name}: idle_share must be between 0 and 1 "
                             f"(got {self.idle_share})")
        if self.heartbeat_interval < 1 or self.meter_interval < 1:
            raise ValueError(f"profile {self.name}: heartbeat_interval and meter_interval "
                             f"must be at least 1 s")
        if self.time_scale <= 0:
            raise ValueError(f"profile {self.name}: time_scale must be positive")

    def replace(self, **changes) -> "Profile":
        return dataclasses.replace(self, **changes)


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("steady", "a fleet going about its day: half idle, sessions of 30 min",
            heartbeat_interval=60, sessions_per_hour=1.0, session_seconds=1800,
            meter_interval=60, idle_share=0.5),
    Profile("morning-peak", "most stations start charging within the hour",
            heartbeat_interval=60, sessions_per_hour=4.0, session_seconds=900,
            meter_interval=30, idle_share=0.1),
    Profile("reconnect-storm", "stations drop off together and come back (see the shape)",
            heartbeat_interval=60, sessions_per_hour=1.0, session_seconds=600,
            meter_interval=60, idle_share=0.5, offline_per_hour=6.0, offline_seconds=20),
    Profile("rolling-reboot", "stations reboot one after another",
            heartbeat_interval=60, sessions_per_hour=1.0, session_seconds=600,
            meter_interval=60, idle_share=0.5, reboots_per_hour=6.0),
    Profile("surge", "new stations join fast and boot (spawn rate does the surge)",
            heartbeat_interval=60, sessions_per_hour=0.5, session_seconds=600,
            meter_interval=60, idle_share=0.8),
    Profile("smoke", "busy and short: a few seconds of everything (CI)",
            heartbeat_interval=1, sessions_per_hour=1800.0, session_seconds=2,
            meter_interval=1, idle_share=0.2),
)}


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})") from None


def profile_from_env(default: str = "steady") -> Profile:
    """The profile named by CHARGESIM_PROFILE, with CHARGESIM_TIME_SCALE applied (how
    `chargesim swarm` hands its --profile and --time-scale to the Locust processes)."""
    import os
    chosen = profile(os.environ.get("CHARGESIM_PROFILE") or default)
    scale = os.environ.get("CHARGESIM_TIME_SCALE")
    if scale:
        try:
            chosen = chosen.replace(time_scale=float(scale))
        except ValueError as e:
            raise ValueError(f"CHARGESIM_TIME_SCALE={scale!r}: {e}") from None
    sources = os.environ.get("CHARGESIM_SOURCE_ADDRESSES")
    if sources:
        chosen = chosen.replace(source_addresses=tuple(parse_source_addresses(sources)))
    return chosen


def parse_source_addresses(text: str) -> list[str]:
    """"127.0.0.1-4" or "127.0.0.1,127.0.0.2": the IPv4 addresses stations connect from."""
    import ipaddress
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.partition("-")
        try:
            start = ipaddress.IPv4Address(first)
            end = start if not last else ipaddress.IPv4Address(
                first.rsplit(".", 1)[0] + "." + last if "." not in last else last)
        except ValueError:
            raise ValueError(f"source address {part!r}: expected an IPv4 address or a range "
                             "like 127.0.0.1-8") from None
        if end < start:
            raise ValueError(f"source address range {part!r} runs backwards")
        out.extend(str(ipaddress.IPv4Address(i)) for i in range(int(start), int(end) + 1))
    return out
