"""Pure: which degraded pods' workloads to move to the node's network, and why not.

The fallback for a pod whose own network namespace is broken is to run its workload in the
node's namespace (the patch itself: ``hostnetwork``). It must never make things worse, so
every candidate passes a preflight first, and each failure is a verdict naming what blocks
it (a ``RemediationBlocked`` condition and an Event), with nothing changed:

- only a Deployment, StatefulSet or DaemonSet can be patched (``hostnetwork.owner_of``);
- only a fault of the pod's own namespace (class ``PodNamespace``, optionally
  ``NodeNetwork``) is helped by leaving it; most selected pods degraded at once points at
  the node or upstream, which hostNetwork does not escape; a kernel-bug hint still
  proceeds, with a warning that the fault may follow the process into the node's namespace;
- Pod Security Admission ``enforce`` baseline/restricted rejects hostNetwork pods: the
  rollout would stall with no new pod at all (``warn``/``audit`` only warn);
- ports and placement (``placement``): a port another pod holds on the node, replicas that
  may share a node, a surge rollout on a node-pinned workload;
- blast radius: ``maxRemediatedPods`` per check (pods of the workloads this check has
  patched count until reverted), a global cap, a cooldown per workload;
- ``mode`` Off / DryRun / Auto, and ``pauseRequests`` stop anything new. DryRun runs the
  whole preflight and publishes the exact apply body, so it shows what Auto would do.

Planning is idempotent: a workload carrying the annotation and the patched values needs
nothing; one carrying the annotation but *not* the values was changed back by another
manager (Argo CD self-heal, a person): it is reported as ``RevertedByOtherManager``, naming
the manager, and never patched again while the annotation is there, because re-patching
would fight GitOps in a loop.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from nethealth import model
from nethealth.remediation import hostnetwork, placement, preflight

RawObject = Mapping[str, Any]

KERNEL_BUG_HINT: Final = "KernelBroadcastRouteCache"


PodFacts = preflight.PodFacts
Limits = preflight.Limits
NO_LIMITS = Limits()  # only the check's own spec.remediation


class Outcome(enum.StrEnum):
    PATCH = "Patch"  # Auto: apply ``Action.body``
    DRY_RUN = "DryRun"  # publish ``Action.body``; change nothing
    BLOCKED = "Blocked"  # a preflight or a limit says no; ``reason`` names it
    APPLIED = "Applied"  # the patch is in place already: nothing to do
    REVERTED_BY_OTHER = "RevertedByOtherManager"  # changed back by someone else: not fought


@dataclasses.dataclass(frozen=True, kw_only=True)
class Verdict:
    """What the plan says about one workload (or one pod without a workload)."""

    subject: str  # "Deployment/ns/name", or the pod's namespace/name
    pods: tuple[str, ...]  # its degraded pods
    outcome: Outcome
    reason: model.Reason | None
    message: str
    warnings: tuple[str, ...] = ()
    body: Mapping[str, Any] | None = None  # the server-side apply body (PATCH, DRY_RUN)
    workload: hostnetwork.WorkloadKey | None = None  # None: a pod without a workload


@dataclasses.dataclass(frozen=True, kw_only=True)
class Plan:
    verdicts: tuple[Verdict, ...]

    @property
    def patches(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.outcome is Outcome.PATCH)

    @property
    def blocked(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.outcome is Outcome.BLOCKED)


# --- planning -------------------------------------------------------------------------------


def plan(
    *,
    check: str,
    check_uid: str,
    remediation: model.Remediation,
    pods: Mapping[str, PodFacts],
    workloads: Mapping[hostnetwork.WorkloadKey, RawObject],
    namespace_labels: Mapping[str, Mapping[str, str]],
    node_pods: Mapping[str, Sequence[RawObject]],
    history: Mapping[hostnetwork.WorkloadKey, datetime.datetime],
    now: datetime.datetime,
    limits: Limits = NO_LIMITS,
) -> Plan:
    """Every degraded pod's workload, with what to do about it.

    ``check`` is the check's ``namespace/name`` and ``check_uid`` its uid (both recorded on
    a patched workload); ``pods`` are all measured pods of the check (the denominator of
    "most pods degraded"); ``workloads`` the owners read from the API; ``node_pods`` every
    pod on the nodes the workloads' pods may run on (for port conflicts); ``history`` when
    this operator last changed a workload (patch or revert), for the cooldown. The budget
    counts the pods a patch moves: every replica of the workload, not only the selected.
    """
    degraded = {k: p for k, p in pods.items() if p.state is model.PodState.DEGRADED}
    verdicts: list[Verdict] = []
    groups: dict[hostnetwork.WorkloadKey, list[PodFacts]] = {}
    for key in sorted(degraded):
        pod = degraded[key]
        if isinstance(pod.owner, hostnetwork.NotRemediable):
            why = f"{key}: {pod.owner.why}"
            verdicts.append(_blocked(key, (key,), model.Reason.NOT_REMEDIABLE, why))
        else:
            groups.setdefault(pod.owner, []).append(pod)
    budget = remediation.max_remediated_pods - _active_pods(check=check, workloads=workloads)
    if limits.global_remaining is not None:
        budget = min(budget, limits.global_remaining)
    most = _most_degraded(measured=len(pods), degraded=len(degraded), limits=limits)
    for wkey in sorted(groups):
        workload = workloads.get(wkey)
        if workload is None:
            names = tuple(p.key for p in groups[wkey])
            why = f"{wkey} was not found"
            verdicts.append(
                _blocked(str(wkey), names, model.Reason.NOT_REMEDIABLE, why, workload=wkey)
            )
            continue
        pods_of_workload = placement.pods_moved(
            key=wkey, workload=workload, known=sum(1 for p in pods.values() if p.owner == wkey)
        )
        verdict = _judge(
            preflight.Case(
                check=check,
                check_uid=check_uid,
                key=wkey,
                group=tuple(groups[wkey]),
                remediation=remediation,
                workload=workload,
                namespace_labels=namespace_labels.get(wkey.namespace) or {},
                node_pods=node_pods,
                last_change=history.get(wkey),
                now=now,
                limits=limits,
                most=most,
                budget=budget,
                pods_of_workload=pods_of_workload,
            )
        )
        if verdict.outcome in (Outcome.PATCH, Outcome.DRY_RUN):
            budget -= pods_of_workload  # DryRun counts too: it shows what Auto would do
        verdicts.append(verdict)
    return Plan(verdicts=tuple(verdicts))


def _active_pods(*, check: str, workloads: Mapping[hostnetwork.WorkloadKey, RawObject]) -> int:
    """Pods of the workloads this check has changed and not reverted, every replica."""
    return sum(
        placement.pods_moved(key=k, workload=w, known=1)
        for k, w in workloads.items()
        if hostnetwork.changed_by(w) == check
    )


def _most_degraded(*, measured: int, degraded: int, limits: Limits) -> str | None:
    if (
        measured < limits.most_degraded_min_pods
        or degraded <= measured * limits.most_degraded_share
    ):
        return None
    return (
        f"{degraded} of {measured} selected pods are degraded at once: more likely a node or"
        " upstream fault, which hostNetwork does not escape"
    )


def _judge(case: preflight.Case) -> Verdict:
    """The first gate that says no wins; their order puts a person's word (mode, pause)
    first, then facts about the fault, then what the change would break, then limits."""
    settled = _settled(case)
    if settled is not None:
        return settled
    warnings: list[str] = []
    for gate in preflight.gates(case, warnings=warnings):
        if gate is not None:
            reason, why = gate
            return _blocked(
                case.subject, case.names, reason, f"{case.subject}: {why}", workload=case.key
            )
    if any(p.hint and p.hint.startswith(KERNEL_BUG_HINT) for p in case.group):
        warnings.append(
            "the probe points at the kernel's broadcast-route-cache bug, which lives in the"
            " node's kernel: hostNetwork may carry the fault to the node; upgrade the kernel"
        )
    dry = case.remediation.mode is model.RemediationMode.DRY_RUN
    before = hostnetwork.original(case.workload).dump()
    return Verdict(
        subject=case.subject,
        workload=case.key,
        pods=case.names,
        outcome=Outcome.DRY_RUN if dry else Outcome.PATCH,
        reason=model.Reason.DRY_RUN if dry else None,
        message=f"{case.subject}: {'would set' if dry else 'sets'} hostNetwork: true,"
        f" dnsPolicy: {hostnetwork.HOST_DNS_POLICY} (was {before}) for degraded"
        f" pod(s) {', '.join(case.names)}",
        warnings=tuple(warnings),
        body=hostnetwork.patch_body(
            key=case.key,
            workload=case.workload,
            check=case.check,
            check_uid=case.check_uid,
            revert_on_delete=case.remediation.revert_on_delete,
            now=case.now,
        ),
    )


def _settled(case: preflight.Case) -> Verdict | None:
    """A workload patched already, changed back by someone else, or on hostNetwork anyway."""
    annotations = hostnetwork.annotations_of(case.workload)
    by = hostnetwork.changed_by(case.workload)
    if by is not None and by != case.check:
        # Another check's change: its verification, its revert, its budget. Never ours.
        return _blocked(
            case.subject,
            case.names,
            model.Reason.CHANGED_BY_ANOTHER_CHECK,
            f"{case.subject} was changed by check {by}; this check leaves it to that one",
            workload=case.key,
        )
    if hostnetwork.ORIGINAL_ANNOTATION in annotations:
        if hostnetwork.is_patched(case.workload):
            by = annotations.get(hostnetwork.BY_ANNOTATION, "this operator")
            return Verdict(
                subject=case.subject,
                workload=case.key,
                pods=case.names,
                outcome=Outcome.APPLIED,
                reason=None,
                message=f"{case.subject} runs with hostNetwork already (patched by {by})",
            )
        manager = hostnetwork.reverting_manager(case.workload)
        return Verdict(
            subject=case.subject,
            workload=case.key,
            pods=case.names,
            outcome=Outcome.REVERTED_BY_OTHER,
            reason=model.Reason.REVERTED_BY_OTHER_MANAGER,
            message=reverted_message(case.subject, manager=manager),
        )
    if hostnetwork.pod_spec(case.workload).get("hostNetwork") is True:
        why = "runs with hostNetwork already: leaving the pod's namespace cannot help"
        return _blocked(
            case.subject,
            case.names,
            model.Reason.NOT_REMEDIABLE,
            f"{case.subject} {why}",
            workload=case.key,
        )
    return None


def reverted_message(subject: str, *, manager: str) -> str:
    """What a workload whose change another manager undid says (plan and record alike)."""
    return (
        f"{subject}: hostNetwork was changed back by {manager}; not patched again (to let"
        " the fallback stick under Argo CD, ignore the two fields for the"
        f" {hostnetwork.FIELD_MANAGER} manager: docs/argocd.md)"
    )


def _blocked(
    subject: str,
    pods: tuple[str, ...],
    reason: model.Reason,
    message: str,
    *,
    workload: hostnetwork.WorkloadKey | None = None,
) -> Verdict:
    return Verdict(
        subject=subject,
        workload=workload,
        pods=pods,
        outcome=Outcome.BLOCKED,
        reason=reason,
        message=message,
    )


def conditions(plan: Plan) -> Iterable[tuple[model.ConditionType, bool, model.Reason, str]]:
    """(type, true?, reason, message) for the check's remediation conditions, one per type:
    ``RemediationBlocked`` from the first blocked workload, ``RemediationReverted`` from
    the first workload changed back by another manager. A type not yielded has nothing to
    report: the caller removes it from status (model.Reason has no neutral reason yet)."""
    blocked = [v for v in plan.blocked if v.reason is not None]
    if blocked:
        first = blocked[0]
        more = f" (and {len(blocked) - 1} more)" if len(blocked) > 1 else ""
        assert first.reason is not None
        yield model.ConditionType.REMEDIATION_BLOCKED, True, first.reason, first.message + more
    reverted = [v for v in plan.verdicts if v.outcome is Outcome.REVERTED_BY_OTHER]
    if reverted:
        first = reverted[0]
        yield (
            model.ConditionType.REMEDIATION_REVERTED,
            True,
            model.Reason.REVERTED_BY_OTHER_MANAGER,
            first.message,
        )


def notices(*, previous: Plan | None, current: Plan) -> list[model.Notice]:
    """Events for the verdicts that are new or changed since the previous plan: a block
    that persists run after run is said once, not at every interval. A Patch's Event is
    for after its apply succeeded (the caller posts it then, or a KubeError instead)."""
    before = {v.subject: _gist(v) for v in previous.verdicts} if previous else {}
    found = []
    for verdict in current.verdicts:
        if before.get(verdict.subject) == _gist(verdict) or verdict.outcome is Outcome.APPLIED:
            continue
        message = verdict.message
        if verdict.warnings:
            message += "; warning: " + "; ".join(verdict.warnings)
        if verdict.outcome is Outcome.DRY_RUN and verdict.body is not None:
            message += f"; patch: {json.dumps(verdict.body['spec'], sort_keys=True)}"
        warn = verdict.outcome in (Outcome.BLOCKED, Outcome.REVERTED_BY_OTHER) or verdict.warnings
        found.append(
            model.Notice(
                type=model.EventType.WARNING if warn else model.EventType.NORMAL,
                reason=verdict.reason or model.EventReason.HOST_NETWORK_APPLIED,
                message=message[:1024],
                pods=verdict.pods,
            )
        )
    return found


def _gist(verdict: Verdict) -> tuple[Outcome, model.Reason | None]:
    return verdict.outcome, verdict.reason
