"""The abstract hub protocol, CSMS-initiated direction: commands the hub sends to stations
and the typed results it gets back.

The manager and its features speak only these; an adapter (`adapters/`) turns a command into
its wire protocol's request and the station's reply into the result (`Command.RESULT`), so
a 2.0.1 or SOAP adapter serves the same commands.  Names and fields are version-neutral:
`ReserveNow.id_token`, not 1.6's `idTag`; `Reset.kind`; `ChangeAvailability.operative`.
`RawCommand` carries a request the adapter has no abstract form for (the wire action and
payload as given), answered by `RawResult`.

The classes register in `messages.MESSAGES`, so `messages.json_schema()` covers them.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from .messages import DataTransferResult, IdTokenInfo, Message


class CommandStatus(str, enum.Enum):
    """The union of the answers stations give to commands."""
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    SCHEDULED = "Scheduled"
    REBOOT_REQUIRED = "RebootRequired"
    NOT_SUPPORTED = "NotSupported"
    NOT_IMPLEMENTED = "NotImplemented"
    UNKNOWN = "Unknown"
    FAULTED = "Faulted"
    OCCUPIED = "Occupied"
    UNAVAILABLE = "Unavailable"
    UNLOCKED = "Unlocked"
    UNLOCK_FAILED = "UnlockFailed"
    FAILED = "Failed"
    VERSION_MISMATCH = "VersionMismatch"
    NOT_FOUND = "NotFound"
    ACCEPTED_CANCELED = "AcceptedCanceled"
    INVALID_CERTIFICATE = "InvalidCertificate"
    REVOKED_CERTIFICATE = "RevokedCertificate"
    ONGOING_AUTHORIZED_TRANSACTION = "OngoingAuthorizedTransaction"   # 2.0.1 UnlockConnector
    UNKNOWN_CONNECTOR = "UnknownConnector"                            # 2.0.1 UnlockConnector


class ResetKind(str, enum.Enum):
    HARD = "Hard"
    SOFT = "Soft"


class UpdateType(str, enum.Enum):
    FULL = "Full"
    DIFFERENTIAL = "Differential"


class Command(Message):
    """Base of CSMS-initiated commands; `RESULT` is the type of the station's answer."""
    RESULT: ClassVar[type]


class Result(Message):
    """Base of command results."""


# -- results --------------------------------------------------------------------------------

@dataclass(slots=True)
class Outcome(Result):
    """A bare answer.  status None: the wire reply carries none (1.6 UpdateFirmware)."""
    status: CommandStatus | None = None

    @property
    def accepted(self) -> bool:
        return self.status is CommandStatus.ACCEPTED


@dataclass(slots=True)
class ConfigurationSetting(Message):
    key: str
    readonly: bool
    value: str | None = None


@dataclass(slots=True)
class ConfigurationReport(Result):
    settings: list[ConfigurationSetting] = field(default_factory=list)
    unknown_keys: list[str] = field(default_factory=list)


@dataclass(slots=True)
class LocalListVersion(Result):
    version: int


@dataclass(slots=True)
class SchedulePeriod(Message):
    start: int          # seconds from the schedule's start
    limit: float        # in the schedule's rate unit
    phases: int | None = None


@dataclass(slots=True)
class ChargingSchedule(Message):
    rate_unit: str      # "A" | "W"
    periods: list[SchedulePeriod]
    duration: int | None = None
    start: datetime | None = None
    min_rate: float | None = None


@dataclass(slots=True)
class ChargingProfile(Message):
    profile_id: int
    stack_level: int
    purpose: str        # ChargePointMaxProfile | TxDefaultProfile | TxProfile
    kind: str           # Absolute | Recurring | Relative
    schedule: ChargingSchedule
    transaction_id: int | None = None
    recurrency: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None


@dataclass(slots=True)
class CompositeSchedule(Result):
    status: CommandStatus
    connector_id: int | None = None
    schedule_start: datetime | None = None
    schedule: ChargingSchedule | None = None


@dataclass(slots=True)
class UploadResult(Result):
    """GetDiagnostics / GetLog: the file the station will upload, if any."""
    status: CommandStatus | None = None
    file_name: str | None = None


@dataclass(slots=True)
class CertificateHash(Message):
    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str


@dataclass(slots=True)
class InstalledCertificates(Result):
    status: CommandStatus
    certificates: list[CertificateHash] = field(default_factory=list)


@dataclass(slots=True)
class VariableRef(Message):
    """A device-model variable (OCPP 2.0.1): component and variable, with their instances,
    the EVSE / connector the component belongs to, and the attribute (None: Actual)."""
    component: str
    variable: str
    component_instance: str | None = None
    variable_instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    attribute_type: str | None = None


@dataclass(slots=True)
class VariableResult(Message):
    variable: VariableRef
    status: str             # Accepted | Rejected | UnknownComponent | UnknownVariable | ...
    value: str | None = None
    reason: str | None = None   # statusInfo.reasonCode


@dataclass(slots=True)
class VariableReport(Result):
    """GetVariables / SetVariables: one result per variable asked for."""
    results: list[VariableResult] = field(default_factory=list)


@dataclass(slots=True)
class RawResult(Result):
    payload: Any = None


# -- commands -------------------------------------------------------------------------------

@dataclass(slots=True)
class Reset(Command):
    RESULT: ClassVar[type] = Outcome
    kind: ResetKind


