"""Energy meter of one connector, and what it reports as OCPP measurands.

The register only grows: energy is integrated from the power drawn over the elapsed time,
power held constant between readings, so every value a CSMS sees is coherent with the ones
before it (energy delta = power of the previous reading × time).  The clock is injectable
(tests advance it by hand; the station's `meter_clock` option).

What flows: while the contactor is closed (Charging) the EV takes min(offered, what it
accepts) — offered is the connector's maximum, lowered by `power_limit` (smart charging);
what it accepts comes from the EV model (ev.py: onboard charger on AC, taper curve on DC).
Without an EV model the load takes everything offered.  A full battery draws nothing (the
station then reports SuspendedEV).

AC: `phases` × nominal voltage with small noise, current per phase so that
P = Σ U·I·pf.  DC: one voltage (the pack's, rising with SoC) and one current.
Noise comes from the station's seeded `random.Random`, so a run reproduces exactly.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable

from .ev import EV

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
POWER_OFFERED = "Power.Offered"
CURRENT = "Current.Import"
CURRENT_OFFERED = "Current.Offered"
VOLTAGE = "Voltage"
SOC = "SoC"
FREQUENCY = "Frequency"
TEMPERATURE = "Temperature"

# What this meter can measure; configuration keys accept only these.
MEASURANDS = (ENERGY, POWER, POWER_OFFERED, CURRENT, CURRENT_OFFERED, VOLTAGE, SOC, FREQUENCY,
              TEMPERATURE)
AC, DC = "AC", "DC"
UNITS = ("Wh", "kWh")   # meter_units: Wh/W or kWh/kW on the wire
_PHASE_CURRENT = ("L1", "L2", "L3")
_PHASE_VOLTAGE = ("L1-N", "L2-N", "L3-N")
DC_NOMINAL_V = 400.0    # what a DC output quotes its offered current against with no EV

PowerLimit = float | Callable[[], float | None] | None


@dataclass(slots=True, frozen=True)
class Sample:
    """One sampled value, version-neutral (the dialect spells it for the wire)."""
    measurand: str
    value: str
    unit: str | None = None
    phase: str | None = None
    location: str | None = None


@dataclass(slots=True)
class Reading:
    energy_wh: float
    power_w: float
    voltage_v: tuple[float, ...]    # per phase (AC) or the one DC voltage
    current_a: tuple[float, ...]
    offered_w: float
    soc: float | None
    frequency_hz: float | None      # None on DC
    temperature_c: float
    offered_a: float = 0.0
    dc: bool = False
    units: str = "Wh"

    def samples(self, measurands) -> list[Sample]:
        """The sampled values for `measurands`, in that order: per phase where the
        measurand is per phase (AC current, voltage), else one total value."""
        kilo = self.units == "kWh"
        e_unit, p_unit = ("kWh", "kW") if kilo else ("Wh", "W")
        scale = 1000.0 if kilo else 1.0
        e_fmt, p_fmt = (".3f", ".3f") if kilo else (".1f", ".1f")
        out: list[Sample] = []
        for m in measurands:
            if m == ENERGY:
                out.append(Sample(m, format(self.energy_wh / scale, e_fmt), e_unit,
                                  location="Outlet"))
            elif m == POWER:
                out.append(Sample(m, format(self.power_w / scale, p_fmt), p_unit,
                                  location="Outlet"))
            elif m == POWER_OFFERED:
                out.append(Sample(m, format(self.offered_w / scale, p_fmt), p_unit,
                                  location="Outlet"))
            elif m == CURRENT:
                out.extend(Sample(m, f"{a:.2f}", "A", phase, "Outlet")
                           for a, phase in self._phased(self.current_a, _PHASE_CURRENT))
            elif m == CURRENT_OFFERED:
                out.append(Sample(m, f"{self.offered_a:.2f}", "A", location="Outlet"))
            elif m == VOLTAGE:
                out.extend(Sample(m, f"{v:.1f}", "V", phase, "Outlet")
                           for v, phase in self._phased(self.voltage_v, _PHASE_VOLTAGE))
            elif m == SOC:
                if self.soc is not None:  # no EV, no state of charge
                    out.append(Sample(m, f"{self.soc:.0f}", "Percent", location="EV"))
            elif m == FREQUENCY:
                if self.frequency_hz is not None:  # 1.6 has no unit for Hz: none is sent
                    out.append(Sample(m, f"{self.frequency_hz:.2f}", None))
            elif m == TEMPERATURE:
                out.append(Sample(m, f"{self.temperature_c:.1f}", "Celsius", location="Body"))
        return out

    def _phased(self, values, names):
        if self.dc:
            return [(values[0], None)]
        return zip(values, names)


class Meter:
    def __init__(self, rng: random.Random, *, max_power_w: float = 11_000.0, phases: int = 3,
                 voltage_v: float = 230.0, energy_wh: float = 0.0,
                 clock: Callable[[], float] = time.monotonic, current_type: str = AC,
                 power_factor: float = 1.0, units: str = "Wh",
                 power_limit: PowerLimit = None):
        if phases not in (1, 2, 3):
            raise ValueError("phases must be 1, 2 or 3")
        if current_type not in (AC, DC):
            raise ValueError(f"current_type must be AC or DC, not {current_type!r}")
        if not 0 < power_factor <= 1:
            raise ValueError("power_factor must be in (0, 1]")
        if units not in UNITS:
            raise ValueError(f"meter units must be one of {UNITS}")
        self.rng = rng
        self.max_power_w = max_power_w
        self.phases = phases
        self.nominal_voltage = voltage_v
        self.current_type = current_type
        self.power_factor = power_factor
        self.units = units
        # Smart charging's hook: watts, or a callable returning watts (None: no limit).
        # After changing what it returns, call refresh() so the new power applies from now.
        self.power_limit: PowerLimit = power_limit
        self.clock = clock
        self.energy_wh = float(energy_wh)
        self.power_w = 0.0
        self.ev: EV | None = None
        self._drawing = False
        self._last = clock()

    @classmethod
    def from_options(cls, rng: random.Random, opts) -> Meter:
        """The meter a station's options describe (StationOptions)."""
        clock = opts.meter_clock or time.monotonic
        return cls(rng, max_power_w=opts.max_power_w, phases=opts.phases,
                   voltage_v=opts.voltage_v, energy_wh=opts.meter_start_wh, clock=clock,
                   current_type=opts.current_type, power_factor=opts.power_factor,
                   units=opts.meter_units)

    @property
    def dc(self) -> bool:
        return self.current_type == DC

    @property
    def ev_full(self) -> bool:
        return self.ev is not None and self.ev.full

    @property
    def offered_w(self) -> float:
        """The connector's maximum, lowered by the power limit if one applies."""
        limit = self.power_limit() if callable(self.power_limit) else self.power_limit
        if limit is None:
            return self.max_power_w
        return max(0.0, min(self.max_power_w, float(limit)))

    def _integrate(self) -> None:
        now = self.clock()
        dt = max(now - self._last, 0.0)
        self._last = now
        if self.power_w <= 0 or dt == 0:
            return
        delta = self.power_w * dt / 3600.0
        if self.ev is not None:
            delta = self.ev.charge(delta)  # a battery takes no more than its room
        self.energy_wh += delta

    def _pick_power(self) -> float:
        if not self._drawing or self.ev_full:
            return 0.0
        target = self.offered_w
        if self.ev is not None:
            target = min(target, self.ev.accepts_w(self.dc))
        return target * self.rng.uniform(0.97, 1.0)  # the EV draws a little under its due

    def refresh(self) -> None:
        """Book the energy so far and draw what is due from now on (the limit, the EV or
        the contactor changed)."""
        self._integrate()
        self.power_w = self._pick_power()

    def set_drawing(self, drawing: bool) -> None:
        """The contactor closes (charging) or opens; energy so far is booked first."""
        self._integrate()
        self._drawing = drawing
        self.power_w = self._pick_power()

    def connect_ev(self, ev: EV | None) -> None:
        self._integrate()
        self.ev = ev
        self.power_w = self._pick_power()

    def read(self) -> Reading:
        """Book the energy up to now, take a reading, then vary the power for the next span
        (it also drops to 0 once the battery is full, and follows the DC taper)."""
        self.refresh()
        offered = self.offered_w
        if self.dc:
            base = self.ev.pack_voltage() if self.ev is not None else 0.0  # no EV: no output
            volts = (base * self.rng.uniform(0.995, 1.005),)
            amps = (self.power_w / volts[0] if volts[0] > 0 else 0.0,)
            offered_a = offered / (volts[0] or DC_NOMINAL_V)
            frequency = None
        else:
            volts = tuple(self.nominal_voltage * self.rng.uniform(0.98, 1.02)
                          for _ in range(self.phases))
            per_phase = self.power_w / self.phases
            amps = tuple(per_phase / (v * self.power_factor) for v in volts)
            offered_a = offered / (self.phases * self.nominal_voltage * self.power_factor)
            frequency = 50.0 + self.rng.uniform(-0.05, 0.05)
        return Reading(
            energy_wh=self.energy_wh, power_w=self.power_w, voltage_v=volts, current_a=amps,
            offered_w=offered, soc=self.ev.soc if self.ev else None, frequency_hz=frequency,
            temperature_c=(25.0 + 10.0 * self.power_w / max(self.max_power_w, 1.0)
                           + self.rng.uniform(-0.5, 0.5)),
            offered_a=offered_a, dc=self.dc, units=self.units)
