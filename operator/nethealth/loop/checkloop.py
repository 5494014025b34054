"""The loop of one check: select pods, launch probe Jobs, collect, decide, report, prune.

One ``CheckLoop`` per NetHealthCheck, started and stopped by ``Supervisor`` as checks
appear and disappear (kopf feeds it watch events; see ``handlers``). The decisions are
made by the pure modules (``selection``, ``jobs``, ``results``, ``decision``, ``reporting``,
``notices``, ``scheduling``); this module only sequences them and does the I/O through
``kube``. It imports no kopf, so that it can be driven by anything that supplies the
check's latest body.

Guarantees worth knowing:
- one run in flight per check: the loop waits for its run's Jobs before the next;
- no orphans across restarts: at start the loop lists its check's Jobs (by the check's
  uid label, in every namespace) and adopts an unfinished run, collecting it instead of
  launching another; finished Jobs beyond the history are deleted; the owner reference
  deletes the rest with the check;
- a check with a ``namespaceSelector`` (honoured in the operator's namespace only) measures
  pods of every matching namespace, with its Jobs in the pods' namespaces. Those Jobs
  carry no owner reference (none crosses namespaces): the ``Supervisor`` deletes them by
  label when the check goes, and sweeps Jobs whose check no longer exists at start and
  every ``SWEEP_SECONDS`` (so a check deleted while the operator was down leaves nothing);
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
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from nethealth import kube, model
from nethealth import settings as settings_module
from nethealth.detection import (
    acceptance,
    decision,
    jobs,
    notices,
    reporting,
    results,
    scheduling,
    selection,
)
from nethealth.loop import remediator, revertondelete
from nethealth.remediation import hostnetwork

POLL_SECONDS: Final = 2.0  # how often a run looks at its Jobs
TICK_SECONDS: Final = 1.0  # how often an idle loop looks at the spec
GRACE: Final = datetime.timedelta(seconds=30)  # beyond the deadline before giving up
ERROR_PAUSE_SECONDS: Final = 10.0
SWEEP_SECONDS: Final = 300.0  # how often Jobs of vanished checks are looked for

logger = logging.getLogger(__name__)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


@dataclasses.dataclass
class Memory:
    """What a check's loop remembers between runs (rebuilt from status after a restart)."""

    records: dict[str, decision.PodRecord] = dataclasses.field(default_factory=dict)
    views: dict[str, reporting.PodView] = dataclasses.field(default_factory=dict)
    runs: int = 0
    last_start: datetime.datetime | None = None
    last_finish: datetime.datetime | None = None
    observed: int | None = None  # the generation the status last reported


@dataclasses.dataclass(frozen=True, kw_only=True)
class Stats:
    """Counters for tests and metrics: what the loop did."""

    runs: int
    jobs_created: int
    status_writes: int


