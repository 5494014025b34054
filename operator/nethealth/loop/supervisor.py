"""One ``CheckLoop`` per check the watch has seen, started and stopped with it and with
leadership; revert-on-delete for deleted checks; a sweep of orphaned probe Jobs.

kopf feeds ``seen``/``gone`` from its watch (``handlers``); leadership calls
``activate``/``deactivate``. Everything else is the loops' own business.

A deleted check's Jobs go with it: in its own namespace by owner reference, in others (a
``namespaceSelector`` check) by label here, and a sweep at start and every
``SWEEP_SECONDS`` deletes Jobs whose check no longer exists (one deleted while the
operator was down leaves nothing).
"""

from __future__ import annotations

import asyncio
import logging
import typing
from collections.abc import Mapping
from typing import Any, Final

from nethealth import kube, metrics, settings
from nethealth.detection import jobs, scheduling
from nethealth.loop import batcher, checkloop, clock, cure, owners, revertondelete
from nethealth.model import raw
from nethealth.remediation import finalizer, globalbudget, hostnetwork

SWEEP_SECONDS: Final = 300.0  # how often Jobs of vanished checks are looked for

logger = logging.getLogger(__name__)


class Supervisor:
    def __init__(
        self,
        *,
        api: kube.Api,
        settings: settings.Settings,
        clock: clock.Clock,
        observer: metrics.Observer | None = None,
        view: kube.View | None = None,
    ) -> None:
        self._api = api
        self._view = view  # shared by every check's loop (None: each lists)
        self._clock = clock
        self._settings = settings
        self._budget = scheduling.Budget(settings.max_concurrent_jobs)
        self._remediation_budget = globalbudget.GlobalBudget(settings.max_remediated_pods)
        self._batcher = (
            batcher.Batcher(api=api, clock=clock, budget=self._budget)
            if settings.batch_probe_jobs
            else None
        )
        self._bodies: dict[str, raw.Check] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._observer = observer
        self._sweeper: asyncio.Task[None] | None = None
        self._cleanups: set[asyncio.Task[Any]] = set()
        self._finalizing: set[str] = set()
        self.loops: dict[str, checkloop.CheckLoop] = {}  # by check uid, while it runs
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
        uid = raw.uid(body)
        self._bodies[uid] = raw_check(body)
        if raw.deleted(body):
            self.gone(uid)
            if self.active and finalizer.pending(body) and uid not in self._finalizing:
                self._finalizing.add(uid)
                self._background(self._finalize(body), name=f"finalize-{uid}")
            return
        if self.active and uid not in self._tasks:
            loop = checkloop.CheckLoop(
                api=self._api,
                clock=self._clock,
                body=lambda: self._bodies[uid],
                settings=self._settings,
                budget=self._budget,
                observer=self._observer,
                remediation_budget=self._remediation_budget,
                view=self._view,
                batcher=self._batcher,
            )
            self.loops[uid] = loop
            self._tasks[uid] = asyncio.create_task(loop.serve(), name=f"check-{uid}")

    def gone(self, uid: str, *, forget: bool = True) -> None:
        """The check is deleted (``forget``) or no longer ours to serve: stop its loop.
        A deleted check's Jobs go too, also those in other namespaces (no owner reference
        there); a sweep catches any this misses."""
        if forget:
            self._bodies.pop(uid, None)
        self.loops.pop(uid, None)
        task = self._tasks.pop(uid, None)
        if task is not None:
            task.cancel()
        if forget and self.active:
            self._background(self._delete_jobs_of(uid), name=f"cleanup-{uid}")

    def _background(self, work: Any, *, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    async def _finalize(self, body: Mapping[str, Any]) -> None:
        try:
            routes, failed = await cure.remove_all(
                self._api, self._clock, body, image=self._settings.probe_image
            )
            if routes:
                logger.info("%s deleted: removed the broadcast route of %s", raw.key(body),
                            ", ".join(routes))  # fmt: skip
            if failed:
                logger.warning("%s deleted: the broadcast route stays in %s", raw.key(body),
                               "; ".join(failed))  # fmt: skip
            reverted = await revertondelete.finalize(self._api, body)
            if reverted:
                logger.info("%s deleted: reverted %s", raw.key(body), ", ".join(reverted))
        except Exception:
            # Kept: the next event of the still-existing check retries.
            logger.exception("%s deleted: reverting its workloads failed", raw.key(body))
        finally:
            self._finalizing.discard(raw.uid(body))

    async def _delete_jobs_of(self, uid: str) -> None:
        try:
            listed = await self._api.list_jobs_everywhere(
                label_selector=f"{jobs.LABEL_CHECK_UID}={uid}"
            )
            for job in listed:
                await self._api.delete_job(namespace=raw.namespace(job), name=raw.name(job))
        except kube.KubeError as error:
            logger.warning("cannot delete the Jobs of deleted check %s yet: %s", uid, error)

    async def sweep(self) -> list[str]:
        """Deletes the Jobs, and reverts the changes, whose check no longer exists (deleted
        while the operator was down, its finalizer removed by hand); the Jobs'
        ``namespace/name`` and the workloads reverted."""
        listed = [
            j
            for j in await self._api.list_jobs_everywhere(label_selector=jobs.managed_selector())
            if self._serves(raw.labels(j).get(jobs.LABEL_CHECK_NAMESPACE, raw.namespace(j)))
        ]
        changed = [
            w
            for w in await self._api.list_workloads(label_selector=hostnetwork.UID_LABEL)
            if self._serves((hostnetwork.changed_by(w) or raw.namespace(w)).split("/")[0])
        ]
        checks = await self._api.list_check_uids()
        owned = [
            scheduling.Owned(key=raw.key(j), check_uid=raw.labels(j)[jobs.LABEL_CHECK_UID])
            for j in listed
        ]
        stale = scheduling.orphans(owned, checks=checks)
        for key in stale:
            namespace, name = key.split("/", 1)
            await self._api.delete_job(namespace=namespace, name=name)
        if stale:
            logger.info("deleted %d probe Job(s) of checks that no longer exist", len(stale))
        for workload in finalizer.orphans(changed, checks=checks):
            workload_key = owners.key_of(workload)
            if await owners.revert(self._api, workload_key) is not None:
                logger.info("%s: reverted; its check no longer exists", workload_key)
                stale.append(str(workload_key))
        return stale

    def _serves(self, check_namespace: str) -> bool:
        """Whether checks of that namespace are this operator's (all, by default): an
        operator limited to some namespaces never sweeps another one's Jobs or changes."""
        watched = self._settings.watched_namespaces
        return not watched or check_namespace in watched

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("sweeping probe Jobs of deleted checks failed; retrying")
            await self._clock.sleep(SWEEP_SECONDS)

    async def stop(self) -> None:
        tasks = list(self._tasks.values()) + list(self._cleanups)
        if self._sweeper is not None:
            tasks.append(self._sweeper)
            self._sweeper = None
        self._tasks.clear()
        self.loops.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._batcher is not None:
            await self._batcher.stop()


def raw_check(body: Mapping[str, Any]) -> raw.Check:
    """A watch event's body as a typed check (kopf hands a plain mapping)."""
    return typing.cast("raw.Check", dict(body))
