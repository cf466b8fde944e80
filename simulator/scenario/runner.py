"""Run loaded scenarios on engine stations against the bundled hub or any CSMS.

One run of a scenario: start a hub for it (unless a CSMS URL is given), build its stations,
boot those that boot at the start, execute the steps (each with a timeout; `parallel` and
parallel `for_each` with a task group), stop everything, and return a `ScenarioResult` with
every step's outcome and, for a failure, the frames around it.
"""
from __future__ import annotations

import asyncio
import os
import time
from collections import ChainMap
from dataclasses import dataclass, field
from typing import Callable

from ..session import CallErrorReceived, CallTimeout, InvalidResponse, SessionClosed
from ..protocol import OcppError
from ..station import Station, StationError
from ..dialects.ocpp16 import names as names16   # scenarios speak 1.6 names
from ..station.lifecycle import State
from ..station.transaction import StopReason
from . import assertions, templating
from .csms_trigger import CallErrorAnswer, make_trigger
from .errors import StepFailed, TemplateError
from .framelog import CALL, ERROR, FrameLog, RESULT
from .loader import HUB_VARIABLE, firmware_file
from .model import CONTAINERS, WAITS, Scenario, Step, describe
from .stations import build_station, come_online, go_offline, power_loss

DEFAULTS = {"interval_scale": 0.05, "step_timeout": 10.0, "timeout": 120.0}
# What a failing engine call raises; a step turns these into a failure with the reason.
_ENGINE_ERRORS = (StationError, CallErrorReceived, CallTimeout, InvalidResponse, SessionClosed,
                  OcppError, OSError)

Progress = Callable[[str, dict], None]


@dataclass
class StepResult:
    label: str
    kind: str
    line: int
    depth: int
    status: str = "passed"          # passed | failed
    duration: float = 0.0
    message: str | None = None


@dataclass
class ScenarioResult:
    name: str
    path: str
    status: str = "passed"          # passed | failed
    duration: float = 0.0
    steps: list[StepResult] = field(default_factory=list)
    failure: str | None = None
    failed_step: StepResult | None = None
    frames: list[str] = field(default_factory=list)   # around the failure
    tags: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def where(self) -> str:
        if self.failed_step is not None and self.failed_step.line:
            return f"{self.path}:{self.failed_step.line}"
        return self.path


class _Abort(Exception):
    """A step failed; its StepResult is recorded."""


@dataclass
class _Cursor:
    """Where waits start looking: the start of the last action step, moved past each frame
    a wait matched (so successive waits read forward).  Shared by the steps of a sequence;
    each parallel branch gets its own."""
    mark: int = 0                     # frame index
    mark_ts: float = 0.0              # event time


@dataclass
class _Ctx:
    vars: ChainMap
    station: str | None = None        # the current station of a for_each over stations
    cursor: _Cursor = field(default_factory=_Cursor)
    depth: int = 0

    @property
    def mark(self) -> int:
        return self.cursor.mark

    def child(self, branch: bool = False, **extra) -> "_Ctx":
        cursor = _Cursor(self.cursor.mark, self.cursor.mark_ts) if branch else self.cursor
        return _Ctx(self.vars.new_child(extra) if extra else self.vars, self.station, cursor,
                    self.depth + 1)


