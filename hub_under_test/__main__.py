"""python -m hub_under_test: run the bundled hub until Ctrl-C."""
from __future__ import annotations

import argparse
import asyncio
import errno
import os
import socket
import sqlite3
import sys

from . import logs, security
from .hub import DUPLICATE_POLICIES, HubConfig, serve_forever
from .manager import UNKNOWN_STATION_POLICIES
from .store import TAG_STATUSES
from .store.db import is_postgres

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class UsageError(Exception):
    """A bad option value: said in one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):   # one line, no usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(kind, low=None, high=None, *, low_open=False):
    """An argparse type: `kind` within [low, high] (low excluded with low_open)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if low is not None and (value <= low if low_open else value < low):
            raise argparse.ArgumentTypeError(
                f"{text} is too small: must be {'above' if low_open else 'at least'} {low:g}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{text} is too large: at most {high:g}")
        return value
    return parse


_PORT = _number(int, 0, 65535)


def _record_bytes(text: str) -> int:
    value = int(text) if text.isdigit() else -1
    if value < 1024:
        raise argparse.ArgumentTypeError(f"expected a number of bytes of at least 1024, got {text!r}")
    return value


def parse_args(argv=None, prog="python -m hub_under_test") -> tuple[HubConfig, tuple[str, str]]:
    """The hub's configuration and the logging options (level, format)."""
    p = build_parser(prog)
    a = p.parse_args(argv)
    return config_from_args(p, a), (a.log_level, a.log_format)


