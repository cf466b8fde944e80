"""Shapes shared by the locustfiles here.  A shape takes the run's own numbers: -u (the
stations), -r (stations started per second) and -t (the run time), so `chargesim swarm
--stations N --spawn-rate R --run-time T --locustfile ...` and plain `locust` both work."""
from __future__ import annotations

from locust import LoadTestShape


class RunShape(LoadTestShape):
    """Base: the run's -u / -r / -t (defaults 100 stations, 50/s, 60 s)."""

    def numbers(self) -> tuple[int, float, float]:
        o = self.runner.environment.parsed_options
        users = int(getattr(o, "num_users", None) or 100)
        rate = float(getattr(o, "spawn_rate", None) or 50)
        run_time = float(getattr(o, "run_time", None) or 60)
        return users, rate, run_time


class Hold(RunShape):
    """Ramp to all stations at the spawn rate, hold them until the run time is up."""

    def tick(self):
        users, rate, run_time = self.numbers()
        if self.get_run_time() >= run_time:
            return None
        return users, rate


class Peak(RunShape):
    """A third of the stations all along; in the middle third all of them (the peak)."""

    def tick(self):
        users, rate, run_time = self.numbers()
        t = self.get_run_time()
        if t >= run_time:
            return None
        base = max(1, users // 3)
        return (users, rate) if run_time / 3 <= t < 2 * run_time / 3 else (base, rate)


class Surge(RunShape):
    """Half the stations at the spawn rate; at a third of the run the other half joins at
    ten times that rate (a surge of new stations booting)."""

    def tick(self):
        users, rate, run_time = self.numbers()
        t = self.get_run_time()
        if t >= run_time:
            return None
        if t < run_time / 3:
            return max(1, users // 2), rate
        return users, rate * 10
