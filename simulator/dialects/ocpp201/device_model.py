"""The 2.0.1 device model: components and their variables, as pure shared data.

Each variable attribute (Actual, Target, MinSet, MaxSet) the station keeps is one key of
the station's configuration store (`Variable.key(attribute)`), so values are typed, checked
and changed by the same store the 1.6 dialect uses for its keys; the definitions here add
what 2.0.1 says about them (mutability, data type, unit, limits, values list).  They are
built once per station shape (`model(connectors, security_profile)`) and shared: a station
keeps only the values it changed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

from ...station.config import BOOL, CSL, INT, STR, KeySpec
from ...station.meter import MEASURANDS

ATTRIBUTE_TYPES = ("Actual", "Target", "MinSet", "MaxSet")
READ_ONLY, READ_WRITE, WRITE_ONLY = "ReadOnly", "ReadWrite", "WriteOnly"
_KIND = {"integer": INT, "boolean": BOOL, "MemberList": CSL, "SequenceList": CSL}
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


@dataclass(frozen=True, slots=True)
class Variable:
    component: str
    name: str
    data_type: str                        # string, decimal, integer, dateTime, boolean,
                                          # OptionList, SequenceList, MemberList
    default: str = ""
    mutability: str = READ_WRITE
    unit: str | None = None
    evse: int | None = None
    connector: int | None = None
    instance: str | None = None
    min_limit: int | None = None
    max_limit: int | None = None
    values_list: tuple[str, ...] | None = None
    attributes: tuple[tuple[str, str], ...] = (("Actual", ""),)   # (type, default) pairs
    reboot: bool = False
    pattern: re.Pattern | None = None     # a string's form (e.g. the Basic auth password)

    @property
    def component_key(self) -> tuple:
        return (self.component, None, self.evse, self.connector)

    def key(self, attribute: str = "Actual") -> str:
        """The configuration-store key holding this attribute's value."""
        where = self.component
        if self.evse is not None:
            where += f"#{self.evse}" + (f".{self.connector}" if self.connector is not None else "")
        name = self.name + (f"[{self.instance}]" if self.instance else "")
        return f"{where}/{name}" + ("" if attribute == "Actual" else f"/{attribute}")

    def spec(self, attribute: str, default: str) -> KeySpec:
        kind = _KIND.get(self.data_type, STR)
        allowed = frozenset(self.values_list) if self.values_list else None
        pattern = _DECIMAL if self.data_type == "decimal" else self.pattern
        return KeySpec(self.key(attribute), kind, default,
                       readonly=self.mutability == READ_ONLY, reboot=self.reboot,
                       allowed=allowed, pattern=pattern,
                       minimum=self.min_limit if self.min_limit is not None else (
                           0 if kind == INT else 0),
                       maximum=self.max_limit, write_only=self.mutability == WRITE_ONLY)

    def characteristics(self) -> dict:
        out: dict = {"dataType": self.data_type, "supportsMonitoring": False}
        if self.unit:
            out["unit"] = self.unit
        if self.min_limit is not None:
            out["minLimit"] = self.min_limit
        if self.max_limit is not None:
            out["maxLimit"] = self.max_limit
        if self.values_list:
            out["valuesList"] = ",".join(self.values_list)
        return out

    def component_payload(self) -> dict:
        out: dict = {"name": self.component}
        if self.evse is not None:
            out["evse"] = {"id": self.evse, **({"connectorId": self.connector}
                                               if self.connector is not None else {})}
        return out

    def variable_payload(self) -> dict:
        return {"name": self.name, **({"instance": self.instance} if self.instance else {})}


def _v(component, name, data_type, default="", **kw) -> Variable:
    attrs = kw.pop("extra", ())
    return Variable(component, name, data_type, default, attributes=(("Actual", default), *attrs),
                    **kw)


RO, RW, WO = READ_ONLY, READ_WRITE, WRITE_ONLY
_MEAS = tuple(MEASURANDS)


