"""Pure: the preflight gates a degraded workload passes before its hostNetwork patch.

Each gate answers one question about one workload (``Case``) and says no with a reason
and a message, or nothing: a person's word first (mode, pause), then facts about the fault
(its class, most pods degraded at once), then what the change would break (Pod Security,
ports, a rollout that would deadlock), then the limits (cooldown, budget). ``planning``
runs them in that order; the first no wins and becomes a Blocked verdict.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Final

from nethealth import model
from nethealth.probe import types
from nethealth.remediation import hostnetwork, placement

RawObject = Mapping[str, Any]

PSA_PREFIX: Final = "pod-security.kubernetes.io/"
PSA_FORBIDDING: Final = frozenset({"baseline", "restricted"})
OWN_DNS_POLICIES: Final = frozenset({"Default", "None"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class PodFacts:
    """A measured pod of the check: its decision and the workload that owns it."""

    key: str  # namespace/name
    node: str
    state: model.PodState
    klass: types.ProbeClass | None
    hint: str | None  # the probe's top hint, "Code: evidence"
    classes: frozenset[types.ProbeClass] = frozenset()  # of its failing streak (or none known)
    owner: hostnetwork.WorkloadKey | hostnetwork.NotRemediable


@dataclasses.dataclass(frozen=True, kw_only=True)
class Limits:
    """Operator-wide limits (settings), next to the check's own ``spec.remediation``."""

    global_remaining: int | None = None  # pods all checks together may still remediate
    node_network_eligible: bool = False
    most_degraded_share: float = 0.5  # more than this share degraded at once: not remediated
    most_degraded_min_pods: int = 3  # ... when at least this many pods are measured


@dataclasses.dataclass(frozen=True, kw_only=True)
class Case:
    """One workload's inputs to the verdict."""

    check: str  # namespace/name
    check_uid: str
    key: hostnetwork.WorkloadKey
    group: tuple[PodFacts, ...]
    remediation: model.Remediation
    workload: RawObject
    namespace_labels: Mapping[str, str]
    node_pods: Mapping[str, Sequence[RawObject]]
    last_change: datetime.datetime | None
    now: datetime.datetime
    limits: Limits
    most: str | None
    budget: int
    pods_of_workload: int

    @property
    def subject(self) -> str:
        return str(self.key)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.group)


Gate = tuple[model.Reason, str] | None


def gates(case: Case, *, warnings: list[str]) -> tuple[Gate, ...]:
    """Every gate's answer for ``case``, in order (warnings of passing gates collected)."""
    return (
        mode_gate(case),
        class_gate(case),
        dns_policy_gate(case),
        ownership_gate(case),
        pod_security(case, warnings=warnings),
        port_conflict(case),
        rollout_deadlock(case),
        cooldown_gate(case),
        budget_gate(case),
    )


def mode_gate(case: Case) -> Gate:
    if case.remediation.mode is model.RemediationMode.OFF:
        return model.Reason.MODE_OFF, "remediation mode is Off (detect only)"
    if case.remediation.pause_requests:
        return model.Reason.PAUSED, f"paused: {'; '.join(case.remediation.pause_requests)}"
    return None


def class_gate(case: Case) -> Gate:
    """Every degraded pod of the workload, on every run of its failing streak, failed in a
    way leaving its namespace can help: one eligible pod does not carry the others."""
    eligible = {types.ProbeClass.POD_NAMESPACE}
    if case.limits.node_network_eligible:
        eligible.add(types.ProbeClass.NODE_NETWORK)
    seen = {k for p in case.group for k in (p.classes or {p.klass})}
    if types.ProbeClass.FILTERED in seen:
        return (
            model.Reason.TRAFFIC_FILTERED,
            "its traffic is filtered beyond its pod's namespace (timeouts or refusals where a"
            " fresh pod gets through: a NetworkPolicy selecting it, or a firewall); the"
            " node's network would only get around the policy, so it is never moved there",
        )
    if not seen <= eligible:
        classes = ", ".join(sorted(str(k) for k in seen))
        allowed = ", ".join(sorted(eligible))
        return (
            model.Reason.CLASS_NOT_ELIGIBLE,
            f"class {classes} is not helped by hostNetwork (eligible: {allowed})",
        )
    if case.most is not None:
        return model.Reason.MOST_PODS_DEGRADED, case.most
    return None


def dns_policy_gate(case: Case) -> Gate:
    """Pods with ``dnsPolicy: Default`` or ``None`` resolve names their own way; the patch
    would switch them to cluster DNS (ClusterFirstWithHostNet) behind their owner's back."""
    policy = hostnetwork.pod_spec(case.workload).get("dnsPolicy")
    if policy not in OWN_DNS_POLICIES:
        return None
    return (
        model.Reason.DNS_POLICY_WOULD_CHANGE,
        f"its pods use dnsPolicy {policy}: the patch would change how they resolve names"
        f" (to {hostnetwork.HOST_DNS_POLICY})",
    )


def ownership_gate(case: Case) -> Gate:
    """A manager that names the two fields (a GitOps tool) keeps them: taking them would
    only start a round of flip-flop with it."""
    manager = hostnetwork.claimed_by(case.workload)
    if manager is None:
        return None
    return (
        model.Reason.FIELDS_OWNED_BY_ANOTHER_MANAGER,
        f"{manager} sets hostNetwork or dnsPolicy itself; not taken from it (leave the two"
        " fields out of its manifest to allow the fallback: docs/argocd.md)",
    )


def cooldown_gate(case: Case) -> Gate:
    if case.last_change is None or case.now >= case.last_change + case.remediation.cooldown:
        return None
    until = case.last_change + case.remediation.cooldown
    return (
        model.Reason.COOLDOWN,
        f"changed at {case.last_change:%Y-%m-%dT%H:%M:%SZ}; cooldown"
        f" {case.remediation.cooldown} lasts until {until:%Y-%m-%dT%H:%M:%SZ}",
    )


def budget_gate(case: Case) -> Gate:
    if case.pods_of_workload <= case.budget:
        return None
    cap = ", and the operator-wide cap" if case.limits.global_remaining is not None else ""
    return (
        model.Reason.BUDGET_EXHAUSTED,
        f"{case.pods_of_workload} pod(s) would change, {max(case.budget, 0)} left of the"
        f" budget (maxRemediatedPods {case.remediation.max_remediated_pods}{cap})",
    )


def pod_security(case: Case, *, warnings: list[str]) -> Gate:
    labels, namespace = case.namespace_labels, case.key.namespace
    enforce = labels.get(f"{PSA_PREFIX}enforce", "privileged")
    if enforce in PSA_FORBIDDING:
        return (
            model.Reason.POD_SECURITY_FORBIDS,
            f"namespace {namespace} enforces Pod Security level {enforce!r}, which forbids"
            " hostNetwork: the new pods would be rejected",
        )
    for mode in ("warn", "audit"):
        level = labels.get(f"{PSA_PREFIX}{mode}")
        if level in PSA_FORBIDDING:
            warnings.append(
                f"namespace {namespace} {mode}s at Pod Security level {level!r}: hostNetwork"
                " pods will be reported by it"
            )
    return None


def port_conflict(case: Case) -> Gate:
    clash = placement.port_clash(key=case.key, workload=case.workload, node_pods=case.node_pods)
    return None if clash is None else (model.Reason.HOST_PORT_CONFLICT, clash)


def rollout_deadlock(case: Case) -> Gate:
    deadlock = placement.surge_deadlock(key=case.key, workload=case.workload)
    return None if deadlock is None else (model.Reason.ROLLOUT_WOULD_DEADLOCK, deadlock)
