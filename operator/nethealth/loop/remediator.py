"""Carries out one check's remediation after each run: read, then the steps' actions.

What to do is decided by ``remediation.steps`` (pure); this shell reads what the steps need
(``owners.gather``), carries out their actions in order through ``kube.Api``, hands each
result to ``ledger.record`` and posts the Events it returns. It holds the check's entries
between runs (restored from status after a restart).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nethealth import kube, model, settings
from nethealth.detection import reporting, results, selection
from nethealth.loop import clock, cure, notify, owners, revertondelete
from nethealth.model import raw
from nethealth.remediation import (
    actions,
    curejob,
    globalbudget,
    hostnetwork,
    ledger,
    planning,
    prevention,
    steps,
)

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Outcome:
    view: reporting.RemediationView
    remediated_pods: frozenset[str]  # pods shown as Remediated


class Remediator:
    def __init__(
        self,
        *,
        api: kube.Api,
        clock: clock.Clock,
        body: Callable[[], raw.Check],
        settings: settings.Settings,
        budget: globalbudget.GlobalBudget,
        notifier: notify.Notifier,
    ) -> None:
        self._api = api
        self._clock = clock
        self._body = body
        self._settings = settings
        self._budget = budget
        self._notifier = notifier
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
        uid = check.uid or check.name
        if prevention.wanted(check.spec.remediation):
            await self._prevent(check=check, raw_pods=raw_pods, views=views)
        if steps.idle(spec=check.spec.remediation, entries=self.entries, views=views):
            self.entries, self.plan = {}, None
            self._budget.record(uid, 0)
            return Outcome(view=steps.NOTHING, remediated_pods=frozenset())
        gathered = await owners.gather(self._api, pods=raw_pods)
        live: dict[ledger.Key, raw.Workload | None] = dict(gathered.workloads)
        for key in self.entries:
            if key not in live:
                live[key] = await self._api.read_workload(key)
        now = self._clock.now()
        verified = steps.verify(
            check=check,
            entries=self.entries,
            views=views,
            outcomes=outcomes,
            owners=gathered.owners,
            workloads=gathered.workloads,
            live=live,
            now=now,
        )
        entries = await self._carry_out(verified, live=live, views=views)
        changes = await self._api.list_workloads(label_selector=hostnetwork.UID_LABEL)
        responded, plan = steps.respond(
            check=check,
            entries=entries,
            previous=self.plan,
            history=ledger.history(self.entries),
            views=views,
            owners=gathered.owners,
            live=live,
            namespace_labels=gathered.namespace_labels,
            node_pods=gathered.node_pods,
            limits=planning.Limits(
                global_remaining=self._budget.remaining(
                    excluding=uid, in_cluster=globalbudget.in_cluster(changes)
                ),
                node_network_eligible=self._settings.node_network_eligible,
            ),
            now=now,
        )
        # Before the first await: no other loop's plan can miss what this one will change.
        self._budget.record(uid, steps.pods_held(plan, live=live, check=check))
        entries = await self._carry_out(responded, live=live, views=views)
        self.entries, conclusion = steps.conclude(
            check=check,
            entries=entries,
            plan=plan,
            views=views,
            owners=gathered.owners,
            live=live,
            now=now,
        )
        self.plan = plan
        self._budget.record(uid, conclusion.changed_pods)
        return Outcome(view=conclusion.view, remediated_pods=conclusion.remediated_pods)

    async def _prevent(
        self,
        *,
        check: model.NetHealthCheck,
        raw_pods: Sequence[Mapping[str, Any]],
        views: Mapping[str, reporting.PodView],
    ) -> None:
        """Prevention: the route into every selected pod on an affected node that does not
        have it yet, grouped by workload (the record is per workload)."""
        spec = check.spec.remediation
        self.entries = prevention.settle(self.entries, selected=set(views))
        nodes = prevention.affected_nodes(spec, await self._api.list_nodes())
        todo = prevention.unprotected(views, nodes=nodes, entries=self.entries)
        if not todo:
            return
        by_key = {raw.key(p): p for p in raw_pods}
        replicasets: dict[str, raw.Object | None] = {}
        groups: dict[ledger.Key, list[selection.PodRef]] = {}
        for ref in todo:
            pod = by_key.get(ref.key)
            if pod is None:
                continue
            owner = await owners.resolve(self._api, pod, replicasets=replicasets)
            if isinstance(owner, ledger.Key):
                groups.setdefault(owner, []).append(ref)
        planned: list[actions.Action] = []
        if groups and spec.revert_on_delete:
            planned.append(actions.HoldFinalizer())
        for key, refs in sorted(groups.items()):
            why = "; ".join(sorted({nodes[r.node] for r in refs}))
            planned.append(actions.Protect(key=key, pods=tuple(refs), why=why))
        step = steps.Step(entries=dict(self.entries), actions=tuple(planned))
        self.entries = await self._carry_out(step, live={}, views=views)

    async def _carry_out(
        self,
        step: steps.Step,
        *,
        live: dict[ledger.Key, raw.Workload | None],
        views: Mapping[str, reporting.PodView],
    ) -> dict[ledger.Key, ledger.Entry]:
        entries = step.entries
        for action in step.actions:
            result = await self._perform(action)
            if isinstance(result, actions.Failed):
                logger.warning(
                    "%s: %s; retried at the next run", type(action).__name__, result.error
                )
                if actions.stops_on_failure(action):
                    break
            elif result.answer is not None and (key := actions.workload_of(action)) is not None:
                live[key] = result.answer
            entries, notices = ledger.record(
                entries, action=action, result=result, now=self._clock.now()
            )
            for notice in notices:
                await self._notifier.post(notice, views=views)
        return entries

    async def _perform(self, action: actions.Action) -> actions.Result:
        try:
            match action:
                case actions.Announce():
                    return actions.Done()
                case actions.HoldFinalizer():
                    await revertondelete.keep(self._api, self._body(), want=True)
                    return actions.Done()
                case actions.Restart(pods=pods):
                    for pod in pods:
                        await self._api.evict_pod(
                            namespace=pod.namespace, name=pod.name, uid=pod.uid
                        )
                    return actions.Done()
                case actions.Patch(verdict=verdict):
                    return actions.Done(answer=await owners.patch(self._api, verdict))
                case actions.Revert(key=key):
                    return actions.Done(answer=await owners.revert(self._api, key))
                case actions.Cure(pods=pods):
                    return await self._cure(pods)
                case actions.Protect(pods=pods):
                    return await self._cure(pods, partial=True)
        except kube.KubeError as error:
            return actions.Failed(error=str(error), status=error.status)
        raise AssertionError(f"unknown action {action!r}")

    async def _cure(
        self, pods: tuple[selection.PodRef, ...], *, partial: bool = False
    ) -> actions.Result:
        """One cure Job per pod, one after another (each takes a second or two); the
        first failure fails the action (the next run tries again: the cure is idempotent).
        ``partial`` (prevention): the pods reached are done, the others wait for the next
        run, and only none reached is a failure."""
        names = cure.hostnames(await self._api.list_nodes())
        found: list[str] = []
        errors: list[str] = []
        for pod in pods:
            outcome = await cure.run(
                self._api,
                self._clock,
                pod=pod,
                hostnames=names,
                image=self._settings.probe_image,
                action=curejob.ADD,
                check_uid=raw.uid(self._body()),
            )
            if not outcome.ok:
                if not partial:
                    return actions.Failed(error=f"{pod.key}: {outcome.error}")
                errors.append(f"{pod.key}: {outcome.error}")
                continue
            found.append(f"{pod.key}: {outcome.result}")
        if not found:
            return actions.Failed(error="; ".join(errors))
        return actions.Done(detail=", ".join(found))
