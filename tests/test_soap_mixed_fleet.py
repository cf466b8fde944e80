"""A fleet mixing OCPP 1.5 SOAP and OCPP-J stations, without --csms: each station gets the
bundled hub's URL for its protocol."""
from __future__ import annotations

import subprocess
import sys

from simulator.charging_run import CsmsUrls, url_for
from simulator.station import StationOptions


def test_each_protocol_gets_its_url():
    urls = CsmsUrls("ws://h:1/ocpp", "http://h:2/ocpp15/CentralSystemService")
    assert url_for(urls, StationOptions(version="ocpp1.5")) == urls.soap_url
    assert url_for(urls, StationOptions(version="ocpp1.6")) == "ws://h:1/ocpp"
    assert url_for(urls, StationOptions(version="ocpp2.0.1")) == "ws://h:1/ocpp"
    assert url_for("ws://given/ocpp", StationOptions(version="ocpp1.5")) == "ws://given/ocpp"


def test_cli_run_of_a_mixed_fleet_on_the_bundled_hub():
    run = subprocess.run([sys.executable, "-m", "simulator.cli", "run", "--fleet",
                          "simulator/templates/fleets/mixed-soap15.yaml", "--seconds", "0.5"],
                         capture_output=True, text=True, timeout=120)
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert "OCPP 1.5 SOAP http://" in out and "ws://" in out
    assert "4 passed, 0 failed" in out
    for sid in ("MIX15-001", "MIX15-002", "MIX16J-001", "MIX201J-001"):
        assert f"{sid}: ok" in out, out