def build_parser(prog: str = "python -m hub_under_test") -> argparse.ArgumentParser:
    d = HubConfig()
    p = _Parser(prog=prog, description="Run the bundled OCPP hub (CSMS).")
    p.add_argument("--host", default=d.host,
                   help="address to listen on, OCPP and API (default %(default)s; 0.0.0.0: all)")
    p.add_argument("--port", type=_PORT, default=d.port,
                   help="OCPP WebSocket port (default %(default)s; 0: any free)")
    p.add_argument("--api-port", type=_PORT, default=d.api_port,
                   help="HTTP API port (default %(default)s; 0: any free)")
    p.add_argument("--soap-port", type=_PORT, default=d.soap_port,
                   help="OCPP 1.5 SOAP port, serving /ocpp15/CentralSystemService "
                        "(0: any free; default: off)")
    p.add_argument("--db", default=d.db_path, metavar="FILE|URL",
                   help="SQLite file, or a postgresql:// URL (default: SQLite in memory)")
    p.add_argument("--heartbeat-interval", type=_number(int, 1), default=d.heartbeat_interval,
                   metavar="S", help="seconds, sent in BootNotification replies (default "
                                     "%(default)s)")
    p.add_argument("--unknown-stations", choices=UNKNOWN_STATION_POLICIES, default=d.unknown_stations,
                   help="answer to a BootNotification from a station the operator did not "
                        "register (default %(default)s)")
    p.add_argument("--duplicate-policy", choices=DUPLICATE_POLICIES, default=d.duplicate_policy,
                   help="a second connection with a connected station's id: replace the old "
                        "one or reject the new (default %(default)s)")
    p.add_argument("--fallback-version", default=None,
                   help="OCPP version for clients that offer no subprotocol (e.g. ocpp1.6)")
    p.add_argument("--mode", choices=("strict", "lenient"), default=d.mode,
                   help="strict: CALLERROR for invalid payloads; lenient: repair what is "
                        "safe and mark it (default %(default)s)")
    p.add_argument("--call-timeout", type=_number(float, 0, low_open=True),
                   default=d.call_timeout, metavar="S",
                   help="seconds to wait for a station's reply to a command (default %(default)s)")
    p.add_argument("--tag", action="append", default=[], metavar="ID[:STATUS]",
                   help="seed an id tag (repeatable), e.g. --tag 04A2B3:Accepted; STATUS is "
                        f"one of {', '.join(TAG_STATUSES)}")
    p.add_argument("--write-delay", type=_number(float, 0), default=d.write_delay, metavar="SECONDS",
                   help="meter values are written in one transaction this long after the "
                        "first one queued (default %(default)s; 0: at once)")
    p.add_argument("--allow-concurrent-tags", action="store_true",
                   help="let one id tag charge at several connectors at once (no ConcurrentTx)")
    p.add_argument("--accept-unknown-tags", action="store_true",
                   help="answer Accepted for id tags the hub does not know")
    p.add_argument("--rate-limit", type=_number(float, 0), default=d.rate_limit, metavar="PER_S",
                   help=f"inbound frames a second per station, above that paced (0: off; "
                        f"default {d.rate_limit:g})")
    p.add_argument("--rate-burst", type=_number(int, 1), default=d.rate_burst, metavar="N",
                   help=f"frames a station may send above the rate at once (default {d.rate_burst})")
    p.add_argument("--max-frame", type=_number(int, 1), default=d.max_frame, metavar="BYTES",
                   help=f"larger frames close the connection with 1009 (default {d.max_frame})")
    p.add_argument("--max-queue", type=_number(int, 1), default=d.max_queue, metavar="FRAMES",
                   help="frames buffered per connection before the hub stops reading it "
                        f"(default {d.max_queue})")
    p.add_argument("--ping-interval", type=_number(float, 0), default=d.ping_interval, metavar="S",
                   help="WebSocket ping every S seconds, the connection closed when the pong "
                        f"takes as long (default {d.ping_interval:g}; 0: no pings)")
    p.add_argument("--frames-kept", type=_number(int, 0), default=d.frames_kept, metavar="N",
                   help="frames kept per station for /stations/{id}/frames and the debug page "
                        f"(default {d.frames_kept}; 0: none)")
    p.add_argument("--store-frames", action="store_true",
                   help="also persist every frame in and out to the store (table frames), "
                        "written behind in the meter values' transactions; off by default "
                        "(two rows, a CALL and its answer, for every message)")
    p.add_argument("--frames-total", type=_number(int, 1), default=d.frames_total, metavar="N",
                   help="frames kept for all stations together, bounding the frame log's "
                        f"memory (default {d.frames_total})")
    p.add_argument("--handshake-timeout", type=_number(float, 0, low_open=True),
                   default=d.handshake_timeout, metavar="S",
                   help=f"TCP connect to WebSocket open (default {d.handshake_timeout:g})")
    p.add_argument("--idle-timeout", type=_number(float, 0), default=d.idle_timeout, metavar="S",
                   help="close a station silent this long (default 3 heartbeat intervals; 0: never)")
    p.add_argument("--max-connections-per-source", type=_number(int, 0),
                   default=d.max_connections_per_source,
                   metavar="N", help="per remote IP, loopback exempt (default "
                                     f"{d.max_connections_per_source}; 0: no limit)")
    p.add_argument("--amqp", metavar="URL", default=None,
                   help="publish domain events to RabbitMQ, e.g. amqp://guest:guest@localhost:5672/ "
                        "(default: in-process only; with --workers: the local broker)")
    p.add_argument("--amqp-exchange", default=d.amqp_exchange, metavar="NAME",
                   help="the durable topic exchange events go to (default %(default)s)")
    p.add_argument("--record", metavar="FILE.jsonl", default=None,
                   help="record every station's frames (docs/recording-format.md)")
    p.add_argument("--record-max-bytes", type=_record_bytes, default=None, metavar="N",
                   help="rotate the recording when it would pass N bytes (FILE.1, FILE.2 ...)")
    p.add_argument("--record-keep", type=_number(int, 0), default=d.record_keep, metavar="K",
                   help="rotated recording files kept (default %(default)s)")
    p.add_argument("--workers", type=_number(int, 1, 256), default=d.workers, metavar="N",
                   help="run N OCPP worker processes sharing the port (SO_REUSEPORT) behind "
                        "one API, commands routed over RabbitMQ (--amqp, default the local "
                        "broker); needs a shared --db (a file or postgresql://)")
    p.add_argument("--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS,
                   help="log threshold (default %(default)s)")
    p.add_argument("--log-format", choices=logs.LOG_FORMATS, default="text",
                   help="json: one object per line, CALLERRORs with station, action, code, why")
    security.add_arguments(p)
    return p


