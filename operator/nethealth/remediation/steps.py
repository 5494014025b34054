"""Pure: one check's remediation after a run, as two steps of ordered actions.

The loop reads what is needed (the degraded pods' workloads, their namespaces, the pods on
their nodes), then:

1. ``verify``: the workloads patched earlier are judged on their new pods' latest runs:
   verified (an Event), changed back by another manager (an Event; never fought), or
   still failing / never measured in time (a ``Revert``);
2. ``respond``: the pods decided Degraded get their verdicts (``planning``): Events for new
   or changed verdicts, and in Auto mode a ``Patch`` per workload, or first a ``Restart``
   when the strategy is RestartThenHostNetwork and this is the first time;
3. ``conclude``: what status shows, once ``ledger.settle`` dropped what no longer matters.

The loop carries out each step's actions in order and records each result with
``ledger.record`` before the next step: ``respond`` plans on the workloads as the reverts
of ``verify`` left them. Nothing is read, and nothing called, for a check with no degraded
pod and no change in flight (``idle``): remediation costs only when there is something to
do.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing
from collections.abc import Mapping

from nethealth import model
from nethealth.detection import reporting, results
from nethealth.model import raw
from nethealth.remediation import (
    actions,
    hostnetwork,
    ledger,
    placement,
    planning,
    verification,
)

Key = hostnetwork.WorkloadKey
Owner = hostnetwork.WorkloadKey | hostnetwork.NotRemediable

CONDITIONS = (
    model.ConditionType.REMEDIATION_BLOCKED,
    model.ConditionType.REMEDIATED,
    model.ConditionType.REMEDIATION_INEFFECTIVE,
    model.ConditionType.REMEDIATION_REVERTED,
)
NOTHING = reporting.RemediationView(workloads=(), conditions=dict.fromkeys(CONDITIONS))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Step:
    """The entries as the step leaves them before its actions, and the actions in order."""

    entries: dict[Key, ledger.Entry]
    actions: tuple[actions.Action, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Conclusion:
    view: reporting.RemediationView
    remediated_pods: frozenset[str]  # pods shown as Remediated
    changed_pods: int  # every replica of this check's changed workloads: its share of the cap


def degraded(views: Mapping[str, reporting.PodView]) -> set[str]:
    return {k for k, v in views.items() if v.record.state is model.PodState.DEGRADED}


def idle(
    *,
    spec: model.Remediation,
    entries: Mapping[Key, ledger.Entry],
    views: Mapping[str, reporting.PodView],
) -> bool:
    """Nothing in flight and nothing to plan: remediation reads and writes nothing.

    A pod on hostNetwork by our patch is a change in flight even without an entry (the
    operator died between the patch and the status write): its workload must be found.
    """
    in_flight = any(e.state in ledger.KEPT for e in entries.values()) or any(
        v.ref.remediated for v in views.values()
    )
    return not in_flight and (spec.mode is model.RemediationMode.OFF or not degraded(views))


def verify(
    *,
    check: model.NetHealthCheck,
    entries: Mapping[Key, ledger.Entry],
    views: Mapping[str, reporting.PodView],
    outcomes: Mapping[str, results.Outcome],
    owners: Mapping[str, Owner],
    workloads: Mapping[Key, raw.Workload],
    live: Mapping[Key, raw.Workload | None],
    now: datetime.datetime,
) -> Step:
    """Adopts the changes only the workloads record (a crash before the status write),
    then judges every change of this check: a half-revert by another manager is undone, a
    change waiting for verification counts its passing runs or is reverted, a verified one
    that relapsed is reverted."""
    name = f"{check.namespace}/{check.name}"
    found = ledger.adopt(entries, workloads=workloads, check=name, now=now)
    threshold = check.spec.threshold
    limit = verification.deadline(
        interval=check.spec.probe.interval,
        probe_deadline=check.spec.probe.deadline,
        runs=threshold.recovery_runs,
    )
    planned: list[actions.Action] = []
    for key, entry in list(found.items()):
        workload = live.get(key)
        if entry.state not in ledger.CHANGED or workload is None:
            continue
        if hostnetwork.changed_by(workload) not in (None, name):
            del found[key]  # another check's change now: never ours to judge or revert
            continue
        if hostnetwork.half_reverted(workload):
            manager = hostnetwork.reverting_manager(workload)
            why = model.Reason.HALF_REVERTED
            planned.append(
                actions.Revert(key=key, entry=entry, why=why, hint=manager, pods=entry.pods)
            )
            continue
        if not hostnetwork.is_patched(workload):
            if hostnetwork.ORIGINAL_ANNOTATION in hostnetwork.annotations_of(workload):
                # Our record is there, our values are not: someone changed them back.
                manager = hostnetwork.reverting_manager(workload)
                found[key] = ledger.reverted_by(entry, manager=manager)
                planned.append(
                    _announce(
                        model.EventType.WARNING,
                        model.EventReason.REMEDIATION_REVERTED,
                        found[key].message,
                        entry.pods,
                    )
                )
            continue  # without the record: reverted by `nethealth revert`; ``settle``
        new = _new_pods(key, check=check, views=views, outcomes=outcomes, owners=owners)
        judged = tuple(p.key for p in new)
        hint = verification.failing_hint(new)
        if entry.state is model.WorkloadState.REMEDIATED:
            if verification.relapsed(new):
                why = model.Reason.RELAPSED
                planned.append(
                    actions.Revert(key=key, entry=entry, why=why, hint=hint, pods=judged)
                )
            continue
        result = verification.judge(
            pods=new,
            passed_before=entry.passing_runs or 0,
            needed=threshold.recovery_runs,
            changed_at=entry.changed_at or now,
            now=now,
            limit=limit,
        )
        if result is verification.Result.VERIFIED:
            found[key] = ledger.verified(entry)
            planned.append(
                _announce(
                    model.EventType.NORMAL,
                    model.EventReason.REMEDIATION_VERIFIED,
                    found[key].message,
                    judged,
                )
            )
        elif result is verification.Result.PASSED:
            found[key] = ledger.passed(entry, needed=threshold.recovery_runs)
        elif result in (verification.Result.STILL_FAILING, verification.Result.TIMED_OUT):
            why = (
                model.Reason.STILL_FAILING
                if result is verification.Result.STILL_FAILING
                else model.Reason.NOT_VERIFIED_IN_TIME
            )
            planned.append(actions.Revert(key=key, entry=entry, why=why, hint=hint, pods=judged))
    return Step(entries=found, actions=tuple(planned))


def _new_pods(
    key: Key,
    *,
    check: model.NetHealthCheck,
    views: Mapping[str, reporting.PodView],
    outcomes: Mapping[str, results.Outcome],
    owners: Mapping[str, Owner],
) -> list[verification.NewPod]:
    """The workload's pods on hostNetwork by our patch, each with its latest run."""
    return [
        verification.NewPod(
            key=k,
            verdict=verification.measured(outcome.run, threshold=check.spec.threshold)
            if (outcome := outcomes.get(k)) is not None
            else None,
            hint=v.hint,
            state=v.record.state,
        )
        for k, v in views.items()
        if v.ref.remediated and owners.get(k) == key
    ]