class CheckLoop:
    def __init__(
        self,
        *,
        body: Callable[[], Mapping[str, Any]],
        settings: settings_module.Settings,
        budget: scheduling.Budget,
        observer: Any = None,
        remediation_budget: remediator.GlobalBudget | None = None,
    ) -> None:
        self._body = body
        self._settings = settings
        self._budget = budget
        self._observer = observer  # metrics.Observer or None
        self.remediator = remediator.Remediator(
            settings=settings,
            budget=remediation_budget or remediator.GlobalBudget(settings.max_remediated_pods),
            post=self._post_about_pods,
        )
        self.memory = Memory()
        self.jobs_created = 0
        self.status_writes = 0

    # --- the loop ------------------------------------------------------------------------

    async def serve(self) -> None:
        body = self._body()
        self.memory = self._restore(body)
        while True:
            try:
                await self._adopt()
                break
            except kube.KubeError as error:
                logger.warning("%s: cannot list its Jobs yet: %s", _name(body), error)
                await asyncio.sleep(ERROR_PAUSE_SECONDS)
        while True:
            try:
                await self._cycle()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("%s: run failed; retrying", _name(self._body()))
                await asyncio.sleep(ERROR_PAUSE_SECONDS)

    async def _cycle(self) -> None:
        body = self._body()
        try:
            check = model.parse(body)
        except model.SpecError as error:
            await self._report(body=body, verdict=acceptance.invalid(error), views=None)
            await self._wait_for_change(body)
            return
        if check.spec.namespace_selector is not None and check.namespace != (
            self._settings.namespace
        ):
            verdict = acceptance.judge(
                check=check, operator_namespace=self._settings.namespace, selected_pods=0
            )
            await self._report(body=body, verdict=verdict, views=None)
            await self._wait_for_change(body)
            return
        allowed = self._settings.allowed_probe_images | {self._settings.probe_image}
        refused = acceptance.refuse_image(check=check, allowed=allowed)
        if refused is not None:
            await self._report(body=body, verdict=refused, views=None)
            await self._wait_for_change(body)
            return
        due = scheduling.next_run(
            last_start=self.memory.last_start,
            interval=check.spec.probe.interval,
            now=_now(),
            seed=check.uid or check.name,
            run=self.memory.runs,
        )
        if self.memory.observed != check.generation:
            # The spec changed (or this process is new): say so now, not at the next run.
            pods = await self._selected_pods(check)
            selected = selection.select(pods=pods, nodes=await kube.list_nodes())
            verdict = acceptance.judge(
                check=check,
                operator_namespace=self._settings.namespace,
                selected_pods=selected.eligible,
            )
            await self._report(body=body, verdict=verdict, views=None, next_run=due)
        while _now() < due:
            await asyncio.sleep(TICK_SECONDS)
            latest = self._body()
            if _generation(latest) != check.generation:
                return  # re-plan with the new spec (the run time stays)
        await self._run(check)

    async def _wait_for_change(self, body: Mapping[str, Any]) -> None:
        generation = _generation(body)
        while _generation(self._body()) == generation:
            await asyncio.sleep(TICK_SECONDS)

    # --- one run -------------------------------------------------------------------------

    async def _run(self, check: model.NetHealthCheck) -> None:
        started = _now()
        self.memory.last_start = started
        self.memory.runs += 1
        assert check.uid is not None
        owner = jobs.Owner(name=check.name, namespace=check.namespace, uid=check.uid)
        # Only what remediation needs of the pods outlives the selection, and nothing of the
        # nodes: a run holds these while it waits for the Job budget, and a thousand checks
        # due at once each holding the node list took 1.4 GiB (docs/performance.md).
        raw = await self._selected_pods(check)
        selected = selection.select(pods=raw, nodes=await kube.list_nodes())
        pods = [hostnetwork.owner_facts(p) for p in raw]
        del raw
        verdict = acceptance.judge(
            check=check,
            operator_namespace=self._settings.namespace,
            selected_pods=selected.eligible,
        )
        outcomes: dict[str, results.Outcome] = {}
        if selected.eligible:
            run = jobs.run_id(started)
            manifests = jobs.plan(
                owner=owner,
                spec=check.spec,
                selected=selected,
                run=run,
                image=self._settings.probe_image,
            )
            outcomes = await self._launch_and_collect(
                owner=owner, manifests=manifests, deadline=check.spec.probe.deadline
            )
        verdict = acceptance.after_run(verdict=verdict, check=check, outcomes=outcomes)
        self._decide(check=check, selected=selected, outcomes=outcomes)
        for notice in notices.notices(records=self.memory.records, outcomes=outcomes):
            await self._notify(notice)
        remedied = await self._remediate(check=check, pods=pods, outcomes=outcomes)
        self.memory.last_finish = _now()
        due = scheduling.next_run(
            last_start=started,
            interval=check.spec.probe.interval,
            now=_now(),
            seed=check.uid,
            run=self.memory.runs,
        )
        await self._report(
            body=self._body(),
            verdict=verdict,
            views=self.memory.views,
            next_run=due,
            remediation=remedied,
        )
        if remedied is not None:
            want = revertondelete.wanted(
                spec=check.spec.remediation, entries=self.remediator.entries
            )
            await revertondelete.keep(self._body(), want=want)
        await self._prune(owner)
        if self._observer is not None:
            self._observer.run_finished(
                check=f"{check.namespace}/{check.name}",
                outcomes=outcomes,
                records=self.memory.records,
                seconds=(self.memory.last_finish - started).total_seconds(),
            )

    async def _launch_and_collect(
        self,
        *,
        owner: jobs.Owner,
        manifests: list[dict[str, Any]],
        deadline: datetime.timedelta,
    ) -> dict[str, results.Outcome]:
        while not self._budget.take(len(manifests)):
            await asyncio.sleep(POLL_SECONDS)
        try:
            for manifest in manifests:
                if await kube.create_job(manifest):
                    self.jobs_created += 1
            keys = {_key(m) for m in manifests}
            return await self._collect(owner=owner, keys=keys, deadline=deadline)
        finally:
            self._budget.give(len(manifests))

    async def _collect(
        self, *, owner: jobs.Owner, keys: set[str], deadline: datetime.timedelta
    ) -> dict[str, results.Outcome]:
        """Waits for the Jobs (``namespace/name``; at most their deadline plus GRACE), then
        reads every pod's."""
        give_up = _now() + deadline + GRACE
        namespaces = sorted({key.split("/", 1)[0] for key in keys})
        while True:
            listed = await kube.list_jobs_everywhere(label_selector=jobs.check_selector(owner))
            mine = [j for j in listed if _key(j) in keys]
            probe_pods = []
            for namespace in namespaces:
                probe_pods += await kube.list_pods(
                    namespace=namespace, label_selector=jobs.check_selector(owner)
                )
            by_job = _pods_by_job(probe_pods)
            done = all(results.finished(job=j, pods=by_job.get(_key(j), [])) for j in mine)
            if (done and len(mine) == len(keys)) or _now() > give_up:
                break
            await asyncio.sleep(POLL_SECONDS)
        outcomes: dict[str, results.Outcome] = {}
        for job in mine:
            pods = by_job.get(_key(job), [])
            refused = None
            if not pods:
                refused = await kube.latest_event_message(
                    namespace=job["metadata"]["namespace"],
                    kind="Job",
                    name=job["metadata"]["name"],
                    reason="FailedCreate",
                )
            try:
                outcomes.update(results.collect(job=job, pods=pods, refused=refused))
            except ValueError as error:
                logger.warning("probe Job %s unreadable: %s", job["metadata"]["name"], error)
        return outcomes

    async def _adopt(self) -> None:
        """A run left unfinished by a previous process is collected, not launched again."""
        body = self._body()
        uid = (body.get("metadata") or {}).get("uid")
        if not uid:
            return
        owner = jobs.Owner(name=_name(body), namespace=body["metadata"]["namespace"], uid=uid)
        listed = await kube.list_jobs_everywhere(label_selector=jobs.check_selector(owner))
        infos = [_job_info(j) for j in listed]
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
                await _delete(key)
            return
        started = datetime.datetime.strptime(run, "%Y%m%dt%H%M%S").replace(tzinfo=datetime.UTC)
        self.memory.last_start = started
        self.memory.runs += 1
        self._budget.used += len(keys)
        try:
            outcomes = await self._collect(
                owner=owner, keys=keys, deadline=check.spec.probe.deadline
            )
        finally:
            self._budget.give(len(keys))
        pods = await self._selected_pods(check)
        selected = selection.select(pods=pods, nodes=await kube.list_nodes())
        self._decide(check=check, selected=selected, outcomes=outcomes)
        for notice in notices.notices(records=self.memory.records, outcomes=outcomes):
            await self._notify(notice)
        await self._prune(owner)

    async def _selected_pods(self, check: model.NetHealthCheck) -> list[dict[str, Any]]:
        """The pods the selector matches: in the check's namespace, or in every namespace
        its ``namespaceSelector`` matches (honoured in the operator's namespace only)."""
        query = check.spec.selector.as_query()
        namespaces = [check.namespace]
        if (
            check.spec.namespace_selector is not None
            and check.namespace == self._settings.namespace
        ):
            namespaces = await kube.list_namespaces(
                label_selector=check.spec.namespace_selector.as_query()
            )
        pods = []
        for namespace in namespaces:
            pods += await kube.list_pods(namespace=namespace, label_selector=query)
        return pods

    def _decide(
        self,
        *,
        check: model.NetHealthCheck,
        selected: selection.Selection,
        outcomes: Mapping[str, results.Outcome],
    ) -> None:
        refs = {p.key: p for p in selected.pods}
        runs = {}
        for key in refs:
            outcome = outcomes.get(key)
            if outcome is None:
                outcome = results.inconclusive(
                    key=key, why=results.Why.NOT_CREATED, reason="no probe result for this pod"
                )
            runs[key] = outcome.run
        self.memory.records = decision.decide_pods(
            previous=self.memory.records, runs=runs, threshold=check.spec.threshold
        )
        now = _now()
        views = {}
        for key, record in self.memory.records.items():
            outcome = outcomes.get(key)
            previous = self.memory.views.get(key)
            hint = outcome.hint if outcome is not None and not outcome.inconclusive else None
            if hint is None and outcome is not None and outcome.inconclusive:
                hint = f"inconclusive: {outcome.run.reason}"[: results.HINT_CHARS]
            if hint is None and previous is not None:
                hint = previous.hint
            views[key] = reporting.PodView(ref=refs[key], record=record, hint=hint, last_run=now)
        self.memory.views = views

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
        self.memory.views = {
            key: dataclasses.replace(view, remediated=key in outcome.remediated_pods)
            for key, view in self.memory.views.items()
        }
        return outcome.view

    # --- reporting -----------------------------------------------------------------------

    async def _report(
        self,
        *,
        body: Mapping[str, Any],
        verdict: acceptance.Acceptance,
        views: Mapping[str, reporting.PodView] | None,
        next_run: datetime.datetime | None = None,
        remediation: reporting.RemediationView | None = None,
    ) -> None:
        current = body.get("status") or {}
        generation = _generation(body)
        wanted = reporting.status_patch(
            current=current,
            verdict=verdict,
            views=views,
            generation=generation,
            check_namespace=body["metadata"]["namespace"],
            now=_now(),
            last_run=self.memory.last_finish if views is not None else None,
            next_run=next_run,
            remediation=remediation,
        )
        changes = reporting.changed_fields(current=current, wanted=wanted)
        if changes:
            await kube.patch_check_status(
                namespace=body["metadata"]["namespace"],
                name=_name(body),
                patch=changes,
                field_manager=self._settings.field_manager,
            )
            self.status_writes += 1
            if not verdict.ready and _ready_said(current) != _ready_said(wanted):
                await self._notify_check(
                    body=body, type=notices.WARNING, reason=verdict.reason, message=verdict.message
                )
        self.memory.observed = generation

    async def _notify(self, notice: notices.Notice) -> None:
        await self._post_about_pods(
            [notice.pod] if notice.pod else [], notice.type, notice.reason, notice.message
        )

    async def _post_about_pods(
        self, pods: Sequence[str], type: str, reason: str, message: str
    ) -> None:
        """An Event on the check, and on each named pod still known."""
        body = self._body()
        name = _name(body)
        if self._observer is not None and reason in remediator.ACTIONS:
            check = f"{body['metadata']['namespace']}/{name}"
            self._observer.remediation_action(check=check, action=reason)
        await self._notify_check(body=body, type=type, reason=reason, message=message)
        for key in pods:
            view = self.memory.views.get(key)
            if view is None:
                continue
            involved = {
                "apiVersion": "v1",
                "kind": "Pod",
                "namespace": view.ref.namespace,
                "name": view.ref.name,
                "uid": view.ref.uid,
            }
            await self._post(
                involved=involved,
                type=type,
                reason=reason,
                message=f"{message} (NetHealthCheck {name})",
            )

    async def _notify_check(
        self, *, body: Mapping[str, Any], type: str, reason: str, message: str
    ) -> None:
        meta = body.get("metadata") or {}
        involved = {
            "apiVersion": model.API_VERSION,
            "kind": model.KIND,
            "namespace": meta.get("namespace", ""),
            "name": meta.get("name", ""),
            "uid": meta.get("uid", ""),
        }
        await self._post(involved=involved, type=type, reason=reason, message=message)

    async def _post(
        self, *, involved: Mapping[str, str], type: str, reason: str, message: str
    ) -> None:
        try:
            await kube.post_event(
                involved=involved,
                type=type,
                reason=reason,
                message=message,
                component=self._settings.field_manager,
            )
        except kube.KubeError as error:
            logger.warning("cannot post Event %s: %s", reason, error)  # Events are best effort

    async def _prune(self, owner: jobs.Owner) -> None:
        listed = await kube.list_jobs_everywhere(label_selector=jobs.check_selector(owner))
        for key in scheduling.prune(_job_info(j) for j in listed):
            await _delete(key)

    def _restore(self, body: Mapping[str, Any]) -> Memory:
        memory = Memory()
        raw = body.get("status") or {}
        try:
            parsed = model.parse_status({k: v for k, v in raw.items() if k != "kopf"})
        except model.SpecError:
            return memory
        memory.records = reporting.records_from_status(
            parsed, check_namespace=body["metadata"]["namespace"]
        )
        memory.last_finish = parsed.last_run_time
        self.remediator.restore(parsed)
        return memory


