"""Energy meter and EV model of one connector.

The register only grows: energy is integrated from the power drawn over the elapsed time,
piecewise constant between readings, so every value a CSMS sees is coherent with the ones
before it (energy delta ≈ mean power × time).  Power is the connector's maximum while the
EV charges, 0 otherwise; small noise comes from the station's seeded `random.Random`, so a
run reproduces.  The EV has a battery: its state of charge rises with the energy delivered,
and a full battery draws nothing (the station then reports SuspendedEV).
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable

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
_UNIT = {ENERGY: "Wh", POWER: "W", POWER_OFFERED: "W", CURRENT: "A", CURRENT_OFFERED: "A",
         VOLTAGE: "V", SOC: "Percent", TEMPERATURE: "Celsius", FREQUENCY: None}  # no Hz in 1.6
_PHASE_CURRENT = ("L1", "L2", "L3")
_PHASE_VOLTAGE = ("L1-N", "L2-N", "L3-N")


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
    voltage_v: tuple[float, ...]
    current_a: tuple[float, ...]
    offered_w: float
    soc: float | None
    frequency_hz: float
    temperature_c: float

    def samples(self, measurands) -> list[Sample]:
        out: list[Sample] = []
        for m in measurands:
            unit = _UNIT.get(m)
            if m == ENERGY:
                out.append(Sample(m, f"{self.energy_wh:.1f}", unit, location="Outlet"))
            elif m == POWER:
                out.append(Sample(m, f"{self.power_w:.1f}", unit, location="Outlet"))
            elif m == POWER_OFFERED:
                out.append(Sample(m, f"{self.offered_w:.1f}", unit))
            elif m == CURRENT:
                out.extend(Sample(m, f"{a:.2f}", unit, phase)
                           for a, phase in zip(self.current_a, _PHASE_CURRENT))
            elif m == CURRENT_OFFERED:
                phases, volts = len(self.voltage_v), sum(self.voltage_v) / len(self.voltage_v)
                out.append(Sample(m, f"{self.offered_w / (phases * volts):.2f}", unit))
            elif m == VOLTAGE:
                out.extend(Sample(m, f"{v:.1f}", unit, phase)
                           for v, phase in zip(self.voltage_v, _PHASE_VOLTAGE))
            elif m == SOC:
                if self.soc is not None:  # no EV, no state of charge
                    out.append(Sample(m, f"{self.soc:.0f}", unit, location="EV"))
            elif m == FREQUENCY:
                out.append(Sample(m, f"{self.frequency_hz:.2f}", unit))
            elif m == TEMPERATURE:
                out.append(Sample(m, f"{self.temperature_c:.1f}", unit, location="Body"))
        return out


class EV:
    """A battery behind the cable."""

    def __init__(self, capacity_wh: float, soc: float):
        self.capacity_wh = capacity_wh
        self.stored_wh = capacity_wh * min(max(soc, 0.0), 100.0) / 100.0

    @property
    def soc(self) -> float:
        return 100.0 * self.stored_wh / self.capacity_wh

    @property
    def room_wh(self) -> float:
        return self.capacity_wh - self.stored_wh

    @property
    def full(self) -> bool:
        return self.room_wh <= 1e-6


class Meter:
    def __init__(self, rng: random.Random, *, max_power_w: float = 11_000.0, phases: int = 3,
                 voltage_v: float = 230.0, energy_wh: float = 0.0,
                 clock: Callable[[], float] = time.monotonic):
        if phases not in (1, 2, 3):
            raise ValueError("phases must be 1, 2 or 3")
        self.rng = rng
        self.max_power_w = max_power_w
        self.phases = phases
        self.nominal_voltage = voltage_v
        self.clock = clock
        self.energy_wh = float(energy_wh)
        self.power_w = 0.0
        self.ev: EV | None = None
        self._drawing = False
        self._last = clock()

    @property
    def ev_full(self) -> bool:
        return self.ev is not None and self.ev.full

    def _integrate(self) -> None:
        now = self.clock()
        dt = max(now - self._last, 0.0)
        self._last = now
        if self.power_w <= 0 or dt == 0:
            return
        delta = self.power_w * dt / 3600.0
        if self.ev is not None:
            delta = min(delta, self.ev.room_wh)  # a battery takes no more than its room
            self.ev.stored_wh += delta
        self.energy_wh += delta

    def _pick_power(self) -> float:
        if not self._drawing or self.ev_full:
            return 0.0
        return self.max_power_w * self.rng.uniform(0.97, 1.0)

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
        """Book the energy up to now, take a reading, then vary the power for the next span."""
        self._integrate()
        self.power_w = self._pick_power()  # also drops to 0 once the battery is full
        volts = tuple(self.nominal_voltage * self.rng.uniform(0.98, 1.02)
                      for _ in range(self.phases))
        per_phase = self.power_w / self.phases
        amps = tuple(per_phase / v for v in volts)
        return Reading(
            energy_wh=self.energy_wh, power_w=self.power_w, voltage_v=volts, current_a=amps,
            offered_w=self.max_power_w, soc=self.ev.soc if self.ev else None,
            frequency_hz=50.0 + self.rng.uniform(-0.05, 0.05),
            temperature_c=25.0 + 10.0 * self.power_w / self.max_power_w + self.rng.uniform(-0.5, 0.5))
