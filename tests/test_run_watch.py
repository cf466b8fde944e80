"""Watching `chargesim run`: progress, the summary's totals, --json, the hub's log, help."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from simulator.charging_run import Outcome
from simulator.cli import build_parser
from simulator.run_progress import Progress
from simulator.run_summary import RunStats, percentile
from simulator.session.rpc import Frame
from simulator.station.events import Event


def chargesim(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


def frame(ts, direction, raw, station="S1"):
    return Frame(ts, station, direction, "ocpp1.6", raw)


def event(kind, station="S1"):
    return Event(0.0, station, kind, None, "")


def test_percentile_is_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0
    assert percentile([5.0], 99) == 5.0


def test_latency_memory_is_bounded_and_the_sample_stays_representative(monkeypatch):
    import simulator.run_summary as rs
    monkeypatch.setattr(rs, "LATENCY_SAMPLES", 1000)
    s = RunStats()
    for i in range(20_000):               # latencies 0..19999 s in order
        s.on_frame(frame(0.0, "out", f'[2,"{i}","Heartbeat",{{}}]'))
        s.on_frame(frame(float(i), "in", f'[3,"{i}",{{}}]'))
    assert s.replies == 20_000 and len(s.latencies) == 1000
    assert 8_000 < percentile(s.latencies, 50) < 12_000   # the median of the whole run
    assert s.totals()["latency_ms"]["count"] == 20_000


def test_stats_count_frames_and_events():
    s = RunStats(expected=2)
    s.on_frame(frame(1.0, "out", '[2,"1","BootNotification",{}]'))
    s.on_frame(frame(1.5, "in", '[3,"1",{"status":"Accepted"}]'))
    s.on_frame(frame(2.0, "out", '[2,"2","Heartbeat",{}]'))
    s.on_frame(frame(2.1, "in", '[4,"2","InternalError","",{}]'))
    s.on_frame(frame(3.0, "in", '[2,"c1","Reset",{"type":"Soft"}]'))
    s.on_frame(frame(3.1, "out", '[4,"c1","NotImplemented","",{}]'))
    s.on_frame(frame(3.2, "in", "not json"))
    for kind in ("connected", "tx_started", "disconnected", "queued", "connected", "sent_held",
                 "error", "tx_stopped", "tx_started"):
        s.on_event(event(kind))
    t = s.totals([Outcome("S1", ok=True, energy_wh=7), Outcome("S2", energy_wh=None)])
    assert t["energy_wh"] == 7
    assert t["messages_sent"] == {"BootNotification": 1, "Heartbeat": 1}
    assert t["messages_received"] == {"Reset": 1}
    assert t["callerrors"] == {"received": 1, "sent": 1}
    assert t["reconnects"] == 1
    assert t["transactions"] == {"started": 2, "stopped": 1}
    assert t["offline"] == {"queued": 1, "delivered": 1, "dropped": 0}
    assert t["latency_ms"]["count"] == 2
    assert t["latency_ms"]["p99"] == 500.0
    assert s.running == 1
    line = s.progress_line(12)
    assert "1/2 stations connected" in line and "1 transactions running" in line
    assert "2 messages sent" in line and "2 errors" in line
    text = "\n".join(s.summary_lines())
    assert "CALLERRORs: 1 received, 1 sent" in text and "reconnects: 1" in text
    assert "offline messages: 1 queued, 1 delivered" in text


async def test_progress_is_a_live_line_on_a_terminal_and_plain_lines_otherwise():
    s = RunStats(expected=1)
    tty = io.StringIO()
    live = Progress(s, tty, live=True, interval=3600)
    live.start()
    live.print("event line")
    await live.stop()
    out = tty.getvalue()
    assert "\r\x1b[K" in out and "event line\n" in out and "stations connected" in out
    assert out.endswith("\r\x1b[K")    # the live line is gone when the run ends

    log = io.StringIO()
    plain = Progress(s, log, live=False, interval=3600)
    plain.start()
    plain.print("event line")
    await plain.stop()
    assert log.getvalue() == "event line\n"   # no control characters in a log
    assert Progress(s, io.StringIO()).live is False


def test_run_prints_totals_and_writes_them_to_json(tmp_path):
    report = tmp_path / "run.json"
    result = chargesim("run", "--stations", "2", "--seconds", "1", "--json", str(report),
                       "--progress", "0")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "energy delivered:" in out and "transactions: 2 started, 2 stopped" in out
    assert "messages sent:" in out and "StartTransaction 2" in out
    assert "latency: p50" in out
    data = json.loads(report.read_text())
    assert (data["passed"], data["failed"]) == (2, 0)
    assert [s["station"] for s in data["stations"]] == ["SIM-00001", "SIM-00002"]
    totals = data["totals"]
    assert totals["transactions"] == {"started": 2, "stopped": 2}
    assert totals["messages_sent"]["BootNotification"] == 2
    assert totals["energy_wh"] == sum(s["energy_wh"] for s in data["stations"])
    assert totals["latency_ms"]["count"] == sum(totals["messages_sent"].values())


def test_verbose_keeps_the_hub_log_apart(tmp_path):
    hub_log = tmp_path / "hub.log"
    result = chargesim("run", "--seconds", "0.5", "-v", "--hub-log", str(hub_log))
    assert result.returncode == 0, result.stderr
    assert "hub_under_test" not in result.stderr + result.stdout
    assert "hub_under_test" in hub_log.read_text()
    result = chargesim("run", "--seconds", "0.5", "-v")
    hub_lines = [ln for ln in result.stderr.splitlines() if "hub_under_test" in ln]
    assert hub_lines and all(ln.startswith("[hub] ") for ln in hub_lines)


def _subparser(name):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sub.choices[name]


@pytest.mark.parametrize("command", ["run", "station", "templates", "tui"])
def test_every_option_has_a_help_line(command):
    try:
        parser = _subparser(command)
    except KeyError:
        pytest.skip(f"no `{command}` command on this branch")
    missing = [a.option_strings or a.dest for a in parser._actions
               if a.help in (None, "") and a.help is not argparse_suppress()]
    assert not missing, missing


def argparse_suppress():
    import argparse
    return argparse.SUPPRESS


def test_run_help_explains_its_modes_and_exit_codes():
    text = _subparser("run").format_help()
    assert "Two modes" in text and "chargesim run PATH" in text
    assert "exit codes" in text and "130" in text
    assert "--state-dir" in text and "--hub-log" in text and "--progress" in text


def test_state_dir_on_the_command_line_reaches_the_station(tmp_path):
    from simulator.cli import _options
    args = build_parser().parse_args(["run", "--state-dir", str(tmp_path)])
    assert _options(args).state_dir == str(tmp_path)
    args = build_parser().parse_args(["station", "--template", "ac-11kw", "--state-dir",
                                      str(tmp_path)])
    from simulator.template_cli import stations_from_yaml
    [(_, options)] = stations_from_yaml(args, ["S1"])
    assert options.state_dir == str(tmp_path)


def test_a_template_state_dir_gets_no_probe_file(tmp_path, capsys):
    from simulator.cli_checks import probe_options
    state = tmp_path / "D"
    template = tmp_path / "t.yaml"
    template.write_text(f"vendor: X\nmodel: Y\nconnectors: 1\noptions:\n  state_dir: {state}\n")
    from simulator.templates.loader import load_template
    options = load_template(str(template), station_id="S1", n=1)   # runs the template check
    assert options.state_dir == str(state)
    probe_options(options, "ws://127.0.0.1/ocpp", "S1")             # the CLI's own probe
    assert not (state / "template-check.offline.jsonl").exists()
    assert not state.exists() or not any(state.iterdir())
