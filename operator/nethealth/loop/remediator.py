"""One check's remediation after each run: verify earlier changes, plan, patch, record.

The decisions are pure (``planning`` plans, ``verification`` judges a change,
``ledger`` keeps the per-workload record); this module sequences them and does the I/O
through ``workloads`` (in a thread: the client is synchronous). The order within a run:

1. verify the workloads patched earlier on their new pods' latest runs: verified, or
   reverted at once when they still fail (or were never measured in time);
2. plan for the pods decided Degraded, and apply the Patch verdicts (Auto only);
3. record all of it in ``status.remediation`` and the four remediation conditions, and
   post Events for what changed (on the check and on the pods).

Nothing here is called, and no API read is made, for a check with no degraded pod and no
change in flight: the cost of remediation is paid only when there is something to do.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from nethealth import kube, model
from nethealth import settings as settings_module
from nethealth.detection import reporting, results
from nethealth.kube import workloads
from nethealth.remediation import hostnetwork, ledger, planning, verification

logger = logging.getLogger(__name__)

# (pods: namespace/name keys, type, reason, message) -> an Event on the check and the pods
Post = Callable[[Sequence[str], str, str, str], Awaitable[None]]

NORMAL, WARNING = "Normal", "Warning"
APPLIED_EVENT = "HostNetworkApplied"
VERIFIED_EVENT = "RemediationVerified"
INEFFECTIVE_EVENT = "RemediationIneffective"
REVERTED_EVENT = "RemediationReverted"
APPLY_FAILED_EVENT = "RemediationApplyFailed"
RESTARTED_EVENT = "PodsRestarted"
# The Events that report an action on a workload: what the actions metric counts.
ACTIONS = frozenset(
    {APPLIED_EVENT, RESTARTED_EVENT, VERIFIED_EVENT, INEFFECTIVE_EVENT, APPLY_FAILED_EVENT}
)

REMEDIATION_CONDITIONS = (
    model.ConditionType.REMEDIATION_BLOCKED,
    model.ConditionType.REMEDIATED,
    model.ConditionType.REMEDIATION_INEFFECTIVE,
    model.ConditionType.REMEDIATION_REVERTED,
)


class GlobalBudget:
    """The operator-wide cap on pods moved to hostNetwork, shared by every check's loop."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used: dict[str, int] = {}

    def remaining(self, *, excluding: str) -> int:
        return self.limit - sum(n for uid, n in self._used.items() if uid != excluding)

    def record(self, uid: str, pods: int) -> None:
        self._used[uid] = pods

    def forget(self, uid: str) -> None:
        self._used.pop(uid, None)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Outcome:
    view: reporting.RemediationView
    remediated_pods: frozenset[str]  # pods shown as Remediated


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


