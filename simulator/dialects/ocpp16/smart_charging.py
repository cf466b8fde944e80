"""1.6 Smart Charging: csChargingProfiles in, chargingSchedule out, and the three requests."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ...station.clock import iso, parse_iso, utc_now
from ...station.smart_charging import (MAX_PROFILE, TX, TX_DEFAULT, Period, Profile,
                                       ProfileError, Schedule)

from .connectors import station_connector

if TYPE_CHECKING:
    from ...station.station import Station


PURPOSE = {"ChargePointMaxProfile": MAX_PROFILE, "TxDefaultProfile": TX_DEFAULT,
           "TxProfile": TX}


def purpose_of(name: str | None) -> str | None:
    """The neutral purpose of a 1.6 chargingProfilePurpose; an unknown one passes through
    unchanged (lenient mode), for the station to refuse by name."""
    return None if name is None else PURPOSE.get(name, name)


def parse_profile(connector_id: int, p: dict, now: datetime | None = None,
                  transaction_of=None) -> Profile:
    """A Profile from a 1.6 csChargingProfiles dict (already schema-valid);
    `transaction_of` maps its transactionId to the station's transaction id."""
    csms_tx = p.get("transactionId")
    tx = None
    if csms_tx is not None:   # one the station does not run matches no transaction
        tx = (transaction_of(csms_tx) if transaction_of else None) or f"csms:{csms_tx}"
    s = p["chargingSchedule"]
    periods = tuple(Period(int(x["startPeriod"]), float(x["limit"]), x.get("numberPhases"))
                    for x in s["chargingSchedulePeriod"])
    return Profile(
        id=p["chargingProfileId"], connector_id=connector_id, stack_level=p["stackLevel"],
        purpose=purpose_of(p["chargingProfilePurpose"]), kind=p["chargingProfileKind"],
        unit=s["chargingRateUnit"], periods=periods, duration=s.get("duration"),
        start_schedule=_time(s.get("startSchedule"), "startSchedule"),
        recurrency=p.get("recurrencyKind"),
        valid_from=_time(p.get("validFrom"), "validFrom"),
        valid_to=_time(p.get("validTo"), "validTo"), min_rate=s.get("minChargingRate"),
        transaction=tx, transaction_name=csms_tx, installed_at=now)


def _time(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    dt = parse_iso(text)
    if dt is None:
        raise ProfileError(f"{name} {text!r} is not a date-time")
    return dt


def schedule_payload(s: Schedule) -> dict:
    """The 1.6 chargingSchedule of a composite schedule."""
    out = {"duration": s.duration, "startSchedule": iso(s.start), "chargingRateUnit": s.unit,
           "chargingSchedulePeriod": [{"startPeriod": start, "limit": limit}
                                      for start, limit in s.periods]}
    if s.min_rate is not None:
        out["minChargingRate"] = s.min_rate
    return out


def _read(st: Station, connector_id: int, p: dict, now: datetime | None) -> Profile | str:
    """The profile, or the station's answer to one it cannot read (lenient mode lets a
    malformed one through the schema check)."""
    try:
        return parse_profile(connector_id, p, now, st.dialect.csms_transaction)
    except ProfileError as e:
        return st.smart_charging.refuse(str(e), connector_id, p.get("chargingProfileId"))
    except (KeyError, TypeError, ValueError) as e:
        return st.smart_charging.refuse(f"malformed profile: {e!r}", connector_id,
                                        p.get("chargingProfileId"))


def remote_start_profile(st: Station, p: dict) -> Profile | None:
    """RemoteStartTransaction's chargingProfile if the station takes it, else None."""
    profile = _read(st, 1, p, None)
    if isinstance(profile, str) or st.smart_charging.remote_start_profile(profile) is not None:
        return None
    return profile


async def handle_set_charging_profile(st: Station, p: dict) -> dict:
    profile = _read(st, station_connector(st, p["connectorId"]), p["csChargingProfiles"], utc_now())
    if isinstance(profile, str):
        return {"status": profile}
    return {"status": st.smart_charging.set_profile(profile)}


async def handle_clear_charging_profile(st: Station, p: dict) -> dict:
    return {"status": st.smart_charging.clear(
        p.get("id"), station_connector(st, p.get("connectorId")), purpose_of(p.get("chargingProfilePurpose")),
        p.get("stackLevel"))}


async def handle_get_composite_schedule(st: Station, p: dict) -> dict:
    cid = p["connectorId"]
    schedule = st.smart_charging.composite(station_connector(st, cid), p["duration"], p.get("chargingRateUnit"))
    if schedule is None:
        return {"status": "Rejected"}
    payload = schedule_payload(schedule)
    return {"status": "Accepted", "connectorId": cid, "scheduleStart": payload["startSchedule"],
            "chargingSchedule": payload}


HANDLERS = {"SetChargingProfile": handle_set_charging_profile,
            "ClearChargingProfile": handle_clear_charging_profile,
            "GetCompositeSchedule": handle_get_composite_schedule}
