"""Remediation you can trust (issue 14), on the in-memory cluster: nothing orphaned, one
owner per change, a blast radius that counts what a patch moves. Each of these failed
before its fix; the e2e tier shows the same cases on the real cluster."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from loop_world import AUTO, FAILING, HEALTHY, SETTINGS, world
from operator_builders import probe_document

from nethealth import kube, model
from nethealth.loop import supervisor
from nethealth.probe import types
from nethealth.remediation import finalizer, ledger

DELETED = "2026-01-01T01:00:00Z"


async def _settle(boss: supervisor.Supervisor) -> None:
    """Lets the supervisor's background work (finalizers, sweeps) run, then stops it."""
    for _ in range(50):
        await asyncio.sleep(0)
    await boss.stop()


# --- 2. nothing orphaned ---------------------------------------------------------------


def test_the_finalizer_is_on_the_check_before_the_first_change() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        held_at_apply = []
        apply = w.cluster.apply_workload

        async def watching(body, **kwargs):
            check = w.cluster.checks[w.check]
            held_at_apply.append(finalizer.FINALIZER in (check["metadata"].get("finalizers") or []))
            return await apply(body, **kwargs)

        w.cluster.apply_workload = watching
        w.network.pod_network = FAILING
        await w.run(w.loop())
        assert held_at_apply == [True]

    asyncio.run(scenario())


def test_a_check_deleted_before_its_status_recorded_the_change_still_reverts_it() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        w.network.pod_network = FAILING
        w.cluster.failing["patch_check_status"] = kube.KubeError("the operator died", status=None)
        with pytest.raises(kube.KubeError):
            await w.run(w.loop())
        assert w.on_host_network()
        assert "remediation" not in w.status()
        w.cluster.checks[w.check]["metadata"]["deletionTimestamp"] = DELETED
        boss = supervisor.Supervisor(api=w.cluster, clock=w.clock, settings=SETTINGS)
        boss.activate()
        boss.seen(w.cluster.checks[w.check])
        await _settle(boss)
        assert not w.on_host_network()
        assert w.check not in w.cluster.checks

    asyncio.run(scenario())


def _entry(name: str, state: model.WorkloadState) -> ledger.Entry:
    return ledger.Entry(
        kind="Deployment",
        namespace="apps",
        name=name,
        state=state,
        reason=None,
        message=name,
        pods=(),
        patch=None,
        original=None,
        changed_at=None,
    )


def test_changed_workloads_are_never_dropped_from_status_however_many_are_blocked() -> None:
    entries = {
        ledger.key_of(e): e
        for e in [
            _entry(f"blocked-{i:03}", model.WorkloadState.BLOCKED)
            for i in range(model.MAX_WORKLOAD_RESULTS + 1)
        ]
        + [_entry("changed", model.WorkloadState.VERIFYING)]
    }
    kept = ledger.dump(entries)
    assert "changed" in [e.name for e in kept]
    assert len(kept) == model.MAX_WORKLOAD_RESULTS


def test_a_change_whose_check_is_gone_is_reverted_by_the_sweep() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        w.network.pod_network = FAILING
        await w.run(w.loop())
        assert w.on_host_network()
        del w.cluster.checks[w.check]  # finalizer removed by hand while the operator was down
        boss = supervisor.Supervisor(api=w.cluster, clock=w.clock, settings=SETTINGS)
        boss.activate()
        await _settle(boss)
        assert not w.on_host_network()

    asyncio.run(scenario())


# --- 4. one owner per change -----------------------------------------------------------


def test_a_check_never_adopts_verifies_or_reverts_another_checks_change() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        team = w.cluster.add_check("team", **AUTO)
        w.network.pod_network = FAILING
        await w.run(w.loop())  # the first check patches
        assert w.on_host_network()
        w.network.host_network = FAILING  # the change does not help, as the team sees it
        team_loop = w.loop(team)
        await w.run(team_loop)
        await w.run(team_loop)
        assert w.on_host_network(), "the team's check reverted the other check's change"
        assert all(e["state"] != "Verifying" for e in w.entries(team))
        w.cluster.checks[team]["metadata"]["deletionTimestamp"] = DELETED
        boss = supervisor.Supervisor(api=w.cluster, clock=w.clock, settings=SETTINGS)
        boss.activate()
        boss.seen(w.cluster.checks[team])
        await _settle(boss)
        assert w.on_host_network(), "deleting the team's check reverted the other's change"

    asyncio.run(scenario())


# --- 5. the blast radius counts what a patch moves ---------------------------------------


