"""The locustfile `chargesim swarm` runs when none is given: one StationUser whose profile
is named by CHARGESIM_PROFILE (default "steady"), sped up by CHARGESIM_TIME_SCALE."""
from simulator.swarm.locust_user import StationUser
from simulator.swarm.profiles import profile_from_env


class Station(StationUser):
    profile = profile_from_env()