class Remediator:
    def __init__(
        self, *, settings: settings_module.Settings, budget: GlobalBudget, post: Post
    ) -> None:
        self._settings = settings
        self._budget = budget
        self._post = post
        self.entries: dict[ledger.Key, ledger.Entry] = {}
        self.plan: planning.Plan | None = None

    def restore(self, status: model.Status) -> None:
        self.entries = ledger.load(status.remediation)

    async def after_run(
        self,
        *,
        check: model.NetHealthCheck,
        raw_pods: Sequence[Mapping[str, Any]],
        views: Mapping[str, reporting.PodView],
        outcomes: Mapping[str, results.Outcome],
    ) -> Outcome:
        spec = check.spec.remediation
        uid = check.uid or check.name
        degraded = {k for k, v in views.items() if v.record.state is model.PodState.DEGRADED}
        # A pod on hostNetwork by our patch is a change in flight even without a record
        # (the operator died between the patch and the status write): find its workload.
        in_flight = any(e.state in ledger.KEPT for e in self.entries.values()) or any(
            v.ref.remediated for v in views.values()
        )
        if not in_flight and (spec.mode is model.RemediationMode.OFF or not degraded):
            self.entries, self.plan = {}, None
            self._budget.record(uid, 0)
            return Outcome(
                view=reporting.RemediationView(
                    workloads=(), conditions=dict.fromkeys(REMEDIATION_CONDITIONS)
                ),
                remediated_pods=frozenset(),
            )
        client = kube.api_client()
        gathered = await asyncio.to_thread(workloads.gather, client, pods=raw_pods)
        live: dict[ledger.Key, Mapping[str, Any] | None] = dict(gathered.workloads)
        for key in self.entries:
            if key not in live:
                live[key] = await asyncio.to_thread(workloads.read_workload, client, key)
        now = _now()
        entries = await self._verify(
            check=check,
            entries=ledger.adopt(
                self.entries,
                workloads=gathered.workloads,
                check=f"{check.namespace}/{check.name}",
                now=now,
            ),
            views=views,
            outcomes=outcomes,
            gathered=gathered,
            live=live,
        )
        plan = None
        if degraded and spec.mode is not model.RemediationMode.OFF:
            plan = self._plan(check=check, views=views, gathered=gathered, live=live, now=now)
            entries = ledger.planned(previous=entries, plan=plan, now=now)
            await self._announce(plan)
            ladder = spec.strategy is model.RemediationStrategy.RESTART_THEN_HOST_NETWORK
            for verdict in plan.patches:
                key = ledger.key_of_verdict(verdict)
                if ladder and not ledger.escalates(entries, key):
                    entries[key] = await self._restart(verdict, views=views, now=now)
                    continue
                key, entry, answer = await self._patch(client, verdict, now=now)
                entries[key] = entry
                if answer is not None:
                    live[key] = answer
        owners = {k: o for k, o in gathered.owners.items() if isinstance(o, ledger.Key)}
        entries = ledger.settle(
            entries,
            degraded_workloads={owners[k] for k in degraded if k in owners},
            live=live,
            cooldown=spec.cooldown,
            now=now,
        )
        self.entries, self.plan = entries, plan
        changed = {k for k, e in entries.items() if e.state in ledger.CHANGED}
        self._budget.record(uid, sum(1 for o in owners.values() if o in changed))
        done = {k for k, e in entries.items() if e.state is model.WorkloadState.REMEDIATED}
        return Outcome(
            view=reporting.RemediationView(
                workloads=ledger.dump(entries), conditions=ledger.conditions(entries, plan=plan)
            ),
            remediated_pods=frozenset(
                k for k, v in views.items() if v.ref.remediated and owners.get(k) in done
            ),
        )

    # --- steps -----------------------------------------------------------------------------

    async def _verify(
        self,
        *,
        check: model.NetHealthCheck,
        entries: dict[ledger.Key, ledger.Entry],
        views: Mapping[str, reporting.PodView],
        outcomes: Mapping[str, results.Outcome],
        gathered: workloads.Gathered,
        live: dict[ledger.Key, Mapping[str, Any] | None],
    ) -> dict[ledger.Key, ledger.Entry]:
        limit = verification.deadline(
            interval=check.spec.probe.interval, probe_deadline=check.spec.probe.deadline
        )
        for key, entry in list(entries.items()):
            workload = live.get(key)
            if entry.state not in ledger.CHANGED or workload is None:
                continue
            if not hostnetwork.is_patched(workload):
                if hostnetwork.ORIGINAL_ANNOTATION in hostnetwork.annotations_of(workload):
                    # Our record is there, our values are not: someone changed them back.
                    manager = hostnetwork.reverting_manager(workload)
                    entries[key] = ledger.reverted_by(entry, manager=manager)
                    await self._post(entry.pods, WARNING, REVERTED_EVENT, entries[key].message)
                continue  # without the record: reverted by `nethealth revert`; ``settle``
            if entry.state is not model.WorkloadState.VERIFYING:
                continue
            new = [
                verification.NewPod(
                    key=k,
                    verdict=verification.measured(outcome.run, threshold=check.spec.threshold)
                    if (outcome := outcomes.get(k)) is not None
                    else None,
                    hint=v.hint,
                )
                for k, v in views.items()
                if v.ref.remediated and gathered.owners.get(k) == key
            ]
            now = _now()
            result = verification.judge(
                pods=new, changed_at=entry.changed_at or now, now=now, limit=limit
            )
            if result is verification.Result.VERIFIED:
                entries[key] = ledger.verified(entry)
                await self._post([p.key for p in new], NORMAL, VERIFIED_EVENT, entries[key].message)
            elif result in (verification.Result.STILL_FAILING, verification.Result.TIMED_OUT):
                why = (
                    model.Reason.STILL_FAILING
                    if result is verification.Result.STILL_FAILING
                    else model.Reason.NOT_VERIFIED_IN_TIME
                )
                try:
                    live[key] = await asyncio.to_thread(workloads.revert, kube.api_client(), key)
                except kube.KubeError as error:
                    logger.warning("%s: revert failed, retried next run: %s", key, error)
                    continue
                entries[key] = ledger.ineffective(
                    entry, why=why, hint=verification.failing_hint(new), now=now
                )
                await self._post(
                    [p.key for p in new], WARNING, INEFFECTIVE_EVENT, entries[key].message
                )
        return entries

    def _plan(
        self,
        *,
        check: model.NetHealthCheck,
        views: Mapping[str, reporting.PodView],
        gathered: workloads.Gathered,
        live: Mapping[ledger.Key, Mapping[str, Any] | None],
        now: datetime.datetime,
    ) -> planning.Plan:
        facts = {
            key: planning.PodFacts(
                key=key,
                node=view.ref.node,
                state=view.record.state,
                klass=view.record.klass,
                hint=view.hint,
                owner=gathered.owners.get(key)
                or hostnetwork.NotRemediable(why="its owner could not be read"),
            )
            for key, view in views.items()
        }
        return planning.plan(
            check=f"{check.namespace}/{check.name}",
            remediation=check.spec.remediation,
            pods=facts,
            workloads={k: w for k, w in live.items() if w is not None},
            namespace_labels=gathered.namespace_labels,
            node_pods=gathered.node_pods,
            history=ledger.history(self.entries),
            now=now,
            limits=planning.Limits(
                global_remaining=self._budget.remaining(excluding=check.uid or check.name),
                node_network_eligible=self._settings.node_network_eligible,
            ),
        )

    async def _announce(self, plan: planning.Plan) -> None:
        """Events for new or changed verdicts; a Patch's own Event follows its write."""
        quiet = planning.Plan(verdicts=tuple(v for v in plan.verdicts if v not in plan.patches))
        before = self.plan
        if before is not None:
            before = planning.Plan(
                verdicts=tuple(v for v in before.verdicts if v not in before.patches)
            )
        for notice in planning.notices(previous=before, current=quiet):
            await self._post(notice.pods, notice.type, notice.reason, notice.message)

    async def _restart(
        self,
        verdict: planning.Verdict,
        *,
        views: Mapping[str, reporting.PodView],
        now: datetime.datetime,
    ) -> ledger.Entry:
        """The ladder's first step: the controller recreates the pods, with fresh plumbing."""
        for pod in verdict.pods:
            view = views.get(pod)
            if view is not None:
                await kube.delete_pod(
                    namespace=view.ref.namespace, name=view.ref.name, uid=view.ref.uid
                )
        _, entry = ledger.restarted(verdict, now=now)
        await self._post(verdict.pods, NORMAL, RESTARTED_EVENT, entry.message)
        return entry

    async def _patch(
        self, client: Any, verdict: planning.Verdict, *, now: datetime.datetime
    ) -> tuple[ledger.Key, ledger.Entry, Mapping[str, Any] | None]:
        try:
            answer = await asyncio.to_thread(workloads.patch, client, verdict)
        except kube.KubeError as error:
            key, entry = ledger.apply_failed(verdict, error=str(error))
            await self._post(verdict.pods, WARNING, APPLY_FAILED_EVENT, entry.message)
            return key, entry, None
        key, entry = ledger.patched(verdict, now=now)
        kind = WARNING if verdict.warnings else NORMAL
        await self._post(verdict.pods, kind, APPLIED_EVENT, entry.message)
        return key, entry, answer