def test_the_budget_counts_every_replica_the_patch_moves_not_the_selected_pods() -> None:
    async def scenario() -> None:
        w = world(
            threshold={"consecutiveRuns": 1},
            remediation={"mode": "Auto", "maxRemediatedPods": 1},
            selector={"matchLabels": {"app": "db", "pick": "me"}},
        )
        db = w.cluster.add_deployment("db", labels={"app": "db"}, replicas=5)
        first = w.cluster.pods_of(db)[0]
        first["metadata"]["labels"]["pick"] = "me"
        w.network.pod_network = FAILING
        await w.run(w.loop())
        assert w.cluster.template(db).get("hostNetwork") is None
        [entry] = w.entries()
        assert (entry["state"], entry["reason"]) == ("Blocked", "BudgetExhausted")
        assert "5 pod(s) would change" in entry["message"]

    asyncio.run(scenario())


def test_the_global_cap_counts_changes_found_in_the_cluster_after_a_restart() -> None:
    async def scenario() -> None:
        w = world(max_remediated_pods=1, **AUTO)
        w.network.pod_network = FAILING
        await w.run(w.loop())
        assert w.on_host_network()
        # The operator restarts: its memory of the cap is empty, the cluster's record is not.
        restarted = world(max_remediated_pods=1, **AUTO)
        restarted.cluster = w.cluster
        restarted.clock = w.clock
        db = w.cluster.add_deployment("db", labels={"app": "db"})
        second = w.cluster.add_check("db", selector={"matchLabels": {"app": "db"}}, **AUTO)
        await restarted.run(restarted.loop(second))
        [entry] = restarted.entries(second)
        assert (entry["state"], entry["reason"]) == ("Blocked", "BudgetExhausted")
        assert w.cluster.template(db).get("hostNetwork") is None

    asyncio.run(scenario())


# --- 3. no half-reverts; never take a field from another manager -------------------------


def test_a_half_revert_by_another_manager_is_restored_to_a_consistent_pair() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        loop = await _patched(w)
        w.cluster.apply_as("argocd-controller", w.workload, dnsPolicy="ClusterFirst")
        await w.run(loop)
        spec = w.cluster.template(w.workload)
        assert (spec["hostNetwork"], spec["dnsPolicy"]) == (False, "ClusterFirst")
        [entry] = w.entries()
        assert (entry["state"], entry["reason"]) == ("Ineffective", "HalfRevertedByOtherManager")
        assert "argocd-controller" in entry["message"]
        assert w.cluster.events_with("RemediationReverted")
        await w.run(loop)
        assert not w.on_host_network(), "patched again right after a manager undid half of it"

    asyncio.run(scenario())


def test_a_field_another_manager_owns_is_not_taken_the_workload_is_blocked() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        w.cluster.apply_as("argocd-controller", w.workload, dnsPolicy="ClusterFirst")
        generation = w.cluster.workloads[w.workload]["metadata"]["generation"]
        w.network.pod_network = FAILING
        await w.run(w.loop())
        [entry] = w.entries()
        assert (entry["state"], entry["reason"]) == ("Blocked", "FieldsOwnedByAnotherManager")
        assert "argocd-controller" in entry["message"]
        assert w.cluster.workloads[w.workload]["metadata"]["generation"] == generation

    asyncio.run(scenario())


# --- 6. verification as strict as recovery ----------------------------------------------


async def _patched(w) -> object:
    w.network.pod_network = FAILING
    loop = w.loop()
    await w.run(loop)
    assert w.on_host_network(), w.entries()
    return loop


def test_a_change_is_verified_only_after_recovery_runs_clearly_passing_runs() -> None:
    async def scenario() -> None:
        w = world(threshold={"consecutiveRuns": 1, "recoveryRuns": 3}, remediation={"mode": "Auto"})
        loop = await _patched(w)
        states = []
        for _ in range(3):
            await w.run(loop)
            states.append(w.states()["web"])
        assert states == ["Verifying", "Verifying", "Remediated"]

    asyncio.run(scenario())


def test_one_lucky_window_does_not_verify_a_change() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        loop = await _patched(w)
        w.network.host_network = probe_document(
            "x" * 11 + "." * 49, klass=types.ProbeClass.POD_NAMESPACE
        )
        await w.run(loop)
        assert w.states() == {"web": "Verifying"}
        assert w.on_host_network()

    asyncio.run(scenario())


def test_an_upstream_outage_during_verification_does_not_revert_the_change() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        loop = await _patched(w)
        w.network.host_network = probe_document("x" * 60, klass=types.ProbeClass.UPSTREAM)
        await w.run(loop)
        assert w.on_host_network()
        assert w.states() == {"web": "Verifying"}
        w.network.host_network = HEALTHY
        await w.run(loop)
        assert w.states() == {"web": "Remediated"}

    asyncio.run(scenario())


def test_a_verified_change_that_relapses_is_reverted_and_reported() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        loop = await _patched(w)
        await w.run(loop)
        assert w.states() == {"web": "Remediated"}
        w.network.host_network = FAILING
        await w.run(loop)
        [entry] = w.entries()
        assert (entry["state"], entry["reason"]) == ("Ineffective", "Relapsed")
        assert not w.on_host_network()
        assert w.cluster.events_with("RemediationIneffective")

    asyncio.run(scenario())


