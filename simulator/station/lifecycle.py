"""The station's lifecycle as one explicit state machine.

    off ─start─▶ connecting ─link up─▶ booting ─▶ pending | rejected | accepted
                     ▲                              (Boot answer; pending/rejected boot again
                     │                               at the CSMS's interval)
                     │          accepted ─link lost─▶ offline ─link up─▶ accepted
                     │                                         (registered: no new boot, 1.6)
    resetting ───────┘  (reboot: then connect again)      powered_off ─power up─▶ connecting

Every state can go to off (stop) and powered_off (power cut); the table below holds the
rest.  A move the table does not allow is a bug and raises; every move is reported to the
station (an event) and wakes whoever waits for that state.
"""
from __future__ import annotations

import asyncio
import enum
from typing import Callable

from .errors import StationError


class State(enum.StrEnum):
    OFF = "off"
    CONNECTING = "connecting"     # opening the link (retried with backoff)
    BOOTING = "booting"           # link up, BootNotification not answered yet
    PENDING = "pending"           # the CSMS said Pending: boot again at its interval
    REJECTED = "rejected"         # the CSMS said Rejected: boot again at its interval
    ACCEPTED = "accepted"         # registered and connected: the station may send
    OFFLINE = "offline"           # the link dropped: reconnecting with backoff
    RESETTING = "resetting"       # rebooting (Reset, firmware): then connecting
    POWERED_OFF = "powered_off"   # no power: nothing runs until power_up()


class Registration(enum.StrEnum):
    """The CSMS's answer to the station's boot, in the station's words."""
    ACCEPTED = "accepted"
    PENDING = "pending"
    REJECTED = "rejected"


S = State
_ALWAYS = {S.OFF, S.POWERED_OFF}
TRANSITIONS: dict[State, set[State]] = {
    S.OFF: {S.CONNECTING, S.POWERED_OFF},
    S.CONNECTING: {S.BOOTING, S.ACCEPTED, S.OFFLINE, S.RESETTING, *_ALWAYS},
    S.BOOTING: {S.PENDING, S.REJECTED, S.ACCEPTED, S.OFFLINE, S.RESETTING, *_ALWAYS},
    S.PENDING: {S.PENDING, S.REJECTED, S.ACCEPTED, S.OFFLINE, S.RESETTING, *_ALWAYS},
    S.REJECTED: {S.PENDING, S.REJECTED, S.ACCEPTED, S.OFFLINE, S.RESETTING, *_ALWAYS},
    S.ACCEPTED: {S.PENDING, S.REJECTED, S.OFFLINE, S.RESETTING, *_ALWAYS},
    S.OFFLINE: {S.BOOTING, S.ACCEPTED, S.RESETTING, *_ALWAYS},
    S.RESETTING: {S.CONNECTING, *_ALWAYS},
    S.POWERED_OFF: {S.CONNECTING, S.OFF},
}
# The station is switched on and means to be connected (stop() and power cuts end that).
RUNNING = frozenset(set(State) - {S.OFF, S.RESETTING, S.POWERED_OFF})


class IllegalLifecycleMove(StationError):
    def __init__(self, old: State, new: State):
        super().__init__(f"lifecycle: {old} -> {new} is not a move the station makes")
        self.old, self.new = old, new


class Lifecycle:
    def __init__(self, on_move: Callable[[State, State, str], None] | None = None):
        self.state = State.OFF
        self._on_move = on_move
        self._waiters: list[tuple[State, asyncio.Future]] = []

    def __eq__(self, other) -> bool:   # lifecycle == State.ACCEPTED reads naturally
        return self.state == other if isinstance(other, (State, str)) else NotImplemented

    __hash__ = object.__hash__

    @property
    def running(self) -> bool:
        return self.state in RUNNING

    def move(self, new: State, why: str = "") -> None:
        old = self.state
        if new == old and new not in TRANSITIONS[old]:
            return   # already there (e.g. a second stop)
        if new not in TRANSITIONS[old]:
            raise IllegalLifecycleMove(old, new)
        self.state = new
        if self._on_move is not None:
            self._on_move(old, new, why)
        still = []
        for state, fut in self._waiters:
            if fut.done():
                continue
            if state == new:
                fut.set_result(new)
            else:
                still.append((state, fut))
        self._waiters = still

    async def reached(self, state: State) -> None:
        """Return once the lifecycle is in `state` (at once if it is)."""
        if self.state == state:
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append((state, fut))
        await fut
