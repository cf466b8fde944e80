"""Reading frame logs (simulator.replay): every layout from the samples in recordings/,
direction in the station's vocabulary, inference and id correlation, problems by line."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from simulator.protocol import Call, CallError, CallResult
from simulator.replay import (CHARGESIM, HUB_EXPORT, IN, OCPP_J, OUT, SOAP, LogError,
                              SoapMessage, read_log, read_text)
from simulator.scenario.recording import Recorder
from simulator.session import Frame

SAMPLES = Path(__file__).resolve().parent.parent / "recordings"


def _whys(result) -> dict[int, str]:
    return {p.line: p.why for p in result.problems}


# -- each layout, from the samples ------------------------------------------------------

def test_charger_log_with_markers():
    log = read_log(SAMPLES / "charger-1.6-session.log", station="CS-0042", protocol="ocpp1.6")
    assert (log.layout, log.detected, log.perspective) == (OCPP_J, True, "station")
    assert log.problems == []
    assert len(log.frames) == 24
    boot, accepted = log.frames[:2]
    assert (boot.line, boot.direction, boot.action, boot.station) == (1, OUT, "BootNotification", "CS-0042")
    assert boot.timestamp == datetime(2026, 11, 28, 8, 0, 0, 120000, tzinfo=timezone.utc)
    assert isinstance(accepted.message, CallResult) and accepted.direction == IN
    assert accepted.action == "BootNotification"          # the reply knows its CALL
    change = log.frames[6]                                  # `<<`: the CSMS asks the charger
    assert (change.direction, change.action) == (IN, "ChangeConfiguration")
    assert log.frames[7].direction == OUT
    assert [f.direction for f in log.frames].count(OUT) == 12
    assert boot.protocol == "ocpp1.6"


def test_raw_text_kept_exactly():
    text = '2026-11-28T08:00:00Z >>  [2, "a",  "heartBeat" ,{ }]  \n'
    frame = read_text(text).frames[0]
    assert frame.raw == '[2, "a",  "heartBeat" ,{ }]'
    assert isinstance(frame.message, Call) and frame.message.action == "heartBeat"


def test_csms_log_with_station_ids_and_send_recv():
    log = read_log(SAMPLES / "csms-multi-station.log")
    assert (log.layout, log.perspective) == (OCPP_J, "csms")
    assert log.problems == []
    assert {f.station for f in log.frames} == {"CS-0042", "CS-0107"}
    by_line = {f.line: f for f in log.frames}
    assert by_line[1].direction == OUT                      # RECV by the CSMS: the station sent it
    assert by_line[5].direction == IN and by_line[5].action == "GetConfiguration"
    assert isinstance(by_line[10].message, CallError) and by_line[10].action == "Reset"
    assert by_line[10].direction == OUT
    assert by_line[11].direction == OUT                     # DataTransfer: the marker tells
    assert by_line[1].timestamp == datetime(2026, 11, 28, 9, 15, 2, 114000, tzinfo=timezone.utc)


def test_our_recording():
    log = read_log(SAMPLES / "chargesim-recording.jsonl")
    assert (log.layout, log.header["version"]) == (CHARGESIM, 1)
    assert log.problems == []
    assert [f.line for f in log.frames] == list(range(2, 11))
    assert log.frames[4].direction == IN and log.frames[4].action == "RemoteStartTransaction"
    assert log.frames[-1].note.startswith("dropped:") and log.frames[-1].action is None
    assert {f.scenario for f in log.frames} == {"remote-start"}


def test_hub_export_turns_the_hubs_view_round():
    log = read_log(SAMPLES / "hub-export-CS-0042.json", station="CS-0042")
    assert log.layout == HUB_EXPORT and log.problems == []
    assert [(f.direction, f.action) for f in log.frames[:4]] == [
        (OUT, "BootNotification"), (IN, "BootNotification"),
        (IN, "GetConfiguration"), (OUT, "GetConfiguration")]
    assert {f.station for f in log.frames} == {"CS-0042"}
    assert [e.text for e in log.events] == ["connected from 10.1.2.3:51234 (ocpp1.6)",
                                            "closed by hub: 1000"]
    assert log.frames[0].line == 9                          # the entry's line in the file


def test_hub_export_as_served_on_one_line():
    entries = json.loads((SAMPLES / "hub-export-CS-0042.json").read_text())
    log = read_text(json.dumps(entries, separators=(",", ":")), station="CS-0042")
    assert log.layout == HUB_EXPORT and len(log.frames) == 6 and log.problems == []


def test_soap_dump():
    log = read_log(SAMPLES / "soap-1.5-session.xml")
    assert log.layout == SOAP and log.problems == []
    boot, reply, remote, remote_reply = log.frames
    assert isinstance(boot.message, SoapMessage)
    assert (boot.direction, boot.action, boot.protocol, boot.station) == (
        OUT, "BootNotification", "ocpp1.5", "CP-15-0007")
    assert boot.message.message_id == "urn:uuid:2f1c0d5e-8a31-4b8e-9d1a-5b7c3e9f0a01"
    assert reply.message.is_response and reply.direction == IN
    assert reply.message.relates_to == boot.message.message_id
    assert reply.raw.startswith("<s:Envelope") and reply.raw.endswith("</s:Envelope>")
    assert (remote.direction, remote.message.service) == (IN, "ChargePoint")
    assert remote_reply.direction == OUT and remote_reply.station == "CP-15-0007"  # via RelatesTo
    assert boot.line == 2 and remote.line == 33


def test_soap_matches_namespaces_not_prefixes():
    xml = ('<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
           'xmlns:wsa="urn:not-addressing" xmlns:x="http://www.w3.org/2005/08/addressing">'
           '<e:Header><wsa:Action>/Wrong</wsa:Action><x:Action>/Heartbeat</x:Action></e:Header>'
           '<e:Body><heartbeatRequest xmlns="urn://Ocpp/Cs/2012/06/"/></e:Body></e:Envelope>\n')
    frame = read_text(xml).frames[0]
    assert frame.action == "Heartbeat" and frame.direction == OUT


def test_soap_refuses_a_dtd():
    xml = ('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaa">]>\n'
           '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&a;</s:Body>'
           '</s:Envelope>\n')
    log = read_text(xml, layout=SOAP)
    assert log.frames[0].message is None and "DTD" in log.problems[0].why


def test_soap_truncated_envelope():
    text = (SAMPLES / "soap-1.5-session.xml").read_text().split("<soapenv")[0][:900]
    log = read_text(text, layout=SOAP)
    assert any("truncated SOAP envelope" in p.why for p in log.problems)


# -- direction inference and id correlation ---------------------------------------------

def test_bare_frames_direction_from_the_catalog_and_ids():
    log = read_log(SAMPLES / "bare-frames.txt")
    assert log.layout == OCPP_J and log.perspective is None
    assert [f.direction for f in log.frames[:6]] == [OUT, IN, IN, OUT, OUT, IN]
    assert log.frames[3].action == "TriggerMessage"        # the reply, matched by id
    assert log.frames[6].direction is None and log.frames[7].direction is None  # DataTransfer
    assert set(_whys(log)) == {7, 8}
    assert "DataTransfer" in _whys(log)[7]


def test_ids_correlate_per_station():
    text = ('CS-A [2,"1","Heartbeat",{}]\n'
            'CS-B [2,"1","RemoteStopTransaction",{"transactionId":3}]\n'
            'CS-B [3,"1",{"status":"Accepted"}]\n'
            'CS-A [3,"1",{"currentTime":"2026-11-28T08:00:00Z"}]\n')
    frames = read_text(text).frames
    assert [(f.station, f.direction, f.action) for f in frames] == [
        ("CS-A", OUT, "Heartbeat"), ("CS-B", IN, "RemoteStopTransaction"),
        ("CS-B", OUT, "RemoteStopTransaction"), ("CS-A", IN, "Heartbeat")]


@pytest.mark.parametrize("sent, received", [(">>", "<<"), ("->", "<-"), ("OUT", "IN"),
                                            ("SEND", "RECV"), ("TX", "RX"),
                                            ("sent", "received")])
def test_markers_and_perspective(sent, received):
    text = (f'2026-11-28 08:00:00 {sent} [2,"1","DataTransfer",{{"vendorId":"x"}}]\n'
            f'2026-11-28 08:00:01 {received} [3,"1",{{"status":"Accepted"}}]\n')
    as_station = read_text(text, perspective="station").frames
    as_csms = read_text(text, perspective="csms").frames
    assert [f.direction for f in as_station] == [OUT, IN]
    assert [f.direction for f in as_csms] == [IN, OUT]


def test_perspective_unknown_when_no_line_tells():
    log = read_text('>> [2,"1","DataTransfer",{"vendorId":"x"}]\n<< [3,"1",{}]\n')
    assert log.perspective is None
    assert any("pass perspective=" in p.why for p in log.problems if p.line == 1)
    assert [f.direction for f in log.frames] == [None, None]


def test_marker_against_the_majority_is_reported():
    text = ('>> [2,"1","BootNotification",{"chargePointVendor":"a","chargePointModel":"b"}]\n'
            '>> [2,"2","Heartbeat",{}]\n'
            '<< [2,"3","StatusNotification",{"connectorId":1,"errorCode":"NoError",'
            '"status":"Available"}]\n')
    log = read_text(text)
    assert log.perspective == "station"
    assert log.frames[2].direction == IN                   # the marker is believed, and reported
    assert "disagrees" in _whys(log)[3]


# -- prefixes in the orders and separators logs print ------------------------------------

@pytest.mark.parametrize("prefix, ts", [
    ("2026-11-28T08:00:00.250Z >> CS-1 ", "2026-11-28T08:00:00.250000+00:00"),
    ("2026-11-28 09:00:00.250+01:00\tCS-1\t>>\t", "2026-11-28T08:00:00.250000+00:00"),
    ("[2026-11-28 08:00:00,250] [CS-1] >> ", "2026-11-28T08:00:00.250000+00:00"),
    ("1795852800.25 | CS-1 | OUT | ", "2026-11-28T08:00:00.250000+00:00"),
    ("1795852800250 CS-1: SEND: ", "2026-11-28T08:00:00.250000+00:00"),
    ("CS-1 -> [1795852800] ", "2026-11-28T08:00:00+00:00"),
    ("[2026-11-28T08:00:00.250123456Z] DEBUG CS-1 TX ", "2026-11-28T08:00:00.250123+00:00"),
])
def test_prefix_layouts(prefix, ts):
    frame = read_text(prefix + '[2,"1","Heartbeat",{}]\n', perspective="station").frames[0]
    assert (frame.station, frame.direction, frame.timestamp.isoformat()) == ("CS-1", OUT, ts)


# -- problems with line numbers -----------------------------------------------------------

def test_malformed_log_reports_every_line_and_keeps_going():
    log = read_log(SAMPLES / "malformed-truncated.log")
    whys = _whys(log)
    assert sorted(whys) == [3, 4, 5, 6, 7, 8, 11]
    assert whys[3].startswith("not a JSON array")
    assert whys[4] == "unknown direction marker 'FOO'"
    assert "not valid JSON" in whys[5]
    assert whys[6] == "CALL must have 4 elements, got 3"
    assert "mixed layouts" in whys[7]
    assert whys[8].startswith("no OCPP-J frame")
    assert whys[11] == "truncated frame (log cut mid-write?)"
    assert str(log.problems[0]).endswith("malformed-truncated.log:3: " + whys[3])
    # nothing lost: the lines around the bad ones are read, broken frames kept raw
    assert [f.line for f in log.frames] == [1, 2, 4, 5, 6, 9, 10]
    assert log.frames[2].direction == OUT                  # FOO: direction from the catalog
    assert log.frames[4].message is None and log.frames[4].raw == '[2,"m3","Heartbeat"]'


def test_prefix_that_breaks_the_layout():
    text = ('2026-11-28T08:00:00Z >> CS-1 [2,"1","Heartbeat",{}]\n'
            '2026-11-28T08:00:01Z << CS-1 [3,"1",{"currentTime":"2026-11-28T08:00:01Z"}]\n'
            '2026-11-28T08:00:02Z [2,"2","Heartbeat",{}]\n'
            'yesterday >> CS-1 [2,"3","Heartbeat",{}]\n')
    log = read_text(text)
    whys = _whys(log)
    assert "does not fit the layout" in whys[3]
    assert whys[4] == "unreadable timestamp 'yesterday'"
    assert len(log.frames) == 4 and log.frames[3].timestamp is None


def test_recording_problems():
    header = json.dumps({"format": "chargesim-recording", "version": 1})
    good = json.dumps({"ts": 1.0, "station": "S", "direction": "out", "raw": '[2,"1","Heartbeat",{}]'})
    text = "\n".join([header, good, '[2,"x","Heartbeat",{}]', '{"ts": 2, "raw": "[]"}',
                      json.dumps({"ts": 3, "direction": "up", "raw": "[]"}), "[1, 2", good[:30]])
    log = read_text(text, source="run.jsonl")
    assert _whys(log) == {
        3: "an OCPP-J frame line, not a recording record (mixed layouts?)",
        4: "missing field(s) direction",
        5: "direction must be 'out' or 'in', got 'up'",
        6: "an OCPP-J frame line, not a recording record (mixed layouts?)",
        7: "truncated line (recording cut mid-write?)"}
    assert [f.line for f in log.frames] == [2]


def test_recording_of_another_version_is_refused():
    text = json.dumps({"format": "chargesim-recording", "version": 2}) + "\n"
    with pytest.raises(LogError, match="version 2 is not supported"):
        read_text(text)
    with pytest.raises(LogError, match="no header line"):
        read_text('{"ts": 1, "direction": "out", "raw": "[]"}\n', layout=CHARGESIM)


def test_truncated_hub_export():
    text = (SAMPLES / "hub-export-CS-0042.json").read_text()[:1000]
    log = read_text(text, station="CS-0042")
    assert log.frames and log.problems[-1].why.startswith("truncated export")


# -- layout detection ---------------------------------------------------------------------

@pytest.mark.parametrize("name, layout", [
    ("charger-1.6-session.log", OCPP_J), ("csms-multi-station.log", OCPP_J),
    ("bare-frames.txt", OCPP_J), ("chargesim-recording.jsonl", CHARGESIM),
    ("hub-export-CS-0042.json", HUB_EXPORT), ("soap-1.5-session.xml", SOAP),
    ("malformed-truncated.log", OCPP_J)])
def test_detection(name, layout):
    log = read_log(SAMPLES / name)
    assert (log.layout, log.detected) == (layout, True)


def test_explicit_layout_and_unknown_input():
    log = read_log(SAMPLES / "bare-frames.txt", layout=OCPP_J)
    assert log.detected is False
    with pytest.raises(LogError, match="unknown layout 'csv'"):
        read_text("[2,\"1\",\"Heartbeat\",{}]\n", layout="csv")
    with pytest.raises(LogError, match="no known layout"):
        read_text("hello\nworld\n", source="notes.txt")
    with pytest.raises(LogError, match="perspective"):
        read_text("[2,\"1\",\"Heartbeat\",{}]\n", perspective="hub")


def test_soap_dump_read_as_ocpp_j_says_mixed():
    log = read_log(SAMPLES / "soap-1.5-session.xml", layout=OCPP_J)
    assert log.frames == [] and "mixed layouts" in _whys(log)[2]


# -- round trip with the recorder ---------------------------------------------------------

def test_recorder_round_trip(tmp_path):
    frames = [Frame(1795852800.123456, "CS-1", "out", "ocpp1.6", '[2,"1","Heartbeat",{}]'),
              Frame(1795852800.2, "CS-1", "in", "ocpp1.6",
                    '[3,"1",{"currentTime":"2026-11-28T08:00:00Z"}]'),
              Frame(1795852801.0, "CS-1", "in", "ocpp1.6", '[2, "é", broken', "rejected: not JSON")]
    with Recorder(tmp_path / "r.jsonl", scenario="s") as recorder:
        for frame in frames:
            recorder.tap(frame)
    log = read_log(tmp_path / "r.jsonl")
    read_back = [Frame(f.ts, f.station, f.direction, f.protocol, f.raw, f.note) for f in log.frames]
    assert [(f.station, f.direction, f.version, f.raw, f.note) for f in read_back] == \
           [(f.station, f.direction, f.version, f.raw, f.note) for f in frames]
    assert [f.timestamp for f in log.frames] == [
        datetime.fromtimestamp(round(f.ts, 6), timezone.utc) for f in frames]
    assert {f.scenario for f in log.frames} == {"s"}
    assert log.frames[2].message is None and list(_whys(log)) == [4]


def test_hub_export_followed_by_frame_lines_says_mixed():
    text = (SAMPLES / "hub-export-CS-0042.json").read_text() + '[2,"1","Heartbeat",{}]\n'
    log = read_text(text, station="CS-0042")
    assert len(log.frames) == 6 and "mixed layouts" in _whys(log)[59]


def test_bytes_that_are_not_utf8_are_reported_not_fatal(tmp_path):
    path = tmp_path / "latin1.log"
    path.write_bytes(b'>> [2,"1","Authorize",{"idTag":"M\xfcller"}]\n'
                     b'<< [3,"1",{"idTagInfo":{"status":"Accepted"}}]\n')
    log = read_log(path)
    assert len(log.frames) == 2 and list(_whys(log)) == [1] and "not UTF-8" in _whys(log)[1]


def test_numeric_station_id_is_not_a_timestamp():
    frame = read_text('0000012345 >> [2,"1","Heartbeat",{}]\n').frames[0]
    assert frame.station == "0000012345" and frame.timestamp is None


def test_stray_word_in_a_log_without_station_ids():
    text = '>> [2,"1","Heartbeat",{}]\n<< [3,"1",{"currentTime":"2026-11-28T08:00:00Z"}]\n' \
           'oops >> [2,"2","Heartbeat",{}]\n'
    log = read_text(text, station="CS-9")
    assert [f.station for f in log.frames] == ["CS-9"] * 3 and "does not fit" in _whys(log)[3]


def test_soap_envelope_cut_before_the_next_one():
    lines = (SAMPLES / "soap-1.5-session.xml").read_text().split("\n")
    cut = lines[:10] + lines[17:]          # the BootNotification loses its body and end tag
    log = read_text("\n".join(cut), layout=SOAP)
    assert "truncated SOAP envelope (the next one starts on line 12" in _whys(log)[2]
    assert [f.action for f in log.frames] == ["BootNotification", "RemoteStartTransaction",
                                              "RemoteStartTransaction"]
    assert log.frames[0].message.is_response