class ScenarioRun:
    def __init__(self, scenario: Scenario, *, csms_url: str | None = None, taps=(),
                 progress: Progress | None = None, trigger: dict | None = None):
        self.scenario = scenario
        # a trigger given for the run (CLI) serves scenarios that configure none
        self.trigger_config = scenario.csms.trigger or trigger or {}
        self.options = {**DEFAULTS, **scenario.options}
        self.csms_url = csms_url or scenario.csms.url
        self.taps = list(taps)
        self.progress = progress or (lambda kind, data: None)
        self.frames = FrameLog()
        self.stations: dict[str, Station] = {}
        self.hub = None
        self.trigger = None
        self.root: dict = {}
        self.result = ScenarioResult(scenario.name, scenario.path, tags=list(scenario.tags))
        self._background: list[asyncio.Task] = []

    # -- the run --------------------------------------------------------------------------
    async def run(self) -> ScenarioResult:
        start = time.monotonic()
        self.progress("scenario_start", {"name": self.scenario.name, "path": self.scenario.path})
        try:
            await asyncio.wait_for(self._body(), self.options["timeout"])
        except _Abort:
            pass
        except asyncio.TimeoutError:
            self._fail_scenario(f"the scenario did not finish within {self.options['timeout']:g}s")
        except Exception as e:  # setup failed (hub, stations): the scenario fails, the run goes on
            self._fail_scenario(f"{type(e).__name__}: {e}")
        finally:
            await self._teardown()
            self.result.duration = time.monotonic() - start
            self.progress("scenario_end", {"result": self.result})
        return self.result

    async def _body(self) -> None:
        sc = self.scenario
        from .catalog_checks import V15, StationFacts
        versions = StationFacts(sc).versions
        soap_url = None
        if self.csms_url is None:
            from hub_under_test.hub import Hub
            # OCPP 1.5 stations talk to the hub's SOAP CentralSystemService
            self.hub = Hub(hub_config(sc, soap=V15 in versions.values()))
            await self.hub.start()
            url, soap_url = self.hub.url, self.hub.soap_url
        else:
            url = self.csms_url
            if sc.hub_refs:  # before anything connects
                self._record_failure(
                    StepResult("needs the bundled hub", "setup", sc.hub_refs[0], 0),
                    f"${{{HUB_VARIABLE}...}} (line {sc.hub_refs[0]}) is the bundled hub's "
                    f"address, but this run uses the CSMS at {url}: run this scenario "
                    f"against the bundled hub (no --csms), or give the location of that "
                    f"CSMS's file server instead")
                raise _Abort()
        self.trigger = make_trigger(self.hub, self.trigger_config)
        env = dict(os.environ)
        self.root.update({"env": env, "scenario": {"name": sc.name, "path": sc.path},
                          "csms": {"url": url}})
        if self.hub is not None:
            self.root[HUB_VARIABLE] = {"url": self.hub.url, "api_url": self.hub.api_url,
                                       "soap_url": self.hub.soap_url}
        for name, value in sc.variables.items():
            self.root[name] = templating.render(value, self.root)
        for spec in sc.stations:
            station = build_station(spec, soap_url if soap_url and versions[spec.id] == V15
                                    else url, self.options)
            station.taps.append(self.frames.tap)
            station.taps.extend(self.taps)
            self.stations[spec.id] = station
        boot = [s for s in sc.stations if s.boot]
        if boot:
            timeout = self.options["step_timeout"]
            step = StepResult(f"boot {', '.join(s.id for s in boot)}", "setup", 0, 0)
            t0 = time.monotonic()
            results = await asyncio.gather(*(self.stations[s.id].start(timeout=timeout)
                                             for s in boot), return_exceptions=True)
            step.duration = time.monotonic() - t0
            errors = [f"{s.id}: {r}" for s, r in zip(boot, results) if isinstance(r, BaseException)]
            if errors:
                self._record_failure(step, "boot failed: " + "; ".join(errors))
                raise _Abort()
            self.result.steps.append(step)
        ctx = _Ctx(ChainMap(self.root))
        await self._steps(sc.steps, ctx)

    async def _teardown(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        # Transactions still running are ended (reason Other), so a CSMS shared by many runs
        # is left clean: the next run's tag is not answered ConcurrentTx.
        await asyncio.gather(*(s.stop(reason=StopReason.OTHER if s.online else None)
                               for s in self.stations.values()), return_exceptions=True)
        if self.hub is not None:
            await self.hub.stop()

    def _fail_scenario(self, message: str) -> None:
        self.result.status = "failed"
        if self.result.failure is None:
            self.result.failure = message
            self.result.frames = [e.line() for e in self.frames.around(time.time())]

    def _record_failure(self, step: StepResult, message: str) -> None:
        step.status, step.message = "failed", message
        self.result.steps.append(step)
        if self.result.failure is None:
            self.result.status = "failed"
            self.result.failure = message
            self.result.failed_step = step
            self.result.frames = [e.line() for e in self.frames.around(time.time())]
        self.progress("step_end", {"step": step})

    # -- steps ------------------------------------------------------------------------------
    async def _steps(self, steps: list[Step], ctx: _Ctx) -> None:
        for step in steps:
            await self._step(step, ctx)

    async def _step(self, step: Step, ctx: _Ctx) -> None:
        if step.kind in CONTAINERS:
            await getattr(self, f"_do_{step.kind}")(step, ctx)
            return
        result = StepResult(step.label, step.kind, step.line, ctx.depth)
        t0 = time.monotonic()
        if step.kind not in WAITS:
            ctx.cursor.mark, ctx.cursor.mark_ts = len(self.frames.entries), time.time()
        try:
            args = templating.render(step.args, ctx.vars)
            if not step.name:
                result.label = describe(step.kind, args)
            within = templating.render(step.within, ctx.vars)
            timeout = float(args.get("timeout", self.options["step_timeout"])) \
                if isinstance(args, dict) else self.options["step_timeout"]
            handler = getattr(self, f"_do_{step.kind}")
            if step.kind == "sleep":
                await handler(args, ctx, timeout)
            else:
                # a step's own waiting time (power off for `duration`, quiet `for`) comes on top
                extra = sum(float(args.get(k) or 0) for k in ("duration", "for")) \
                    if isinstance(args, dict) else 0.0
                try:
                    await asyncio.wait_for(handler(args, ctx, timeout), timeout + extra + 1)
                except asyncio.TimeoutError:
                    raise StepFailed(f"no outcome within {timeout:g}s") from None
            result.duration = time.monotonic() - t0
            if within is not None and result.duration > float(within):
                raise StepFailed(f"took {result.duration:.3f}s, more than within: {within}")
            at_least = templating.render(step.at_least, ctx.vars)
            if at_least is not None and result.duration < float(at_least):
                raise StepFailed(f"took {result.duration:.3f}s, less than at_least: {at_least}")
        except (StepFailed, TemplateError) as e:
            result.duration = time.monotonic() - t0
            self._record_failure(result, str(e))
            raise _Abort() from None
        except _ENGINE_ERRORS as e:
            result.duration = time.monotonic() - t0
            self._record_failure(result, f"{type(e).__name__}: {e}")
            raise _Abort() from None
        self.result.steps.append(result)
        self.progress("step_end", {"step": result})

    # -- containers -----------------------------------------------------------------------------
    async def _do_do(self, step: Step, ctx: _Ctx) -> None:
        await self._steps(step.children, ctx.child())

    async def _do_repeat(self, step: Step, ctx: _Ctx) -> None:
        times = int(templating.render(step.args["times"], ctx.vars))
        name = step.args.get("as")
        for i in range(1, times + 1):
            await self._steps(step.children, ctx.child(**({name: i} if name else {})))

    async def _do_for_each(self, step: Step, ctx: _Ctx) -> None:
        args = step.args
        if "stations" in args:
            items = self._station_list(templating.render(args["stations"], ctx.vars))
        else:
            items = templating.render(args["items"], ctx.vars)
            if not isinstance(items, list):
                self._record_failure(StepResult(step.label, step.kind, step.line, ctx.depth),
                                     f"for_each items must be a list, got {items!r}")
                raise _Abort()
        def branch(item, parallel=False) -> _Ctx:
            c = ctx.child(parallel, **{args["as"]: item})
            if "stations" in args:
                c.station = item
            return c
        if args.get("parallel"):
            await self._gather([self._steps(step.children, branch(i, True)) for i in items])
        else:
            for item in items:
                await self._steps(step.children, branch(item))

    async def _do_parallel(self, step: Step, ctx: _Ctx) -> None:
        await self._gather([self._step(child, ctx.child(True)) for child in step.children])

    async def _gather(self, coros) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for coro in coros:
                    group.create_task(coro)
        except BaseExceptionGroup as eg:
            if eg.subgroup(_Abort) is not None:
                raise _Abort() from None
            raise eg.exceptions[0] from None

    def _station_list(self, ref) -> list[str]:
        refs = [ref] if isinstance(ref, str) else list(ref)
        out = []
        for r in refs:
            if r == "all":
                out += list(self.stations)
            elif r in self.scenario.groups:
                out += self.scenario.groups[r]
            else:
                out.append(r)
        return out

    # -- helpers ----------------------------------------------------------------------------------
    def _station(self, args, ctx: _Ctx) -> Station:
        sid = args if isinstance(args, str) else (args.get("station") if isinstance(args, dict) else None)
        if sid is None:
            sid = ctx.station
        if sid is None:
            if len(self.stations) == 1:
                return next(iter(self.stations.values()))
            raise StepFailed("which station? give `station:`")
        station = self.stations.get(str(sid))
        if station is None:
            raise StepFailed(f"unknown station {sid!r}; stations: {', '.join(self.stations)}")
        return station

    @staticmethod
    def _connector(args) -> int:
        value = args.get("connector", 1) if isinstance(args, dict) else 1
        try:
            return int(value)
        except (TypeError, ValueError):
            raise StepFailed(f"connector must be a number, got {value!r}") from None

    def _save(self, args, value) -> None:
        if isinstance(args, dict) and args.get("save"):
            self.root[args["save"]] = value

    @staticmethod
    def _expect(actual, expectation, what: str) -> None:
        if not expectation:
            return
        problems = assertions.check(actual, expectation)
        if problems:
            raise StepFailed(f"{what}: " + "; ".join(problems) + f" — got {actual!r}"[:600])

    def _since(self, args, ctx: _Ctx) -> int:
        return 0 if args.get("since") == "start" else ctx.mark

    # -- station actions ------------------------------------------------------------------------
    async def _do_boot(self, args, ctx, timeout):
        st = self._station(args, ctx)
        expect = args.get("expect", "Accepted") if isinstance(args, dict) else "Accepted"
        if expect == "Accepted":
            await st.start(timeout=timeout)
            return
        want = names16.REGISTRATION_OF[expect]
        booted = st.expect("boot", where=lambda e: e.data.get("status") == want)
        task = asyncio.create_task(st.start(timeout=3600), name=f"{st.id}-scenario-boot")
        self._background.append(task)
        await asyncio.wait_for(booted, timeout)

    async def _do_shutdown(self, args, ctx, timeout):
        await self._station(args, ctx).stop()

    async def _do_plug_in(self, args, ctx, timeout):
        soc = args.get("soc") if isinstance(args, dict) else None
        await self._station(args, ctx).plug_in(self._connector(args),
                                               soc=float(soc) if soc is not None else None)

    async def _do_unplug(self, args, ctx, timeout):
        await self._station(args, ctx).unplug(self._connector(args))

    async def _do_present_tag(self, args, ctx, timeout):
        result = await self._station(args, ctx).present_tag(self._connector(args), str(args["tag"]))
        want = args.get("expect")
        if want is not None:
            allowed = want if isinstance(want, list) else [want]
            if result not in allowed:
                raise StepFailed(f"presenting {args['tag']} gave {result}, expected "
                                 f"{' or '.join(allowed)}")
        self._save(args, {"result": result})

    async def _do_start_charging(self, args, ctx, timeout):
        st, cid, tag = self._station(args, ctx), self._connector(args), str(args["tag"])
        if not st.connectors[cid].plugged:
            await st.plug_in(cid)
        started = st.expect("tx_started", cid)
        result = await st.present_tag(cid, tag)
        if result != "Started":
            started.cancel()
            raise StepFailed(f"presenting {tag} did not start charging: {result}")
        event = await asyncio.wait_for(started, timeout)
        want = args.get("expect", "Accepted")
        if event.data["status"] != want:
            raise StepFailed(f"StartTransaction answered idTagInfo {event.data['status']}, "
                             f"expected {want}")
        self._save(args, {"transactionId": event.data["transaction_id"], "idTag": tag,
                          "connectorId": cid, "status": event.data["status"],
                          "meterStart": event.data.get("meter_start")})

    async def _do_stop_charging(self, args, ctx, timeout):
        st, cid = self._station(args, ctx), self._connector(args)
        stopped = st.expect("tx_stopped", cid)
        if args.get("tag"):
            result = await st.present_tag(cid, str(args["tag"]))
            if result != "Stopped":
                stopped.cancel()
                raise StepFailed(f"presenting {args['tag']} did not stop charging: {result}")
        else:
            await st.stop_transaction(cid, names16.stop_reason_of(args.get("reason", "Local")))
        event = await asyncio.wait_for(stopped, timeout)
        self._save(args, {"transactionId": event.data["transaction_id"],
                          "reason": names16.STOP_REASON[event.data["reason"]], "meterStop": event.data["meter_stop"]})

    async def _do_suspend_ev(self, args, ctx, timeout):
        await self._station(args, ctx).ev_suspend(self._connector(args))

    async def _do_resume_ev(self, args, ctx, timeout):
        await self._station(args, ctx).ev_resume(self._connector(args))

    async def _do_fault(self, args, ctx, timeout):
        await self._station(args, ctx).fault(self._connector(args),
                                             args.get("error_code", "OtherError"), args.get("info"))

    async def _do_clear_fault(self, args, ctx, timeout):
        await self._station(args, ctx).clear_fault(self._connector(args))

    async def _do_power_loss(self, args, ctx, timeout):
        duration = float(args.get("duration", 0.5)) if isinstance(args, dict) else 0.5
        await power_loss(self._station(args, ctx), duration, timeout)

    async def _do_go_offline(self, args, ctx, timeout):
        await go_offline(self._station(args, ctx))

    async def _do_come_online(self, args, ctx, timeout):
        await come_online(self._station(args, ctx), timeout)

    async def _do_set_faults(self, args, ctx, timeout):
        st = self._station(args, ctx)
        connected = st.expect("connected") if st.online else None
        try:
            st.set_faults(args.get("faults"))
        except ValueError as e:
            if connected is not None and hasattr(connected, "cancel"):
                connected.cancel()
            raise StationError(f"{st.id}: set_faults: {e}") from None
        if connected is not None:   # the link is reopened: wait until it is back
            await asyncio.wait_for(connected, timeout)
            await asyncio.wait_for(st.lifecycle.reached(State.ACCEPTED), timeout)

    async def _do_reboot(self, args, ctx, timeout):
        st = self._station(args, ctx)
        hard = bool(args.get("hard", False)) if isinstance(args, dict) else False
        rebooted = st.expect("rebooted")
        if not st.request_reset(hard=hard):
            rebooted.cancel()
            raise StepFailed(f"{st.id} is already rebooting")
        await asyncio.wait_for(rebooted, timeout)
        await asyncio.wait_for(st.lifecycle.reached(State.ACCEPTED), timeout)

    # -- messages -----------------------------------------------------------------------------------
    async def _do_send(self, args, ctx, timeout):
        st = self._station(args, ctx)
        session = st.session
        if session is None or session.closed:
            raise StepFailed(f"{st.id} is not connected")
        action = args["action"]
        payload = st.dialect.send_defaults(action, dict(args.get("payload", {})),
                                           self._connector(args))
        try:
            reply = await session.call(action, payload, timeout=timeout,
                                       validate_payload=args.get("validate", True))
        except CallErrorReceived as e:
            self._check_error(args, e.error.code_text, e.error.description, action)
            self._save(args, {"code": e.error.code_text, "description": e.error.description})
            return
        if args.get("expect_error"):
            raise StepFailed(f"{action} was answered {reply!r}, expected CALLERROR "
                             f"{_error_code(args['expect_error'])}")
        self._expect(reply, args.get("expect"), f"{action} response")
        self._save(args, reply)

    def _check_error(self, args, code: str, description: str, action: str) -> None:
        want = args.get("expect_error")
        if not want:
            raise StepFailed(f"{action} was answered with CALLERROR {code}: {description}")
        if code != _error_code(want):
            raise StepFailed(f"{action} was answered with CALLERROR {code}, expected "
                             f"{_error_code(want)}")
        if isinstance(want, dict):
            self._expect({"code": code, "description": description}, 
                         {k: v for k, v in want.items() if k != "code"}, "CALLERROR")

    async def _do_answer(self, args, ctx, timeout):
        st = self._station(args, ctx)
        error = args.get("error")
        st.answer_next(args["action"], reply=args.get("reply"),
                       error=(error["code"], error.get("description", ""), error.get("details"))
                       if error else None)

    def _matches_call(self, st: Station, direction: str, action: str):
        return lambda e: (e.station == st.id and e.direction == direction and e.kind == CALL
                          and e.action == action)

    async def _do_expect_request(self, args, ctx, timeout):
        await self._expect_call(args, ctx, timeout, "in", "CSMS request")

    async def _do_expect_sent(self, args, ctx, timeout):
        await self._expect_call(args, ctx, timeout, "out", "message sent")

    async def _expect_call(self, args, ctx, timeout, direction, what):
        st = self._station(args, ctx)
        same_action = self._matches_call(st, direction, args["action"])
        expectation = args.get("expect") or {}
        start = self._since(args, ctx)
        entry = await self.frames.wait(
            start, lambda e: same_action(e) and not assertions.check(e.payload, expectation),
            timeout)
        if entry is None:
            seen = [e for e in self.frames.entries[start:] if same_action(e)]
            detail = ""
            if seen:  # the closest misses say what was wrong
                detail = "; seen instead: " + " | ".join(
                    "; ".join(assertions.check(e.payload, expectation)) for e in seen[-3:])
            raise StepFailed(f"no {args['action']} {what}"
                             + (f" matching {expectation}" if expectation else "")
                             + f" within {timeout:g}s{detail}"[:900])
        self._save(args, entry.payload)
        ctx.cursor.mark = max(ctx.cursor.mark, entry.index + 1)
        if "reply" in args or "save_reply" in args:
            reply = await self.frames.wait(entry.index + 1, lambda e: e.station == st.id
                                           and e.unique_id == entry.unique_id
                                           and e.kind in (RESULT, ERROR), timeout)
            if reply is None:
                raise StepFailed(f"no answer to {args['action']} within {timeout:g}s")
            if reply.kind == ERROR and "reply" in args and "code" not in args["reply"]:
                raise StepFailed(f"{args['action']} was answered with CALLERROR "
                                 f"{reply.payload['code']}: {reply.payload['description']}")
            self._expect(reply.payload, args.get("reply"), f"answer to {args['action']}")
            if args.get("save_reply"):
                self.root[args["save_reply"]] = reply.payload

    async def _do_expect_no_request(self, args, ctx, timeout):
        st = self._station(args, ctx)
        seconds = float(args["for"])
        direction = "out" if args.get("direction") == "sent" else "in"
        entry = await self.frames.wait(self._since(args, ctx),
                                       self._matches_call(st, direction, args["action"]), seconds)
        if entry is not None:
            who = "sent by the station" if direction == "out" else "from the CSMS"
            raise StepFailed(f"unexpected {args['action']} {who}: {entry.raw[:200]}")

    async def _do_wait_event(self, args, ctx, timeout):
        st = self._station(args, ctx)
        kind = args["event"]
        connector = args.get("connector")
        connector = int(connector) if connector is not None else None
        expectation = args.get("expect") or {}

        def match(e) -> bool:
            return (e.kind == kind and (connector is None or e.connector == connector)
                    and not assertions.check(e.data, expectation))
        since = 0.0 if args.get("since") == "start" else ctx.cursor.mark_ts
        view = st.view
        event = next((e for e in view.recent_events if e.ts >= since and match(e)), None)
        if event is None:
            future = view.expect(kind, connector, where=match)
            try:
                event = await asyncio.wait_for(future, timeout)
            except asyncio.TimeoutError:
                raise StepFailed(f"no {kind} event" + (f" on connector {connector}" if connector else "")
                                 + (f" matching {expectation}" if expectation else "")
                                 + f" within {timeout:g}s") from None
        self._save(args, {**event.data, "text": event.text, "connector": event.connector})

    async def _do_wait_status(self, args, ctx, timeout):
        view, cid = self._station(args, ctx).view, int(args.get("connector", 1))
        want = names16.status_of(args["status"])
        if not 0 <= cid < len(view.connectors):
            raise StepFailed(f"{view.id} has no connector {cid}")
        if view.connector(cid).status == want:
            return
        future = view.expect("status", cid, where=lambda e: e.data.get("status") == want)
        try:
            await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise StepFailed(f"connector {cid} is {names16.STATUS[view.connector(cid).status]}, "
                             f"not {args['status']}, "
                             f"after {timeout:g}s") from None

    async def _do_csms(self, args, ctx, timeout):
        st = self._station(args, ctx)
        action, payload = args["action"], args.get("payload", {})
        start = len(self.frames.entries)
        try:
            answer = await self.trigger.send(st.id, action, payload, timeout)
        except CallErrorAnswer as e:
            self._check_error(args, e.code, e.description, action)
            self._save(args, {"code": e.code, "description": e.description})
            return
        if answer is None:  # not the hub: read the station's answer from the frames
            call = await self.frames.wait(start, self._matches_call(st, "in", action), timeout)
            if call is None:
                raise StepFailed(f"the CSMS did not send {action} to {st.id} within {timeout:g}s")
            reply = await self.frames.wait(call.index + 1, lambda e: e.station == st.id
                                           and e.unique_id == call.unique_id
                                           and e.kind in (RESULT, ERROR), timeout)
            if reply is None:
                raise StepFailed(f"{st.id} did not answer {action}")
            if reply.kind == ERROR:
                self._check_error(args, reply.payload["code"], reply.payload["description"], action)
                self._save(args, reply.payload)
                return
            answer = reply.payload
        if args.get("expect_error"):
            raise StepFailed(f"{action} was answered {answer!r}, expected CALLERROR "
                             f"{_error_code(args['expect_error'])}")
        self._expect(answer, args.get("expect"), f"{st.id}'s answer to {action}")
        self._save(args, answer)

    # -- checks, variables ----------------------------------------------------------------------------
    async def _do_assert(self, args, ctx, timeout):
        view = self._station(args, ctx).view
        state = {"registration": names16.REGISTRATION.get(view.registration),
                 "online": view.online}
        if "connector" in args or any(k in args for k in ("status", "error_code", "transaction",
                                                          "plugged")):
            cid = self._connector(args)
            if not 0 <= cid < len(view.connectors):
                raise StepFailed(f"{view.id} has no connector {cid}")
            c = view.connector(cid)
            state.update(status=names16.STATUS[c.status], error_code=c.error_code,
                         transaction=c.transaction_id is not None, plugged=c.plugged)
        expectation = {k: args[k] for k in ("status", "error_code", "transaction", "plugged",
                                             "registration", "online") if k in args}
        self._expect(state, expectation, f"{view.id} state")
        if "config" in args:
            config = view.config
            values = {key: config.get(key) for key in args["config"]}
            self._expect(values, args["config"], f"{view.id} configuration")

    async def _do_check(self, args, ctx, timeout):
        problems = assertions.match(args["value"], args["expect"])
        if problems:
            # a custom message adds to the values, never hides them
            detail = "check failed: " + "; ".join(problems)
            message = args.get("message")
            raise StepFailed(f"{message} ({detail})" if message else detail)

    async def _do_set(self, args, ctx, timeout):
        self.root.update(args)

    async def _do_sleep(self, args, ctx, timeout):
        await asyncio.sleep(float(args))

    async def _do_log(self, args, ctx, timeout):
        self.progress("log", {"text": str(args)})


def hub_config(sc: Scenario, soap: bool = False):
    """The bundled hub's configuration from the scenario's `csms.hub`."""
    from hub_under_test.hub import HubConfig
    cfg = sc.csms.hub
    firmware: dict[str, bytes | str] = {}
    for name, image in cfg.get("firmware", {}).items():
        # text is the image itself (as bytes: HubConfig reads a str as a path);
        # {file: path} is a file relative to the scenario's folder
        firmware[name] = (firmware_file(image["file"], sc.path).read_bytes()
                          if isinstance(image, dict) else image.encode())
    return HubConfig(port=0, api_port=0, ping_interval=None,
                     tags=dict(cfg.get("tags", {})),
                     heartbeat_interval=cfg.get("heartbeat_interval", 300),
                     unknown_stations=cfg.get("unknown_stations", "accept"),
                     known_stations=tuple(cfg.get("known_stations", ())),
                     auto_ca=bool(cfg.get("certificate_authority", False)),
                     firmware=firmware, soap_port=0 if soap else None)


def _error_code(want) -> str:
    return want["code"] if isinstance(want, dict) else str(want)


async def run_scenario(scenario: Scenario, **kwargs) -> ScenarioResult:
    return await ScenarioRun(scenario, **kwargs).run()