@dataclass(slots=True)
class ChangeAvailability(Command):
    RESULT: ClassVar[type] = Outcome
    connector_id: int     # 0: the whole station
    operative: bool


@dataclass(slots=True)
class ChangeConfiguration(Command):
    RESULT: ClassVar[type] = Outcome
    key: str
    value: str


@dataclass(slots=True)
class GetConfiguration(Command):
    RESULT: ClassVar[type] = ConfigurationReport
    keys: list[str] = field(default_factory=list)   # empty: all


@dataclass(slots=True)
class ClearCache(Command):
    RESULT: ClassVar[type] = Outcome


@dataclass(slots=True)
class RemoteStart(Command):
    RESULT: ClassVar[type] = Outcome
    id_token: str
    connector_id: int | None = None
    charging_profile: ChargingProfile | None = None
    remote_start_id: int | None = None   # 2.0.1 remoteStartId (the adapter picks one if None)
    token_type: str | None = None        # 2.0.1 IdTokenType (None: Central)


@dataclass(slots=True)
class RemoteStop(Command):
    RESULT: ClassVar[type] = Outcome
    transaction_id: int


@dataclass(slots=True)
class UnlockConnector(Command):
    RESULT: ClassVar[type] = Outcome
    connector_id: int


@dataclass(slots=True)
class TriggerMessage(Command):
    RESULT: ClassVar[type] = Outcome
    message: str          # the station-initiated message wanted, e.g. "StatusNotification"
    connector_id: int | None = None


@dataclass(slots=True)
class SendDataTransfer(Command):
    RESULT: ClassVar[type] = DataTransferResult
    vendor_id: str
    message_id: str | None = None
    data: Any = None


@dataclass(slots=True)
class ReserveNow(Command):
    RESULT: ClassVar[type] = Outcome
    reservation_id: int
    connector_id: int
    id_token: str
    expiry_date: datetime
    parent_id_token: str | None = None


@dataclass(slots=True)
class CancelReservation(Command):
    RESULT: ClassVar[type] = Outcome
    reservation_id: int


@dataclass(slots=True)
class LocalListEntry(Message):
    id_token: str
    info: IdTokenInfo | None = None   # None in a differential update: remove the token


@dataclass(slots=True)
class SendLocalList(Command):
    RESULT: ClassVar[type] = Outcome
    version: int
    update_type: UpdateType
    entries: list[LocalListEntry] = field(default_factory=list)


@dataclass(slots=True)
class GetLocalListVersion(Command):
    RESULT: ClassVar[type] = LocalListVersion


@dataclass(slots=True)
class SetChargingProfile(Command):
    RESULT: ClassVar[type] = Outcome
    connector_id: int
    profile: ChargingProfile


@dataclass(slots=True)
class ClearChargingProfile(Command):
    """Clear by id, or every profile matching the criteria given (none given: all)."""
    RESULT: ClassVar[type] = Outcome
    profile_id: int | None = None
    connector_id: int | None = None
    purpose: str | None = None
    stack_level: int | None = None


@dataclass(slots=True)
class GetCompositeSchedule(Command):
    RESULT: ClassVar[type] = CompositeSchedule
    connector_id: int
    duration: int
    rate_unit: str | None = None


@dataclass(slots=True)
class UpdateFirmware(Command):
    """Plain (location + retrieve date) or signed (with signing certificate and signature)."""
    RESULT: ClassVar[type] = Outcome
    location: str
    retrieve_date: datetime
    retries: int | None = None
    retry_interval: int | None = None
    request_id: int | None = None
    install_date: datetime | None = None
    signing_certificate: str | None = None
    signature: str | None = None

    @property
    def signed(self) -> bool:
        return self.signature is not None


@dataclass(slots=True)
class GetDiagnostics(Command):
    RESULT: ClassVar[type] = UploadResult
    location: str
    start_time: datetime | None = None
    stop_time: datetime | None = None
    retries: int | None = None
    retry_interval: int | None = None


@dataclass(slots=True)
class GetLog(Command):
    RESULT: ClassVar[type] = UploadResult
    log_type: str         # DiagnosticsLog | SecurityLog
    request_id: int
    location: str
    oldest: datetime | None = None
    latest: datetime | None = None
    retries: int | None = None
    retry_interval: int | None = None


@dataclass(slots=True)
class CertificateSigned(Command):
    RESULT: ClassVar[type] = Outcome
    certificate_chain: str   # PEM, leaf first


@dataclass(slots=True)
class InstallCertificate(Command):
    RESULT: ClassVar[type] = Outcome
    kind: str             # CentralSystemRootCertificate | ManufacturerRootCertificate
    certificate: str


@dataclass(slots=True)
class DeleteCertificate(Command):
    RESULT: ClassVar[type] = Outcome
    certificate: CertificateHash


@dataclass(slots=True)
class GetInstalledCertificates(Command):
    RESULT: ClassVar[type] = InstalledCertificates
    kind: str


@dataclass(slots=True)
class GetVariables(Command):
    RESULT: ClassVar[type] = VariableReport
    variables: list[VariableRef]


@dataclass(slots=True)
class VariableSetting(Message):
    variable: VariableRef
    value: str


@dataclass(slots=True)
class SetVariables(Command):
    RESULT: ClassVar[type] = VariableReport
    settings: list[VariableSetting]


@dataclass(slots=True)
class RawCommand(Command):
    """A wire request with no abstract form: sent as given, in the station's protocol."""
    RESULT: ClassVar[type] = RawResult
    action: str
    payload: Any = None