class Supervisor:
    """Runs one ``CheckLoop`` per check the watch has seen, stopping it when it is gone."""

    def __init__(self, *, settings: settings_module.Settings, observer: Any = None) -> None:
        self._settings = settings
        self._budget = scheduling.Budget(settings.max_concurrent_jobs)
        self._remediation_budget = remediator.GlobalBudget(settings.max_remediated_pods)
        self._bodies: dict[str, Mapping[str, Any]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._observer = observer
        self._sweeper: asyncio.Task[None] | None = None
        self._cleanups: set[asyncio.Task[None]] = set()
        self._finalizing: set[str] = set()
        self.active = False  # leading (or alone): only then do loops run

    def activate(self) -> None:
        """Leadership won (or no election): start the loops of every known check, and the
        sweep of Jobs whose check no longer exists."""
        self.active = True
        for body in list(self._bodies.values()):
            self.seen(body)
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="sweep-jobs")

    def deactivate(self) -> None:
        """Leadership lost: stop every loop; a run's Jobs are adopted by the new leader."""
        self.active = False
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for uid in list(self._tasks):
            self.gone(uid, forget=False)

    def seen(self, body: Mapping[str, Any]) -> None:
        """The latest body of a check (from a watch event): start its loop if new."""
        uid = body["metadata"]["uid"]
        self._bodies[uid] = body
        if body["metadata"].get("deletionTimestamp"):
            self.gone(uid)
            if self.active and revertondelete.pending(body) and uid not in self._finalizing:
                self._finalizing.add(uid)
                task = asyncio.create_task(self._finalize(body), name=f"finalize-{uid}")
                self._cleanups.add(task)
                task.add_done_callback(self._cleanups.discard)
            return
        if self.active and uid not in self._tasks:
            loop = CheckLoop(
                body=lambda: self._bodies[uid],
                settings=self._settings,
                budget=self._budget,
                observer=self._observer,
                remediation_budget=self._remediation_budget,
            )
            self._tasks[uid] = asyncio.create_task(loop.serve(), name=f"check-{uid}")

    def gone(self, uid: str, *, forget: bool = True) -> None:
        """The check is deleted (``forget``) or no longer ours to serve: stop its loop.
        A deleted check's Jobs go too, also those in other namespaces (no owner reference
        there); a sweep catches any this misses."""
        if forget:
            self._bodies.pop(uid, None)
        task = self._tasks.pop(uid, None)
        if task is not None:
            task.cancel()
        if forget and self.active:
            cleanup = asyncio.create_task(_delete_jobs_of(uid), name=f"cleanup-{uid}")
            self._cleanups.add(cleanup)
            cleanup.add_done_callback(self._cleanups.discard)

    async def _finalize(self, body: Mapping[str, Any]) -> None:
        uid = body["metadata"]["uid"]
        try:
            reverted = await revertondelete.finalize(body)
            if reverted:
                logger.info("%s deleted: reverted %s", _name(body), ", ".join(reverted))
        except Exception:
            # Kept: the next event of the still-existing check retries.
            logger.exception("%s deleted: reverting its workloads failed", _name(body))
        finally:
            self._finalizing.discard(uid)

    async def sweep(self) -> list[str]:
        """Deletes the Jobs whose check no longer exists; their ``namespace/name``."""
        listed = await kube.list_jobs_everywhere(label_selector=jobs.managed_selector())
        owned = [
            scheduling.Owned(
                key=_key(j), check_uid=(j["metadata"].get("labels") or {})[jobs.LABEL_CHECK_UID]
            )
            for j in listed
        ]
        stale = scheduling.orphans(owned, checks=await kube.list_check_uids())
        for key in stale:
            await _delete(key)
        if stale:
            logger.info("deleted %d probe Job(s) of checks that no longer exist", len(stale))
        return stale

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("sweeping probe Jobs of deleted checks failed; retrying")
            await asyncio.sleep(SWEEP_SECONDS)

    async def stop(self) -> None:
        tasks = list(self._tasks.values()) + list(self._cleanups)
        if self._sweeper is not None:
            tasks.append(self._sweeper)
            self._sweeper = None
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _ready_said(status: Mapping[str, Any]) -> tuple[object, ...]:
    """What the Ready condition tells a person (not its times or generation): its Warning
    Event is posted when that changes, not at every edit or other condition's change."""
    conditions: list[Mapping[str, Any]] = list(status.get("conditions") or ())
    ready: Mapping[str, Any] = next((c for c in conditions if c.get("type") == "Ready"), {})
    return ready.get("status"), ready.get("reason"), ready.get("message")