def _controllers(security_profile: int) -> list[Variable]:
    n_meas = str(len(_MEAS))
    return [
        # OCPPCommCtrlr
        _v("OCPPCommCtrlr", "HeartbeatInterval", "integer", "300", unit="s"),
        _v("OCPPCommCtrlr", "WebSocketPingInterval", "integer", "60", unit="s"),
        _v("OCPPCommCtrlr", "MessageTimeout", "integer", "30", instance="Default", unit="s", mutability=RO),
        _v("OCPPCommCtrlr", "MessageAttempts", "integer", "3", instance="TransactionEvent",
           min_limit=1),
        _v("OCPPCommCtrlr", "MessageAttemptInterval", "integer", "60",
           instance="TransactionEvent", unit="s"),
        # the network profile slots in order; a new order takes effect at the next boot
        _v("OCPPCommCtrlr", "NetworkConfigurationPriority", "SequenceList", "0",
           values_list=("0",), reboot=True),
        _v("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", "integer", "3", mutability=RO),
        _v("OCPPCommCtrlr", "OfflineThreshold", "integer", "60", unit="s", mutability=RO),
        _v("OCPPCommCtrlr", "ResetRetries", "integer", "1", mutability=RO),
        # Variables the engine does not act on are ReadOnly: SetVariables says Rejected
        # rather than accept a value that changes nothing.
        # TxCtrlr: the engine starts when authorized and plugged, and stops on either end
        _v("TxCtrlr", "EVConnectionTimeOut", "integer", "60", unit="s"),
        _v("TxCtrlr", "StopTxOnEVSideDisconnect", "boolean", "true"),
        _v("TxCtrlr", "StopTxOnInvalidId", "boolean", "true"),
        _v("TxCtrlr", "TxStartPoint", "MemberList", "PowerPathClosed", mutability=RO,
           values_list=("PowerPathClosed",)),
        _v("TxCtrlr", "TxStopPoint", "MemberList", "EVConnected,Authorized", mutability=RO,
           values_list=("EVConnected", "Authorized")),
        # SampledDataCtrlr / AlignedDataCtrlr
        _v("SampledDataCtrlr", "Enabled", "boolean", "true", mutability=RO),
        _v("SampledDataCtrlr", "TxUpdatedInterval", "integer", "60", unit="s"),
        _v("SampledDataCtrlr", "TxUpdatedMeasurands", "MemberList",
           "Energy.Active.Import.Register", values_list=_MEAS, max_limit=None),
        _v("SampledDataCtrlr", "TxEndedMeasurands", "MemberList", "", values_list=_MEAS),
        _v("SampledDataCtrlr", "TxEndedInterval", "integer", "0", unit="s", mutability=RO),
        _v("AlignedDataCtrlr", "Enabled", "boolean", "true", mutability=RO),
        _v("AlignedDataCtrlr", "Interval", "integer", "0", unit="s"),
        _v("AlignedDataCtrlr", "Measurands", "MemberList", "Energy.Active.Import.Register",
           values_list=_MEAS),
        _v("AlignedDataCtrlr", "TxEndedMeasurands", "MemberList", "", values_list=_MEAS),
        _v("AlignedDataCtrlr", "TxEndedInterval", "integer", "0", unit="s", mutability=RO),
        # AuthCtrlr / AuthCacheCtrlr / LocalAuthListCtrlr
        _v("AuthCtrlr", "Enabled", "boolean", "true", mutability=RO),
        _v("AuthCtrlr", "AuthorizeRemoteStart", "boolean", "false"),
        _v("AuthCtrlr", "LocalAuthorizeOffline", "boolean", "true"),
        _v("AuthCtrlr", "LocalPreAuthorize", "boolean", "false"),
        _v("AuthCtrlr", "OfflineTxForUnknownIdEnabled", "boolean", "false"),
        _v("AuthCacheCtrlr", "Enabled", "boolean", "true"),
        _v("AuthCacheCtrlr", "Storage", "integer", "0", mutability=RO, unit="B"),
        _v("LocalAuthListCtrlr", "Enabled", "boolean", "true"),
        _v("LocalAuthListCtrlr", "Entries", "integer", "0", mutability=RO),
        _v("LocalAuthListCtrlr", "ItemsPerMessage", "integer", "100", mutability=RO),
        _v("LocalAuthListCtrlr", "BytesPerMessage", "integer", "65536", mutability=RO),
        _v("LocalAuthListCtrlr", "Storage", "integer", "1000", mutability=RO,
           extra=(("MaxSet", "1000"),)),
        # ReservationCtrlr
        _v("ReservationCtrlr", "Enabled", "boolean", "true", mutability=RO),
        _v("ReservationCtrlr", "NonEvseSpecific", "boolean", "true", mutability=RO),
        # SmartChargingCtrlr
        _v("SmartChargingCtrlr", "Enabled", "boolean", "true", mutability=RO),
        _v("SmartChargingCtrlr", "ProfileStackLevel", "integer", "10", mutability=RO,
           extra=(("MaxSet", "10"),)),
        _v("SmartChargingCtrlr", "RateUnit", "MemberList", "A,W", mutability=RO,
           values_list=("A", "W")),
        _v("SmartChargingCtrlr", "PeriodsPerSchedule", "integer", "24", mutability=RO),
        _v("SmartChargingCtrlr", "Entries", "integer", "20", mutability=RO,
           instance="ChargingProfiles", extra=(("MaxSet", "20"),)),
        # SecurityCtrlr: lowering the profile is refused (its minimum follows the value)
        _v("SecurityCtrlr", "SecurityProfile", "integer", str(security_profile),
           min_limit=security_profile, max_limit=3),
        # 16..40 printable characters, as the 1.6 security whitepaper's AuthorizationKey
        _v("SecurityCtrlr", "BasicAuthPassword", "string", "", mutability=WO,
           pattern=re.compile(r"[\x21-\x7e]{16,40}")),
        _v("SecurityCtrlr", "OrganizationName", "string", ""),
        _v("SecurityCtrlr", "CertificateEntries", "integer", "10", mutability=RO,
           extra=(("MaxSet", "10"),)),
        _v("SecurityCtrlr", "MaxCertificateChainSize", "integer", "10000", mutability=RO),
        # DeviceDataCtrlr
        _v("DeviceDataCtrlr", "ItemsPerMessage", "integer", "50", mutability=RO,
           instance="GetReport"),
        _v("DeviceDataCtrlr", "ItemsPerMessage", "integer", "50", mutability=RO,
           instance="GetVariables"),
        _v("DeviceDataCtrlr", "ItemsPerMessage", "integer", "50", mutability=RO,
           instance="SetVariables"),
        _v("DeviceDataCtrlr", "BytesPerMessage", "integer", "65536", mutability=RO,
           instance="GetReport"),
        # ChargingStation
        _v("ChargingStation", "AvailabilityState", "OptionList", "Available", mutability=RO,
           values_list=("Available", "Occupied", "Reserved", "Unavailable", "Faulted")),
        _v("ChargingStation", "Available", "boolean", "true", mutability=RO),
        _v("ChargingStation", "SupplyPhases", "integer", "3", mutability=RO),
        _v("ClockCtrlr", "DateTime", "dateTime", "", mutability=RO),
        _v("ClockCtrlr", "TimeSource", "SequenceList", "Heartbeat", mutability=RO,
           values_list=("Heartbeat", "NTP", "GPS", "RealTimeClock", "MobileNetwork",
                        "RadioTimeTransmitter")),
        # settings the engine reads that 2.0.1 has no standard variable for
        _v("ReservationCtrlr", "ReserveStation", "boolean", "true", mutability=RO,
           instance="chargesim"),
        _v("LocalAuthListCtrlr", "ItemsPerSend", "integer", "100", mutability=RO,
           instance="chargesim"),
        _v("SmartChargingCtrlr", "RateUnit", "MemberList", "Current,Power", mutability=RO,
           values_list=("Current", "Power"), instance="chargesim"),
    ]


