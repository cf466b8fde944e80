"""When to try the connection again: exponential backoff with jitter.

Thousands of simulated chargers that lose the CSMS at the same moment must not all come
back at the same moment (a thundering herd is what real back ends dread), so every delay is
jittered; the jitter comes from a generator seeded from the station's seed, so a run
reproduces.  "Equal jitter": the n-th delay lies in [base/2, base] with base = min·2ⁿ capped
at max, so the sequence still grows until it reaches the cap.
"""
from __future__ import annotations

import random


class Backoff:
    def __init__(self, rng: random.Random, minimum: float, maximum: float, factor: float = 2.0):
        if minimum <= 0 or maximum < minimum or factor < 1:
            raise ValueError(f"backoff needs 0 < min <= max and factor >= 1 "
                             f"(got min={minimum}, max={maximum}, factor={factor})")
        self.rng = rng
        self.minimum, self.maximum, self.factor = minimum, maximum, factor
        self.attempt = 0

    def base(self, attempt: int) -> float:
        return min(self.minimum * self.factor ** attempt, self.maximum)

    def next(self) -> float:
        """The delay before the next attempt (the first one is at least min/2)."""
        base = self.base(self.attempt)
        self.attempt += 1
        return base / 2 + self.rng.uniform(0, base / 2)

    def reset(self) -> None:
        """After a successful boot: the next outage starts again from the minimum."""
        self.attempt = 0
