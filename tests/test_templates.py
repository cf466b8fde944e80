"""Station templates and fleets: the bundled ones load and boot, mistakes name file:line."""
from __future__ import annotations

import asyncio
import textwrap

import pytest

from simulator.station import Station, StationOptions
from simulator.templates.loader import (StationTemplateError, bundled_templates, load_fleet,
                                         load_template)
from simulator.dialects import make_station
from tests.hub_helpers import running_hub

FAST = dict(interval_scale=0.01, boot_retry_min=0.01, reconnect_min=0.05, call_timeout=5)
BUNDLED = ["ac-11kw", "ac-22kw", "dc-50kw", "dc-150kw", "site-4x22kw", "legacy-quirky",
           "legacy-soap15"]


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def error(fn, *args, **kw) -> StationTemplateError:
    with pytest.raises(StationTemplateError) as e:
        fn(*args, **kw)
    return e.value


# -- bundled templates ------------------------------------------------------------------------

def test_bundled_templates_are_listed_with_descriptions():
    found = bundled_templates()
    assert set(BUNDLED) <= set(found)
    assert all(found[n] and not found[n].startswith("(broken") for n in BUNDLED)


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_template_builds_a_station(name):
    options = load_template(name)
    station = make_station("T-1", "ws://127.0.0.1:1/ocpp", options)
    assert station.options.vendor and station.options.serial_number
    assert len(station.connectors) == options.connectors + 1


def test_template_fields_map_onto_station_options():
    o = load_template("dc-150kw", n=42)
    assert (o.vendor, o.model, o.firmware_version) == ("Ampero", "HPC-150", "4.0.3")
    assert o.serial_number == "AMP150-00042"
    assert (o.connectors, o.max_power_w, o.current_type) == (2, 150_000.0, "DC")
    assert (o.ev_capacity_wh, o.ev_pack_voltage_v) == (90_000, 800)
    assert o.connector_lock is False
    assert o.config["MeterValuesSampledData"].split(",")[:2] == [
        "Energy.Active.Import.Register", "Power.Active.Import"]
    assert {k.name: (k.default, k.readonly) for k in o.extra_keys} == {
        "CabinetCoolingMode": ("auto", False), "PowerModuleCount": ("6", True)}
    assert o.vendor_responses["com.ampero"]["GetCableTemperature"] == ["Accepted", "38.0"]
    ac = load_template("ac-11kw")
    assert (ac.max_power_w, ac.phases, ac.current_type, ac.voltage_v) == (11_000, 3, "AC", 230)
    legacy = load_template("legacy-quirky")
    assert legacy.phases == 1 and "number_values" in legacy.quirks


def test_template_by_path_with_meter_ev_and_options(tmp_path):
    path = write(tmp_path, "mine.yaml", """
        vendor: Acme
        model: X1
        firmware_version: 1.5          # a number is taken as text
        serial_number: "ACME-{id}"
        connectors: 2
        meter: {start_wh: 1500, units: kWh, voltage_v: 240}
        ev: {capacity_wh: 40000, initial_soc: 30}
        config: {HeartbeatInterval: 45, LocalPreAuthorize: true}
        options: {mode: lenient, call_timeout: 7}
        """)
    o = load_template(path, station_id="ST-9")
    assert o.firmware_version == "1.5" and o.serial_number == "ACME-ST-9"
    assert (o.meter_start_wh, o.meter_units, o.voltage_v) == (1500.0, "kWh", 240.0)
    assert (o.ev_capacity_wh, o.ev_initial_soc) == (40_000.0, 30.0)
    assert o.config == {"HeartbeatInterval": "45", "LocalPreAuthorize": "true"}
    assert (o.mode, o.call_timeout, o.connectors) == ("lenient", 7.0, 2)
    overridden = load_template(path, overrides={"config": {"HeartbeatInterval": 90}})
    assert overridden.config == {"HeartbeatInterval": "90", "LocalPreAuthorize": "true"}


# -- mistakes name file:line ------------------------------------------------------------------

