"""Locust swarms of engine stations (docs/swarm.md).

engine.py        the asyncio loop in a real OS thread (one per Locust process)
stats.py         every round trip (frame tap + station events) as a request record
fleet.py         a swarm station: engine station + probe + behaviour profile
profiles.py      behaviour profiles
gevent_bridge.py results and statistics from the engine thread to gevent (Locust only)
locust_user.py   StationUser, the Locust user class (imports locust)
"""
