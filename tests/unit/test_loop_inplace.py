"""InPlaceThenHostNetwork on the in-memory cluster in fake time: the kernel bug is cured in
the pod's own namespace by a short Job, verified by the next runs, and only when it does not
hold does the workload go to hostNetwork. (The real Job on the real node:
tests/e2e/test_remediation_inplace.py; the route against the real bug: tests/kernel.)"""

from __future__ import annotations

import asyncio
import json

import pytest
from loop_world import AUTO, FAILING, FAST, HEALTHY, KERNEL_BUG, SETTINGS, world

from nethealth.loop import supervisor
from nethealth.remediation import curejob, finalizer, inplace

ROUTE = "255.255.255.255/32 dev eth0 scope link proto 110"


def _generation(w) -> int:
    return w.cluster.workloads[w.workload]["metadata"]["generation"]


def _pod_uids(w) -> set[str]:
    return {p["metadata"]["uid"] for p in w.cluster.pods_of(w.workload)}


def test_the_kernel_bug_is_cured_in_place_verified_and_the_workload_never_changes() -> None:
    async def scenario() -> None:
        w = world(**AUTO)  # the default strategy: InPlaceThenHostNetwork
        w.network.pod_network, w.network.with_route = KERNEL_BUG, HEALTHY
        generation = _generation(w)
        loop = w.loop()
        await w.run(loop)
        [entry] = w.entries()
        assert (entry["state"], entry["reason"]) == ("CuredInPlace", "Verifying")
        assert ROUTE in entry["message"]
        assert w.cluster.routes == _pod_uids(w)
        assert w.cluster.events_with("BroadcastRouteAdded")
        assert [j for j in w.cluster.jobs if "nhc-" in j] == []  # deleted after its result
        await w.run(loop)
        [entry] = w.entries()
        assert (entry["state"], entry["reason"]) == ("CuredInPlace", "Verified")
        assert w.cluster.events_with("RemediationVerified")
        assert w.status()["conditions"]
        remediated = next(c for c in w.status()["conditions"] if c["type"] == "Remediated")
        assert (remediated["status"], remediated["reason"]) == ("True", "Verified")
        assert _generation(w) == generation
        assert not w.on_host_network()
        assert len(w.cluster.cure_jobs) == 1

    asyncio.run(scenario())


def test_the_cure_job_has_exactly_the_shape_the_admission_policy_allows() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        w.network.pod_network, w.network.with_route = KERNEL_BUG, HEALTHY
        await w.run(w.loop())
        [job] = w.cluster.cure_jobs
        [pod] = w.cluster.pods_of(w.workload)
        spec = job["spec"]["template"]["spec"]
        [container] = spec["containers"]
        assert container["args"] == [
            "cure", "--pod-uid", pod["metadata"]["uid"], "--action", "add", "--device", "eth0",
        ]  # fmt: skip
        assert container["securityContext"]["capabilities"] == {
            "drop": ["ALL"],
            "add": ["SYS_ADMIN", "SYS_PTRACE", "NET_ADMIN"],
        }
        assert container["securityContext"]["privileged"] is False
        assert container["image"] == w.loop()._settings.probe_image
        assert spec["hostPID"] is True
        assert spec["automountServiceAccountToken"] is False
        assert spec["nodeSelector"] == {"kubernetes.io/hostname": pod["spec"]["nodeName"]}
        assert job["spec"]["backoffLimit"] == 0
        assert job["spec"]["activeDeadlineSeconds"] <= 60
        assert job["metadata"]["namespace"] == pod["metadata"]["namespace"]

    asyncio.run(scenario())


def test_a_cure_that_does_not_hold_falls_back_to_host_network() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        w.network.pod_network = w.network.with_route = KERNEL_BUG
        loop = w.loop()
        await w.run(loop)
        assert w.states() == {"web": "CuredInPlace"}
        assert not w.on_host_network()
        await w.run(loop)
        assert w.cluster.events_with("RemediationIneffective")
        assert w.on_host_network()
        assert w.states() == {"web": "Verifying"}  # now the hostNetwork change's verification

    asyncio.run(scenario())


def test_a_verified_cure_that_relapses_on_the_same_pod_falls_back_to_host_network() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        w.network.pod_network, w.network.with_route = KERNEL_BUG, HEALTHY
        loop = w.loop()
        await w.run(loop)
        await w.run(loop)
        assert [e["reason"] for e in w.entries()] == ["Verified"]
        w.network.with_route = KERNEL_BUG
        await w.run(loop)
        assert w.on_host_network()
        assert len(w.cluster.cure_jobs) == 1  # not cured again: the cure did not hold

    asyncio.run(scenario())


