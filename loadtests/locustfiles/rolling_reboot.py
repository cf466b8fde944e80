"""Rolling reboot: all stations online; from REBOOT_AT seconds they reboot one after
another, REBOOT_SPACING seconds apart (a new connection and BootNotification each).

    chargesim swarm --locustfile loadtests/locustfiles/rolling_reboot.py \
        --stations 1000 --spawn-rate 100 --run-time 5m
"""
import os

from _shapes import Hold  # noqa: F401

from simulator.swarm.fleet import Fleet
from simulator.swarm.locust_user import StationUser, at_test_time
from simulator.swarm.profiles import profile_from_env

REBOOT_AT = float(os.environ.get("REBOOT_AT", "30"))
REBOOT_SPACING = float(os.environ.get("REBOOT_SPACING", "0.1"))


class RebootingStation(StationUser):
    profile = profile_from_env("steady")


at_test_time(REBOOT_AT, lambda: Fleet.rolling_reboot(REBOOT_SPACING), label="rolling reboot")
