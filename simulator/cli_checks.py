"""Checks on the options of `chargesim run` / `chargesim station`, before anything starts.

A bad value ends the command with one line on stderr that names the option, the value and
what would be valid, and exit code 2 (argparse's own usage errors use the same code); no
traceback is reachable from the command line for a value a user typed.
"""
from __future__ import annotations

import argparse
import os
import string
import sys


class OneLineParser(argparse.ArgumentParser):
    """argparse's own errors (a bad int, an unknown option) as one line too, exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class UsageError(Exception):
    """A bad command-line value; its text is the one line shown to the user."""


def _fail(option: str, value, valid: str) -> None:
    raise UsageError(f"{option} {value}: {valid}")


def _pattern(option: str, pattern: str, count: int) -> list[str]:
    """The values of an {n} pattern for stations 1..count."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
        bad = [f for f in fields if f != "n"]
        if bad:
            _fail(option, repr(pattern), f"unknown placeholder {{{bad[0]}}}; the only one is "
                                         f"{{n}}, the station number (e.g. SIM-{{n:05d}})")
        return [pattern.format(n=n) for n in range(1, count + 1)]
    except (ValueError, IndexError, KeyError) as e:
        _fail(option, repr(pattern), f"not a valid pattern ({e}); use {{n}} for the station "
                                     f"number, e.g. SIM-{{n:05d}}")
    raise AssertionError  # unreachable


def _pem_file(option: str, path: str) -> None:
    if not os.path.isfile(path):
        _fail(option, path, "no such file; give a PEM file")
    try:
        with open(path, encoding="ascii") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        _fail(option, path, f"cannot read it as a PEM file ({e.__class__.__name__})")
    if "-----BEGIN " not in text:
        _fail(option, path, "not a PEM file (no -----BEGIN line)")


def check_station_args(a, command: str) -> None:
    """Raise UsageError for the first bad value of the options shared by run and station."""
    templated = bool(getattr(a, "template", None) or getattr(a, "fleet", None))
    if not templated:
        if a.connectors < 1:
            _fail("--connectors", a.connectors, "a station has at least 1 connector")
        if not a.max_power > 0:
            _fail("--max-power", a.max_power, "the power per connector must be > 0 W")
        # BootNotification's chargePointVendor / chargePointModel are CiString20 in OCPP 1.6
        for option, value in (("--vendor", a.vendor), ("--model", a.model)):
            if not 1 <= len(value) <= 20:
                _fail(option, repr(value), f"1 to 20 characters (BootNotification), not "
                                           f"{len(value)}")
    if not a.call_timeout > 0:
        _fail("--call-timeout", a.call_timeout, "must be > 0 seconds")
    if not a.call_timeout < float("inf") or not a.max_power < float("inf"):
        _fail("--call-timeout" if a.call_timeout == float("inf") else "--max-power", "inf",
              "give a finite number")
    profile = a.security_profile
    url = a.csms
    soap_url = (url or "").startswith(("http://", "https://"))
    if getattr(a, "protocol", None) == "ocpp1.5" or (soap_url and templated
                                                     and getattr(a, "protocol", None) is None):
        _check_soap_args(a, templated)     # (a template may say protocol: ocpp1.5)
        return _check_watch_args(a, command)
    if soap_url and command == "run" and getattr(a, "paths", None):
        return _check_watch_args(a, command)   # scenario files say each station's protocol
    if soap_url:
        _fail("--csms", url, "an http:// URL is an OCPP 1.5 SOAP CentralSystemService: add "
                             "--protocol ocpp1.5, or give a ws:// or wss:// URL")
    if url is not None and not url.startswith(("ws://", "wss://")):
        _fail("--csms", url, "a CSMS URL starts with ws:// or wss:// (http:// is for "
                             "--protocol ocpp1.5)")
    if profile in (1, 2):
        if not a.password:
            _fail("--security-profile", profile, f"profile {profile} needs --password "
                                                 "(16 to 40 printable ASCII characters)")
        if not (16 <= len(a.password) <= 40 and all("\x21" <= ch <= "\x7e" for ch in a.password)):
            # the password itself is not echoed
            _fail("--password", f"({len(a.password)} characters)",
                  "must be 16 to 40 printable ASCII characters without spaces")
    if url is not None:
        secure = url.startswith("wss://")
        if profile <= 1 and secure:
            _fail("--csms", url, f"security profile {profile} connects over ws://; use a ws:// "
                                 "URL, or --security-profile 2 or 3 for wss://")
        if profile >= 2 and not secure:
            _fail("--csms", url, f"security profile {profile} is TLS: use a wss:// URL")
    elif profile >= 2 and not templated:
        _fail("--security-profile", profile, "TLS needs --csms wss://URL (the bundled hub "
                                             "started in-process speaks ws://)")
    if profile >= 2 and not a.ca:
        _fail("--security-profile", profile, "TLS needs --ca PEM to check the CSMS's certificate")
    for ca in a.ca:
        _pem_file("--ca", ca)
    if profile == 3 and not (a.client_cert and a.client_key):
        _fail("--security-profile", 3, "mutual TLS needs --client-cert and --client-key")
    if bool(a.client_cert) != bool(a.client_key):
        _fail("--client-cert" if a.client_cert else "--client-key",
              a.client_cert or a.client_key, "give both --client-cert and --client-key")
    for option, path in (("--client-cert", a.client_cert), ("--client-key", a.client_key)):
        if path:
            _pem_file(option, path)
    _check_watch_args(a, command)