def _hardware(connectors: int, max_power_w: float, phases: int) -> list[Variable]:
    out = []
    power = str(int(max_power_w))
    for e in range(1, connectors + 1):
        out += [
            _v("EVSE", "AvailabilityState", "OptionList", "Available", mutability=RO, evse=e,
               values_list=("Available", "Occupied", "Reserved", "Unavailable", "Faulted")),
            _v("EVSE", "Available", "boolean", "true", mutability=RO, evse=e),
            _v("EVSE", "Power", "decimal", "0", mutability=RO, evse=e, unit="W",
               extra=(("MaxSet", power),)),
            _v("EVSE", "SupplyPhases", "integer", str(phases), mutability=RO, evse=e),
            _v("Connector", "AvailabilityState", "OptionList", "Available", mutability=RO,
               evse=e, connector=1,
               values_list=("Available", "Occupied", "Reserved", "Unavailable", "Faulted")),
            _v("Connector", "ConnectorType", "string", "cType2", mutability=RO, evse=e,
               connector=1),
            _v("Connector", "SupplyPhases", "integer", str(phases), mutability=RO, evse=e,
               connector=1),
        ]
    return out


# neutral setting -> the configuration-store key of its variable's Actual value
def _k(component: str, name: str, instance: str | None = None) -> str:
    return Variable(component, name, "string", instance=instance).key()


