"""Morning peak: a third of the fleet overnight; in the middle third of the run every
station is on and charging often (profile morning-peak: 4 sessions an hour, 90 % charging).

    chargesim swarm --locustfile loadtests/locustfiles/morning_peak.py --profile morning-peak \
        --stations 3000 --spawn-rate 200 --run-time 15m
"""
from _shapes import Peak  # noqa: F401

from simulator.swarm.locust_user import StationUser
from simulator.swarm.profiles import profile_from_env


class PeakStation(StationUser):
    profile = profile_from_env("morning-peak")
