"""What a log leaves unsaid, taken from the protocol: decoding, the direction of a frame
without a marker, whose log a marked log is, and which CALL a reply answers."""
from __future__ import annotations

import dataclasses

from ..protocol import (CHARGE_POINT, CSMS, V16, V201, VERSIONS, Call, CallError, CallResult,
                        Message, ProtocolViolation, catalog, decode)
from .prefix import RECEIVED, SENT
from .records import IN, OUT, LoggedFrame, LogRead

STATION_VIEW, CSMS_VIEW = "station", "csms"
PERSPECTIVES = (STATION_VIEW, CSMS_VIEW)


def decode_frame(raw: str) -> tuple[Message | None, str | None]:
    try:
        return decode(raw), None
    except ProtocolViolation as e:
        return None, e.description


def initiator_direction(action: str, protocol: str | None) -> str | None:
    """OUT for an action only stations initiate, IN for one only the CSMS does, else None."""
    for version in ([protocol] if protocol in VERSIONS else [V16, V201]):
        actions = catalog(version)
        spec = actions.get(actions.canonical_name(action) or "")
        if spec is None:
            continue
        if spec.initiators == {CHARGE_POINT}:
            return OUT
        if spec.initiators == {CSMS}:
            return IN
        return None                # both ways (DataTransfer)
    return None


def marker_direction(marker: str, perspective: str) -> str:
    """A marker says what the log's writer did; the station's view depends on who wrote it."""
    sent_by_station = (marker == SENT) == (perspective == STATION_VIEW)
    return OUT if sent_by_station else IN


def perspective_vote(marker: str, frame: LoggedFrame) -> str | None:
    """Whose log this line says it is: a CALL of a one-sided action tells who sent it."""
    if not isinstance(frame.message, Call):
        return None
    sender = initiator_direction(frame.message.action, frame.protocol)
    if sender is None:
        return None
    writer_sent = marker == SENT
    return STATION_VIEW if (sender == OUT) == writer_sent else CSMS_VIEW


def correlate(frames: list[LoggedFrame], read: LogRead) -> list[LoggedFrame]:
    """Fill in each frame's action (a reply gets that of its CALL, matched by unique id per
    station) and, where the log gave no direction, infer it: a CALL from the action's
    initiator, a reply as the opposite of its CALL.  A frame still without direction is
    reported."""
    pending: dict[tuple[str | None, str], LoggedFrame] = {}
    done = []
    for frame in frames:
        message, direction, action = frame.message, frame.direction, frame.action
        if isinstance(message, Call):
            action = message.action
            direction = direction or initiator_direction(action, frame.protocol)
        elif isinstance(message, (CallResult, CallError)):
            call = pending.pop((frame.station, message.unique_id), None)
            if call is not None:
                action = call.action
                if direction is None and call.direction is not None:
                    direction = IN if call.direction == OUT else OUT
        if direction is None:
            read.problem(frame.line, _why_no_direction(frame))
        frame = dataclasses.replace(frame, direction=direction, action=action)
        if isinstance(message, Call):
            pending[(frame.station, message.unique_id)] = frame
        done.append(frame)
    return done


def _why_no_direction(frame: LoggedFrame) -> str:
    if isinstance(frame.message, Call):
        return (f"direction unknown: no marker, and {frame.message.action} is not initiated "
                f"by one side only")
    if isinstance(frame.message, (CallResult, CallError)):
        return (f"direction unknown: no marker, and no CALL with id "
                f"{frame.message.unique_id!r} before it")
    return "direction unknown: no marker, and the frame does not decode"
