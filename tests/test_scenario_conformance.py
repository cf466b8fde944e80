"""The OCPP 1.6 CSMS conformance pack passes against the bundled hub, and the examples too."""
from __future__ import annotations

from pathlib import Path

from simulator.scenario import discover, load, run_scenario
from tests.hub_helpers import running_hub

PACK = Path(__file__).resolve().parents[1] / "scenarios"


async def test_the_whole_conformance_pack_passes_against_the_bundled_hub():
    files = discover([PACK / "conformance" / "ocpp16-csms"])
    assert len(files) >= 30
    failures = []
    for f in files:
        assert f.name.startswith("TC_")
        result = await run_scenario(load(f))
        if not result.passed:
            failures.append(f"{result.where}: {result.failure}")
    assert not failures, "\n".join(failures)


async def test_the_examples_pass():
    failures = []
    for f in discover([PACK / "examples"]):
        result = await run_scenario(load(f))
        if not result.passed:
            failures.append(f"{result.where}: {result.failure}")
    assert not failures, "\n".join(failures)


async def test_the_pack_also_passes_against_a_csms_reached_only_by_url_and_http_trigger():
    # As against any other CSMS: one shared hub (seeded with the tags the pack uses, as an
    # operator would), stations by URL, every `csms` step through the generic HTTP trigger
    # and the station's answer read from the frames.
    # Cases that use the bundled hub's file server (${hub.api_url}) cannot run this way.
    scenarios = [load(f) for f in discover([PACK / "conformance" / "ocpp16-csms"])]
    scenarios = [sc for sc in scenarios if not sc.needs_bundled_hub]
    assert len(scenarios) >= 30
    tags = {}
    for sc in scenarios:
        tags.update(sc.csms.hub.get("tags", {}))
    failures = []
    async with running_hub(tags=tags) as hub:
        trigger = {"http": {"url": f"{hub.api_url}/stations/${{station}}/commands/${{action}}"}}
        for sc in scenarios:
            result = await run_scenario(sc, csms_url=hub.url, trigger=trigger)
            if not result.passed:
                failures.append(f"{result.where}: {result.failure}")
    assert not failures, "\n".join(failures)


async def test_the_ocpp15_soap_pack_passes_against_the_bundled_hub():
    files = discover([PACK / "conformance" / "ocpp15-csms"])
    assert len(files) >= 20
    failures = []
    for f in files:
        assert f.name.startswith("TC15_")
        sc = load(f)
        assert {s.protocol for s in sc.stations} == {"ocpp1.5"}
        result = await run_scenario(sc)
        if not result.passed:
            failures.append(f"{result.where}: {result.failure}")
    assert not failures, "\n".join(failures)


async def test_the_ocpp15_pack_passes_against_a_soap_csms_reached_only_by_url_and_http_trigger():
    # The CentralSystemService URL as given, every `csms` step through the generic HTTP
    # trigger, and the station's answer read from the SOAP envelopes it exchanged.
    scenarios = [load(f) for f in discover([PACK / "conformance" / "ocpp15-csms"])]
    scenarios = [sc for sc in scenarios if not sc.needs_bundled_hub]
    assert len(scenarios) >= 18
    tags = {}
    for sc in scenarios:
        tags.update(sc.csms.hub.get("tags", {}))
    failures = []
    async with running_hub(tags=tags, soap_port=0) as hub:
        trigger = {"http": {"url": f"{hub.api_url}/stations/${{station}}/commands/${{action}}"}}
        for sc in scenarios:
            result = await run_scenario(sc, csms_url=hub.soap_url, trigger=trigger)
            if not result.passed:
                failures.append(f"{result.where}: {result.failure}")
    assert not failures, "\n".join(failures)


PACK_201 = PACK / "conformance" / "ocpp201-csms"


async def test_the_ocpp201_pack_passes_against_the_bundled_hub():
    files = discover([PACK_201])
    assert len(files) >= 40
    failures = []
    for f in files:
        assert f.name.startswith("TC_")
        sc = load(f)
        assert all(st.protocol == "ocpp2.0.1" for st in sc.stations), f.name
        result = await run_scenario(sc)
        if not result.passed:
            failures.append(f"{result.where}: {result.failure}")
    assert not failures, "\n".join(failures)


async def test_the_ocpp201_pack_also_passes_against_a_csms_reached_only_by_url():
    # As the 1.6 pack: one shared hub set up as an operator would (the pack's tags, a CA),
    # every `csms` step through the generic HTTP trigger. Cases that use the bundled hub's
    # file server (bundled-hub) cannot run this way; those that need the CSMS answering
    # unknown stations Pending / Rejected (csms-setup with unknown_stations) need a CSMS
    # set up for that alone.
    scenarios = [load(f) for f in discover([PACK_201])]
    scenarios = [sc for sc in scenarios if not sc.needs_bundled_hub
                 and "unknown_stations" not in sc.csms.hub]
    assert len(scenarios) >= 35
    tags = {}
    for sc in scenarios:
        tags.update(sc.csms.hub.get("tags", {}))
    failures = []
    async with running_hub(tags=tags, auto_ca=True) as hub:
        trigger = {"http": {"url": f"{hub.api_url}/stations/${{station}}/commands/${{action}}"}}
        for sc in scenarios:
            result = await run_scenario(sc, csms_url=hub.url, trigger=trigger)
            if not result.passed:
                failures.append(f"{result.where}: {result.failure}")
    assert not failures, "\n".join(failures)
