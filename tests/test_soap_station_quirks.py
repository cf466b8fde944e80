"""SOAP quirks the 1.5 station emits on request, how a strict and a lenient
CentralSystemService take them, and the drivers: templates, fleets and the command line."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest

from simulator.dialects import make_station
from simulator.protocol.soap.envelope import FaultCode, parse
from simulator.templates.loader import StationTemplateError, load_fleet, load_template
from soap_csms import TestCentralSystem
from test_soap_station import check_against_reference, reference_schemas, soap_station  # noqa: F401


@pytest.fixture
async def strict():
    c = TestCentralSystem()
    await c.start()
    yield c
    await c.stop()


@pytest.fixture
async def lenient():
    c = TestCentralSystem(mode="lenient")
    await c.start()
    yield c
    await c.stop()


def boot_message(csms):
    return next(m for _, op, _, m in csms.received if op == "BootNotification")


async def test_odd_prefixes_are_valid_soap(strict, reference_schemas):
    async with soap_station(strict, quirks=["soap_odd_prefixes"]) as st:
        await strict.wait_for("StatusNotification", 2)
        raw = strict.raw_in[0]
        assert b"<SOAP-ENV:Envelope" in raw and b"<wsa5:Action>" in raw
        assert b"<bootNotificationRequest>" in raw and b'xmlns="urn://Ocpp/Cs/2012/06/"' in raw
        msg = boot_message(strict)
        assert msg.repairs == [] and msg.payload["chargePointVendor"] == st.options.vendor
        # the station's answers to the CSMS carry the quirk too, and still read right
        assert await strict.call("CP15", "ClearCache", {}) == {"status": "Accepted"}
        assert b"<SOAP-ENV:Envelope" in strict.raw_out[-1]
    check_against_reference(reference_schemas, strict.raw_in + strict.raw_out)


async def test_whitespace_around_values_is_trimmed_by_the_csms(strict):
    async with soap_station(strict, quirks=["soap_whitespace"]) as st:
        await strict.wait_for("StatusNotification", 2)
        raw = strict.raw_in[0]
        assert b"<o:chargePointVendor>  " in raw and b"\n  </o:chargePointVendor>" in raw
        msg = boot_message(strict)
        assert msg.repairs == [] and msg.payload["chargePointVendor"] == st.options.vendor
        statuses = {p["status"] for p in strict.payloads("StatusNotification")}
        assert statuses == {"Available"}        # an enumeration, read after the trim


async def test_missing_headers_are_noted_by_a_lenient_csms_and_refused_by_a_strict_one(lenient):
    async with soap_station(lenient, quirks=["soap_missing_headers"], mode="lenient") as st:
        raw = lenient.raw_in[0]
        assert b"MessageID" not in raw and b"ReplyTo" not in raw and b":To>" not in raw
        assert "no WS-Addressing MessageID header" in boot_message(lenient).notes
        assert st.lifecycle.state.value == "accepted"     # correlated by the HTTP exchange
    with pytest.raises(Exception) as e:
        parse(raw, mode="strict")
    assert e.value.fault.kind is FaultCode.MISSING_HEADER


async def test_no_from_tells_the_csms_it_cannot_call_back(strict):
    async with soap_station(strict, quirks=["soap_no_from"]):
        msg = boot_message(strict)
        assert msg.headers.from_ is None
        assert any("cannot call this charge point back" in n for n in msg.notes)


async def test_elements_out_of_order_are_repaired_by_a_lenient_csms_only(lenient):
    async with soap_station(lenient, quirks=["soap_out_of_order"], serial_number="SN-1"):
        msg = boot_message(lenient)
        assert any("schema order" in r for r in msg.repairs)
        assert msg.payload["chargePointSerialNumber"] == "SN-1"
        raw = lenient.raw_in[0]
    with pytest.raises(Exception) as e:
        parse(raw, mode="strict")
    assert e.value.fault.kind is FaultCode.SCHEMA_VIOLATION


async def test_a_split_unit_is_folded_back_by_a_lenient_csms(lenient):
    async with soap_station(lenient, quirks=["soap_split_unit"],
                            config={"MeterValueSampleInterval": "5"}) as st:
        await st.plug_in(1)
        assert await st.present_tag(1, "Q1") == "Started"
        mv = await lenient.wait_for("MeterValues", where=lambda p: "transactionId" in p)
        assert mv["values"][0]["value"][0]["unit"] == "Wh"
        raw = next(r for r in lenient.raw_in if b"meterValuesRequest" in r)
        assert b"<o:unit>Wh</o:unit>" in raw and b'unit="' not in raw
        msg = next(m for _, op, _, m in lenient.received if op == "MeterValues")
        assert any("folded into" in r for r in msg.repairs)


def test_quirks_of_the_other_protocol_are_refused_clearly():
    with pytest.raises(ValueError, match="do not apply to OCPP 1.5 SOAP"):
        make_station("Q", "http://127.0.0.1:1/", version="ocpp1.5", quirks=["number_values"])
    with pytest.raises(ValueError, match="OCPP 1.5 SOAP has no security profiles"):
        make_station("Q", "http://127.0.0.1:1/", version="ocpp1.5", security_profile=1)
    with pytest.raises(ValueError, match="unknown quirk"):
        make_station("Q", "ws://127.0.0.1:1/", version="ocpp1.6", quirks=["soap_split_unit"])


# -- templates, fleets, the command line --------------------------------------------------

def test_template_and_fleet_say_protocol_ocpp15(tmp_path):
    options = load_template("legacy-soap15")
    assert options.version == "ocpp1.5"
    fleet = load_fleet("simulator/templates/fleets/soap15-site.yaml")
    assert {o.version for _, o in fleet} == {"ocpp1.5"}
    assert [o.quirks for _, o in fleet][-1] == ["soap_odd_prefixes", "soap_whitespace",
                                                "soap_split_unit"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent("""\
        protocol: ocpp1.5
        quirks: [number_values]
        """))
    with pytest.raises(StationTemplateError, match="do not apply to OCPP 1.5 SOAP"):
        load_template(str(bad))


async def test_cli_run_with_protocol_ocpp15(strict):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator.cli", "run", "--protocol", "ocpp1.5", "--csms",
        strict.url, "--stations", "2", "--seconds", "0.5",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    text = out.decode()
    assert proc.returncode == 0, text
    assert "2 passed, 0 failed" in text and "StartTransaction 2" in text
    assert sorted({c for c, *_ in strict.received}) == ["SIM-00001", "SIM-00002"]


def chargesim(*args):
    return subprocess.run([sys.executable, "-m", "simulator.cli", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_run_ocpp15_against_the_bundled_hub_and_bad_urls():
    run = chargesim("run", "--protocol", "ocpp1.5", "--seconds", "0.5")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "bundled hub: OCPP 1.5 SOAP http://" in run.stdout and "1 passed, 0 failed" in run.stdout
    ws = chargesim("station", "--protocol", "ocpp1.5", "--csms", "ws://127.0.0.1:1/ocpp")
    assert ws.returncode == 2 and "http:// or https://" in ws.stderr
    http16 = chargesim("station", "--csms", "http://127.0.0.1:1/CentralSystemService")
    assert http16.returncode == 2 and "add --protocol ocpp1.5" in http16.stderr
