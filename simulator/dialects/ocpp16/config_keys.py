"""The 1.6 configuration keys: their definitions, and which key holds each of the
station's neutral settings (station/settings.py).

The definitions are built once per (connectors, security profile) and shared by every
station of that shape: KeySpecs are immutable.
"""
from __future__ import annotations

import re
from functools import lru_cache

from ...station.config import BOOL, CSL, INT, STR, KeySpec
from ...station.meter import MEASURANDS

# neutral setting -> 1.6 configuration key
SETTING_KEYS = {
    "heartbeat_interval": "HeartbeatInterval",
    "meter_interval": "MeterValueSampleInterval",
    "clock_aligned_interval": "ClockAlignedDataInterval",
    "connection_timeout": "ConnectionTimeOut",
    "ping_interval": "WebSocketPingInterval",
    "sampled_measurands": "MeterValuesSampledData",
    "aligned_measurands": "MeterValuesAlignedData",
    "stop_sampled_measurands": "StopTxnSampledData",
    "stop_aligned_measurands": "StopTxnAlignedData",
    "authorization_cache_enabled": "AuthorizationCacheEnabled",
    "authorize_remote_start": "AuthorizeRemoteTxRequests",
    "local_list_enabled": "LocalAuthListEnabled",
    "local_list_max_length": "LocalAuthListMaxLength",
    "local_list_max_send": "SendLocalListMaxLength",
    "local_authorize_offline": "LocalAuthorizeOffline",
    "local_pre_authorize": "LocalPreAuthorize",
    "allow_offline_tx_for_unknown_id": "AllowOfflineTxForUnknownId",
    "stop_on_ev_disconnect": "StopTransactionOnEVSideDisconnect",
    "stop_on_invalid_id": "StopTransactionOnInvalidId",
    "tx_message_attempts": "TransactionMessageAttempts",
    "tx_message_retry_interval": "TransactionMessageRetryInterval",
    "reserve_connector_zero": "ReserveConnectorZeroSupported",
    "profile_max_stack_level": "ChargeProfileMaxStackLevel",
    "schedule_allowed_units": "ChargingScheduleAllowedChargingRateUnit",
    "schedule_max_periods": "ChargingScheduleMaxPeriods",
    "max_profiles_installed": "MaxChargingProfilesInstalled",
    "security_profile": "SecurityProfile",
    "authorization_key": "AuthorizationKey",
    "cpo_name": "CpoName",
    "certificate_store_max_length": "CertificateStoreMaxLength",
    "certificate_chain_max_size": "CertificateSignedMaxChainSize",
}


@lru_cache(maxsize=64)
def specs(connectors: int, security_profile: int) -> tuple[KeySpec, ...]:
    """Every key of a 1.6 station with `connectors` connectors."""
    return (*core_keys(connectors), *security_keys(security_profile))


