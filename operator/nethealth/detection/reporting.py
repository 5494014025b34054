"""Pure: the pods' records after a run, as the check's ``status`` (and back).

What a person reads first comes first: ``pods`` is sorted worst first (Degraded,
Recovering, Suspect, Inconclusive, Unknown, Healthy; higher failure rate first) and bounded
to ``model.MAX_POD_RESULTS``; the ``Degraded`` condition names the worst pod, its class,
rate and the probe's top hint. ``Recovering`` pods keep ``Degraded`` True: recovery has
hysteresis, and a condition that flips back early would tell Argo CD and people the
problem is over before the decision says so.

The status carries states, not the decision's streak counters; ``records_from_status``
rebuilds records from it after an operator restart, conservatively (a Suspect pod counts
one failing run, a Recovering pod one passing run), so a restart never makes a pod
Degraded or Healthy sooner than it would have been.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Set
from typing import Any, Final

from nethealth import model
from nethealth.detection import acceptance, conditionlist, decision, results, selection
from nethealth.probe import shorten

PodState = model.PodState

SEVERITY: Final = {
    PodState.DEGRADED: 0,
    PodState.RECOVERING: 1,
    PodState.SUSPECT: 2,
    PodState.INCONCLUSIVE: 3,
    PodState.UNKNOWN: 4,
    PodState.REMEDIATED: 5,
    PodState.HEALTHY: 6,
}
DEGRADED_STATES: Final = frozenset({PodState.DEGRADED, PodState.RECOVERING})


@dataclasses.dataclass(frozen=True, kw_only=True)
class PodView:
    """A pod's record with what status shows next to it."""

    ref: selection.PodRef
    record: decision.PodRecord
    hint: str | None
    last_run: datetime.datetime | None
    remediated: bool = False  # a new pod of a workload whose change is verified

    @property
    def state(self) -> PodState:
        """What status shows: a healthy pod of a verified remediation is ``Remediated``."""
        if self.remediated and self.record.state is PodState.HEALTHY:
            return PodState.REMEDIATED
        return self.record.state


@dataclasses.dataclass(frozen=True, kw_only=True)
class RemediationView:
    """What remediation reports in status: its per-workload entries and its conditions
    (a type mapped to None is removed: nothing to report)."""

    workloads: tuple[model.WorkloadResult, ...]
    conditions: Mapping[model.ConditionType, tuple[bool, model.Reason, str] | None]


def worst_first(views: Mapping[str, PodView]) -> list[PodView]:
    """The pods in the order a person reads them, at most MAX_POD_RESULTS: what status and
    the per-pod metrics show when a check selects more pods than that."""
    return sorted(views.values(), key=_severity_key)[: model.MAX_POD_RESULTS]


def pod_results(*, views: Mapping[str, PodView], check_namespace: str) -> list[model.PodResult]:
    """Worst first, at most MAX_POD_RESULTS."""
    return [
        model.PodResult(
            name=v.ref.name,
            namespace=v.ref.namespace if v.ref.namespace != check_namespace else None,
            node=v.ref.node,
            state=v.state,
            klass=v.record.klass,
            failure_rate=(
                round(v.record.estimate.rate, 4) if v.record.estimate is not None else None
            ),
            samples=v.record.samples or None,
            hint=v.hint,
            last_run=v.last_run,
            window=(
                datetime.timedelta(seconds=v.record.window) if v.record.window is not None else None
            ),
        )
        for v in worst_first(views)
    ]


def _severity_key(view: PodView) -> tuple[int, float, str]:
    rate = view.record.estimate.rate if view.record.estimate is not None else 0.0
    return SEVERITY[view.state], -rate, view.ref.key


def summary(views: Mapping[str, PodView]) -> model.Summary:
    """Counts over every measured pod (not only the bounded list); Unknown counts as
    inconclusive (no result yet), Recovering as degraded (not yet recovered)."""
    states = [v.state for v in views.values()]
    return model.Summary(
        selected=len(states),
        healthy=states.count(PodState.HEALTHY),
        suspect=states.count(PodState.SUSPECT),
        degraded=sum(s in DEGRADED_STATES for s in states),
        remediated=states.count(PodState.REMEDIATED),
        inconclusive=sum(s in (PodState.INCONCLUSIVE, PodState.UNKNOWN) for s in states),
    )


def degraded_condition(views: Mapping[str, PodView]) -> tuple[bool, model.Reason, str]:
    """Whether ``Degraded`` is True, its reason, and a message naming the worst pod."""
    degraded = sorted(
        (v for v in views.values() if v.record.state in DEGRADED_STATES), key=_severity_key
    )
    if not degraded:
        return False, model.Reason.NO_PODS_DEGRADED, f"no pod degraded ({len(views)} measured)"
    worst = degraded[0]
    rate = worst.record.estimate.rate if worst.record.estimate is not None else None
    message = (
        f"pod {worst.ref.key} on node {worst.ref.node} is {worst.record.state}:"
        f" class {worst.record.klass or 'unknown'}"
    )
    if rate is not None:
        message += f", {rate * 100:.0f} % of {worst.record.samples} connects failed"
    if worst.record.window is not None:
        message += f" over {worst.record.window:g} s"
    if worst.hint:
        message += f"; top hint {worst.hint}"
    if len(degraded) > 1:
        message += f" (and {len(degraded) - 1} more pod(s) degraded)"
    return True, model.Reason.PODS_DEGRADED, message


