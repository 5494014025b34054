"""The loop of one check: select pods, launch probe Jobs, collect, decide, report, prune.

One ``CheckLoop`` per NetHealthCheck, started and stopped by ``supervisor.Supervisor`` as
checks appear and disappear (kopf feeds it watch events; see ``handlers``). The decisions
are made by the pure wings (``detection``: selection, jobs, results, decision, reporting,
notices, scheduling; ``remediation`` through ``remediator``); this module only sequences
them and does the I/O through the ``kube.Api`` it is given, on the ``clock.Clock`` it is
given, so a test can run it against an in-memory cluster in fake time.

Guarantees worth knowing:
- one run in flight per check: the loop waits for its run's Jobs before the next;
- no orphans across restarts: at start the loop lists its check's Jobs (by the check's
  uid label, in every namespace) and adopts an unfinished run, collecting it instead of
  launching another; finished Jobs beyond the history are deleted; the owner reference
  deletes the rest with the check;
- a check with a ``namespaceSelector`` (honoured in the operator's namespace only) measures
  pods of every matching namespace, with its Jobs in the pods' namespaces. Those Jobs
  carry no owner reference (none crosses namespaces): the ``Supervisor`` deletes them by
  label when the check goes, and sweeps Jobs whose check no longer exists;
- at most one status write per run, plus one when the spec changes (``observedGeneration``
  follows an edit within a second, not at the next run);
- an error in one check's loop is logged and retried after a pause; it never stops the
  loops of other checks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

from nethealth import kube, metrics, model, settings
from nethealth.detection import (
    acceptance,
    batching,
    decision,
    facts,
    jobs,
    notices,
    podsecurity,
    provenance,
    reporting,
    results,
    scheduling,
    selection,
    targetsafety,
)
from nethealth.kube import view as kubeview
from nethealth.loop import batcher, clock, jobrefusal, notify, remediator, revertondelete
from nethealth.model import raw
from nethealth.remediation import finalizer, globalbudget

POLL_SECONDS: Final = 2.0  # how often a run looks at its Jobs
TICK_SECONDS: Final = 1.0  # how often an idle loop looks at the spec
GRACE: Final = datetime.timedelta(seconds=30)  # beyond the deadline before giving up
ERROR_PAUSE_SECONDS: Final = 10.0

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Memory:
    """What a check's loop remembers between runs (rebuilt from status after a restart)."""

    records: dict[str, decision.PodRecord] = dataclasses.field(default_factory=dict)
    views: dict[str, reporting.PodView] = dataclasses.field(default_factory=dict)
    runs: int = 0
    last_start: datetime.datetime | None = None
    last_finish: datetime.datetime | None = None
    observed: int | None = None  # the generation the status last reported
    refusals: int = 0  # runs in a row that Pod Security refused: the next ones back off