def config_from_args(p: argparse.ArgumentParser, a: argparse.Namespace) -> HubConfig:
    """The HubConfig the options describe; a bad value is `p.error` (one line, exit 2)."""
    tags = {}
    for item in a.tag:
        id_tag, _, status = item.partition(":")
        status = status or "Accepted"
        if status not in TAG_STATUSES:
            p.error(f"argument --tag: {item!r}: status {status!r} is not one of "
                    f"{', '.join(TAG_STATUSES)}")
        if not 1 <= len(id_tag) <= 20:
            p.error(f"argument --tag: {item!r}: an id tag is 1 to 20 characters")
        tags[id_tag] = status
    for option in ("tls_cert", "tls_key", "tls_client_ca", "ca_cert", "ca_key"):
        path = getattr(a, option)
        if path is not None and not os.path.isfile(path):
            p.error(f"argument --{option.replace('_', '-')}: {path!r}: no such file "
                    "(a PEM file is expected)")
    if a.amqp is not None and not a.amqp.startswith(("amqp://", "amqps://")):
        p.error(f"argument --amqp: {a.amqp!r} is not an amqp:// or amqps:// URL")
    if a.fallback_version is not None:
        from .adapters import SUPPORTED_VERSIONS
        if a.fallback_version not in SUPPORTED_VERSIONS:
            p.error(f"argument --fallback-version: {a.fallback_version!r} is not one of "
                    f"{', '.join(SUPPORTED_VERSIONS)}")
    if a.workers > 1 and a.db == ":memory:":
        p.error("argument --workers: several workers need a store they share: --db FILE or "
                "--db postgresql://…, not the in-memory default")
    try:
        secure = security.config_from_args(a)
    except SystemExit as e:   # its own checks say what is wrong in one line
        if isinstance(e.code, str):
            p.error(e.code)
        raise
    config = HubConfig(host=a.host, port=a.port, api_port=a.api_port, soap_port=a.soap_port,
                       db_path=a.db,
                       heartbeat_interval=a.heartbeat_interval, unknown_stations=a.unknown_stations,
                       duplicate_policy=a.duplicate_policy, fallback_version=a.fallback_version,
                       mode=a.mode, call_timeout=a.call_timeout, tags=tags,
                       write_delay=a.write_delay, allow_concurrent_tags=a.allow_concurrent_tags,
                       accept_unknown_tags=a.accept_unknown_tags,
                       rate_limit=a.rate_limit, rate_burst=a.rate_burst, max_frame=a.max_frame,
                       max_queue=a.max_queue, ping_interval=a.ping_interval or None,
                       frames_kept=a.frames_kept, frames_total=a.frames_total,
                       store_frames=a.store_frames,
                       handshake_timeout=a.handshake_timeout, idle_timeout=a.idle_timeout,
                       max_connections_per_source=a.max_connections_per_source,
                       amqp_url=a.amqp, amqp_exchange=a.amqp_exchange, workers=a.workers,
                       record_path=a.record, record_max_bytes=a.record_max_bytes,
                       record_keep=a.record_keep,
                       **secure)
    try:
        config.check()
    except ValueError as e:
        p.error(str(e))
    return config


def preflight(config: HubConfig) -> None:
    """What would fail at start with a traceback, checked first (UsageError: one line)."""
    ports = [("--port", config.port), ("--api-port", config.api_port)]
    if config.port and config.port == config.api_port:
        raise UsageError(f"--api-port {config.api_port}: the same port as --port; give "
                         "another (or 0 for any free one)")
    for option, port in ports:
        if not port:
            continue
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((config.host, port))
            except OSError as e:
                why = ("in use" if e.errno == errno.EADDRINUSE
                       else e.strerror or str(e))
                raise UsageError(f"{option} {port}: cannot listen on {config.host}:{port} "
                                 f"({why}); choose another port (0: any free one)") from None
    if config.record_path:
        folder = os.path.dirname(os.path.abspath(config.record_path))
        if not os.path.isdir(folder):
            raise UsageError(f"--record {config.record_path}: the directory {folder} does not "
                             "exist")
    db = config.db_path
    if db != ":memory:" and not is_postgres(db):
        folder = os.path.dirname(os.path.abspath(db))
        if not os.path.isdir(folder):
            raise UsageError(f"--db {db}: the directory {folder} does not exist (a SQLite "
                             "file path, or a postgresql:// URL)")
        try:
            con = sqlite3.connect(db)
            try:
                con.execute("PRAGMA schema_version")
            finally:
                con.close()
        except sqlite3.Error as e:
            raise UsageError(f"--db {db}: cannot open it as a SQLite database ({e})") from None


def _fail(prog: str, message: str):
    print(f"{prog}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def main(argv=None, prog="python -m hub_under_test") -> None:
    config, (level, log_format) = parse_args(argv, prog)
    try:
        preflight(config)
    except UsageError as e:
        _fail(prog, str(e))
    logs.configure(level, log_format)
    try:
        import uvloop
        run = uvloop.run
    except ImportError:
        run = asyncio.run
    refusals: tuple[type[Exception], ...] = (UsageError,)
    if config.workers > 1:
        from .workers import WorkerUsageError, serve_workers
        serving = serve_workers(config, config.workers, level, log_format)
        refusals += (WorkerUsageError,)
    else:
        serving = serve_forever(config)
    from simulator.gc_tuning import tune_for_many_connections
    try:
        tune_for_many_connections()   # a hub holds thousands of connections (gc_tuning.py)
    except ValueError as e:
        _fail(prog, str(e))
    try:
        run(serving)
    except KeyboardInterrupt:
        pass
    except refusals as e:
        _fail(prog, str(e))
    except (OSError, ConnectionError, sqlite3.Error, RuntimeError) as e:
        # the start failed on something the checks could not see first (a port taken in
        # the meantime, a PostgreSQL server or broker not answering): one line, exit 2
        _fail(prog, f"cannot start the hub: {e}")


if __name__ == "__main__":
    main()
