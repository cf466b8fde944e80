"""Steady fleet: every station online, heartbeating, half of them charging now and then.

    chargesim swarm --locustfile loadtests/locustfiles/steady_fleet.py --stations 1000 \
        --spawn-rate 100 --run-time 5m
"""
from _shapes import Hold  # noqa: F401  (Locust picks up the shape)

from simulator.swarm.locust_user import StationUser
from simulator.swarm.profiles import profile_from_env


class SteadyStation(StationUser):
    profile = profile_from_env("steady")
