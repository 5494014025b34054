"""Pure: one check's remediation after a run, as two steps of ordered actions.

The loop reads what is needed (the degraded pods' workloads, their namespaces, the pods on
their nodes), then:

1. ``verify``: the workloads patched earlier are judged on their new pods' latest runs:
   verified (an Event), changed back by another manager (an Event; never fought), or
   still failing / never measured in time (a ``Revert``);
2. ``respond``: the pods decided Degraded get their verdicts (``planning``): Events for new
   or changed verdicts, and in Auto mode a ``Patch`` per workload, or first a ``Restart``
   when the strategy is RestartThenHostNetwork and this is the first time, or first a
   ``Cure`` (the broadcast route in the pods' own namespaces: ``inplace``) when the
   strategy is InPlaceThenHostNetwork and the pods show the kernel bug at work;
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
from collections.abc import Mapping, Sequence

from nethealth import model
from nethealth.detection import reporting, results
from nethealth.model import raw
from nethealth.remediation import (
    actions,
    hostnetwork,
    inplace,
    ledger,
    placement,
    planning,
    summary,
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
    then judges every change of this check (``_judge``)."""
    name = f"{check.namespace}/{check.name}"
    found = ledger.adopt(entries, workloads=workloads, check=name, now=now)
    planned: list[actions.Action] = []
    for key, entry in list(found.items()):
        if entry.state in ledger.IN_PLACE:
            found[key], announced = _judge_cure(entry, check=check, outcomes=outcomes, now=now)
            planned.extend(announced)
            continue
        workload = live.get(key)
        if entry.state not in ledger.CHANGED or workload is None:
            continue
        if hostnetwork.changed_by(workload) not in (None, name):
            del found[key]  # another check's change now: never ours to judge or revert
            continue
        new = _new_pods(key, check=check, views=views, outcomes=outcomes, owners=owners)
        found[key], action = _judge(key, entry, workload=workload, new=new, check=check, now=now)
        if action is not None:
            planned.append(action)
    return Step(entries=found, actions=tuple(planned))


def _judge(
    key: Key,
    entry: ledger.Entry,
    *,
    workload: raw.Workload,
    new: list[verification.NewPod],
    check: model.NetHealthCheck,
    now: datetime.datetime,
) -> tuple[ledger.Entry, actions.Action | None]:
    """One change of this check: a half-revert by another manager is undone, a full one
    reported; a change waiting for verification counts its passing runs or is reverted; a
    verified one that relapsed is reverted."""
    if hostnetwork.half_reverted(workload):
        manager = hostnetwork.reverting_manager(workload)
        why = model.Reason.HALF_REVERTED
        return entry, actions.Revert(key=key, entry=entry, why=why, hint=manager, pods=entry.pods)
    if not hostnetwork.is_patched(workload):
        if hostnetwork.ORIGINAL_ANNOTATION not in hostnetwork.annotations_of(workload):
            return entry, None  # without the record: reverted by `nethealth revert`; ``settle``
        # Our record is there, our values are not: someone changed them back.
        undone = ledger.reverted_by(entry, manager=hostnetwork.reverting_manager(workload))
        reason = model.EventReason.REMEDIATION_REVERTED
        return undone, _announce(model.EventType.WARNING, reason, undone.message, entry.pods)
    if not check.spec.remediation.verify:
        # The user's word: keep the change without judging it (no revert, no relapse).
        return (
            entry if entry.state is model.WorkloadState.REMEDIATED else ledger.unverified(entry)
        ), None
    judged = tuple(p.key for p in new)
    hint = verification.failing_hint(new)
    if entry.state is model.WorkloadState.REMEDIATED:
        if not verification.relapsed(new):
            return entry, None
        why = model.Reason.RELAPSED
        return entry, actions.Revert(key=key, entry=entry, why=why, hint=hint, pods=judged)
    threshold = check.spec.threshold
    result = _verify(entry, check=check, pods=new, now=now)
    match result:
        case verification.Result.VERIFIED:
            done = ledger.verified(entry)
            reason = model.EventReason.REMEDIATION_VERIFIED
            return done, _announce(model.EventType.NORMAL, reason, done.message, judged)
        case verification.Result.PASSED:
            return ledger.passed(entry, needed=threshold.recovery_runs), None
        case verification.Result.STILL_FAILING | verification.Result.TIMED_OUT:
            why = (
                model.Reason.STILL_FAILING
                if result is verification.Result.STILL_FAILING
                else model.Reason.NOT_VERIFIED_IN_TIME
            )
            return entry, actions.Revert(key=key, entry=entry, why=why, hint=hint, pods=judged)
    return entry, None


def _verify(
    entry: ledger.Entry,
    *,
    check: model.NetHealthCheck,
    pods: Sequence[verification.NewPod],
    now: datetime.datetime,
) -> verification.Result:
    """A change's pods judged against the check's recovery runs and the time allowed since
    the change (a hostNetwork patch's new pods, a cure's own pods)."""
    threshold = check.spec.threshold
    return verification.judge(
        pods=pods,
        passed_before=entry.passing_runs or 0,
        needed=threshold.recovery_runs,
        changed_at=entry.changed_at or now,
        now=now,
        limit=verification.deadline(
            interval=check.spec.probe.interval,
            probe_deadline=check.spec.probe.deadline,
            runs=threshold.recovery_runs,
        ),
    )


