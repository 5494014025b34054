"""What the check loop hands the metrics after each run, against the in-memory cluster in
fake time: the pod's state, class and hint, the workload's remediation state, the run's
time and the check's interval, and the actions its Events count."""

from __future__ import annotations

import asyncio

from loop_world import AUTO, FAILING, SETTINGS, World, world
from prometheus_client import parser

from nethealth import metrics
from nethealth.loop import checkloop


def _observed_loop(w: World, observer: metrics.Observer) -> checkloop.CheckLoop:
    body = w.cluster.body(w.check)
    return checkloop.CheckLoop(
        api=w.cluster,
        clock=w.clock,
        body=body,
        settings=SETTINGS,
        budget=w.jobs,
        observer=observer,
        remediation_budget=w.remediation_budget,
    )


def _series(observer: metrics.Observer, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {
        frozenset(sample.labels.items()): sample.value
        for family in parser.text_string_to_metric_families(observer.render())
        for sample in family.samples
        if sample.name == name
    }


def test_a_degraded_and_patched_pod_shows_in_every_gauge_after_the_run() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        w.network.pod_network = FAILING
        observer = metrics.Observer()
        loop = _observed_loop(w, observer)
        await w.run(loop)
        check = w.check
        [info] = [dict(labels) for labels in _series(observer, "nethealth_pod_info")]
        assert (info["check"], info["state"], info["class"]) == (check, "Degraded", "PodNamespace")
        assert info["pod"].startswith("apps/web-")
        workloads = _series(observer, "nethealth_remediation_workloads")
        assert workloads == {
            frozenset({("check", check), ("state", "Verifying"), ("reason", "")}): 1
        }
        actions = _series(observer, "nethealth_remediation_actions_total")
        key = frozenset({("check", check), ("action", "HostNetworkApplied")})
        assert actions == {key: 1}
        [finished] = _series(observer, "nethealth_check_last_run_timestamp_seconds").values()
        assert finished == loop.memory.last_finish.timestamp()
        [interval] = _series(observer, "nethealth_check_interval_seconds").values()
        assert interval == 300

    asyncio.run(scenario())


def test_a_run_that_finds_the_pod_healthy_again_moves_it_out_of_the_degraded_gauge() -> None:
    async def scenario() -> None:
        w = world(threshold={"consecutiveRuns": 1, "recoveryRuns": 1})
        observer = metrics.Observer()
        loop = _observed_loop(w, observer)
        w.network.pod_network = FAILING
        await w.run(loop)
        [degraded] = _series(observer, "nethealth_degraded_pods").values()
        assert degraded == 1
        w.network.pod_network = w.network.host_network
        await w.run(loop)
        [degraded] = _series(observer, "nethealth_degraded_pods").values()
        assert degraded == 0
        states = {dict(k)["state"]: v for k, v in _series(observer, "nethealth_pods").items()}
        assert states["Healthy"] == 1
        assert sum(states.values()) == 1

    asyncio.run(scenario())


def test_the_metrics_count_a_run_by_the_time_its_status_says_it_happened() -> None:
    """Whoever reads the status and then scrapes (an alert's runbook, the e2e) finds the
    run counted: the metrics are not left behind the status write."""

    async def scenario() -> None:
        w = world()
        observer = metrics.Observer()
        loop = _observed_loop(w, observer)
        seen_at_write: list[dict[frozenset[tuple[str, str]], float]] = []
        write = w.cluster.patch_check_status

        async def observed_write(**kwargs: object) -> None:
            patch = kwargs["patch"]
            assert isinstance(patch, dict)
            if (patch.get("status") or patch).get("lastRunTime"):
                seen_at_write.append(_series(observer, "nethealth_probe_runs_total"))
            await write(**kwargs)  # type: ignore[arg-type]

        w.cluster.patch_check_status = observed_write  # type: ignore[method-assign]
        await w.run(loop)
        assert seen_at_write, "the run wrote no lastRunTime"
        key = frozenset({("check", w.check), ("class", "Healthy")})
        assert seen_at_write[-1] == {key: 1}

    asyncio.run(scenario())
