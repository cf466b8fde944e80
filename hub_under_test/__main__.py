"""python -m hub_under_test: run the bundled hub until Ctrl-C."""
from __future__ import annotations

import argparse
import asyncio

from . import logs, security
from .hub import DUPLICATE_POLICIES, HubConfig, serve_forever
from .manager import UNKNOWN_STATION_POLICIES


def _record_bytes(text: str) -> int:
    value = int(text) if text.isdigit() else -1
    if value < 1024:
        raise argparse.ArgumentTypeError(f"expected a number of bytes of at least 1024, got {text!r}")
    return value


def parse_args(argv=None, prog="python -m hub_under_test") -> tuple[HubConfig, tuple[str, str]]:
    """The hub's configuration and the logging options (level, format)."""
    d = HubConfig()
    p = argparse.ArgumentParser(prog=prog,
                                description="Run the bundled OCPP hub (CSMS).")
    p.add_argument("--host", default=d.host)
    p.add_argument("--port", type=int, default=d.port, help="OCPP WebSocket port (0: any free)")
    p.add_argument("--api-port", type=int, default=d.api_port, help="HTTP API port (0: any free)")
    p.add_argument("--soap-port", type=int, default=d.soap_port,
                   help="OCPP 1.5 SOAP port, serving /ocpp15/CentralSystemService (0: any free; default: off)")
    p.add_argument("--db", default=d.db_path, help="SQLite file, or a postgresql:// URL (default: SQLite in memory)")
    p.add_argument("--heartbeat-interval", type=int, default=d.heartbeat_interval)
    p.add_argument("--unknown-stations", choices=UNKNOWN_STATION_POLICIES, default=d.unknown_stations)
    p.add_argument("--duplicate-policy", choices=DUPLICATE_POLICIES, default=d.duplicate_policy)
    p.add_argument("--fallback-version", default=None,
                   help="OCPP version for clients that offer no subprotocol (e.g. ocpp1.6)")
    p.add_argument("--mode", choices=("strict", "lenient"), default=d.mode)
    p.add_argument("--call-timeout", type=float, default=d.call_timeout)
    p.add_argument("--tag", action="append", default=[], metavar="ID[:STATUS]",
                   help="seed an id tag (repeatable), e.g. --tag 04A2B3:Accepted")
    p.add_argument("--write-delay", type=float, default=d.write_delay, metavar="SECONDS",
                   help="meter values are written in one transaction this long after the "
                        "first one queued (default %(default)s; 0: at once)")
    p.add_argument("--allow-concurrent-tags", action="store_true",
                   help="let one id tag charge at several connectors at once (no ConcurrentTx)")
    p.add_argument("--accept-unknown-tags", action="store_true",
                   help="answer Accepted for id tags the hub does not know")
    p.add_argument("--rate-limit", type=float, default=d.rate_limit, metavar="PER_S",
                   help=f"inbound frames a second per station, above that paced (0: off; "
                        f"default {d.rate_limit:g})")
    p.add_argument("--rate-burst", type=int, default=d.rate_burst,
                   help=f"frames a station may send above the rate at once (default {d.rate_burst})")
    p.add_argument("--max-frame", type=int, default=d.max_frame, metavar="BYTES",
                   help=f"larger frames close the connection with 1009 (default {d.max_frame})")
    p.add_argument("--handshake-timeout", type=float, default=d.handshake_timeout, metavar="S",
                   help=f"TCP connect to WebSocket open (default {d.handshake_timeout:g})")
    p.add_argument("--idle-timeout", type=float, default=d.idle_timeout, metavar="S",
                   help="close a station silent this long (default 3 heartbeat intervals; 0: never)")
    p.add_argument("--max-connections-per-source", type=int, default=d.max_connections_per_source,
                   metavar="N", help="per remote IP, loopback exempt (default "
                                     f"{d.max_connections_per_source}; 0: no limit)")
    p.add_argument("--amqp", metavar="URL", default=None,
                   help="publish domain events to RabbitMQ, e.g. amqp://guest:guest@localhost:5672/ "
                        "(default: in-process only)")
    p.add_argument("--amqp-exchange", default=d.amqp_exchange, metavar="NAME",
                   help="the durable topic exchange events go to (default %(default)s)")
    p.add_argument("--record", metavar="FILE.jsonl", default=None,
                   help="record every station's frames (docs/recording-format.md)")
    p.add_argument("--record-max-bytes", type=_record_bytes, default=None, metavar="N",
                   help="rotate the recording when it would pass N bytes (FILE.1, FILE.2 ...)")
    p.add_argument("--record-keep", type=int, default=d.record_keep, metavar="K",
                   help="rotated recording files kept (default %(default)s)")
    p.add_argument("--log-level", default="INFO")
    p.add_argument("--log-format", choices=logs.LOG_FORMATS, default="text",
                   help="json: one object per line, CALLERRORs with station, action, code, why")
    security.add_arguments(p)
    a = p.parse_args(argv)
    tags = {}
    for item in a.tag:
        id_tag, _, status = item.partition(":")
        tags[id_tag] = status or "Accepted"
    config = HubConfig(host=a.host, port=a.port, api_port=a.api_port, soap_port=a.soap_port, db_path=a.db,
                       heartbeat_interval=a.heartbeat_interval, unknown_stations=a.unknown_stations,
                       duplicate_policy=a.duplicate_policy, fallback_version=a.fallback_version,
                       mode=a.mode, call_timeout=a.call_timeout, tags=tags,
                       write_delay=a.write_delay, allow_concurrent_tags=a.allow_concurrent_tags,
                       accept_unknown_tags=a.accept_unknown_tags,
                       rate_limit=a.rate_limit, rate_burst=a.rate_burst, max_frame=a.max_frame,
                       handshake_timeout=a.handshake_timeout, idle_timeout=a.idle_timeout,
                       max_connections_per_source=a.max_connections_per_source,
                       amqp_url=a.amqp, amqp_exchange=a.amqp_exchange,
                       record_path=a.record, record_max_bytes=a.record_max_bytes,
                       record_keep=a.record_keep,
                       **security.config_from_args(a))
    return config, (a.log_level, a.log_format)


def main(argv=None, prog="python -m hub_under_test") -> None:
    config, (level, log_format) = parse_args(argv, prog)
    logs.configure(level, log_format)
    try:
        import uvloop
        run = uvloop.run
    except ImportError:
        run = asyncio.run
    try:
        run(serve_forever(config))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
