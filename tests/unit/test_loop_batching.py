"""Shared probe Jobs in the check loop, on the in-memory cluster in fake time: checks due
in the same tick whose pods share a namespace and a node get one Job, and each check's
status holds its own pods' results, and only those."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

from loop_world import FAILING, FAST, HEALTHY, SETTINGS, World, world

from nethealth import model
from nethealth.detection import scheduling
from nethealth.loop import batcher, checkloop


def _loop(w: World, check: str, shared: batcher.Batcher) -> checkloop.CheckLoop:
    loop = checkloop.CheckLoop(
        api=w.cluster,
        clock=w.clock,
        body=w.cluster.body(check),
        settings=SETTINGS,
        budget=w.jobs,
        remediation_budget=w.remediation_budget,
        batcher=shared,
    )
    loop.memory = loop._restore(loop._body())
    return loop


def _pods(w: World, check: str) -> dict[str, str]:
    return {p["name"]: p["state"] for p in w.status(check).get("pods") or []}


def _three_checks() -> tuple[World, list[str]]:
    w = world(**FAST)
    w.cluster.add_deployment("shop", labels={"app": "shop"})
    w.cluster.add_deployment("cart", labels={"app": "cart"})
    checks = [w.check]
    for app in ("shop", "cart"):
        checks.append(w.cluster.add_check(app, selector={"matchLabels": {"app": app}}, **FAST))
    return w, checks


def test_checks_due_in_one_tick_share_one_job_and_each_gets_only_its_own_pods() -> None:
    async def scenario() -> None:
        w, checks = _three_checks()
        shared = batcher.Batcher(api=w.cluster, clock=w.clock, budget=w.jobs)
        failing_pod = next(k for k in w.cluster.pods if k.startswith("apps/shop-"))

        def network(pod: dict[str, Any]) -> dict[str, Any]:
            key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
            return FAILING if key == failing_pod else HEALTHY

        w.cluster.network = network
        loops = [_loop(w, c, shared) for c in checks]
        await asyncio.gather(*(loop.run(model.parse(loop._body())) for loop in loops))
        assert len(w.cluster.created_jobs) == 1  # three checks, one namespace, one node
        assert shared.jobs_created == 1
        web, shop, cart = (_pods(w, c) for c in checks)
        assert set(web) == {p.split("/")[1] for p in w.cluster.pods if "/web-" in p}
        assert set(shop) == {failing_pod.split("/")[1]}
        assert set(cart) == {p.split("/")[1] for p in w.cluster.pods if "/cart-" in p}
        assert set(web.values()) == {"Healthy"}
        assert set(shop.values()) == {"Degraded"}  # only the check of the failing pod
        assert set(cart.values()) == {"Healthy"}

    asyncio.run(scenario())


def test_checks_of_a_namespace_are_due_together_with_batching_and_spread_without() -> None:
    async def scenario() -> None:
        w, checks = _three_checks()
        shared = batcher.Batcher(api=w.cluster, clock=w.clock, budget=w.jobs)
        batched = {
            loop._due(model.parse(loop._body())) for loop in (_loop(w, c, shared) for c in checks)
        }
        assert len(batched) == 1
        overdue = w.clock.now() - datetime.timedelta(hours=1)  # a restarted operator's
        alone = set()
        for c in checks:
            loop = w.loop(c)
            loop.memory.last_finish = overdue
            alone.add(loop._due(model.parse(w.cluster.checks[c])))
        assert len(alone) == 3

    asyncio.run(scenario())


def test_a_full_cycle_of_three_checks_launches_one_job_per_tick() -> None:
    async def scenario() -> None:
        w, checks = _three_checks()
        shared = batcher.Batcher(api=w.cluster, clock=w.clock, budget=w.jobs)
        loops = [_loop(w, c, shared) for c in checks]
        tasks = [asyncio.create_task(loop.serve()) for loop in loops]
        interval = datetime.timedelta(minutes=5)
        end = w.clock.now() + interval * 2 + scheduling.late_after(interval)
        while w.clock.now() < end:
            await asyncio.sleep(0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert len(w.cluster.created_jobs) in (2, 3)  # one per tick: two or three intervals
        for check in checks:
            on_schedule = [c for c in w.status(check)["conditions"] if c["type"] == "OnSchedule"]
            assert on_schedule[0]["status"] == "True"

    asyncio.run(scenario())