def status_patch(
    *,
    current: Mapping[str, Any],
    verdict: acceptance.Acceptance,
    views: Mapping[str, PodView] | None,
    generation: int | None,
    check_namespace: str,
    now: datetime.datetime,
    last_run: datetime.datetime | None,
    next_run: datetime.datetime | None,
    remediation: RemediationView | None = None,
    schedule: tuple[bool, model.Reason, str] | None = None,
) -> dict[str, Any]:
    """The status fields the operator owns; None leaves a field as it is (views None: the
    pods, summary and Degraded are not touched, e.g. when only the spec changed; likewise
    remediation None; schedule None leaves ``OnSchedule``)."""
    conds = conditionlist.set_condition(
        current.get("conditions") or (),
        type=model.ConditionType.READY,
        status="True" if verdict.ready else "False",
        reason=verdict.reason,
        message=verdict.message,
        generation=generation,
        now=now,
    )
    patch: dict[str, Any] = {"observedGeneration": generation}
    if views is not None:
        is_degraded, reason, message = degraded_condition(views)
        conds = conditionlist.set_condition(
            conds,
            type=model.ConditionType.DEGRADED,
            status="True" if is_degraded else "False",
            reason=reason,
            message=message,
            generation=generation,
            now=now,
        )
        status = dataclasses.replace(
            model.EMPTY_STATUS,
            pods=tuple(pod_results(views=views, check_namespace=check_namespace)),
            summary=summary(views),
        )
        dumped = model.dump_status(status)
        patch["pods"] = dumped.get("pods", [])
        patch["summary"] = dumped["summary"]
    if remediation is not None:
        for type, wanted in remediation.conditions.items():
            if wanted is None:
                conds = conditionlist.remove_condition(conds, type=type)
                continue
            is_true, reason, message = wanted
            conds = conditionlist.set_condition(
                conds,
                type=type,
                status="True" if is_true else "False",
                reason=reason,
                message=shorten.chars(message, limit=1024),
                generation=generation,
                now=now,
            )
        dumped = model.dump_status(
            dataclasses.replace(model.EMPTY_STATUS, remediation=remediation.workloads)
        )
        # Null, not absent, clears it in the merge patch.
        patch["remediation"] = dumped.get("remediation")
    if schedule is not None:
        on_time, reason, message = schedule
        conds = conditionlist.set_condition(
            conds,
            type=model.ConditionType.ON_SCHEDULE,
            status="True" if on_time else "False",
            reason=reason,
            message=message,
            generation=generation,
            now=now,
        )
    patch["conditions"] = conds
    times = model.dump_status(
        dataclasses.replace(model.EMPTY_STATUS, last_run_time=last_run, next_run_time=next_run)
    )
    for key in ("lastRunTime", "nextRunTime"):
        if key in times:
            patch[key] = times[key]
    return patch


def changed_fields(*, current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields whose value differs: an unchanged status costs no API write."""
    return {key: value for key, value in wanted.items() if current.get(key) != value}


def records_from_status(
    status: model.Status, *, check_namespace: str
) -> dict[str, decision.PodRecord]:
    """Records to continue from after a restart (keys namespace/name); see the docstring."""
    records = {}
    for pod in status.pods:
        if pod.state not in decision.DECISION_STATES:
            continue
        key = f"{pod.namespace or check_namespace}/{pod.name}"
        records[key] = decision.PodRecord(
            state=pod.state,
            previous_state=pod.state,
            failing_runs=1 if pod.state in (PodState.SUSPECT, PodState.DEGRADED) else 0,
            passing_runs=1 if pod.state in (PodState.HEALTHY, PodState.RECOVERING) else 0,
            klass=pod.klass,
            samples=pod.samples or 0,
        )
    return records


def runs_of(
    *, pods: Iterable[str], outcomes: Mapping[str, results.Outcome]
) -> dict[str, decision.RunResult]:
    """Each measured pod's run; a pod the run has no result for is inconclusive."""
    runs = {}
    for key in pods:
        outcome = outcomes.get(key)
        if outcome is None:
            outcome = results.inconclusive(
                key=key, why=results.Why.NOT_CREATED, reason="no probe result for this pod"
            )
        runs[key] = outcome.run
    return runs


def views_after_run(
    *,
    records: Mapping[str, decision.PodRecord],
    refs: Mapping[str, selection.PodRef],
    outcomes: Mapping[str, results.Outcome],
    previous: Mapping[str, PodView],
    now: datetime.datetime,
) -> dict[str, PodView]:
    """The pods' views after a run. The hint shown is this run's top hint, else why the
    run was inconclusive, else the last one known: a pod stays explained between runs."""
    views = {}
    for key, record in records.items():
        outcome = outcomes.get(key)
        hint = outcome.hint if outcome is not None and not outcome.inconclusive else None
        if hint is None and outcome is not None and outcome.inconclusive:
            hint = shorten.chars(f"inconclusive: {outcome.run.reason}", limit=results.HINT_CHARS)
        if hint is None and key in previous:
            hint = previous[key].hint
        views[key] = PodView(ref=refs[key], record=record, hint=hint, last_run=now)
    return views


def with_remediated(views: Mapping[str, PodView], pods: Set[str]) -> dict[str, PodView]:
    """The views with ``remediated`` set exactly on ``pods`` (a verified change's pods)."""
    return {k: dataclasses.replace(v, remediated=k in pods) for k, v in views.items()}


def ready_said(status: Mapping[str, Any]) -> tuple[object, ...]:
    """What the Ready condition tells a person (not its times or generation): its Warning
    Event is posted when that changes, not at every edit or other condition's change."""
    conditions: list[Mapping[str, Any]] = list(status.get("conditions") or ())
    ready: Mapping[str, Any] = next((c for c in conditions if c.get("type") == "Ready"), {})
    return ready.get("status"), ready.get("reason"), ready.get("message")
