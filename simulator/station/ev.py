"""The EV behind the cable: a battery and what it is willing to draw.

AC: the car's onboard charger converts; it takes at most its own rating (`ac_max_w`), so a
22 kW station charges an 11 kW car at 11 kW (None: the car takes all that is offered).  DC: the station feeds the pack directly and
the car's battery management asks for less as the pack fills — full power up to
`taper_soc`, then a straight line down to `taper_floor` × `dc_max_w` at 100 % (the usual
shape of published fast-charging curves, simplified).  The pack voltage rises with the
state of charge, which is what a DC meter shows.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class ChargingCurve:
    """DC power the EV accepts, as a fraction of its maximum, by state of charge."""
    taper_soc: float = 80.0       # percent: full power below this
    taper_floor: float = 0.1      # fraction of the maximum still accepted at 100 %

    def __post_init__(self):
        if not 0 <= self.taper_soc < 100:
            raise ValueError("taper_soc must be in 0..100 (exclusive)")
        if not 0 <= self.taper_floor <= 1:
            raise ValueError("taper_floor must be in 0..1")

    def fraction(self, soc: float) -> float:
        if soc <= self.taper_soc:
            return 1.0
        span = (min(soc, 100.0) - self.taper_soc) / (100.0 - self.taper_soc)
        return 1.0 - span * (1.0 - self.taper_floor)


class EV:
    """A battery with an onboard (AC) charger and a DC charging curve."""

    def __init__(self, capacity_wh: float, soc: float, *, ac_max_w: float | None = None,
                 dc_max_w: float = 150_000.0, curve: ChargingCurve | None = None,
                 pack_voltage_v: float = 400.0):
        if capacity_wh <= 0:
            raise ValueError("EV capacity must be > 0 Wh")
        self.capacity_wh = float(capacity_wh)
        self.stored_wh = self.capacity_wh * min(max(soc, 0.0), 100.0) / 100.0
        self.ac_max_w = float("inf") if ac_max_w is None else float(ac_max_w)
        self.dc_max_w = float(dc_max_w)
        self.curve = curve or ChargingCurve()
        self.pack_voltage_v = float(pack_voltage_v)

    @classmethod
    def from_options(cls, opts, soc: float) -> EV:
        """The EV a station's options describe (StationOptions.ev_*), at `soc` percent."""
        return cls(opts.ev_capacity_wh, soc, ac_max_w=opts.ev_ac_max_w,
                   dc_max_w=opts.ev_dc_max_w, pack_voltage_v=opts.ev_pack_voltage_v,
                   curve=ChargingCurve(opts.ev_taper_soc, opts.ev_taper_floor))

    @property
    def soc(self) -> float:
        return 100.0 * self.stored_wh / self.capacity_wh

    @property
    def room_wh(self) -> float:
        return self.capacity_wh - self.stored_wh

    @property
    def full(self) -> bool:
        return self.room_wh <= 1e-6

    def accepts_w(self, dc: bool) -> float:
        """The most this EV draws now: its onboard charger on AC, its curve on DC."""
        if self.full:
            return 0.0
        if not dc:
            return self.ac_max_w
        return self.dc_max_w * self.curve.fraction(self.soc)

    def pack_voltage(self) -> float:
        """Open-circuit-ish pack voltage: 90 % of nominal when empty, 105 % when full."""
        return self.pack_voltage_v * (0.90 + 0.15 * self.soc / 100.0)

    def charge(self, wh: float) -> float:
        """Store up to `wh`; returns what the battery took (no more than its room)."""
        taken = min(max(wh, 0.0), self.room_wh)
        self.stored_wh += taken
        return taken
