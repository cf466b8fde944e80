"""`chargesim hub` / `python -m hub_under_test` with bad values: one line on stderr naming the
option, the value and what is valid, exit 2, never a traceback; every option has a help line."""
from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from hub_under_test.__main__ import UsageError, build_parser, parse_args, preflight
from hub_under_test.hub import HubConfig

BAD_VALUES = [
    (["--port", "x"], "--port", "'x'"),
    (["--port", "70000"], "--port", "70000"),
    (["--api-port", "-1"], "--api-port", "-1"),
    (["--tag", "X:Maybe"], "--tag", "Maybe"),
    (["--tag", "X" * 21], "--tag", "20 characters"),
    (["--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"],
     "--tls-cert", "/nonexistent/cert.pem"),
    (["--tls-cert", __file__], "--tls-key", "together"),
    (["--workers", "0"], "--workers", "0"),
    (["--workers", "two"], "--workers", "'two'"),
    (["--workers", "2"], "--workers", "--db"),
    (["--heartbeat-interval", "0"], "--heartbeat-interval", "0"),
    (["--call-timeout", "0"], "--call-timeout", "0"),
    (["--call-timeout", "nan"], "--call-timeout", "nan"),
    (["--rate-limit", "-1"], "--rate-limit", "-1"),
    (["--rate-burst", "0"], "--rate-burst", "0"),
    (["--max-frame", "0"], "--max-frame", "0"),
    (["--max-queue", "0"], "--max-queue", "0"),
    (["--ping-interval", "-5"], "--ping-interval", "-5"),
    (["--frames-kept", "-1"], "--frames-kept", "-1"),
    (["--frames-total", "0"], "--frames-total", "0"),
    (["--handshake-timeout", "0"], "--handshake-timeout", "0"),
    (["--idle-timeout", "-1"], "--idle-timeout", "-1"),
    (["--max-connections-per-source", "-3"], "--max-connections-per-source", "-3"),
    (["--write-delay", "-0.1"], "--write-delay", "-0.1"),
    (["--unknown-stations", "maybe"], "--unknown-stations", "maybe"),
    (["--duplicate-policy", "both"], "--duplicate-policy", "both"),
    (["--mode", "loose"], "--mode", "loose"),
    (["--fallback-version", "ocpp9"], "--fallback-version", "ocpp9"),
    (["--amqp", "http://broker"], "--amqp", "http://broker"),
    (["--log-level", "loud"], "--log-level", "LOUD"),
    (["--log-format", "xml"], "--log-format", "xml"),
    (["--station-password", "nopassword"], "--station-password", "nopassword"),
    (["--record-keep", "-1"], "--record-keep", "-1"),
    (["--record-max-bytes", "10"], "--record-max-bytes", "10"),
    (["--no-such-option"], "--no-such-option", "unrecognized"),
]


@pytest.mark.parametrize("argv,option,value", BAD_VALUES, ids=[" ".join(b[0])[:40] for b in BAD_VALUES])
def test_a_bad_value_is_one_line_and_exit_2(argv, option, value, capsys):
    with pytest.raises(SystemExit) as exc:
        parse_args(argv, prog="chargesim hub")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("chargesim hub: error: "), err
    assert option in err and value in err, err


def test_every_option_has_a_help_line():
    for action in build_parser()._actions:
        assert action.help, f"{action.option_strings} has no help"


def test_the_frame_log_frame_size_queue_and_ping_are_options():
    config, _ = parse_args(["--frames-kept", "7", "--frames-total", "70", "--max-frame", "1000",
                            "--max-queue", "4", "--ping-interval", "0"])
    assert (config.frames_kept, config.frames_total, config.max_frame, config.max_queue,
            config.ping_interval) == (7, 70, 1000, 4, None)
    assert parse_args(["--ping-interval", "15"])[0].ping_interval == 15


def test_preflight_names_a_port_in_use_and_a_bad_store(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(UsageError, match=f"--port {port}: .*in use"):
            preflight(HubConfig(port=port, api_port=0))
        with pytest.raises(UsageError, match=f"--api-port {port}: .*in use"):
            preflight(HubConfig(port=0, api_port=port))
    with pytest.raises(UsageError, match="--db /nonexistent/dir/h.db: the directory"):
        preflight(HubConfig(port=0, api_port=0, db_path="/nonexistent/dir/h.db"))
    with pytest.raises(UsageError, match="--record /nonexistent/dir/r.jsonl: the directory"):
        preflight(HubConfig(port=0, api_port=0, record_path="/nonexistent/dir/r.jsonl"))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(UsageError, match="cannot open it as a SQLite database"):
        preflight(HubConfig(port=0, api_port=0, db_path=str(junk)))
    preflight(HubConfig(port=0, api_port=0, db_path=str(tmp_path / "ok.db")))


def test_the_command_line_says_a_port_in_use_in_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "simulator.cli", "hub", "--port", str(port),
                            "--api-port", "0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert f"--port {port}" in r.stderr and "in use" in r.stderr


def test_messages_module_prints_its_schema_without_a_warning():
    r = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m",
                        "hub_under_test.messages"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert '"title": "chargesim hub messages"' in r.stdout
