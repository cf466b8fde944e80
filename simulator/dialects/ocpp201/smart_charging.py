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


HANDLERS = {"SetChargingProfile": set_charging_profile,
            "ClearChargingProfile": clear_charging_profile,
            "GetCompositeSchedule": get_composite_schedule}
