"""Surge of new stations: half the fleet at the spawn rate; at a third of the run the other
half joins at ten times that rate and boots (profile surge: mostly idle stations).

    chargesim swarm --locustfile loadtests/locustfiles/surge.py --profile surge \
        --stations 4000 --spawn-rate 100 --run-time 3m
"""
from _shapes import Surge  # noqa: F401

from simulator.swarm.locust_user import StationUser
from simulator.swarm.profiles import profile_from_env


class NewStation(StationUser):
    profile = profile_from_env("surge")
