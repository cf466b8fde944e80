"""The recording options every driver shares (`--record FILE`, `--record-max-bytes N`,
`--record-keep K`) and the recorder they make (simulator/session/recording.py)."""
from __future__ import annotations

import argparse


def max_bytes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of bytes, got {text!r}") from None
    if value < 1024:
        raise argparse.ArgumentTypeError(f"must be at least 1024 bytes, got {value}")
    return value


def keep(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of files, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def add_record_args(p: argparse.ArgumentParser, *, with_path: bool = True) -> None:
    if with_path:
        p.add_argument("--record", metavar="FILE.jsonl",
                       help="record every frame (docs/recording-format.md)")
    p.add_argument("--record-max-bytes", type=max_bytes, default=None, metavar="N",
                   help="rotate the recording when it would pass N bytes: FILE becomes FILE.1 "
                        "(at least 1024; default: never)")
    p.add_argument("--record-keep", type=keep, default=5, metavar="K",
                   help="rotated recording files kept (default %(default)s)")


def recorder_from_args(args, *, scenario: str | None = None):
    """A Recorder for `--record`, or None; ValueError names a bad option."""
    if not getattr(args, "record", None):
        return None
    from .session.recording import Recorder
    return Recorder(args.record, scenario=scenario, max_bytes=args.record_max_bytes,
                    keep=args.record_keep)