def core_keys(connectors: int) -> list[KeySpec]:
    """OCPP 1.6 Core profile keys (plus AuthorizationCache/LocalAuthList) for this station."""
    measurands = frozenset(MEASURANDS)
    rotation = ",".join(f"{i}.RST" for i in range(connectors + 1))
    max_measurands = len(MEASURANDS)
    return [
        KeySpec("AllowOfflineTxForUnknownId", BOOL, "false"),
        KeySpec("AuthorizationCacheEnabled", BOOL, "true"),
        KeySpec("AuthorizeRemoteTxRequests", BOOL, "false"),
        KeySpec("ClockAlignedDataInterval", INT, "0"),
        KeySpec("ConnectionTimeOut", INT, "60"),
        KeySpec("ConnectorPhaseRotation", CSL, rotation, pattern=re.compile(
            r"\d+\.(NotApplicable|Unknown|RST|RTS|SRT|STR|TRS|TSR)"), max_items=connectors + 1),
        KeySpec("ConnectorPhaseRotationMaxLength", INT, str(connectors + 1), readonly=True),
        KeySpec("GetConfigurationMaxKeys", INT, "50", readonly=True),
        KeySpec("HeartbeatInterval", INT, "300"),
        # Every profile the station implements is on by default, so a CSMS can exercise
        # each without a template.
        KeySpec("LocalAuthListEnabled", BOOL, "true"),
        KeySpec("LocalAuthListMaxLength", INT, "1000", readonly=True),   # local_list.py
        KeySpec("LocalAuthorizeOffline", BOOL, "true"),
        KeySpec("LocalPreAuthorize", BOOL, "false"),
        KeySpec("MeterValuesAlignedData", CSL, "Energy.Active.Import.Register",
                allowed=measurands, max_items=max_measurands),
        KeySpec("MeterValuesAlignedDataMaxLength", INT, str(max_measurands), readonly=True),
        KeySpec("MeterValuesSampledData", CSL, "Energy.Active.Import.Register",
                allowed=measurands, max_items=max_measurands),
        KeySpec("MeterValuesSampledDataMaxLength", INT, str(max_measurands), readonly=True),
        KeySpec("MeterValueSampleInterval", INT, "60"),
        KeySpec("NumberOfConnectors", INT, str(connectors), readonly=True),
        KeySpec("ReserveConnectorZeroSupported", BOOL, "true", readonly=True),  # reservations.py
        KeySpec("ResetRetries", INT, "1"),
        KeySpec("SendLocalListMaxLength", INT, "100", readonly=True),
        KeySpec("StopTransactionOnEVSideDisconnect", BOOL, "true"),
        KeySpec("StopTransactionOnInvalidId", BOOL, "true"),
        KeySpec("StopTxnAlignedData", CSL, "", allowed=measurands, max_items=max_measurands),
        KeySpec("StopTxnAlignedDataMaxLength", INT, str(max_measurands), readonly=True),
        KeySpec("StopTxnSampledData", CSL, "", allowed=measurands, max_items=max_measurands),
        KeySpec("StopTxnSampledDataMaxLength", INT, str(max_measurands), readonly=True),
        # Only the profiles the station really implements.
        KeySpec("SupportedFeatureProfiles", CSL,
                "Core,FirmwareManagement,LocalAuthListManagement,RemoteTrigger,Reservation,"
                "SmartCharging",
                readonly=True),
        # SmartCharging profile (smart_charging.py)
        KeySpec("ChargeProfileMaxStackLevel", INT, "10", readonly=True),
        KeySpec("ChargingScheduleAllowedChargingRateUnit", CSL, "Current,Power", readonly=True,
                allowed=frozenset({"Current", "Power"}), max_items=2),
        KeySpec("ChargingScheduleMaxPeriods", INT, "24", readonly=True),
        KeySpec("MaxChargingProfilesInstalled", INT, "20", readonly=True),
        KeySpec("TransactionMessageAttempts", INT, "3", minimum=1),
        KeySpec("TransactionMessageRetryInterval", INT, "60"),
        KeySpec("UnlockConnectorOnEVSideDisconnect", BOOL, "true"),
        KeySpec("WebSocketPingInterval", INT, "60"),
    ]


def security_keys(profile: int) -> list[KeySpec]:
    """The whitepaper's configuration keys.  SecurityProfile's minimum follows its value, so
    a ChangeConfiguration that lowers it is Rejected."""
    return [
        KeySpec("AdditionalRootCertificateCheck", BOOL, "false", readonly=True),
        # 1.6 security whitepaper: 16..40 printable characters.
        KeySpec("AuthorizationKey", STR, "", pattern=re.compile(r"[\x21-\x7e]{16,40}"),
                write_only=True),
        KeySpec("CertificateSignedMaxChainSize", INT, "10000", readonly=True),
        KeySpec("CertificateStoreMaxLength", INT, "10", readonly=True),
        KeySpec("CpoName", STR, ""),
        KeySpec("SecurityProfile", INT, str(profile), minimum=profile, maximum=3),
    ]