def respond(
    *,
    check: model.NetHealthCheck,
    entries: Mapping[Key, ledger.Entry],
    previous: planning.Plan | None,
    history: Mapping[Key, datetime.datetime],
    views: Mapping[str, reporting.PodView],
    owners: Mapping[str, Owner],
    live: Mapping[Key, raw.Workload | None],
    namespace_labels: Mapping[str, Mapping[str, str]],
    node_pods: Mapping[str, tuple[raw.Pod, ...]],
    limits: planning.Limits,
    now: datetime.datetime,
) -> tuple[Step, planning.Plan | None]:
    """The verdicts for the degraded pods' workloads and what Auto does about them; no
    plan when no pod is degraded or the mode is Off. ``previous`` is the last run's plan
    (a verdict already announced is not announced again); ``history`` when this operator
    last changed each workload (the cooldown)."""
    spec = check.spec.remediation
    if not degraded(views) or spec.mode is model.RemediationMode.OFF:
        return Step(entries=dict(entries), actions=()), None
    facts = {
        key: planning.PodFacts(
            key=key,
            node=view.ref.node,
            state=view.record.state,
            klass=view.record.klass,
            classes=view.record.streak_classes,
            hint=view.hint,
            owner=owners.get(key) or hostnetwork.NotRemediable(why="its owner could not be read"),
        )
        for key, view in views.items()
    }
    plan = planning.plan(
        check=f"{check.namespace}/{check.name}",
        check_uid=check.uid or check.name,
        remediation=spec,
        pods=facts,
        workloads={k: w for k, w in live.items() if w is not None},
        namespace_labels=namespace_labels,
        node_pods=node_pods,
        history=history,
        now=now,
        limits=limits,
    )
    found = ledger.planned(previous=entries, plan=plan, now=now)
    quiet = planning.notices(previous=_quiet(previous), current=_quiet(plan))
    planned: list[actions.Action] = [actions.Announce(notice=n) for n in quiet]
    ladder = spec.strategy is model.RemediationStrategy.RESTART_THEN_HOST_NETWORK
    for verdict in plan.patches:
        if ladder and not ledger.escalates(found, ledger.key_of_verdict(verdict)):
            refs = tuple(views[p].ref for p in verdict.pods if p in views)
            planned.append(actions.Restart(verdict=verdict, pods=refs))
            continue
        if spec.revert_on_delete and not any(isinstance(a, actions.HoldFinalizer) for a in planned):
            planned.append(actions.HoldFinalizer())
        planned.append(actions.Patch(verdict=verdict))
    return Step(entries=found, actions=tuple(planned)), plan


