"""2.0.1 smart charging (block K): SetChargingProfile, ClearChargingProfile and
GetCompositeSchedule over the station's neutral profile store (which limits the meters)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ...station.clock import iso, parse_iso, utc_now
from ...station.smart_charging import (MAX_PROFILE, TX, TX_DEFAULT, Period, Profile,
                                       ProfileError)
from .core import _connector

if TYPE_CHECKING:
    from ...station.station import Station

PURPOSE = {"ChargingStationMaxProfile": MAX_PROFILE, "TxDefaultProfile": TX_DEFAULT,
           "TxProfile": TX}


def _time(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    dt = parse_iso(text)
    if dt is None:
        raise ProfileError(f"{name} {text!r} is not a date-time")
    return dt


def parse_profile(st: Station, connector_id: int, p: dict, now: datetime | None) -> Profile:
    purpose = p["chargingProfilePurpose"]
    if purpose not in PURPOSE:
        raise ProfileError(f"{purpose} profiles are not supported")
    schedules = p["chargingSchedule"]
    if len(schedules) != 1:
        raise ProfileError("one charging schedule per profile (no ISO 15118 choice here)")
    s = schedules[0]
    tx = p.get("transactionId")
    if tx is not None and st.transaction(tx) is None:
        tx = f"csms:{tx}"      # matches no transaction the station runs
    return Profile(
        id=p["id"], connector_id=connector_id, stack_level=p["stackLevel"],
        purpose=PURPOSE[purpose], kind=p["chargingProfileKind"],
        unit=s["chargingRateUnit"],
        periods=tuple(Period(int(x["startPeriod"]), float(x["limit"]), x.get("numberPhases"))
                      for x in s["chargingSchedulePeriod"]),
        duration=s.get("duration"), start_schedule=_time(s.get("startSchedule"), "startSchedule"),
        recurrency=p.get("recurrencyKind"), valid_from=_time(p.get("validFrom"), "validFrom"),
        valid_to=_time(p.get("validTo"), "validTo"), min_rate=s.get("minChargingRate"),
        transaction=tx, transaction_name=p.get("transactionId"), installed_at=now)


def _read(st: Station, connector_id: int, p: dict, now) -> Profile | str:
    try:
        return parse_profile(st, connector_id, p, now)
    except ProfileError as e:
        return st.smart_charging.refuse(str(e), connector_id, p.get("id"))
    except (KeyError, TypeError, ValueError) as e:
        return st.smart_charging.refuse(f"malformed profile: {e!r}", connector_id, p.get("id"))


def remote_start_profile(st: Station, p: dict) -> Profile | None:
    profile = _read(st, 1, p, None)
    if isinstance(profile, str) or st.smart_charging.remote_start_profile(profile) is not None:
        return None
    return profile


async def set_charging_profile(st: Station, p: dict) -> dict:
    c = _connector(st, p["evseId"])
    if c is None:
        return {"status": "Rejected"}
    profile = _read(st, c, p["chargingProfile"], utc_now())
    if isinstance(profile, str):
        return {"status": "Rejected"}
    return {"status": "Accepted" if st.smart_charging.set_profile(profile) == "Accepted"
            else "Rejected"}


async def clear_charging_profile(st: Station, p: dict) -> dict:
    crit = p.get("chargingProfileCriteria") or {}
    c = None
    if "evseId" in crit:
        c = _connector(st, crit["evseId"])
        if c is None:
            return {"status": "Unknown"}
    purpose = crit.get("chargingProfilePurpose")
    if purpose is not None and purpose not in PURPOSE:
        return {"status": "Unknown"}
    status = st.smart_charging.clear(p.get("chargingProfileId"), c,
                                     PURPOSE.get(purpose) if purpose else None,
                                     crit.get("stackLevel"))
    return {"status": "Accepted" if status == "Accepted" else "Unknown"}


async def get_composite_schedule(st: Station, p: dict) -> dict:
    c = _connector(st, p["evseId"])
    schedule = None if c is None else st.smart_charging.composite(
        c, p["duration"], p.get("chargingRateUnit"))
    if schedule is None:
        return {"status": "Rejected"}
    return {"status": "Accepted", "schedule": {
        "evseId": p["evseId"], "duration": schedule.duration,
        "scheduleStart": iso(schedule.start), "chargingRateUnit": schedule.unit,
        "chargingSchedulePeriod": [{"startPeriod": start, "limit": limit}
                                   for start, limit in schedule.periods]}}


PURPOSE_OF = {v: k for k, v in PURPOSE.items()}


def profile_payload(st: Station, p: Profile) -> dict:
    schedule: dict = {"id": p.id, "chargingRateUnit": p.unit, "chargingSchedulePeriod": [
        {"startPeriod": x.start, "limit": x.limit,
         **({"numberPhases": x.phases} if x.phases else {})} for x in p.periods]}
    if p.start_schedule is not None:
        schedule["startSchedule"] = iso(p.start_schedule)
    if p.duration is not None:
        schedule["duration"] = p.duration
    if p.min_rate is not None:
        schedule["minChargingRate"] = p.min_rate
    out = {"id": p.id, "stackLevel": p.stack_level,
           "chargingProfilePurpose": PURPOSE_OF[p.purpose], "chargingProfileKind": p.kind,
           "chargingSchedule": [schedule]}
    if p.recurrency:
        out["recurrencyKind"] = p.recurrency
    if p.valid_from is not None:
        out["validFrom"] = iso(p.valid_from)
    if p.valid_to is not None:
        out["validTo"] = iso(p.valid_to)
    if p.transaction is not None and st.transaction(p.transaction) is not None:
        out["transactionId"] = p.transaction
    return out


async def get_charging_profiles(st: Station, p: dict) -> dict:
    """Answer, then ReportChargingProfiles per EVSE (tbc on all but the last)."""
    crit = p["chargingProfile"]
    sources = crit.get("chargingLimitSource")
    c = None
    if p.get("evseId") is not None:
        c = _connector(st, p["evseId"])
        if c is None:
            return {"status": "NoProfiles"}
    purpose = crit.get("chargingProfilePurpose")
    found = [] if (sources and "CSO" not in sources) or (purpose and purpose not in PURPOSE) \
        else st.smart_charging.installed(crit.get("chargingProfileId"), c,
                                         PURPOSE.get(purpose) if purpose else None,
                                         crit.get("stackLevel"))
    if not found:
        return {"status": "NoProfiles"}
    by_evse: dict[int, list] = {}
    for x in found:
        by_evse.setdefault(st.connectors[x.connector_id].evse_id if x.connector_id else 0,
                           []).append(profile_payload(st, x))

    async def report():
        evses = sorted(by_evse)
        for n, evse in enumerate(evses):
            await st.dialect.link.call("ReportChargingProfiles", {
                "requestId": p["requestId"], "chargingLimitSource": "CSO",
                "tbc": n < len(evses) - 1, "evseId": evse, "chargingProfile": by_evse[evse]})
    st.tasks.after_reply(report, f"report-profiles-{p['requestId']}")
    return {"status": "Accepted"}


HANDLERS = {"GetChargingProfiles": get_charging_profiles,
            "SetChargingProfile": set_charging_profile,
            "ClearChargingProfile": clear_charging_profile,
            "GetCompositeSchedule": get_composite_schedule}
