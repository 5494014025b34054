"""The preflight's stricter gates (issue 14, item 7): a workload is moved only when every
one of its degraded pods is eligible on its recent runs, and never when its pods resolve
names their own way."""

from __future__ import annotations

import dataclasses

import pytest
from remediation_builders import (
    Outcome,
    ProbeClass,
    Reason,
    facts,
    plan_for,
    spec,
    web_key,
    workload,
)

from nethealth.detection import decision
from nethealth.probe import types


def test_one_eligible_pod_does_not_carry_a_workload_whose_other_pod_is_not() -> None:
    pods = [
        facts("web-1", klass=ProbeClass.POD_NAMESPACE),
        facts("web-2", klass=ProbeClass.NODE_NETWORK),
    ]
    [verdict] = plan_for(
        pods=pods,
        workloads={web_key(): workload(replicas=2, anti_affinity=True)},
        rem=spec(max_remediated_pods=2),
    ).verdicts
    assert (verdict.outcome, verdict.reason) == (Outcome.BLOCKED, Reason.CLASS_NOT_ELIGIBLE)


def test_a_pod_eligible_only_on_its_latest_run_is_not_eligible() -> None:
    # Its failing streak: NodeNetwork, then PodNamespace.
    pod = dataclasses.replace(
        facts(klass=ProbeClass.POD_NAMESPACE),
        classes=frozenset({ProbeClass.NODE_NETWORK, ProbeClass.POD_NAMESPACE}),
    )
    [verdict] = plan_for(pods=[pod]).verdicts
    assert (verdict.outcome, verdict.reason) == (Outcome.BLOCKED, Reason.CLASS_NOT_ELIGIBLE)


def test_the_decision_remembers_every_class_of_a_failing_streak() -> None:
    threshold = decision.model.Threshold(
        failure_rate=0.2, min_samples=20, consecutive_runs=3, recovery_runs=1
    )
    record = None
    for klass in (ProbeClass.NODE_NETWORK, ProbeClass.POD_NAMESPACE):
        run = decision.RunResult(klass=klass, attempts=60, failures=30, failure_blocks=2)
        record = decision.decide(previous=record, run=run, threshold=threshold)
    assert record is not None
    assert record.streak_classes == {ProbeClass.NODE_NETWORK, ProbeClass.POD_NAMESPACE}
    passing = decision.RunResult(klass=types.ProbeClass.HEALTHY, attempts=60, failures=0)
    assert decision.decide(previous=record, run=passing, threshold=threshold).streak_classes == (
        frozenset()
    )


@pytest.mark.parametrize("policy", ["Default", "None"])
def test_pods_that_resolve_names_their_own_way_are_not_switched_to_cluster_dns(policy) -> None:
    [verdict] = plan_for(workloads={web_key(): workload(dns_policy=policy)}).verdicts
    assert (verdict.outcome, verdict.reason) == (Outcome.BLOCKED, Reason.DNS_POLICY_WOULD_CHANGE)
    assert policy in verdict.message


def _owned_by(manager: str, operation: str, *fields: str) -> dict:
    owned = {f"f:{f}": {} for f in fields}
    return {
        "manager": manager,
        "operation": operation,
        "fieldsV1": {"f:spec": {"f:template": {"f:spec": owned}}},
    }


def test_fields_only_defaulting_gave_the_creator_do_not_block_the_patch() -> None:
    # As measured on the API server: a create owns the defaulted dnsPolicy.
    created = workload(managed_fields=[_owned_by("kubectl-create", "Update", "dnsPolicy")])
    assert only_verdict(created).outcome is Outcome.PATCH


@pytest.mark.parametrize(
    ("manager", "operation", "annotations"),
    [
        ("argocd-controller", "Apply", None),
        (
            "kubectl-client-side-apply",
            "Update",
            {
                "kubectl.kubernetes.io/last-applied-configuration": (
                    '{"spec": {"template": {"spec": {"dnsPolicy": "ClusterFirst"}}}}'
                )
            },
        ),
    ],
    ids=["server-side-apply", "client-side-apply-manifest-names-it"],
)
def test_a_manager_that_names_a_field_keeps_it_and_the_workload_is_blocked(
    manager, operation, annotations
) -> None:
    live = workload(
        managed_fields=[_owned_by(manager, operation, "dnsPolicy")], annotations=annotations
    )
    verdict = only_verdict(live)
    assert (verdict.outcome, verdict.reason) == (
        Outcome.BLOCKED,
        Reason.FIELDS_OWNED_BY_ANOTHER_MANAGER,
    )
    assert manager in verdict.message


def only_verdict(live: dict) -> object:
    [verdict] = plan_for(workloads={web_key(): live}).verdicts
    return verdict
