"""The station's one random generator, seeded from its id, made on first draw.

A Mersenne Twister carries 2.5 KiB of state, and an idle station draws nothing (noise comes
with charging, jitter with reconnecting): thousands of idle stations should not pay for it.
The draws are the same as an eager `random.Random(seed)`'s, so runs still reproduce.
"""
from __future__ import annotations

import random


class LazyRandom:
    __slots__ = ("_seed", "_rng")

    def __init__(self, seed: int):
        self._seed = seed
        self._rng: random.Random | None = None

    def __getattr__(self, name: str):
        # Only names that are not slots land here: the generator's own methods.
        if self._rng is None:
            self._rng = random.Random(self._seed)
        return getattr(self._rng, name)

    @property
    def drawn(self) -> bool:
        """Has anything asked for a number yet (the generator exists)?"""
        return self._rng is not None
