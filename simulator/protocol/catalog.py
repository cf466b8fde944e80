"""The catalog of OCPP actions per version, built from the JSON schemas in the `ocpp` package.

Each action knows its request and response schema and who may initiate it.  Schemas are
read lazily on first use, so start-up does not pay for 200 files.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources

V16 = "ocpp1.6"
V201 = "ocpp2.0.1"
VERSIONS = (V16, V201)

CHARGE_POINT = "ChargePoint"
CSMS = "CSMS"

# Who initiates what.  The schemas do not say; the specs do.  Everything not listed here
# is initiated by the CSMS.  DataTransfer goes both ways.
_CP_INITIATED = {
    V16: {
        "Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification",
        "FirmwareStatusNotification", "Heartbeat", "MeterValues", "StartTransaction",
        "StatusNotification", "StopTransaction",
        # security extensions (OCPP 1.6 Security Whitepaper)
        "SecurityEventNotification", "SignCertificate", "LogStatusNotification",
        "SignedFirmwareStatusNotification",
    },
    V201: {
        "Authorize", "BootNotification", "ClearedChargingLimit", "DataTransfer",
        "FirmwareStatusNotification", "Get15118EVCertificate", "GetCertificateStatus",
        "Heartbeat", "LogStatusNotification", "MeterValues", "NotifyChargingLimit",
        "NotifyCustomerInformation", "NotifyDisplayMessages", "NotifyEVChargingNeeds",
        "NotifyEVChargingSchedule", "NotifyEvent", "NotifyMonitoringReport", "NotifyReport",
        "PublishFirmwareStatusNotification", "ReportChargingProfiles",
        "ReservationStatusUpdate", "SecurityEventNotification", "SignCertificate",
        "StatusNotification", "TransactionEvent",
    },
}
_BOTH_WAYS = {"DataTransfer"}

# Where the `ocpp` package keeps the schemas, and how it names request files.
_SCHEMA_DIR = {V16: ("ocpp.v16", "schemas", ""), V201: ("ocpp.v201", "schemas", "Request")}


@dataclass(frozen=True)
class ActionSpec:
    version: str
    name: str
    initiators: frozenset[str]
    _request_file: str = field(repr=False)
    _response_file: str = field(repr=False)

    @functools.cached_property
    def request_schema(self) -> dict:
        return _load(self.version, self._request_file)

    @functools.cached_property
    def response_schema(self) -> dict:
        return _load(self.version, self._response_file)

    def initiated_by(self, role: str) -> bool:
        return role in self.initiators


def _load(version: str, filename: str) -> dict:
    package, folder, _ = _SCHEMA_DIR[version]
    return json.loads(resources.files(package).joinpath(folder, filename).read_text("utf-8"))


class Catalog:
    """All actions of one OCPP version."""

    def __init__(self, version: str, actions: dict[str, ActionSpec]):
        self.version = version
        self.actions = actions
        self._folded = {name.lower(): name for name in actions}

    def __contains__(self, name: str) -> bool:
        return name in self.actions

    def __getitem__(self, name: str) -> ActionSpec:
        return self.actions[name]

    def get(self, name: str) -> ActionSpec | None:
        return self.actions.get(name)

    def canonical_name(self, name: str) -> str | None:
        """The spec's spelling of an action name given in any case (e.g. 'HeartBeat')."""
        return self._folded.get(name.lower())

    def initiated_by(self, role: str) -> list[str]:
        return sorted(n for n, a in self.actions.items() if a.initiated_by(role))


@functools.cache
def catalog(version: str) -> Catalog:
    if version not in _SCHEMA_DIR:
        raise ValueError(f"unknown OCPP version {version!r}; known: {', '.join(VERSIONS)}")
    package, folder, request_suffix = _SCHEMA_DIR[version]
    files = {p.name for p in resources.files(package).joinpath(folder).iterdir()}
    actions = {}
    for fname in files:
        if not fname.endswith("Response.json"):
            continue
        name = fname[: -len("Response.json")]
        request_file = f"{name}{request_suffix}.json"
        if request_file not in files:
            continue
        if name in _BOTH_WAYS:
            initiators = frozenset({CHARGE_POINT, CSMS})
        elif name in _CP_INITIATED[version]:
            initiators = frozenset({CHARGE_POINT})
        else:
            initiators = frozenset({CSMS})
        actions[name] = ActionSpec(version, name, initiators, request_file, fname)
    return Catalog(version, dict(sorted(actions.items())))
