"""`chargesim run`: boot N stations and run one charging session on each.

The smallest end-to-end check of a CSMS: boot, plug in, present a tag, charge with periodic
meter values, present the tag again to stop, unplug.  Every step is checked; the outcome of
each station is reported and any failure makes the run fail.
"""
from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass, field

from .station import ConnectFailed, Event, Station, StationError, StationOptions
from .session import CallErrorReceived, CallTimeout, SessionClosed
from .dialects import make_station, setting_key

# Events worth a line when the run is not verbose.
RUN_CONNECT_ATTEMPTS = 4   # ≈ 4-7 s of jittered backoff before "could not connect" (ramp.py)
_HEADLINE = {"boot", "tx_started", "tx_stopped", "tag_rejected", "error", "disconnected"}


@dataclass
class Outcome:
    station: str
    ok: bool = False
    steps: list[str] = field(default_factory=list)
    error: str | None = None
    transaction_id: int | None = None
    energy_wh: int | None = None
    meter_values: int = 0

    def line(self) -> str:
        if self.ok:
            return (f"{self.station}: ok — transaction {self.transaction_id}, "
                    f"{self.energy_wh} Wh, {self.meter_values} meter readings")
        return f"{self.station}: FAILED at {self.steps[-1] if self.steps else 'start'}: {self.error}"


async def charge_once(station: Station, outcome: Outcome, *, tag: str, seconds: float,
                      connector: int = 1) -> None:
    """One charging session on `station`, recording each step in `outcome`."""
    def step(name: str) -> None:
        outcome.steps.append(name)

    def count_meter_values(event: Event) -> None:
        # a reading sent (or queued) in the station's own words: no wire format read here
        if event.kind == "meter":
            outcome.meter_values += 1

    unsubscribe = station.view.subscribe(count_meter_values)
    try:
        step("boot")
        await station.start()
        step("plug in")
        await station.plug_in(connector)
        step(f"present tag {tag}")
        started = station.expect("tx_started", connector)
        refused = station.expect("tag_rejected", connector)
        result = await station.present_tag(connector, tag)
        if result == "Rejected" and refused.done():   # the CSMS's own idTagInfo status
            result = f"the CSMS answered {refused.result().data.get('status')}"
        refused.cancel()
        if result != "Started":
            raise StationError(f"tag {tag} not accepted to start charging ({result})")
        event = await asyncio.wait_for(started, 30)
        outcome.transaction_id = event.data["transaction_id"]
        if event.data["status"] != "Accepted":
            raise StationError(f"CSMS answered StartTransaction with idTagInfo "
                               f"{event.data['status']}; the station stopped it (DeAuthorized)")
        tx = station.connectors[connector].transaction
        step("charge")
        await asyncio.sleep(seconds)
        step(f"present tag {tag} again to stop")
        result = await station.present_tag(connector, tag)
        if result != "Stopped":
            raise StationError(f"presenting {tag} again did not stop the transaction ({result})")
        outcome.energy_wh = tx.energy_wh
        step("unplug")
        await station.unplug(connector)
        outcome.ok = True
    except ConnectFailed as e:  # never reached the CSMS: not a protocol failure
        from .ramp import could_not_connect
        outcome.error = could_not_connect(e, station.id)
    except (StationError, CallErrorReceived, CallTimeout, SessionClosed, OSError,
            asyncio.TimeoutError) as e:
        outcome.error = str(e) or type(e).__name__
    finally:
        unsubscribe()
        await station.stop()


class CsmsUrls(str):
    """The bundled hub's URL for a fleet mixing OCPP 1.5 SOAP and OCPP-J stations: the
    websocket URL as a string, and the SOAP CentralSystemService URL for 1.5 stations."""

    def __new__(cls, url: str, soap_url: str):
        self = super().__new__(cls, url)
        self.soap_url = soap_url
        return self


def url_for(csms_url: str, options: StationOptions) -> str:
    """The URL a station with `options` connects to (one URL unless `csms_url` is a
    CsmsUrls)."""
    if isinstance(csms_url, CsmsUrls):
        return csms_url.soap_url if options.version == "ocpp1.5" else str(csms_url)
    return csms_url


async def run(csms_url: str, *, stations: int, id_pattern: str, tag: str, seconds: float,
              sample_interval: int, options: StationOptions, verbose: bool,
              print_=print, fleet: list[tuple[str, StationOptions]] | None = None,
              taps=(), observe=None, spawn_rate: float | None = None,
              connect_attempts: int = RUN_CONNECT_ATTEMPTS) -> list[Outcome]:
    """`fleet` (from a template or fleet file) replaces stations / id_pattern / options.
    `taps` are frame taps (e.g. a recorder); `observe(station)` is called for each station
    before it starts (run_summary.RunStats).  Stations start at `spawn_rate` per second
    (None: all at once, simulator/ramp.py)."""
    from .ramp import Ramp, connect_policy
    ramp = Ramp(spawn_rate)
    def show(event: Event) -> None:
        if verbose or event.kind in _HEADLINE:
            print_(f"  {time.strftime('%H:%M:%S')} {event}")

    options.config.setdefault(setting_key(options.version, "meter_interval"), str(sample_interval))
    outcomes = []
    tasks = []
    if fleet is None:
        fleet = [(id_pattern.format(n=n), options) for n in range(1, stations + 1)]
    for n, (station_id, station_options) in enumerate(fleet, 1):
        if station_options is not options:  # a template's own interval is too long for a run
            station_options.config[setting_key(station_options.version, "meter_interval")] = \
                str(sample_interval)
        # a one-shot run reports a CSMS that is not there instead of waiting for it
        station_options = connect_policy(station_options, connect_attempts)
        station = make_station(station_id, url_for(csms_url, station_options), station_options)
        station.on_event = show
        station.taps.extend(taps)   # e.g. a frame recorder
        if observe is not None:
            observe(station)
        outcome = Outcome(station.id)
        outcomes.append(outcome)
        tasks.append(ramp.run(charge_once(station, outcome, tag=tag.format(n=n),
                                          seconds=seconds)))
    await asyncio.gather(*tasks)
    return outcomes
