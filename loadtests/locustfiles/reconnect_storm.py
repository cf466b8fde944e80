"""Reconnect storm after an outage: all stations online; at OUTAGE_AT seconds every
station loses the network for OUTAGE_SECONDS, then all come back at once and reconnect
("reconnect" entries: time from the lost link to the new one).

    chargesim swarm --locustfile loadtests/locustfiles/reconnect_storm.py \
        --stations 2000 --spawn-rate 200 --run-time 3m
"""
import os

from _shapes import Hold  # noqa: F401

from simulator.swarm.fleet import Fleet
from simulator.swarm.locust_user import StationUser, at_test_time
from simulator.swarm.profiles import profile_from_env

OUTAGE_AT = float(os.environ.get("OUTAGE_AT", "60"))
OUTAGE_SECONDS = float(os.environ.get("OUTAGE_SECONDS", "20"))


class StormStation(StationUser):
    profile = profile_from_env("steady")


at_test_time(OUTAGE_AT, lambda: Fleet.outage(OUTAGE_SECONDS), label="outage")