def _check_soap_args(a, templated: bool) -> None:
    """OCPP 1.5 SOAP: an http(s) CentralSystemService URL, a callback port that can be."""
    url = a.csms
    if url is not None and not url.startswith(("http://", "https://")):
        _fail("--csms", url, "an OCPP 1.5 CentralSystemService URL starts with http:// or "
                             "https://")
    if a.security_profile:
        _fail("--security-profile", a.security_profile, "the 1.5 SOAP station has no "
                                                       "security profiles")
    if not 0 <= a.callback_port <= 65535:
        _fail("--callback-port", a.callback_port, "a TCP port: 0 (any free one) to 65535")
    if a.callback_url and not a.callback_url.startswith(("http://", "https://")):
        _fail("--callback-url", a.callback_url, "the ChargePointService URL starts with "
                                                "http:// or https://")


def _check_watch_args(a, command: str) -> None:
    state_dir = getattr(a, "state_dir", None)
    if state_dir is not None and os.path.exists(state_dir) and not os.path.isdir(state_dir):
        _fail("--state-dir", state_dir, "exists and is not a folder")
    for option in ("--hub-log", "--json", "--junit", "--record"):
        path = getattr(a, option[2:].replace("-", "_"), None)
        if path:
            parent = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(parent):
                _fail(option, path, f"no folder {parent} to write it in")
            if os.path.isdir(path):
                _fail(option, path, "is a folder; give a file name")
    progress = getattr(a, "progress", None)
    if progress is not None and not progress >= 0:
        _fail("--progress", progress, "seconds between updates, >= 0 (0: none)")
    if command == "run":
        _check_run(a)
    elif command == "station":
        ids = a.ids or []
        seen = set()
        for i in ids:
            if _bad_id(i):
                _fail("--id", repr(i), _ID_RULE)
            if i in seen:
                _fail("--id", i, "given twice; each station needs its own id")
            seen.add(i)


def _check_run(a) -> None:
    if a.paths:    # scenario files: their own options
        return
    if a.stations < 1:
        _fail("--stations", a.stations, "run at least 1 station")
    if not 0 < a.seconds < float("inf"):
        _fail("--seconds", a.seconds, "each session charges for > 0 seconds")
    if a.sample_interval < 1:
        _fail("--sample-interval", a.sample_interval, "the meter sample interval is >= 1 s")
    fleet = getattr(a, "fleet", None)
    if not fleet:
        ids = _pattern("--id-pattern", a.id_pattern, a.stations)
        if len(set(ids)) != len(ids):
            _fail("--id-pattern", repr(a.id_pattern),
                  f"gives two of the {len(ids)} stations the same id {_first_duplicate(ids)!r};"
                  f" ids must be unique: include {{n}}, e.g. SIM-{{n:05d}}")
        for i in ids:
            if _bad_id(i):
                _fail("--id-pattern", repr(a.id_pattern), f"gives the id {i!r}; {_ID_RULE}")
    _pattern("--tag", a.tag, max(a.stations, 1))


_ID_RULE = "a station id is the last segment of its URL: not empty, no '/', '?', '#', '%' or spaces"


def _bad_id(station_id: str) -> bool:
    return not station_id or any(ch in "/?#%" or ch.isspace() for ch in station_id)


def _first_duplicate(ids: list[str]) -> str:
    seen = set()
    for i in ids:
        if i in seen:
            return i
        seen.add(i)
    return ""


def report(prog: str, error: UsageError) -> int:
    print(f"{prog}: error: {error}", file=sys.stderr)
    return 2


def probe_options(options, url: str, station_id: str) -> None:
    """The engine's own checks on the options (e.g. a template's meter units with a flag),
    turned into a usage error instead of a traceback later."""
    import dataclasses

    from .dialects import make_station
    try:   # without state_dir: a probe leaves no files behind
        make_station(station_id, url, dataclasses.replace(options, state_dir=None))
    except (ValueError, TypeError, OSError) as e:
        raise UsageError(f"these options do not make a station: {e}") from None
