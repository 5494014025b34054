"""Shared probe Jobs: the runs due in one tick are measured together (``batching``).

A check's loop hands its run to ``Batcher.measure`` instead of launching its own Jobs and
waits for its outcomes. Every ``TICK_SECONDS`` the batcher takes what has arrived, plans
one Job per namespace and node (``batching.plan``), waits for the operator's Job budget,
creates them, polls them all with one list of Jobs and one list of probe pods per
namespace (not one per check), and hands each check the outcomes of its own containers.

Not adopted after a restart: a shared Job left running by a previous process finishes or
hits its deadline, its results unread (the checks run again at their next slot); the
garbage collector removes it with its last check, ``ttlSecondsAfterFinished`` otherwise.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import Final

from nethealth import kube
from nethealth.detection import batching, jobs, provenance, results, scheduling
from nethealth.loop import clock, jobrefusal
from nethealth.model import raw

TICK_SECONDS: Final = 1.0  # how long runs gather before their Jobs are planned
POLL_SECONDS: Final = 2.0
GRACE: Final = datetime.timedelta(seconds=30)  # beyond the deadline before giving up

logger = logging.getLogger(__name__)

Measured = tuple[datetime.datetime, dict[str, results.Outcome]]  # (Jobs created, outcomes)
Waiting = tuple[batching.Request, "asyncio.Future[Measured]"]


class Batcher:
    def __init__(self, *, api: kube.Api, clock: clock.Clock, budget: scheduling.Budget) -> None:
        self._api = api
        self._clock = clock
        self._budget = budget
        self._pending: list[Waiting] = []
        self._gatherer: asyncio.Task[None] | None = None
        self._ticks: set[asyncio.Task[None]] = set()
        self._serial = 0
        self._session = secrets.token_hex(3)  # Job names never repeat across processes
        self.jobs_created = 0

    async def measure(self, request: batching.Request) -> Measured:
        """The outcomes of the request's pods (keys namespace/name), and when its Jobs
        were created; raises what the tick raised (a refused create, say)."""
        future: asyncio.Future[Measured] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if self._gatherer is None or self._gatherer.done():
            self._gatherer = asyncio.create_task(self._gather(), name="batch-gather")
        return await future

    async def stop(self) -> None:
        tasks = [t for t in (self._gatherer, *self._ticks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _gather(self) -> None:
        while self._pending:
            await self._clock.sleep(TICK_SECONDS)
            taken, self._pending = self._pending, []
            self._serial += 1
            tick = asyncio.create_task(self._tick(taken, serial=self._serial))
            self._ticks.add(tick)
            tick.add_done_callback(self._ticks.discard)

    async def _tick(self, taken: Sequence[Waiting], *, serial: int) -> None:
        try:
            measured = await self._launch_and_collect([r for r, _ in taken], serial=serial)
        except Exception as error:  # every waiting run learns it, none hangs
            for _, future in taken:
                if not future.done():
                    future.set_exception(error)
            return
        launched, by_check = measured
        for request, future in taken:
            if not future.done():
                future.set_result((launched, by_check.get(request.owner.uid, {})))

    async def _launch_and_collect(
        self, requests: Sequence[batching.Request], *, serial: int
    ) -> tuple[datetime.datetime, dict[str, dict[str, results.Outcome]]]:
        started = self._clock.now()
        tick = f"{jobs.run_id(started)}-{self._session}-{serial}"
        manifests = batching.plan(requests, tick=tick, run=jobs.run_id(started))
        while not self._budget.take(len(manifests)):
            await self._clock.sleep(POLL_SECONDS)
        launched = self._clock.now()
        try:
            for manifest in manifests:
                if await self._api.create_job(manifest):
                    self.jobs_created += 1
            deadline = max(r.spec.probe.deadline for r in requests)
            keys = {raw.key(m) for m in manifests}
            return launched, await self._collect(tick=tick, keys=keys, deadline=deadline)
        finally:
            self._budget.give(len(manifests))

    async def _collect(
        self, *, tick: str, keys: set[str], deadline: datetime.timedelta
    ) -> dict[str, dict[str, results.Outcome]]:
        """Waits for the tick's Jobs (at most the longest deadline plus GRACE), then
        reads each check's containers."""
        give_up = self._clock.now() + deadline + GRACE
        selector = f"{batching.LABEL_BATCH}={tick}"
        namespaces = sorted({key.split("/", 1)[0] for key in keys})
        while True:
            listed = await self._api.list_jobs_everywhere(label_selector=selector)
            mine = [j for j in listed if raw.key(j) in keys]
            probe_pods: list[raw.Pod] = []
            for namespace in namespaces:
                probe_pods += await self._api.list_pods(
                    namespace=namespace, label_selector=selector
                )
            # Only the pods our Jobs made: a pod with forged labels is not a result.
            by_job, forged = provenance.sort(jobs=mine, pods_by_job=results.pods_by_job(probe_pods))
            done = all(results.finished(job=j, pods=by_job.get(raw.key(j), [])) for j in mine)
            if (done and len(mine) == len(keys)) or self._clock.now() > give_up:
                break
            await self._clock.sleep(POLL_SECONDS)
        for impostor in forged:
            logger.warning("ignoring pod %s: %s", impostor.pod, impostor.why)
        return await self._read(mine, by_job)

    async def _read(
        self, mine: Sequence[raw.Job], by_job: Mapping[str, list[results.RawPod]]
    ) -> dict[str, dict[str, results.Outcome]]:
        by_check: dict[str, dict[str, results.Outcome]] = {}
        for job in mine:
            pods = by_job.get(raw.key(job), [])
            refused = None
            if not pods:
                refused = await jobrefusal.why_no_pod(
                    self._api, namespace=raw.namespace(job), name=raw.name(job)
                )
            for uid in sorted(batching.checks_of(job)):
                view = batching.for_check(job, uid)
                try:
                    found = results.collect(job=view, pods=pods, refused=refused)
                except ValueError as error:
                    logger.warning("shared probe Job %s unreadable: %s", raw.name(job), error)
                    continue
                by_check.setdefault(uid, {}).update(found)
        return by_check