@pytest.mark.parametrize("text,line,problem", [
    ("vendor: A\nmodle: B\n", 2, "unknown template field 'modle'"),
    ("vendor: A\nconnectors:\n  - {type: AC, power_kw: 11, phase: 3}\n", 3, "unknown connector field 'phase'"),
    ("vendor: A\nconnectors:\n  - {type: XX, power_kw: 11}\n", 3, "AC or DC"),
    ("vendor: 12\n", 1, "vendor: expected a string, got int"),
    ("options:\n  call_timeout: soon\n", 2, "call_timeout: expected float"),
    ("options:\n  max_power_w: 5\n", 2, "has its own section"),
    ("meter:\n  volts: 5\n", 2, "unknown meter field 'volts'"),
    ("config:\n  HeartbeatInterval: 60\n  NoSuchKey: 1\n", 3, "'NoSuchKey' is not a configuration key"),
    ("config:\n  HeartbeatInterval: often\n", 2, "takes an integer"),
    ("quirks: [number_values, sloppy]\n", 1, "unknown quirk 'sloppy'"),
    ("data_transfer:\n  - {vendor_id: V, status: Maybe}\n", 2, "status: one of"),
    ("vendor: A\nvendor: B\n", 2, "duplicate field 'vendor'"),
    ("vendor: [A\nmodel: B\n", 2, "broken YAML"),
    ("serial_number: 'SN-{x}'\n", 1, "bad pattern"),
    ("serial_number: 'A-VERY-LONG-SERIAL-NUMBER-{n:09d}'\n", 1, "longer than 25"),
    ("protocol: ocpp2.1\n", 1, "not supported"),
    ("connectors:\n  - {type: AC, power_kw: 11}\n  - {type: AC, power_kw: 22}\n", 3, "same type, power"),
    ("connectors:\n  - {type: DC, power_kw: 50, phases: 3}\n", 2, "DC connector has no phases"),
    ("- just\n- a list\n", 1, "mapping of fields"),
    ("vendor: A\nmeter:\n  units: MWh\n", 1, "do not make a station: meter units"),
])
def test_template_mistakes_name_file_line_and_problem(tmp_path, text, line, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    e = error(load_template, path)
    assert (e.file, e.line) == (str(path), line), str(e)
    assert problem in e.problem, str(e)
    assert str(e).startswith(f"{path}:{line}: ")


def test_unknown_template_name_lists_the_bundled_ones():
    e = error(load_template, "ac-99kw")
    assert "no bundled template 'ac-99kw'" in str(e) and "ac-22kw" in str(e)
    assert "no such template file" in str(error(load_template, "missing/dir.yaml"))


# -- fleets -------------------------------------------------------------------------------------

def test_bundled_example_fleet_expands():
    from importlib import resources
    path = resources.files("simulator.templates").joinpath("fleets", "example-depot.yaml")
    fleet = load_fleet(str(path))
    ids = [i for i, _ in fleet]
    assert len(ids) == 22 and len(set(ids)) == 22
    assert ids[0] == "DEPOT-AC-001" and ids[19] == "DEPOT-AC-020"
    assert ids[20:] == ["DEPOT-DC-01", "DEPOT-DC-02"]
    dc = dict(fleet)["DEPOT-DC-02"]
    assert dc.firmware_version == "4.0.4-beta" and dc.config["HeartbeatInterval"] == "30"
    assert dc.config["MeterValueSampleInterval"] == "10"   # the rest of the template stays
    assert dc.serial_number == "AMP150-00002"
    assert dict(fleet)["DEPOT-AC-007"].serial_number == "VW22-0000007"


def test_bundled_quirky_fleet_mixes_quirks_per_group():
    from importlib import resources
    path = resources.files("simulator.templates").joinpath("fleets", "field-quirks.yaml")
    fleet = dict(load_fleet(str(path)))
    assert fleet["MIX-SITE-01"].quirks == [] and "action_case" in fleet["MIX-OLD-02"].quirks
    assert fleet["MIX-HALF-01"].quirks == ["timestamp_plus_zero", "concurrent_calls"]


def test_fleet_groups_overrides_csms_and_relative_template_paths(tmp_path):
    write(tmp_path, "local.yaml", "vendor: Local\nmodel: L1\nconnectors: 1\n")
    path = write(tmp_path, "fleet.yaml", """
        csms: ws://csms.example:8080/ocpp
        groups:
          - template: local.yaml
            id_pattern: "L-{n}"
            start: 10
            count: 3
            overrides: {quirks: [action_case]}
          - template: site-4x22kw
            id_pattern: "S-{n:02d}"
            count: 1
        """)
    fleet = load_fleet(path)
    assert fleet.csms == "ws://csms.example:8080/ocpp"
    assert [i for i, _ in fleet] == ["L-10", "L-11", "L-12", "S-01"]
    assert fleet[0][1].vendor == "Local" and fleet[0][1].quirks == ["action_case"]
    assert fleet[3][1].connectors == 4 and fleet[3][1].quirks == []


@pytest.mark.parametrize("groups,line,problem", [
    ("  - {template: ac-11kw, count: 2, id_pattern: 'SIM'}\n", 2, "has no {n}"),
    ("  - {template: ac-11kw, count: 2, id_pattern: 'SIM-{n:q}'}\n", 2, "bad id_pattern"),
    ("  - {template: ac-11kw, count: 2, id_pattern: 'SIM/{n}'}\n", 2, "makes 'SIM/1'"),
    ("  - {template: ac-11kw, count: 0}\n", 2, "at least 1"),
    ("  - {template: ac-11kw, count: two}\n", 2, "expected a whole number"),
    ("  - {template: ac-11kw}\n", 2, "count is required"),
    ("  - {template: ac-11kw, count: 1, colour: red}\n", 2, "unknown group field 'colour'"),
    ("  - {template: nope, count: 1}\n", 2, "no bundled template 'nope'"),
    ("  - {template: ac-11kw, count: 2}\n  - {template: ac-22kw, count: 1}\n", 3, "also made by"),
    ("  - template: ac-11kw\n    count: 1\n    overrides:\n      config: {Bogus: 1}\n", 5,
     "'Bogus' is not a configuration key"),
])
def test_fleet_mistakes_name_file_line_and_problem(tmp_path, groups, line, problem):
    path = write(tmp_path, "fleet.yaml", "groups:\n" + groups)
    e = error(load_fleet, path)
    assert (e.file, e.line) == (str(path), line), str(e)
    assert problem in e.problem, str(e)


def test_fleet_file_level_mistakes(tmp_path):
    e = error(load_fleet, write(tmp_path, "f.yaml", "csms: http://x\ngroups: []\n"))
    assert e.line == 1 and "ws:// or wss://" in e.problem
    e = error(load_fleet, write(tmp_path, "g.yaml", "stations: 3\n"))
    assert e.line == 1 and "unknown fleet field 'stations'" in e.problem
    assert "no such fleet file" in str(error(load_fleet, tmp_path / "none.yaml"))


# -- a template's station against our hub ---------------------------------------------------

async def test_fleet_stations_boot_against_our_hub_with_their_identity(tmp_path):
    path = write(tmp_path, "fleet.yaml", """
        groups:
          - {template: dc-50kw, id_pattern: "DC-{n}", count: 2}
          - {template: site-4x22kw, id_pattern: "SITE-{n}", count: 1}
        """)
    fleet = load_fleet(path)
    async with running_hub() as hub:
        stations = [make_station(i, hub.url, o, **FAST) for i, o in fleet]
        await asyncio.gather(*(s.start(timeout=5) for s in stations))
        try:
            row = hub.store.get_station("DC-2")
            assert (row["vendor"], row["model"], row["serial"]) == ("Ampero", "DCF-50", "AMP50-000002")
            site = hub.manager.stations["SITE-1"]
            for _ in range(100):   # the status notifications of all 5 connectors arrive
                if len(site.connectors) == 5:
                    break
                await asyncio.sleep(0.02)
            assert sorted(site.connectors) == [0, 1, 2, 3, 4]
            # the template's configuration defaults are the station's
            reply = await hub.send("DC-1", "GetConfiguration", {"key": ["MeterValueSampleInterval"]})
            assert reply["configurationKey"][0]["value"] == "15"
        finally:
            await asyncio.gather(*(s.stop() for s in stations))


# -- the command line ------------------------------------------------------------------------

def chargesim(*args: str):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "simulator.cli", *args], capture_output=True,
                          text=True, timeout=60)


def test_cli_lists_templates_and_runs_one():
    listed = chargesim("templates")
    assert listed.returncode == 0
    assert all(name in listed.stdout for name in BUNDLED)
    result = chargesim("run", "--template", "dc-50kw", "--stations", "2", "--seconds", "0.5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SIM-00002: ok — transaction" in result.stdout and "2 passed, 0 failed" in result.stdout


def test_cli_fleet_runs_and_bad_files_exit_2_with_file_line(tmp_path):
    fleet = write(tmp_path, "fleet.yaml", """
        groups:
          - {template: ac-22kw, id_pattern: "F-{n}", count: 2}
        """)
    result = chargesim("run", "--fleet", str(fleet), "--seconds", "0.5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "F-1: ok" in result.stdout and "F-2: ok" in result.stdout
    bad = write(tmp_path, "bad.yaml", "groups:\n  - {template: ac-22kw, count: 1, id_pattern: X}\n")
    result = chargesim("station", "--fleet", str(bad))
    assert result.returncode == 2
    assert f"{bad}:2: id_pattern 'X' has no {{n}}" in result.stderr