@typing.overload
def _quiet(plan: planning.Plan) -> planning.Plan: ...
@typing.overload
def _quiet(plan: None) -> None: ...
def _quiet(plan: planning.Plan | None) -> planning.Plan | None:
    """A plan without its Patch verdicts: their Events follow the write (``ledger.record``)."""
    if plan is None:
        return None
    return planning.Plan(verdicts=tuple(v for v in plan.verdicts if v not in plan.patches))


def pods_held(
    plan: planning.Plan | None,
    *,
    live: Mapping[Key, raw.Workload | None],
    check: model.NetHealthCheck,
) -> int:
    """The pods this check's changes hold once its plan is applied: what the global cap
    must count before the first patch is written."""
    name = f"{check.namespace}/{check.name}"
    held = {k for k, w in live.items() if w is not None and hostnetwork.changed_by(w) == name}
    if plan is not None:
        held |= {v.workload for v in plan.patches if v.workload is not None}
    return sum(
        placement.pods_moved(key=k, workload=w, known=1)
        for k in held
        if (w := live.get(k)) is not None
    )


def conclude(
    *,
    check: model.NetHealthCheck,
    entries: Mapping[Key, ledger.Entry],
    plan: planning.Plan | None,
    views: Mapping[str, reporting.PodView],
    owners: Mapping[str, Owner],
    live: Mapping[Key, raw.Workload | None],
    now: datetime.datetime,
) -> tuple[dict[Key, ledger.Entry], Conclusion]:
    """The entries worth keeping, and what status and the budget say about them."""
    workload_of = {k: o for k, o in owners.items() if isinstance(o, Key)}
    kept = ledger.settle(
        entries,
        degraded_workloads={workload_of[k] for k in degraded(views) if k in workload_of},
        live=live,
        cooldown=check.spec.remediation.cooldown,
        now=now,
    )
    changed = {k for k, e in kept.items() if e.state in ledger.CHANGED}
    done = {k for k, e in kept.items() if e.state is model.WorkloadState.REMEDIATED}
    return kept, Conclusion(
        view=reporting.RemediationView(
            workloads=ledger.dump(kept), conditions=ledger.conditions(kept, plan=plan)
        ),
        remediated_pods=frozenset(
            k for k, v in views.items() if v.ref.remediated and workload_of.get(k) in done
        ),
        changed_pods=sum(
            placement.pods_moved(key=k, workload=w, known=1)
            for k in changed
            if (w := live.get(k)) is not None
        ),
    )


def _announce(
    type: model.EventType, reason: model.EventReason, message: str, pods: tuple[str, ...]
) -> actions.Announce:
    return actions.Announce(
        notice=model.Notice(type=type, reason=reason, message=message, pods=pods)
    )