# --- 7. the smaller ones ------------------------------------------------------------------


def test_the_restart_evicts_so_a_disruption_budget_holds() -> None:
    async def scenario() -> None:
        w = world(
            threshold={"consecutiveRuns": 1},
            remediation={"mode": "Auto", "strategy": "RestartThenHostNetwork"},
        )
        [pod] = w.cluster.pods_of(w.workload)
        w.cluster.budgets.add(f"{pod['metadata']['namespace']}/{pod['metadata']['name']}")
        w.network.pod_network = FAILING
        await w.run(w.loop())
        assert w.cluster.deleted_pods == []
        [entry] = w.entries()
        assert (entry["state"], entry["reason"]) == ("Blocked", "DisruptionBudgetForbids")

    asyncio.run(scenario())


def test_a_malformed_record_on_a_workload_is_reported_and_the_check_goes_on() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        loop = await _patched(w)
        annotations = w.cluster.workloads[w.workload]["metadata"]["annotations"]
        annotations["nethealth.io/original-network"] = "{not json"
        w.network.host_network = FAILING
        before = w.status()["lastRunTime"]
        await w.run(loop)
        assert w.status()["lastRunTime"] != before, "the status stopped being written"
        [entry] = w.entries()
        assert "not JSON" in entry["message"]
        assert w.on_host_network()  # never reverted to guessed values

    asyncio.run(scenario())


def test_deleting_a_check_never_restores_stale_originals_over_a_newer_change() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        loop = await _patched(w)
        # Argo CD changes the fields back, and later someone moves the workload on.
        w.cluster.apply_as("argocd-controller", w.workload, hostNetwork=True, dnsPolicy="Default")
        await w.run(loop)
        assert w.states() == {"web": "RevertedByOtherManager"}
        w.cluster.checks[w.check]["metadata"]["deletionTimestamp"] = DELETED
        boss = supervisor.Supervisor(api=w.cluster, clock=w.clock, settings=SETTINGS)
        boss.activate()
        boss.seen(w.cluster.checks[w.check])
        await _settle(boss)
        spec = w.cluster.template(w.workload)
        assert (spec["hostNetwork"], spec["dnsPolicy"]) == (True, "Default")
        annotations = w.cluster.workloads[w.workload]["metadata"]["annotations"]
        assert not [a for a in annotations if a.startswith("nethealth.io/")]
        assert w.check not in w.cluster.checks

    asyncio.run(scenario())


def test_ports_are_checked_on_every_node_the_new_pods_may_land_on() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        w.cluster.add_node("node-b")
        ports = [{"containerPort": 8080, "protocol": "TCP"}]
        w.cluster.template(w.workload)["containers"][0]["ports"] = ports
        w.cluster.pods["infra/proxy"] = {
            "metadata": {"name": "proxy", "namespace": "infra", "uid": "uid-proxy"},
            "spec": {
                "nodeName": "node-b",
                "hostNetwork": True,
                "containers": [{"name": "proxy", "ports": ports}],
            },
            "status": {"phase": "Running", "podIP": "198.18.0.3"},
        }
        w.network.pod_network = FAILING
        await w.run(w.loop())
        [entry] = w.entries()
        assert (entry["state"], entry["reason"]) == ("Blocked", "HostPortConflict")
        assert "node-b" in entry["message"]
        assert not w.on_host_network()

    asyncio.run(scenario())


# --- 1. never around a policy ------------------------------------------------------------


def test_a_pod_whose_traffic_is_filtered_is_reported_and_its_workload_never_touched() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        w.network.pod_network = probe_document("x" * 60, klass=types.ProbeClass.FILTERED)
        generation = w.cluster.workloads[w.workload]["metadata"]["generation"]
        await w.run(w.loop())
        assert {p["state"] for p in w.status()["pods"]} == {"Degraded"}
        [entry] = w.entries()
        assert (entry["state"], entry["reason"]) == ("Blocked", "TrafficFiltered")
        assert "NetworkPolicy" in entry["message"]
        assert w.cluster.workloads[w.workload]["metadata"]["generation"] == generation

    asyncio.run(scenario())


def test_an_operator_limited_to_some_namespaces_never_sweeps_another_ones_changes() -> None:
    async def scenario() -> None:
        w = world(**AUTO)
        w.network.pod_network = FAILING
        await w.run(w.loop())
        assert w.on_host_network()
        del w.cluster.checks[w.check]  # an orphan, but of a check in "apps"
        elsewhere = dataclasses.replace(SETTINGS, watched_namespaces=frozenset({"other"}))
        boss = supervisor.Supervisor(api=w.cluster, clock=w.clock, settings=elsewhere)
        boss.activate()
        await _settle(boss)
        assert w.on_host_network(), "an operator of another namespace reverted it"

    asyncio.run(scenario())
