"""Events: the one vocabulary of what the operator tells people, and the one ``Notice``.

An Event marks a change a person should hear about, not every run. Its reason is either
one of the ``EventReason`` s below (something happened: a pod degraded, a workload was
patched) or a condition's ``Reason`` (a remediation is blocked, and the Event says the same
as the ``RemediationBlocked`` condition, so a person can search for one word). Every
module that wants an Event returns ``Notice`` values; only ``loop.notify`` posts them.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Final

from nethealth.model.conditions import Reason


class EventType(enum.StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


class EventReason(enum.StrEnum):
    # detection
    POD_DEGRADED = "PodNetworkDegraded"
    POD_RECOVERED = "PodNetworkRecovered"
    PROBE_INCONCLUSIVE = "ProbeInconclusive"
    # remediation: what was done to a workload
    HOST_NETWORK_APPLIED = "HostNetworkApplied"
    PODS_RESTARTED = "PodsRestarted"
    BROADCAST_ROUTE_ADDED = "BroadcastRouteAdded"
    REMEDIATION_VERIFIED = "RemediationVerified"
    REMEDIATION_INEFFECTIVE = "RemediationIneffective"
    REMEDIATION_REVERTED = "RemediationReverted"
    REMEDIATION_APPLY_FAILED = "RemediationApplyFailed"


# The Events that report an action on a workload: what the actions metric counts.
ACTIONS: Final = frozenset(
    {
        EventReason.HOST_NETWORK_APPLIED,
        EventReason.PODS_RESTARTED,
        EventReason.BROADCAST_ROUTE_ADDED,
        EventReason.REMEDIATION_VERIFIED,
        EventReason.REMEDIATION_INEFFECTIVE,
        EventReason.REMEDIATION_APPLY_FAILED,
    }
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Notice:
    """One Event: on the check, and on each of ``pods`` (``namespace/name``) still known."""

    type: EventType
    reason: EventReason | Reason
    message: str
    pods: tuple[str, ...] = ()
