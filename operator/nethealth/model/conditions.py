"""Status conditions in the metav1.Condition shape, and the types and reasons this operator
uses: one list, so that handlers, tests and documentation use the same words.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum

from nethealth import schema


class ConditionStatus(enum.StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class ConditionType(enum.StrEnum):
    READY = "Ready"  # the check runs (False: it cannot, the reason says why)
    DEGRADED = "Degraded"  # some selected pod is degraded
    REMEDIATION_BLOCKED = "RemediationBlocked"
    REMEDIATED = "Remediated"
    REMEDIATION_INEFFECTIVE = "RemediationIneffective"
    REMEDIATION_REVERTED = "RemediationReverted"
    ON_SCHEDULE = "OnSchedule"  # the latest run started on time (False: late, by how much)


class Reason(enum.StrEnum):
    """Condition reasons (CamelCase, as metav1.Condition requires)."""

    # Ready
    RUNNING = "Running"
    INVALID_SPEC = "InvalidSpec"
    NAMESPACE_SELECTOR_NOT_ALLOWED = "NamespaceSelectorNotAllowed"
    NO_PODS_SELECTED = "NoPodsSelected"
    TARGET_UNRESOLVABLE = "TargetUnresolvable"
    PROBE_IMAGE_NOT_ALLOWED = "ProbeImageNotAllowed"
    TARGET_NOT_ALLOWED = "TargetNotAllowed"  # loopback, link-local, the node's own
    PROBE_REFUSED_BY_POD_SECURITY = "ProbeRefusedByPodSecurity"
    # OnSchedule
    ON_TIME = "OnTime"
    RUN_LATE = "RunLate"
    # Degraded
    PODS_DEGRADED = "PodsDegraded"
    NO_PODS_DEGRADED = "NoPodsDegraded"
    # Remediation
    PAUSED = "Paused"
    MODE_OFF = "ModeOff"
    DRY_RUN = "DryRun"
    NOT_REMEDIABLE = "NotRemediable"
    CLASS_NOT_ELIGIBLE = "ClassNotEligible"
    POD_SECURITY_FORBIDS = "PodSecurityForbidsHostNetwork"
    HOST_PORT_CONFLICT = "HostPortConflict"
    ROLLOUT_WOULD_DEADLOCK = "RolloutWouldDeadlock"
    BUDGET_EXHAUSTED = "BudgetExhausted"
    COOLDOWN = "Cooldown"
    MOST_PODS_DEGRADED = "MostPodsDegraded"
    VERIFYING = "Verifying"
    VERIFIED = "Verified"
    VERIFICATION_OFF = "VerificationOff"
    STILL_FAILING = "StillFailing"
    NOT_VERIFIED_IN_TIME = "NotVerifiedInTime"
    APPLY_FAILED = "ApplyFailed"
    REVERTED_BY_OTHER_MANAGER = "RevertedByOtherManager"
    CHANGED_BY_ANOTHER_CHECK = "ChangedByAnotherCheck"
    HALF_REVERTED = "HalfRevertedByOtherManager"
    RELAPSED = "Relapsed"
    DNS_POLICY_WOULD_CHANGE = "DnsPolicyWouldChange"
    TRAFFIC_FILTERED = "TrafficFiltered"
    DISRUPTION_BUDGET = "DisruptionBudgetForbids"
    FIELDS_OWNED_BY_ANOTHER_MANAGER = "FieldsOwnedByAnotherManager"


CONDITION_TYPE = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
CONDITION_REASON = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Condition:
    """A metav1.Condition."""

    type: str
    status: ConditionStatus
    reason: str
    message: str
    last_transition_time: datetime.datetime
    observed_generation: int | None


CONDITION = schema.Obj(
    cls=Condition,
    props={
        "type": schema.Prop(
            required=True,
            node=schema.Str(max_length=316, pattern=CONDITION_TYPE, hint="a CamelCase type"),
        ),
        "status": schema.Prop(required=True, node=schema.Choice(choices=ConditionStatus)),
        "reason": schema.Prop(
            required=True,
            node=schema.Str(
                max_length=1024, min_length=1, pattern=CONDITION_REASON, hint="a CamelCase reason"
            ),
        ),
        "message": schema.Prop(required=True, node=schema.Str(max_length=32768)),
        "last_transition_time": schema.Prop(required=True, node=schema.Timestamp()),
        "observed_generation": schema.Prop(node=schema.Int(minimum=0)),
    },
)