class CheckLoop:
    def __init__(
        self,
        *,
        api: kube.Api,
        clock: clock.Clock,
        body: Callable[[], raw.Check],
        settings: settings.Settings,
        budget: scheduling.Budget,
        observer: metrics.Observer | None = None,
        remediation_budget: globalbudget.GlobalBudget | None = None,
        view: kube.View | None = None,
        batcher: batcher.Batcher | None = None,
    ) -> None:
        self._api = api
        # The pods and nodes, shared by every check (kube.view); by listing when alone.
        self._view: kube.View = view or kubeview.Listing(api)
        # Probe Jobs shared with the other checks due in the same tick (None: its own Jobs).
        self._batcher = batcher
        self._clock = clock
        self._body = body
        self._settings = settings
        self._budget = budget
        self._observer = observer
        self.notifier = notify.Notifier(api=api, body=body, observer=observer)
        self.remediator = remediator.Remediator(
            api=api,
            clock=clock,
            body=body,
            settings=settings,
            budget=remediation_budget or globalbudget.GlobalBudget(settings.max_remediated_pods),
            notifier=self.notifier,
        )
        self.memory = Memory()
        self.jobs_created = 0
        self.status_writes = 0
        self._launched = clock.now()  # when the current run's Jobs started

    # --- the loop ------------------------------------------------------------------------

    async def serve(self) -> None:
        self.memory = self._restore(self._body())
        while True:
            try:
                await self.adopt()
                break
            except kube.KubeError as error:
                logger.warning("%s: cannot list its Jobs yet: %s", raw.key(self._body()), error)
                await self._clock.sleep(ERROR_PAUSE_SECONDS)
        while True:
            try:
                await self.cycle()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("%s: run failed; retrying", raw.key(self._body()))
                await self._clock.sleep(ERROR_PAUSE_SECONDS)

    async def cycle(self) -> None:
        """Reports what the spec says now, waits until the next run is due (or the spec
        changes), and runs."""
        body = self._body()
        try:
            check = model.parse(body)
        except model.SpecError as error:
            await self._report(body=body, verdict=acceptance.invalid(error), views=None)
            await self._wait_for_change(body)
            return
        refused = self._refusal(check)
        if refused is not None:
            await self._report(body=body, verdict=refused, views=None)
            await self._wait_for_change(body)
            return
        due = self._due(check)
        if self.memory.observed != check.generation:
            # The spec changed (or this process is new): say so now, not at the next run.
            selected = await self._select(check)
            verdict = acceptance.judge(
                check=check,
                operator_namespace=self._settings.namespace,
                selected_pods=selected.eligible,
            )
            await self._report(
                body=body, verdict=verdict, views=None, next_run=max(due, self._clock.now())
            )
        while self._clock.now() < due:
            await self._clock.sleep(TICK_SECONDS)
            if raw.generation(self._body()) != check.generation:
                return  # re-plan with the new spec (the run time stays)
        await self.run(check, due=due)

    def _due(
        self, check: model.NetHealthCheck, *, last_start: datetime.datetime | None = None
    ) -> datetime.datetime:
        """When the next run is due (possibly past: then it is late); after ``last_start``,
        or the memory's."""
        last_start = last_start or self.memory.last_start
        interval = check.spec.probe.interval
        if self._batcher is not None:
            due = scheduling.aligned_due(
                namespace=check.namespace,
                interval=interval,
                now=self._clock.now(),
                last_start=last_start,
            )
        else:
            due = scheduling.due(
                last_start=last_start,
                interval=interval,
                now=self._clock.now(),
                seed=check.uid or check.name,
                run=self.memory.runs,
                last_run=self.memory.last_finish,
            )
        if self.memory.refusals and last_start is not None:
            # Pod Security refused the last runs: the next would be refused too.
            wait = podsecurity.delay(interval=interval, refusals=self.memory.refusals)
            due = max(due, last_start + wait)
        return due

    def _refusal(self, check: model.NetHealthCheck) -> acceptance.Acceptance | None:
        """Why the check cannot run here at all, whatever its pods (None: it can)."""
        if check.spec.namespace_selector is not None and check.namespace != (
            self._settings.namespace
        ):
            return acceptance.judge(
                check=check, operator_namespace=self._settings.namespace, selected_pods=0
            )
        allowed = self._settings.allowed_probe_images | {self._settings.probe_image}
        return acceptance.refuse_image(check=check, allowed=allowed) or targetsafety.refuse(
            check.spec.targets, allowed=self._settings.allow_node_local_targets
        )

    async def _wait_for_change(self, body: raw.Check) -> None:
        generation = raw.generation(body)
        while raw.generation(self._body()) == generation:
            await self._clock.sleep(TICK_SECONDS)

    # --- one run -------------------------------------------------------------------------

    async def run(
        self, check: model.NetHealthCheck, *, due: datetime.datetime | None = None
    ) -> None:
        """One run; ``due`` is when it was due (None: not judged on time or late)."""
        started = self._clock.now()
        self._launched = started
        self.memory.last_start = started
        self.memory.runs += 1
        owner = _owner(check)
        # Only what remediation needs of the pods outlives the selection, and nothing of the
        # nodes: a run holds these while it waits for the Job budget, and a thousand checks
        # due at once each holding the node list took 1.4 GiB (docs/performance.md).
        listed = await self._selected_pods(check)
        nodes = await self._view.nodes()
        selected = selection.select_facts(pods=listed, nodes=nodes)
        # A target naming a node's own address: known only now that the nodes are read.
        refused = targetsafety.refuse(
            check.spec.targets,
            nodes=frozenset().union(*(n.addresses for n in nodes)),
            allowed=self._settings.allow_node_local_targets,
        )
        pods = [p.owner_facts() for p in listed]
        del listed, nodes
        if refused is not None:
            self.memory.last_finish = self._clock.now()
            await self._report(body=self._body(), verdict=refused, views=None)
            return
        verdict = acceptance.judge(
            check=check,
            operator_namespace=self._settings.namespace,
            selected_pods=selected.eligible,
        )
        outcomes: dict[str, results.Outcome] = {}
        if selected.eligible and self._batcher is not None:
            request = batching.Request(
                owner=owner, spec=check.spec, selected=selected, image=self._settings.probe_image
            )
            self._launched, outcomes = await self._batcher.measure(request)
        elif selected.eligible:
            manifests = jobs.plan(
                owner=owner,
                spec=check.spec,
                selected=selected,
                run=jobs.run_id(started),
                image=self._settings.probe_image,
            )
            outcomes = await self._launch_and_collect(
                owner=owner, manifests=manifests, deadline=check.spec.probe.deadline
            )
        schedule = self._judge_start(check=check, due=due)
        verdict = acceptance.after_run(verdict=verdict, check=check, outcomes=outcomes)
        refused = podsecurity.refusal(outcomes) if verdict.ready else None
        self.memory.refusals = self.memory.refusals + 1 if refused is not None else 0
        verdict = refused or verdict
        await self._decide(check=check, selected=selected, outcomes=outcomes)
        remedied = await self._remediate(check=check, pods=pods, outcomes=outcomes)
        self.memory.last_finish = self._clock.now()
        next_due = max(self._due(check, last_start=started), self._clock.now())
        # The metrics first: whoever reads the run in status and then scrapes finds it
        # counted (the status write and the cleanup after it are awaits).
        if self._observer is not None:
            self._observer.run_finished(
                check=f"{check.namespace}/{check.name}",
                spec=check.spec,
                outcomes=outcomes,
                views=self.memory.views,
                workloads=self.remediator.entries.values(),
                started=started,
                finished=self.memory.last_finish,
            )
        await self._report(
            body=self._body(),
            verdict=verdict,
            views=self.memory.views,
            next_run=next_due,
            remediation=remedied,
            schedule=schedule,
        )
        if remedied is not None:
            want = finalizer.wanted(spec=check.spec.remediation, entries=self.remediator.entries)
            await revertondelete.keep(self._api, self._body(), want=want)
        await self._prune(owner)

    async def _launch_and_collect(
        self,
        *,
        owner: jobs.Owner,
        manifests: list[dict[str, Any]],
        deadline: datetime.timedelta,
    ) -> dict[str, results.Outcome]:
        while not self._budget.take(len(manifests)):
            await self._clock.sleep(POLL_SECONDS)
        self._launched = self._clock.now()
        try:
            for manifest in manifests:
                if await self._api.create_job(manifest):
                    self.jobs_created += 1
            keys = {raw.key(m) for m in manifests}
            return await self._collect(owner=owner, keys=keys, deadline=deadline)
        finally:
            self._budget.give(len(manifests))

    async def _collect(
        self, *, owner: jobs.Owner, keys: set[str], deadline: datetime.timedelta
    ) -> dict[str, results.Outcome]:
        """Waits for the Jobs (``namespace/name``; at most their deadline plus GRACE), then
        reads every pod's."""
        give_up = self._clock.now() + deadline + GRACE
        namespaces = sorted({key.split("/", 1)[0] for key in keys})
        while True:
            listed = await self._api.list_jobs_everywhere(label_selector=jobs.check_selector(owner))
            mine = [j for j in listed if raw.key(j) in keys]
            probe_pods: list[raw.Pod] = []
            for namespace in namespaces:
                probe_pods += await self._api.list_pods(
                    namespace=namespace, label_selector=jobs.check_selector(owner)
                )
            # Only the pods our Jobs made: a pod with forged labels is not a result.
            by_job, forged = provenance.sort(jobs=mine, pods_by_job=results.pods_by_job(probe_pods))
            done = all(results.finished(job=j, pods=by_job.get(raw.key(j), [])) for j in mine)
            if (done and len(mine) == len(keys)) or self._clock.now() > give_up:
                break
            await self._clock.sleep(POLL_SECONDS)
        for impostor in forged:
            logger.warning("ignoring pod %s: %s", impostor.pod, impostor.why)
        outcomes: dict[str, results.Outcome] = {}
        for job in mine:
            pods = by_job.get(raw.key(job), [])
            refused = None
            if not pods:
                refused = await jobrefusal.why_no_pod(
                    self._api, namespace=raw.namespace(job), name=raw.name(job)
                )
            try:
                outcomes.update(results.collect(job=job, pods=pods, refused=refused))
            except ValueError as error:
                logger.warning("probe Job %s unreadable: %s", raw.name(job), error)
        return outcomes

    def _judge_start(
        self, *, check: model.NetHealthCheck, due: datetime.datetime | None
    ) -> tuple[bool, model.Reason, str] | None:
        """Whether the run's Jobs started on time (its ``OnSchedule``); a late one counts."""
        if due is None:
            return None
        interval = check.spec.probe.interval
        late = scheduling.lateness(due=due, started=self._launched, interval=interval)
        if late is not None:
            logger.warning("%s: run started %s after it was due", check.name, late)
            if self._observer is not None:
                self._observer.run_late(check=f"{check.namespace}/{check.name}")
        return scheduling.on_schedule(late=late, interval=interval)

    async def adopt(self) -> None:
        """A run left unfinished by a previous process is collected, not launched again."""
        body = self._body()
        if not raw.uid(body):
            return
        owner = jobs.Owner(name=raw.name(body), namespace=raw.namespace(body), uid=raw.uid(body))
        listed = await self._api.list_jobs_everywhere(label_selector=jobs.check_selector(owner))
        infos = [results.job_info(j) for j in listed]
        run = scheduling.in_flight(infos)
        if run is None:
            await self._prune(owner)
            return
        keys = {i.name for i in infos if i.run == run}
        logger.info("%s: adopting unfinished run %s (%d Jobs)", owner.name, run, len(keys))
        try:
            check = model.parse(body)
        except model.SpecError:
            for key in keys:
                await self._delete(key)
            return
        self.memory.last_start = jobs.run_started(run)
        self.memory.runs += 1
        self._budget.used += len(keys)
        try:
            outcomes = await self._collect(
                owner=owner, keys=keys, deadline=check.spec.probe.deadline
            )
        finally:
            self._budget.give(len(keys))
        await self._decide(check=check, selected=await self._select(check), outcomes=outcomes)
        await self._prune(owner)

    async def _select(self, check: model.NetHealthCheck) -> selection.Selection:
        pods = await self._selected_pods(check)
        return selection.select_facts(pods=pods, nodes=await self._view.nodes())

    async def _selected_pods(self, check: model.NetHealthCheck) -> list[facts.PodFacts]:
        """The pods the selector matches: in the check's namespace, or in every namespace
        its ``namespaceSelector`` matches (honoured in the operator's namespace only)."""
        namespaces = [check.namespace]
        if (
            check.spec.namespace_selector is not None
            and check.namespace == self._settings.namespace
        ):
            namespaces = await self._api.list_namespaces(
                label_selector=check.spec.namespace_selector.as_query()
            )
        pods: list[facts.PodFacts] = []
        for namespace in namespaces:
            pods += await self._view.pods(namespace=namespace, selector=check.spec.selector)
        return pods

    async def _decide(
        self,
        *,
        check: model.NetHealthCheck,
        selected: selection.Selection,
        outcomes: Mapping[str, results.Outcome],
    ) -> None:
        """The pods' new records and views, and the Events their changes deserve."""
        refs = {p.key: p for p in selected.pods}
        self.memory.records = decision.decide_pods(
            previous=self.memory.records,
            runs=reporting.runs_of(pods=refs, outcomes=outcomes),
            threshold=check.spec.threshold,
        )
        self.memory.views = reporting.views_after_run(
            records=self.memory.records,
            refs=refs,
            outcomes=outcomes,
            previous=self.memory.views,
            now=self._clock.now(),
        )
        for notice in notices.notices(records=self.memory.records, outcomes=outcomes):
            await self.notifier.post(notice, views=self.memory.views)

    async def _remediate(
        self,
        *,
        check: model.NetHealthCheck,
        pods: list[dict[str, Any]],
        outcomes: Mapping[str, results.Outcome],
    ) -> reporting.RemediationView | None:
        """Remediation's part of the run; its status stays as it was when it fails."""
        try:
            outcome = await self.remediator.after_run(
                check=check, raw_pods=pods, views=self.memory.views, outcomes=outcomes
            )
        except kube.KubeError as error:
            logger.warning("%s: remediation skipped this run: %s", check.name, error)
            return None
        self.memory.views = reporting.with_remediated(self.memory.views, outcome.remediated_pods)
        return outcome.view

    # --- reporting -----------------------------------------------------------------------

    async def _report(
        self,
        *,
        body: raw.Check,
        verdict: acceptance.Acceptance,
        views: Mapping[str, reporting.PodView] | None,
        next_run: datetime.datetime | None = None,
        remediation: reporting.RemediationView | None = None,
        schedule: tuple[bool, model.Reason, str] | None = None,
    ) -> None:
        current = raw.status(body)
        generation = raw.generation(body)
        wanted = reporting.status_patch(
            current=current,
            verdict=verdict,
            views=views,
            generation=generation,
            check_namespace=raw.namespace(body),
            now=self._clock.now(),
            last_run=self.memory.last_finish if views is not None else None,
            next_run=next_run,
            remediation=remediation,
            schedule=schedule,
        )
        changes = reporting.changed_fields(current=current, wanted=wanted)
        if changes:
            await self._api.patch_check_status(
                namespace=raw.namespace(body), name=raw.name(body), patch=changes
            )
            self.status_writes += 1
            if not verdict.ready and reporting.ready_said(current) != reporting.ready_said(wanted):
                notice = model.Notice(
                    type=model.EventType.WARNING, reason=verdict.reason, message=verdict.message
                )
                await self.notifier.post(notice)
        self.memory.observed = generation

    async def _prune(self, owner: jobs.Owner) -> None:
        listed = await self._api.list_jobs_everywhere(label_selector=jobs.check_selector(owner))
        for key in scheduling.prune(results.job_info(j) for j in listed):
            await self._delete(key)

    async def _delete(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        await self._api.delete_job(namespace=namespace, name=name)

    def _restore(self, body: raw.Check) -> Memory:
        memory = Memory()
        try:
            parsed = model.parse_status({k: v for k, v in raw.status(body).items() if k != "kopf"})
        except model.SpecError:
            return memory
        memory.records = reporting.records_from_status(parsed, check_namespace=raw.namespace(body))
        memory.last_finish = parsed.last_run_time
        self.remediator.restore(parsed)
        return memory


def _owner(check: model.NetHealthCheck) -> jobs.Owner:
    assert check.uid is not None  # a check read from the API always has one
    return jobs.Owner(name=check.name, namespace=check.namespace, uid=check.uid)