def test_dry_run_publishes_the_exact_route_and_changes_nothing() -> None:
    async def scenario() -> None:
        w = world(**FAST, remediation={"mode": "DryRun"})
        w.network.pod_network = KERNEL_BUG
        loop = w.loop()
        await w.run(loop)
        await w.run(loop)
        [entry] = w.entries()
        assert (entry["state"], entry["reason"]) == ("DryRun", "DryRun")
        [pod] = w.cluster.pods_of(w.workload)
        assert json.loads(entry["patch"]) == {
            "route": ROUTE,
            "pods": [f"apps/{pod['metadata']['name']}"],
        }
        [event] = [
            e for e in w.cluster.events_with("DryRun") if e["involvedObject"]["kind"] != "Pod"
        ]
        assert f"would add the route {ROUTE}" in event["message"]  # said once, not every run
        assert w.cluster.cure_jobs == []
        assert w.cluster.routes == set()
        assert not w.on_host_network()

    asyncio.run(scenario())


@pytest.mark.parametrize("strategy", ["InPlaceThenHostNetwork", "HostNetwork"])
def test_any_other_fault_goes_to_host_network_as_before(strategy) -> None:
    async def scenario() -> None:
        w = world(**FAST, remediation={"mode": "Auto", "strategy": strategy})
        w.network.pod_network = FAILING
        await w.run(w.loop())
        assert w.on_host_network()
        assert w.cluster.cure_jobs == []

    asyncio.run(scenario())


def test_the_host_network_strategy_never_cures_in_place() -> None:
    async def scenario() -> None:
        w = world(**FAST, remediation={"mode": "Auto", "strategy": "HostNetwork"})
        w.network.pod_network = KERNEL_BUG
        await w.run(w.loop())
        assert w.on_host_network()
        assert w.cluster.cure_jobs == []

    asyncio.run(scenario())


def test_a_failed_cure_is_reported_blocked_and_tried_again_at_the_next_run() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        w.network.pod_network, w.network.with_route = KERNEL_BUG, HEALTHY
        real = w.cluster._cure
        w.cluster._cure = lambda key, job: None  # the Job never reports
        loop = w.loop()
        await w.run(loop)
        [entry] = w.entries()
        assert (entry["state"], entry["reason"]) == ("Blocked", "ApplyFailed")
        assert "no result in time" in entry["message"]
        assert w.cluster.events_with("RemediationApplyFailed")
        assert [j for j in w.cluster.jobs if "nhc-" in j] == []  # deleted anyway
        w.cluster._cure = real
        await w.run(loop)
        assert w.states() == {"web": "CuredInPlace"}
        assert not w.on_host_network()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("hint", "applies"),
    [
        ("KernelBroadcastRouteCache: failures on CPU 0, none on CPU 1: 20/20 ...", True),
        ("KernelBroadcastRouteCache: route lookups differ between CPUs: on CPU 0 ...", True),
        ("KernelBroadcastRouteCache: kernel 6.1.149 is in the affected range", False),
        ("PolicyRuleUnreachable: rule 100 on CPU 0", False),
        (None, False),
    ],
)
def test_only_the_kernel_bug_seen_per_cpu_is_cured_in_place(hint, applies) -> None:
    assert inplace.applies(hint) is applies


def test_the_route_shown_is_the_one_the_job_adds() -> None:
    assert curejob.route() == ROUTE


# --- prevention ---------------------------------------------------------------------------

AFFECTED = "6.1.149"  # the table's first bad 6.1 release
FIXED = "6.1.150"


def _kernel(w, release: str) -> None:
    for node in w.cluster.nodes.values():
        node["status"]["nodeInfo"] = {"kernelVersion": release}


def _protected(w) -> list[str]:
    return [p for e in w.entries() if e["state"] == "Protected" for p in e["pods"]]


