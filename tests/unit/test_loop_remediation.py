"""The remediation loop, end to end against an in-memory cluster in fake time: what Auto does
to a workload over runs, restarts and deletions. (The real API server, Deployment
controller and kubelet do the same in tests/e2e/test_remediation_*.py, in minutes.)"""

from __future__ import annotations

import asyncio

import pytest
from loop_world import AUTO, FAILING, HEALTHY, SETTINGS, world

from nethealth import model
from nethealth.loop import supervisor
from nethealth.remediation import finalizer, hostnetwork


async def _degrade_then_patch(w) -> None:
    """The pod fails in its own namespace: one run makes it Degraded and Auto patches."""
    w.network.pod_network = FAILING
    loop = w.loop()
    await w.run(loop)
    assert w.on_host_network(), w.entries()
    return loop


@pytest.mark.parametrize(
    ("on_host_network", "wait_minutes", "state", "reason", "event", "still_patched"),
    [
        (HEALTHY, 0, "Remediated", "Verified", "RemediationVerified", True),
        (FAILING, 0, "Ineffective", "StillFailing", "RemediationIneffective", False),
        (None, 40, "Ineffective", "NotVerifiedInTime", "RemediationIneffective", False),
    ],
    ids=["new-pods-pass", "new-pods-still-fail", "never-measured-in-time"],
)
def test_a_patched_workload_is_verified_on_its_new_pods_or_reverted(
    on_host_network, wait_minutes, state, reason, event, still_patched
) -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        loop = await _degrade_then_patch(w)
        assert w.states() == {"web": "Verifying"}
        w.network.host_network = on_host_network
        w.clock.advance(minutes=wait_minutes)
        await w.run(loop)
        [entry] = w.entries()
        assert (entry["state"], entry["reason"]) == (state, reason)
        assert w.cluster.events_with(event)
        assert w.on_host_network() is still_patched
        if not still_patched:
            spec = w.cluster.template(w.workload)
            assert spec["hostNetwork"] is False
            assert (
                hostnetwork.ORIGINAL_ANNOTATION
                not in w.cluster.workloads[w.workload]["metadata"]["annotations"]
            )

    asyncio.run(scenario())


def test_a_crash_between_the_patch_and_the_status_write_is_adopted_from_the_workload() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        await _degrade_then_patch(w)
        # The operator died after the apply: the status never recorded the change.
        del w.cluster.checks[w.check]["status"]["remediation"]
        w.cluster.checks[w.check]["metadata"].pop("finalizers", None)
        restarted = w.loop()
        assert restarted.remediator.entries == {}
        await w.run(restarted)
        assert w.states() == {"web": "Remediated"}
        assert finalizer.FINALIZER in w.cluster.checks[w.check]["metadata"]["finalizers"]

    asyncio.run(scenario())


def test_a_change_another_manager_reverts_is_reported_and_never_fought() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        loop = await _degrade_then_patch(w)
        w.cluster.apply_as(
            "argocd-controller", w.workload, hostNetwork=False, dnsPolicy="ClusterFirst"
        )
        generation = w.cluster.workloads[w.workload]["metadata"]["generation"]
        for _ in range(3):
            await w.run(loop)
        [entry] = w.entries()
        assert entry["state"] == "RevertedByOtherManager"
        assert "argocd-controller" in entry["message"]
        assert len(w.cluster.events_with("RemediationReverted")) == 1
        assert w.cluster.workloads[w.workload]["metadata"]["generation"] == generation

    asyncio.run(scenario())


def test_deleting_the_check_reverts_its_workload_then_releases_the_check() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        await _degrade_then_patch(w)
        body = w.cluster.checks[w.check]
        assert finalizer.FINALIZER in body["metadata"]["finalizers"]
        body["metadata"]["deletionTimestamp"] = "2026-01-01T01:00:00Z"
        boss = supervisor.Supervisor(api=w.cluster, clock=w.clock, settings=SETTINGS)
        boss.activate()
        boss.seen(body)
        for _ in range(20):
            await asyncio.sleep(0)
        await boss.stop()
        assert not w.on_host_network()
        assert w.check not in w.cluster.checks  # released: the API server deleted it

    asyncio.run(scenario())


def test_the_global_cap_counts_every_checks_changes() -> None:
    async def scenario() -> None:
        w = world(max_remediated_pods=1, **AUTO)
        await _degrade_then_patch(w)
        other = w.cluster.add_deployment("db", labels={"app": "db"})
        second = w.cluster.add_check("db", selector={"matchLabels": {"app": "db"}}, **AUTO)
        await w.run(w.loop(second))
        [entry] = w.entries(second)
        assert (entry["state"], entry["reason"]) == ("Blocked", "BudgetExhausted")
        assert w.cluster.template(other).get("hostNetwork") is None

    asyncio.run(scenario())


def test_dry_run_changes_nothing_and_shows_the_exact_patch() -> None:
    async def scenario() -> None:
        w = world(threshold={"consecutiveRuns": 1})
        w.network.pod_network = FAILING
        await w.run(w.loop())
        [entry] = w.entries()
        assert entry["state"] == "DryRun"
        assert '"hostNetwork": true' in entry["patch"]
        assert w.cluster.template(w.workload).get("hostNetwork") is None
        assert w.cluster.events_with(str(model.Reason.DRY_RUN))

    asyncio.run(scenario())


def test_restart_then_host_network_restarts_first_and_patches_if_it_degrades_again() -> None:
    async def scenario() -> None:
        w = world(
            threshold={"consecutiveRuns": 1, "recoveryRuns": 1},
            remediation={"mode": "Auto", "strategy": "RestartThenHostNetwork"},
        )
        w.network.pod_network = FAILING
        loop = w.loop()
        await w.run(loop)
        assert len(w.cluster.deleted_pods) == 1
        assert w.states() == {"web": "Restarted"}
        assert not w.on_host_network()
        await w.run(loop)
        assert w.on_host_network()

    asyncio.run(scenario())


def test_with_verify_off_a_change_is_kept_as_it_is_never_judged_nor_reverted() -> None:
    async def scenario() -> None:
        w = world(threshold={"consecutiveRuns": 1}, remediation={"mode": "Auto", "verify": False})
        loop = await _degrade_then_patch(w)
        w.network.host_network = FAILING
        for _ in range(3):
            await w.run(loop)
        [entry] = w.entries()
        assert (entry["state"], entry["reason"]) == ("Remediated", "VerificationOff")
        assert w.on_host_network()

    asyncio.run(scenario())