def _name(body: Mapping[str, Any]) -> str:
    return str((body.get("metadata") or {}).get("name", "?"))


def _generation(body: Mapping[str, Any]) -> int | None:
    generation = (body.get("metadata") or {}).get("generation")
    return generation if isinstance(generation, int) else None


def _key(job: Mapping[str, Any]) -> str:
    """``namespace/name`` of a Job (a check's Jobs may live in several namespaces)."""
    meta = job.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


async def _delete(key: str) -> None:
    namespace, name = key.split("/", 1)
    await kube.delete_job(namespace=namespace, name=name)


async def _delete_jobs_of(uid: str) -> None:
    try:
        listed = await kube.list_jobs_everywhere(label_selector=f"{jobs.LABEL_CHECK_UID}={uid}")
        for job in listed:
            await _delete(_key(job))
    except kube.KubeError as error:
        logger.warning("cannot delete the Jobs of deleted check %s yet: %s", uid, error)


def _job_info(job: Mapping[str, Any]) -> scheduling.JobInfo:
    meta = job.get("metadata") or {}
    return scheduling.JobInfo(
        name=_key(job),
        run=(meta.get("labels") or {}).get(jobs.LABEL_RUN, ""),
        finished=results.finished(job=job, pods=[]),
    )


def _pods_by_job(pods: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Probe pods by their Job's ``namespace/name``."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        name = (meta.get("labels") or {}).get("batch.kubernetes.io/job-name")
        if name:
            grouped.setdefault(f"{meta.get('namespace', '')}/{name}", []).append(pod)
    return grouped