SETTING_KEYS = MappingProxyType({
    "heartbeat_interval": _k("OCPPCommCtrlr", "HeartbeatInterval"),
    "meter_interval": _k("SampledDataCtrlr", "TxUpdatedInterval"),
    "clock_aligned_interval": _k("AlignedDataCtrlr", "Interval"),
    "connection_timeout": _k("TxCtrlr", "EVConnectionTimeOut"),
    "ping_interval": _k("OCPPCommCtrlr", "WebSocketPingInterval"),
    "sampled_measurands": _k("SampledDataCtrlr", "TxUpdatedMeasurands"),
    "aligned_measurands": _k("AlignedDataCtrlr", "Measurands"),
    "stop_sampled_measurands": _k("SampledDataCtrlr", "TxEndedMeasurands"),
    "stop_aligned_measurands": _k("AlignedDataCtrlr", "TxEndedMeasurands"),
    "authorization_cache_enabled": _k("AuthCacheCtrlr", "Enabled"),
    "authorize_remote_start": _k("AuthCtrlr", "AuthorizeRemoteStart"),
    "local_list_enabled": _k("LocalAuthListCtrlr", "Enabled"),
    "local_list_max_length": _k("LocalAuthListCtrlr", "Storage"),
    "local_list_max_send": _k("LocalAuthListCtrlr", "ItemsPerSend", "chargesim"),
    "local_authorize_offline": _k("AuthCtrlr", "LocalAuthorizeOffline"),
    "local_pre_authorize": _k("AuthCtrlr", "LocalPreAuthorize"),
    "allow_offline_tx_for_unknown_id": _k("AuthCtrlr", "OfflineTxForUnknownIdEnabled"),
    "stop_on_ev_disconnect": _k("TxCtrlr", "StopTxOnEVSideDisconnect"),
    "stop_on_invalid_id": _k("TxCtrlr", "StopTxOnInvalidId"),
    "tx_message_attempts": _k("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent"),
    "tx_message_retry_interval": _k("OCPPCommCtrlr", "MessageAttemptInterval",
                                    "TransactionEvent"),
    "reserve_connector_zero": _k("ReservationCtrlr", "ReserveStation", "chargesim"),
    "profile_max_stack_level": _k("SmartChargingCtrlr", "ProfileStackLevel"),
    # the engine's words for the units (Current, Power); RateUnit says them as A, W
    "schedule_allowed_units": _k("SmartChargingCtrlr", "RateUnit", "chargesim"),
    "schedule_max_periods": _k("SmartChargingCtrlr", "PeriodsPerSchedule"),
    "max_profiles_installed": _k("SmartChargingCtrlr", "Entries", "ChargingProfiles"),
    "security_profile": _k("SecurityCtrlr", "SecurityProfile"),
    "authorization_key": _k("SecurityCtrlr", "BasicAuthPassword"),
    "cpo_name": _k("SecurityCtrlr", "OrganizationName"),
    "certificate_store_max_length": _k("SecurityCtrlr", "CertificateEntries"),
    "certificate_chain_max_size": _k("SecurityCtrlr", "MaxCertificateChainSize"),
})


@dataclass(frozen=True)
class DeviceModel:
    """Every variable of one station shape, indexed for GetVariables / SetVariables."""
    variables: tuple[Variable, ...]
    # (component, evse, connector) -> {(variable, instance): Variable}
    index: Mapping[tuple, Mapping[tuple, Variable]] = field(repr=False)
    component_names: frozenset[str] = field(repr=False)
    key_specs: tuple[KeySpec, ...] = field(default=(), repr=False)

    def specs(self) -> tuple[KeySpec, ...]:
        """The configuration-store keys of every attribute (built once, shared)."""
        return self.key_specs

    def find(self, component: dict, variable: dict, attribute: str | None
             ) -> tuple[str, Variable | None]:
        """(status, variable) for one request item: Accepted or the 2.0.1 reason why not
        (UnknownComponent, UnknownVariable, NotSupportedAttributeType)."""
        evse = component.get("evse") or {}
        where = (component["name"], evse.get("id"), evse.get("connectorId"))
        if component.get("instance"):
            return "UnknownComponent", None
        table = self.index.get(where)
        if table is None:
            return "UnknownComponent", None
        var = table.get((variable["name"], variable.get("instance")))
        if var is None:
            return "UnknownVariable", None
        if (attribute or "Actual") not in dict(var.attributes):
            return "NotSupportedAttributeType", var
        return "Accepted", var


@lru_cache(maxsize=64)
def model(connectors: int, security_profile: int, max_power_w: float = 11000.0,
          phases: int = 3) -> DeviceModel:
    variables = (*_controllers(security_profile), *_hardware(connectors, max_power_w, phases))
    index: dict[tuple, dict] = {}
    for v in variables:
        index.setdefault((v.component, v.evse, v.connector), {})[(v.name, v.instance)] = v
    return DeviceModel(variables, MappingProxyType({k: MappingProxyType(t)
                                                    for k, t in index.items()}),
                       frozenset(v.component for v in variables),
                       tuple(v.spec(a, d) for v in variables for a, d in v.attributes))
