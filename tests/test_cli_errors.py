"""Bad command-line values: one line on stderr naming the option, exit 2, never a traceback.

The walk runs the CLI in-process (`main(argv)`): every check happens before anything starts.
"""
from __future__ import annotations

import asyncio
import sys

import pytest

from simulator.cli import main

KEY = "0123456789abcdef"   # a valid AuthorizationKey (16..40 printable ASCII)


@pytest.fixture
def files(tmp_path):
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    pem = tmp_path / "ok.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    return {"missing": str(tmp_path / "missing.pem"), "not_pem": str(not_pem), "pem": str(pem),
            "file": str(pem), "dir": str(tmp_path)}


# (argv, the option the error must name); {missing} etc. are filled from the fixture
BAD = [
    (["run", "--connectors", "0"], "--connectors"),
    (["run", "--connectors", "two"], "--connectors"),
    (["station", "--connectors", "-1"], "--connectors"),
    (["run", "--max-power", "0"], "--max-power"),
    (["run", "--vendor", "V" * 21], "--vendor"),
    (["station", "--model", ""], "--model"),
    (["run", "--call-timeout", "0"], "--call-timeout"),
    (["run", "--stations", "0"], "--stations"),
    (["run", "--stations", "-2"], "--stations"),
    (["run", "--stations", "many"], "--stations"),
    (["run", "--seconds", "-1"], "--seconds"),
    (["run", "--seconds", "0"], "--seconds"),
    (["run", "--sample-interval", "0"], "--sample-interval"),
    (["run", "--stations", "2", "--id-pattern", "SAME"], "--id-pattern"),
    (["run", "--id-pattern", "{x}"], "--id-pattern"),
    (["run", "--id-pattern", "a/{n}"], "--id-pattern"),
    (["run", "--id-pattern", "a {n}"], "--id-pattern"),
    (["run", "--id-pattern", "a{n}?"], "--id-pattern"),
    (["station", "--id", ""], "--id"),
    (["station", "--id", "A#1"], "--id"),
    (["run", "--seconds", "inf"], "--seconds"),
    (["run", "--seconds", "nan"], "--seconds"),
    (["run", "--max-power", "inf"], "--max-power"),
    (["run", "--call-timeout", "-1"], "--call-timeout"),
    (["run", "--progress", "-1"], "--progress"),
    (["run", "--sample-interval", "x"], "--sample-interval"),
    (["run", "--json", "{missing}/r.json"], "--json"),
    (["run", "--junit", "{missing}/r.xml", "scenarios"], "--junit"),
    (["run", "--record", "{missing}/r.jsonl"], "--record"),
    (["run", "--hub-log", "{missing}/h.log"], "--hub-log"),
    (["run", "--json", "{dir}"], "--json"),
    (["run", "--tag", "{x}"], "--tag"),
    (["run", "--tag", "{n:q}"], "--tag"),
    (["run", "--tag", "{"], "--tag"),
    (["station", "--id", "A", "--id", "A"], "--id"),
    (["station", "--security-profile", "1", "--password", "short"], "--password"),
    (["station", "--security-profile", "1"], "--security-profile"),
    (["run", "--security-profile", "2", "--password", KEY + " x"], "--password"),
    (["run", "--security-profile", "4"], "--security-profile"),
    (["run", "--csms", "wss://127.0.0.1:1/ocpp"], "--csms"),
    (["station", "--csms", "http://127.0.0.1:1/ocpp"], "--csms"),
    (["run", "--security-profile", "2", "--password", KEY, "--csms", "ws://127.0.0.1:1",
      "--ca", "{pem}"], "--csms"),
    (["run", "--security-profile", "2", "--password", KEY], "--security-profile"),
    (["run", "--security-profile", "2", "--password", KEY, "--csms", "wss://127.0.0.1:1"],
     "--security-profile"),
    (["station", "--security-profile", "3", "--csms", "wss://127.0.0.1:1", "--ca", "{pem}"],
     "--security-profile"),
    (["station", "--csms", "ws://127.0.0.1:1", "--ca", "{missing}"], "--ca"),
    (["station", "--csms", "ws://127.0.0.1:1", "--ca", "{not_pem}"], "--ca"),
    (["station", "--security-profile", "3", "--csms", "wss://127.0.0.1:1", "--ca", "{pem}",
      "--client-cert", "{missing}", "--client-key", "{pem}"], "--client-cert"),
    (["station", "--security-profile", "3", "--csms", "wss://127.0.0.1:1", "--ca", "{pem}",
      "--client-cert", "{pem}", "--client-key", "{missing}"], "--client-key"),
    (["run", "--client-cert", "{pem}"], "--client-cert"),
    (["run", "--state-dir", "{file}"], "--state-dir"),
    (["station", "--state-dir", "{file}"], "--state-dir"),
    (["run", "--template", "no-such-template"], "no-such-template"),
    (["run", "--template", "ac-11kw", "--fleet", "x.yaml"], "--fleet"),
    (["run", "--bogus"], "--bogus"),
    (["station", "--bogus"], "--bogus"),
    (["templates", "--bogus"], "--bogus"),
]


@pytest.mark.parametrize("argv,option", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_a_bad_value_is_one_line_and_exit_2(argv, option, files, capsys):
    for key, value in files.items():
        argv = [a.replace("{" + key + "}", value) for a in argv]
    try:
        code = main(argv)
    except SystemExit as e:   # argparse's own errors
        code = e.code
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("chargesim"), err
    assert option in lines[0], err
    assert "Traceback" not in err


def test_the_password_is_not_echoed(capsys):
    assert main(["station", "--security-profile", "1", "--password", "secret-ish"]) == 2
    err = capsys.readouterr().err
    assert "secret-ish" not in err and "16 to 40" in err


def test_the_id_pattern_names_the_duplicate(capsys):
    assert main(["run", "--stations", "3", "--id-pattern", "S-{n}", "--stations", "2",
                 "--id-pattern", "SAME"]) == 2
    assert "'SAME'" in capsys.readouterr().err


async def test_run_reports_the_csms_own_status_for_a_refused_tag():
    from tests.hub_helpers import running_hub
    async with running_hub() as hub:     # knows no tags: answers Invalid
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "simulator.cli", "run", "--csms", hub.url, "--seconds", "0.2",
            "--tag", "NOBODY", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1, err.decode()
    assert "the CSMS answered Invalid" in out.decode()
    assert b"Traceback" not in err


def test_a_command_run_in_process_leaves_the_hub_logger_as_it_found_it(tmp_path, capsys):
    """main() sets the bundled hub's log apart ([hub] prefix); it must undo that on return,
    or a later in-process user (the pytest plugin, another test) logs into a closed stream."""
    import logging
    hub = logging.getLogger("hub_under_test")
    before = hub.propagate, list(hub.handlers), hub.level
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2
    assert (hub.propagate, list(hub.handlers), hub.level) == before
