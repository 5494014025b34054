"""On time under load, on the in-memory cluster in fake time: a check's first run waits
for its own point of the interval, and a run that cannot start on time (its Jobs queued
behind the operator's budget) says so in status and in a metric."""

from __future__ import annotations

import asyncio
import datetime

import fakekube
from loop_world import FAST, SETTINGS, World, world
from prometheus_client import parser

from nethealth import metrics, model
from nethealth.loop import checkloop


def _loop(w: World, observer: metrics.Observer) -> checkloop.CheckLoop:
    loop = checkloop.CheckLoop(
        api=w.cluster,
        clock=w.clock,
        body=w.cluster.body(w.check),
        settings=SETTINGS,
        budget=w.jobs,
        observer=observer,
        remediation_budget=w.remediation_budget,
    )
    loop.memory = loop._restore(loop._body())
    return loop


def _late_runs(observer: metrics.Observer) -> float:
    return sum(
        s.value
        for family in parser.text_string_to_metric_families(observer.render())
        for s in family.samples
        if s.name == "nethealth_check_runs_late_total"
    )


def _on_schedule(w: World) -> dict[str, str]:
    (found,) = [c for c in w.status()["conditions"] if c["type"] == "OnSchedule"]
    return found


def test_a_new_checks_first_run_starts_at_once() -> None:
    async def scenario() -> None:
        w = world(**FAST)
        loop = _loop(w, metrics.Observer())
        await loop.cycle()
        assert w.cluster.created_jobs  # it ran
        (started,) = {j["started"] for j in w.cluster.jobs.values()}
        assert started - fakekube.START < datetime.timedelta(seconds=2)
        assert _on_schedule(w)["status"] == "True"

    asyncio.run(scenario())


def test_a_run_queued_behind_the_job_budget_is_reported_late_then_on_time_again() -> None:
    async def scenario() -> None:
        w = world(**FAST)
        observer = metrics.Observer()
        loop = _loop(w, observer)
        w.jobs.used = w.jobs.limit  # other checks' Jobs fill the budget
        due = w.clock.now()

        async def others_finish() -> None:
            while w.clock.now() < due + datetime.timedelta(seconds=90):
                await asyncio.sleep(0)
            w.jobs.give(w.jobs.limit)

        freeing = asyncio.create_task(others_finish())
        await loop.run(model.parse(loop._body()), due=due)
        await freeing
        condition = _on_schedule(w)
        assert (condition["status"], condition["reason"]) == ("False", "RunLate")
        assert "started 90 s after it was due" in condition["message"]
        assert _late_runs(observer) == 1
        assert loop.status_writes == 1  # said in the run's one write

        w.clock.advance(minutes=5)
        await loop.run(model.parse(loop._body()), due=w.clock.now())
        assert _on_schedule(w)["status"] == "True"
        assert _late_runs(observer) == 1

    asyncio.run(scenario())


def test_a_short_wait_for_the_budget_is_not_lateness() -> None:
    async def scenario() -> None:
        w = world(**FAST)
        observer = metrics.Observer()
        loop = _loop(w, observer)
        w.jobs.used = w.jobs.limit
        due = w.clock.now()

        async def others_finish() -> None:
            while w.clock.now() < due + datetime.timedelta(seconds=6):
                await asyncio.sleep(0)
            w.jobs.give(w.jobs.limit)

        freeing = asyncio.create_task(others_finish())
        await loop.run(model.parse(loop._body()), due=due)
        await freeing
        assert _on_schedule(w)["reason"] == "OnTime"
        assert _late_runs(observer) == 0

    asyncio.run(scenario())