def _judge_cure(
    entry: ledger.Entry,
    *,
    check: model.NetHealthCheck,
    outcomes: Mapping[str, results.Outcome],
    now: datetime.datetime,
) -> tuple[ledger.Entry, list[actions.Action]]:
    """A cure waiting for verification, judged on its own pods' runs like a patch's new
    pods. Not holding is said here; the hostNetwork step follows in ``respond`` when the
    pods are degraded."""
    if entry.reason != model.Reason.VERIFYING:
        return entry, []
    if not check.spec.remediation.verify:
        return dataclasses.replace(entry, reason=str(model.Reason.VERIFICATION_OFF)), []
    threshold = check.spec.threshold
    pods = [
        verification.NewPod(
            key=k, verdict=verification.measured(o.run, threshold=threshold), hint=o.hint
        )
        for k in entry.pods
        if (o := outcomes.get(k)) is not None
    ]
    result = _verify(entry, check=check, pods=pods, now=now)
    judged = ledger.cure_judged(entry, result=str(result), needed=threshold.recovery_runs)
    match result:
        case verification.Result.VERIFIED:
            reason = model.EventReason.REMEDIATION_VERIFIED
            return judged, [_announce(model.EventType.NORMAL, reason, judged.message, judged.pods)]
        case verification.Result.STILL_FAILING | verification.Result.TIMED_OUT:
            reason = model.EventReason.REMEDIATION_INEFFECTIVE
            return judged, [_announce(model.EventType.WARNING, reason, judged.message, judged.pods)]
    return judged, []


def _cures(
    *,
    check: model.NetHealthCheck,
    entries: dict[Key, ledger.Entry],
    previous: Mapping[Key, ledger.Entry],
    facts: Mapping[str, planning.PodFacts],
    views: Mapping[str, reporting.PodView],
) -> tuple[set[Key], list[actions.Action]]:
    """InPlaceThenHostNetwork: the workloads whose degraded pods all show the kernel bug
    at work get the route in place (Auto: a ``Cure``; DryRun: the route published), and
    are left out of the hostNetwork plan. A workload whose cure did not hold (judged so
    by ``verify``), or whose verified cure relapsed on the same pods, goes on to the plan;
    one still being verified waits. ``entries`` is updated with DryRun entries."""
    spec = check.spec.remediation
    if not inplace.wanted(spec):
        return set(), []
    groups: dict[Key, list[planning.PodFacts]] = {}
    for _, fact in sorted(facts.items()):
        if fact.state is model.PodState.DEGRADED and isinstance(fact.owner, Key):
            groups.setdefault(fact.owner, []).append(fact)
    kept: set[Key] = set()
    planned: list[actions.Action] = []
    for key, group in sorted(groups.items()):
        if not all(inplace.applies(p.hint) and inplace.ipv4(views[p.key].ref.ip) for p in group):
            continue
        names = tuple(p.key for p in group)
        entry = entries.get(key)
        if entry is not None and entry.state in ledger.IN_PLACE:
            failed = entry.state is model.WorkloadState.CURED_IN_PLACE and entry.reason not in (
                model.Reason.VERIFYING,
                model.Reason.VERIFIED,
                model.Reason.VERIFICATION_OFF,
            )
            relapsed = bool(set(names) & set(entry.pods)) and entry.reason != model.Reason.VERIFYING
            if failed or relapsed:
                continue  # the route did not hold, or did not prevent it: hostNetwork
            fresh = tuple(n for n in names if n not in entry.pods)
            kept.add(key)
            if not fresh:
                continue  # being verified: wait for the runs
            names = fresh  # new pods of a cured workload (a restart): they need it too
        kept.add(key)
        subject = f"{key}"
        if spec.mode is model.RemediationMode.DRY_RUN:
            dry = ledger.cure_dry_run(key, subject=subject, pods=names)
            before = previous.get(key)
            if before is None or before.message != dry.message:
                notice = model.Notice(
                    type=model.EventType.NORMAL,
                    reason=model.Reason.DRY_RUN,
                    message=dry.message,
                    pods=names,
                )
                planned.append(actions.Announce(notice=notice))
            entries[key] = dry
            continue
        if spec.revert_on_delete and not planned:
            planned.append(actions.HoldFinalizer())  # the route goes when the check goes
        planned.append(
            actions.Cure(key=key, subject=subject, pods=tuple(views[n].ref for n in names))
        )
    return kept, planned


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
    cured: dict[Key, ledger.Entry] = {
        k: e for k, e in entries.items() if e.state in ledger.IN_PLACE
    }
    in_place, cures = _cures(check=check, entries=cured, previous=entries, facts=facts, views=views)
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
    # The workloads cured in place are not planned for hostNetwork in this run.
    plan = planning.Plan(verdicts=tuple(v for v in plan.verdicts if v.workload not in in_place))
    found = ledger.planned(previous=entries, plan=plan, now=now)
    found.update({k: e for k, e in cured.items() if k in in_place})
    quiet = planning.notices(previous=_quiet(previous), current=_quiet(plan))
    planned: list[actions.Action] = [actions.Announce(notice=n) for n in quiet]
    planned += cures
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
            workloads=ledger.dump(kept), conditions=summary.conditions(kept, plan=plan)
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
