"""The NetHealthCheck resource: typed spec and status, their schema, and ``parse(body)``.

Each dataclass in this package is followed by its schema (``schema.Obj``), which lists the
same fields with their JSON names, defaults, bounds and rules. The CRD (``definition``)
is rendered from these schemas and ``parse`` loads with them, so the API server and the
operator accept exactly the same objects and fill in the same defaults. The modules
follow the resource: ``selectors``, ``targets``, ``probing``, ``remediation``, ``spec``,
``conditions``, ``status``, ``resource``; this module gathers their public names.

Choices worth knowing:
- Durations are Go-style strings ("30s", "5m", "1h30m"): what Kubernetes users write
  elsewhere, and what CEL's ``duration()`` parses, so the API server itself can check
  ``spread < interval``.
- ``threshold.failureRate`` is a JSON number, not a string: the API server then enforces
  ``0 < x < 1`` and the type without any parsing, and YAML's ``0.2`` just works. The API
  conventions' advice against floats is about Go types round-tripping; this CRD has no Go
  types, and a rate needs no exact decimal.
- ``targets`` is a list-map keyed by ``name`` and ``pauseRequests`` a set, so that
  server-side apply merges them per entry: two people can each add a pause reason.
- An empty ``selector`` is refused: it would select every pod of the namespace, including
  the probe's own pods.
- ``parse`` refuses unknown fields (the API server prunes them): an operator older than
  its CRD says which field it does not know instead of ignoring, say, a new safety limit.
"""

from nethealth.model.conditions import (
    CONDITION,
    Condition,
    ConditionStatus,
    ConditionType,
    Reason,
)
from nethealth.model.events import EventReason, EventType, Notice
from nethealth.model.probing import (
    PROBE,
    THRESHOLD,
    Probe,
    Quantities,
    Resources,
    Threshold,
    windows_within,
)
from nethealth.model.remediation import (
    REMEDIATION,
    Prevention,
    Remediation,
    RemediationMode,
    RemediationStrategy,
)
from nethealth.model.resource import (
    API_VERSION,
    GROUP,
    KIND,
    PLURAL,
    SHORT_NAMES,
    SINGULAR,
    VERSION,
    NetHealthCheck,
    SpecError,
    dump_status,
    parse,
    parse_spec,
    parse_status,
)
from nethealth.model.selectors import LABEL_SELECTOR, LabelSelector, Requirement, SelectorOperator
from nethealth.model.spec import SPEC, Spec
from nethealth.model.status import (
    EMPTY_STATUS,
    MAX_POD_RESULTS,
    MAX_WORKLOAD_RESULTS,
    STATUS,
    PodResult,
    PodState,
    Status,
    Summary,
    WorkloadResult,
    WorkloadState,
)
from nethealth.model.targets import DNS_CHECK, TARGET, DnsCheck

__all__ = [
    "API_VERSION",
    "CONDITION",
    "DNS_CHECK",
    "EMPTY_STATUS",
    "GROUP",
    "KIND",
    "LABEL_SELECTOR",
    "MAX_POD_RESULTS",
    "MAX_WORKLOAD_RESULTS",
    "PLURAL",
    "PROBE",
    "REMEDIATION",
    "SHORT_NAMES",
    "SINGULAR",
    "SPEC",
    "STATUS",
    "TARGET",
    "THRESHOLD",
    "VERSION",
    "Condition",
    "ConditionStatus",
    "ConditionType",
    "DnsCheck",
    "EventReason",
    "EventType",
    "LabelSelector",
    "NetHealthCheck",
    "Notice",
    "PodResult",
    "PodState",
    "Prevention",
    "Probe",
    "Quantities",
    "Reason",
    "Remediation",
    "RemediationMode",
    "RemediationStrategy",
    "Requirement",
    "Resources",
    "SelectorOperator",
    "Spec",
    "SpecError",
    "Status",
    "Summary",
    "Threshold",
    "WorkloadResult",
    "WorkloadState",
    "dump_status",
    "parse",
    "parse_spec",
    "parse_status",
    "windows_within",
]
