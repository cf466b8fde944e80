"""Periodic jobs keep the phase they started with: a run that waited (a busy event loop, a
slow reply) does not move the runs after it."""
from __future__ import annotations

import asyncio

import pytest

from simulator.station.timers import Periodic, next_due

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize("last, now, expected", [
    (0.0, 1.0, 3.0),     # on time: one period later
    (0.0, 3.5, 6.0),     # the run outlasted its period: the next slot after now
    (0.0, 9.0, 12.0),    # now is a slot itself: the one after it, never a burst
    (10.0, 10.5, 13.0),
])
def test_the_next_run_is_a_whole_number_of_periods_after_the_first(last, now, expected):
    assert next_due(last, 3.0, now) == expected


async def test_a_slow_run_does_not_shift_the_schedule():
    period = 0.02
    dues: list[float] = []
    done = asyncio.Event()
    spawn = lambda coro, name: asyncio.ensure_future(coro)   # noqa: E731

    async def job() -> bool:
        dues.append(timer.due_at)
        if len(dues) == 2:
            await asyncio.sleep(period * 2.5)   # outlasts two periods
        if len(dues) == 5:
            done.set()
            return False
        return True

    timer = Periodic(spawn, period, job, "test")
    await asyncio.wait_for(done.wait(), 5)
    steps = [(d - dues[0]) / period for d in dues]
    assert all(abs(s - round(s)) < 1e-6 for s in steps), steps   # always on the schedule
    assert round(steps[2]) >= 3                                   # the slots it covered: skipped
    assert not timer.running
