"""The 1.5 names of the station's neutral values.

1.5 has fewer words than the station: one `Occupied` for every connector in use (preparing,
charging, suspended, finishing), no `Pending` registration, fewer error codes, measurands
and units.  Where the station knows more, this module says what 1.5 can say.
"""
from __future__ import annotations

from ...station.connector import Status
from ...station.lifecycle import Registration

S = Status
STATUS: dict[Status, str] = {
    S.AVAILABLE: "Available", S.PREPARING: "Occupied", S.CHARGING: "Occupied",
    S.SUSPENDED_EV: "Occupied", S.SUSPENDED_EVSE: "Occupied", S.FINISHING: "Occupied",
    S.RESERVED: "Reserved", S.UNAVAILABLE: "Unavailable", S.FAULTED: "Faulted",
}

# ChargePointErrorCode of 1.5; the station's other codes are reported as OtherError
ERROR_CODES = frozenset({
    "ConnectorLockFailure", "HighTemperature", "Mode3Error", "NoError", "PowerMeterFailure",
    "PowerSwitchFailure", "ReaderFailure", "ResetFailure", "GroundFailure",
    "OverCurrentFailure", "UnderVoltage", "WeakSignal", "OtherError"})

REGISTRATION_OF: dict[str, Registration] = {
    "Accepted": Registration.ACCEPTED, "Rejected": Registration.REJECTED}

# what a 1.5 meter value may say (the schema's Measurand, UnitOfMeasure, ReadingContext,
# Location); the station's units spelt in 1.5
MEASURANDS = frozenset({
    "Energy.Active.Export.Register", "Energy.Active.Import.Register",
    "Energy.Reactive.Export.Register", "Energy.Reactive.Import.Register",
    "Energy.Active.Export.Interval", "Energy.Active.Import.Interval",
    "Energy.Reactive.Export.Interval", "Energy.Reactive.Import.Interval",
    "Power.Active.Export", "Power.Active.Import", "Power.Reactive.Export",
    "Power.Reactive.Import", "Current.Export", "Current.Import", "Voltage", "Temperature"})
UNITS = {"Wh": "Wh", "kWh": "kWh", "varh": "varh", "kvarh": "kvarh", "W": "W", "kW": "kW",
         "var": "var", "kvar": "kvar", "A": "Amp", "V": "Volt", "Celsius": "Celsius"}
CONTEXTS = frozenset({"Interruption.Begin", "Interruption.End", "Sample.Clock",
                      "Sample.Periodic", "Transaction.Begin", "Transaction.End"})
LOCATIONS = frozenset({"Inlet", "Outlet", "Body"})

# the station's firmware / diagnostics statuses that 1.5 has a word for (the others, such
# as Downloading or Uploading, are not reported)
FIRMWARE_STATUSES = frozenset({"Downloaded", "DownloadFailed", "InstallationFailed", "Installed"})
DIAGNOSTICS_STATUSES = frozenset({"Uploaded", "UploadFailed"})

# ConfigurationStatus: 1.5 has no RebootRequired (the value is stored: Accepted)
CONFIGURATION_STATUS = {"RebootRequired": "Accepted"}