def test_prevention_puts_the_route_into_healthy_pods_on_an_affected_kernel_only() -> None:
    async def scenario() -> None:
        w = world(**FAST, remediation={"mode": "Auto", "prevention": "AffectedKernels"})
        _kernel(w, AFFECTED)
        generation = _generation(w)
        await w.run(w.loop())
        assert w.cluster.routes == _pod_uids(w)
        [pod] = w.cluster.pods_of(w.workload)
        assert _protected(w) == [f"apps/{pod['metadata']['name']}"]
        [entry] = w.entries()
        assert "kernel 6.1.149 is in the affected range, fixed in 6.1.150" in entry["message"]
        assert w.cluster.events_with("BroadcastRouteAdded")
        assert _generation(w) == generation
        assert [j for j in w.cluster.jobs if "nhc-" in j] == []
        await w.run(w.loop())
        assert len(w.cluster.cure_jobs) == 1  # idempotent: a protected pod is not done again

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("remediation", "release"),
    [
        ({"mode": "Auto", "prevention": "AffectedKernels"}, FIXED),
        ({"mode": "Auto"}, AFFECTED),  # prevention is opt-in
        ({"mode": "DryRun", "prevention": "Always"}, AFFECTED),  # only Auto changes pods
    ],
    ids=["fixed-kernel", "prevention-off", "dry-run"],
)
def test_prevention_touches_nothing_when_it_does_not_apply(remediation, release) -> None:
    async def scenario() -> None:
        w = world(**FAST, remediation=remediation)
        _kernel(w, release)
        await w.run(w.loop())
        assert w.cluster.cure_jobs == []
        assert _protected(w) == []

    asyncio.run(scenario())


def test_a_new_pod_of_the_workload_gets_the_route_at_the_next_run() -> None:
    async def scenario() -> None:
        w = world(**FAST, remediation={"mode": "Auto", "prevention": "Always"})
        loop = w.loop()
        await w.run(loop)
        [old] = w.cluster.pods_of(w.workload)
        await w.cluster.evict_pod(
            namespace="apps", name=old["metadata"]["name"], uid=old["metadata"]["uid"]
        )
        [new] = w.cluster.pods_of(w.workload)
        await w.run(loop)
        assert new["metadata"]["uid"] in w.cluster.routes
        assert _protected(w) == [f"apps/{new['metadata']['name']}"]  # the gone pod dropped

    asyncio.run(scenario())


def test_deleting_the_check_removes_every_route_it_added_then_releases_the_check() -> None:
    async def scenario() -> None:
        w = world(**FAST, remediation={"mode": "Auto", "prevention": "Always"})
        await w.run(w.loop())
        assert w.cluster.routes == _pod_uids(w)
        body = w.cluster.checks[w.check]
        assert finalizer.FINALIZER in body["metadata"]["finalizers"]
        body["metadata"]["deletionTimestamp"] = "2026-01-01T01:00:00Z"
        boss = supervisor.Supervisor(api=w.cluster, clock=w.clock, settings=SETTINGS)
        boss.activate()
        boss.seen(body)
        for _ in range(50):
            await asyncio.sleep(0)
        await boss.stop()
        assert w.cluster.routes == set()
        assert w.check not in w.cluster.checks
        assert [j for j in w.cluster.jobs if "nhc-" in j] == []

    asyncio.run(scenario())


def test_a_pod_protected_that_degrades_with_the_bug_goes_to_host_network() -> None:
    async def scenario() -> None:
        w = world(**FAST, remediation={"mode": "Auto", "prevention": "Always"})
        loop = w.loop()
        await w.run(loop)
        w.network.pod_network = KERNEL_BUG
        await w.run(loop)
        assert w.on_host_network()
        assert len(w.cluster.cure_jobs) == 1  # the route was there: no second cure

    asyncio.run(scenario())


def test_with_verification_off_a_cure_is_kept_unjudged_and_never_escalated_on_its_own() -> None:
    async def scenario() -> None:
        w = world(**FAST, remediation={"mode": "Auto", "verify": False})
        w.network.pod_network, w.network.with_route = KERNEL_BUG, HEALTHY
        loop = w.loop()
        await w.run(loop)
        await w.run(loop)
        [entry] = w.entries()
        assert (entry["state"], entry["reason"]) == ("CuredInPlace", "VerificationOff")
        assert not w.on_host_network()
        assert len(w.cluster.cure_jobs) == 1

    asyncio.run(scenario())


def test_a_cure_result_from_a_pod_its_job_did_not_make_is_not_believed() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        w.network.pod_network, w.network.with_route = KERNEL_BUG, HEALTHY
        cure_on_the_node = w.cluster._cure

        def forged(key, job) -> None:
            cure_on_the_node(key, job)
            w.cluster.routes.clear()  # the node added nothing, but a tenant's pod says "added"
            del w.cluster.probe_pods[key]["metadata"]["ownerReferences"]

        w.cluster._cure = forged
        await w.run(w.loop())
        [entry] = w.entries()
        assert entry["state"] != "CuredInPlace"
        assert not w.cluster.events_with("BroadcastRouteAdded")

    asyncio.run(scenario())
