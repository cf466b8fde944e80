"""OCPP-S 1.5 (SOAP): translate charge-point-initiated 1.5 payloads ⇄ abstract hub messages.

The third adapter beside OCPP-J 1.6 (ocpp16j.py) and 2.0.1 (ocpp201.py), with the same
shape: `handle()` answers one request of the CentralSystemService, `execute()` /
`send_raw()` send the CSMS-initiated ones (ChargePointService) through the attached session.
Payloads arrive as the SOAP codec's dicts, already checked (and in lenient mode repaired)
against the 1.5 schema by the endpoint (ocpp15s_server.py), so required fields are present
and enumerations in range.

Where 1.5 differs from 1.6 on the way in:
- BootNotification answers `heartbeatInterval`, and knows no Pending: a station the hub
  would keep pending is answered Rejected (it boots again later, as 1.5 asks);
- a meter value is `{"timestamp", "value": [{"value", "unit", "measurand", ...}]}`, the
  MeterValues list is `values` and StopTransaction's `transactionData` is a list of
  `{"values": [...]}`; StopTransaction has no reason (the hub records "Local");
- StatusNotification's `Occupied` is the abstract OCCUPIED (as in 2.0.1).
"""
from __future__ import annotations

from typing import ClassVar

from ..messages import (MeterReading, MeterSample, RegistrationStatus, TransactionStop,
                        format_time)
from . import ocpp15s_commands
from .ocpp16_commands import id_tag_info
from .ocpp16j import Ocpp16Adapter, wire_time

V15 = "ocpp1.5"


def samples(meter_values: list[dict], where: str) -> list[MeterSample]:
    """Abstract samples from 1.5 MeterValue dicts (text plus attributes)."""
    out = []
    for i, mv in enumerate(meter_values):
        ts = wire_time(mv["timestamp"], f"{where}[{i}].timestamp")
        for sv in mv.get("value", []):
            raw = sv["value"]
            value = None
            if sv.get("format") != "SignedData":
                try:
                    value = float(raw)
                except ValueError:
                    pass
            out.append(MeterSample(
                timestamp=ts, raw_value=raw, value=value,
                measurand=sv.get("measurand", "Energy.Active.Import.Register"), phase=None,
                unit=sv.get("unit", "Wh"), context=sv.get("context"),
                location=sv.get("location"), format=sv.get("format")))
    return out


class Ocpp15SoapAdapter(Ocpp16Adapter):
    """The 1.6 adapter's mapping where 1.5 says the same, its own where 1.5 differs."""
    version: ClassVar[str] = V15
    wire: ClassVar = ocpp15s_commands
    __slots__ = ()
    # attach(): the station's SoapSession (ocpp15s_server.py) in place of an RPC session

    async def boot_notification(self, p: dict) -> dict:
        result = await self.boot(p)
        status = "Accepted" if result.status is RegistrationStatus.ACCEPTED else "Rejected"
        return {"status": status, "currentTime": format_time(result.current_time),
                "heartbeatInterval": result.interval}

    async def stop_transaction(self, p: dict) -> dict:
        values = [mv for data in p.get("transactionData", []) for mv in data.get("values", [])]
        result = await self.manager.stop_transaction(TransactionStop(
            station_id=self.station_id, transaction_id=p["transactionId"], meter_stop=p["meterStop"],
            timestamp=wire_time(p["timestamp"], "timestamp"), reason="Local",
            id_token=p.get("idTag"), samples=samples(values, "transactionData.values")))
        if result.id_token_info is None:
            return {}
        return {"idTagInfo": id_tag_info(result.id_token_info)}

    async def meter_values(self, p: dict) -> dict:
        await self.manager.meter_reading(MeterReading(
            station_id=self.station_id, connector_id=p["connectorId"],
            transaction_id=p.get("transactionId"), samples=samples(p.get("values", []), "values")))
        return {}


# The CentralSystemService operations: 1.6's Core messages (no security extensions).
Ocpp15SoapAdapter.handlers = {
    action: getattr(Ocpp15SoapAdapter, method.__name__)
    for action, method in Ocpp16Adapter.handlers.items()
    if action in ("BootNotification", "Heartbeat", "StatusNotification", "Authorize",
                  "StartTransaction", "StopTransaction", "MeterValues", "DataTransfer",
                  "DiagnosticsStatusNotification", "FirmwareStatusNotification")}
