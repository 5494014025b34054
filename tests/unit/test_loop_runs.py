"""The check loop's runs against an in-memory cluster in fake time: Jobs launched, adopted
after a restart, collected or given up on, pruned; status written. (The real thing, in
minutes: tests/e2e/test_operator_loop.py.)"""

from __future__ import annotations

import asyncio

from loop_world import FAILING, FAST, world

from nethealth import model
from nethealth.detection import scheduling


def _pods(w) -> dict[str, str]:
    return {p["name"]: p["state"] for p in w.status().get("pods") or []}


def test_a_run_measures_the_selected_pod_in_one_job_and_writes_status_once() -> None:
    async def scenario() -> None:
        w = world(**FAST)
        loop = w.loop()
        await w.run(loop)
        assert len(w.cluster.created_jobs) == 1
        assert set(_pods(w).values()) == {"Healthy"}
        assert loop.status_writes == 1
        await w.run(loop)
        assert loop.status_writes == 2  # the run times changed; nothing else

    asyncio.run(scenario())


def test_an_unfinished_run_is_adopted_after_a_restart_not_launched_again() -> None:
    async def scenario() -> None:
        w = world(**FAST)
        w.network.pod_network = FAILING
        w.cluster.job_seconds = 40
        first = w.loop()
        running = asyncio.create_task(first.run(model.parse(w.cluster.checks[w.check])))
        while not w.cluster.created_jobs:
            await asyncio.sleep(0)
        running.cancel()  # the operator dies while its Job runs
        await asyncio.gather(running, return_exceptions=True)
        assert w.status() == {}
        restarted = w.loop()
        await restarted.adopt()
        assert len(w.cluster.created_jobs) == 1
        [record] = restarted.memory.records.values()
        assert record.state is model.PodState.DEGRADED
        await w.run(restarted)
        assert len(w.cluster.created_jobs) == 2
        assert set(_pods(w).values()) == {"Degraded"}

    asyncio.run(scenario())


def test_a_job_that_never_finishes_leaves_its_pods_inconclusive_after_the_deadline() -> None:
    async def scenario() -> None:
        w = world(**FAST)
        w.network.pod_network = None
        started = w.clock.now()
        await w.loop().run(model.parse(w.cluster.checks[w.check]))
        assert set(_pods(w).values()) == {"Inconclusive"}
        assert w.cluster.events_with("ProbeInconclusive")
        waited = (w.clock.now() - started).total_seconds()
        assert 120 < waited <= 120 + 30 + 2 * 2  # the deadline, the grace, the last polls

    asyncio.run(scenario())


def test_finished_jobs_beyond_the_history_are_pruned() -> None:
    async def scenario() -> None:
        w = world(**FAST)
        loop = w.loop()
        for _ in range(4):
            await w.run(loop)
        assert len(w.cluster.created_jobs) == 4
        assert len(w.cluster.jobs) == scheduling.HISTORY_RUNS

    asyncio.run(scenario())


def test_an_invalid_spec_is_not_ready_and_launches_nothing() -> None:
    async def scenario() -> None:
        w = world(**FAST)
        w.cluster.checks[w.check]["spec"]["probe"] = {"interval": "1s"}
        w.cluster.checks[w.check]["metadata"]["generation"] = 2
        loop = w.loop()
        waiting = asyncio.create_task(loop.cycle())
        for _ in range(5):
            await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        [ready] = [c for c in w.status()["conditions"] if c["type"] == "Ready"]
        assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
        assert "interval" in ready["message"]
        assert w.cluster.created_jobs == []

    asyncio.run(scenario())
