"""Remediation planning: which degraded pods' workloads move to hostNetwork, and why not."""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from typing import Any

import pytest
from remediation_builders import (
    CHECK,
    CHECK_UID,
    NOW,
    Kind,
    Outcome,
    PodState,
    ProbeClass,
    Reason,
    facts,
    other_pod,
    plan_for,
    spec,
    web_key,
    workload,
)

from nethealth import model
from nethealth.remediation import hostnetwork, planning


def only(plan: planning.Plan) -> planning.Verdict:
    assert len(plan.verdicts) == 1, plan.verdicts
    return plan.verdicts[0]


# --- the patch ---------------------------------------------------------------------------


def test_auto_patches_exactly_the_two_fields_and_records_the_originals_with_absence():
    verdict = only(plan_for())
    assert verdict.outcome is Outcome.PATCH
    body = verdict.body
    assert body is not None
    assert body["spec"] == {
        "template": {
            # The new pods carry who moved them, so the check measures them to verify.
            "metadata": {"annotations": {hostnetwork.BY_ANNOTATION: CHECK}},
            "spec": {"hostNetwork": True, "dnsPolicy": "ClusterFirstWithHostNet"},
        }
    }
    assert (body["apiVersion"], body["kind"]) == ("apps/v1", "Deployment")
    annotations = body["metadata"]["annotations"]
    assert json.loads(annotations[hostnetwork.ORIGINAL_ANNOTATION]) == {
        "hostNetwork": None,
        "dnsPolicy": "ClusterFirst",
    }
    assert annotations[hostnetwork.BY_ANNOTATION] == CHECK
    assert annotations[hostnetwork.AT_ANNOTATION] == "2026-11-26T06:00:00Z"


def test_an_explicit_host_network_false_is_recorded_as_false_not_as_absent():
    body = only(plan_for(workloads={web_key(): workload(host_network=False)})).body
    assert body is not None
    recorded = json.loads(body["metadata"]["annotations"][hostnetwork.ORIGINAL_ANNOTATION])
    assert recorded["hostNetwork"] is False


@pytest.mark.parametrize(
    ("mode", "outcome", "reason", "has_body"),
    [
        (model.RemediationMode.AUTO, Outcome.PATCH, None, True),
        (model.RemediationMode.DRY_RUN, Outcome.DRY_RUN, Reason.DRY_RUN, True),
        (model.RemediationMode.OFF, Outcome.BLOCKED, Reason.MODE_OFF, False),
    ],
)
def test_modes_decide_between_patching_publishing_and_detecting_only(
    mode, outcome, reason, has_body
):
    verdict = only(plan_for(rem=spec(mode=mode)))
    assert (verdict.outcome, verdict.reason, verdict.body is not None) == (
        outcome,
        reason,
        has_body,
    )
    assert bool(planning.Plan(verdicts=(verdict,)).patches) is (mode is model.RemediationMode.AUTO)


def test_dry_run_publishes_the_same_patch_auto_would_apply():
    auto = only(plan_for(rem=spec(mode=model.RemediationMode.AUTO)))
    dry = only(plan_for(rem=spec(mode=model.RemediationMode.DRY_RUN)))
    assert dry.body == auto.body
    assert "would set hostNetwork: true" in dry.message


def test_pause_requests_stop_anything_new_and_are_named():
    verdict = only(plan_for(rem=spec(pause_requests=("INC-42 investigating",))))
    assert (verdict.outcome, verdict.reason) == (Outcome.BLOCKED, Reason.PAUSED)
    assert "INC-42 investigating" in verdict.message


# --- owners ------------------------------------------------------------------------------


def raw_pod(owner: dict[str, Any] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p", "namespace": "apps"}
    if owner:
        meta["ownerReferences"] = [{"controller": True, **owner}]
    return {"metadata": meta}


REPLICASETS = {
    "apps/web-7d9": {
        "metadata": {
            "ownerReferences": [
                {"controller": True, "apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
            ]
        }
    },
    "apps/lonely-1": {"metadata": {}},
}


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        ({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9"}, web_key()),
        (
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db"},
            web_key("db", Kind.STATEFULSET),
        ),
        (
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent"},
            web_key("agent", Kind.DAEMONSET),
        ),
    ],
)
def test_pods_of_deployments_statefulsets_and_daemonsets_resolve_to_their_workload(owner, expected):
    assert hostnetwork.owner_of(raw_pod(owner), replicasets=REPLICASETS) == expected


@pytest.mark.parametrize(
    ("owner", "words"),
    [
        (None, "bare pod"),
        ({"apiVersion": "batch/v1", "kind": "Job", "name": "backup-1"}, "Job backup-1"),
        ({"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly"}, "CronJob nightly"),
        ({"apiVersion": "example.io/v1", "kind": "Rollout", "name": "x"}, "Rollout x"),
        ({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "lonely-1"}, "without a Deploy"),
        ({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "gone-1"}, "not found"),
    ],
)
def test_bare_pods_jobs_and_unknown_owners_are_not_remediable(owner, words):
    found = hostnetwork.owner_of(raw_pod(owner), replicasets=REPLICASETS)
    assert isinstance(found, hostnetwork.NotRemediable)
    assert words in found.why
    verdict = only(plan_for(pods=[facts(owner=found)], workloads={}))
    assert (verdict.outcome, verdict.reason) == (Outcome.BLOCKED, Reason.NOT_REMEDIABLE)
    assert verdict.body is None


# --- preflight ---------------------------------------------------------------------------


PINNED = {"kubernetes.io/hostname": "node-a"}


@pytest.mark.parametrize(
    ("case", "kwargs", "reason", "words"),
    [
        (
            "pod security enforce baseline",
            {"labels": {"pod-security.kubernetes.io/enforce": "baseline"}},
            Reason.POD_SECURITY_FORBIDS,
            "enforces Pod Security level 'baseline'",
        ),
        (
            "pod security enforce restricted",
            {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
            Reason.POD_SECURITY_FORBIDS,
            "'restricted'",
        ),
        (
            "a hostNetwork pod holds the port on the node",
            {
                "node_pods": [
                    other_pod("proxy", ports=(8080,), host_network=True, labels={"app": "p"})
                ]
            },
            Reason.HOST_PORT_CONFLICT,
            "8080/TCP would bind on node node-a, where pod apps/proxy",
        ),
        (
            "a hostPort pod holds the port on the node",
            {"node_pods": [other_pod("ingress", ports=(8080,), labels={"app": "ingress"})]},
            Reason.HOST_PORT_CONFLICT,
            "apps/ingress",
        ),
        (
            "two replicas without anti-affinity",
            {"workloads": {web_key(): workload(replicas=2)}},
            Reason.HOST_PORT_CONFLICT,
            "2 replicas without required podAntiAffinity",
        ),
        (
            "surge on a node-pinned deployment",
            {"workloads": {web_key(): workload(node_selector=PINNED)}},
            Reason.ROLLOUT_WOULD_DEADLOCK,
            "set strategy Recreate, or rollingUpdate maxSurge 0",
        ),
        (
            "daemonset with surge",
            {
                "pods": [facts(owner=web_key("web", Kind.DAEMONSET))],
                "workloads": {
                    web_key("web", Kind.DAEMONSET): workload(
                        kind="DaemonSet",
                        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                    )
                },
            },
            Reason.ROLLOUT_WOULD_DEADLOCK,
            "maxSurge 1",
        ),
        (
            "class NodeNetwork by default",
            {"pods": [facts(klass=ProbeClass.NODE_NETWORK)]},
            Reason.CLASS_NOT_ELIGIBLE,
            "class NodeNetwork is not helped",
        ),
        (
            "class Upstream",
            {"pods": [facts(klass=ProbeClass.UPSTREAM)]},
            Reason.CLASS_NOT_ELIGIBLE,
            "class Upstream",
        ),
        (
            "workload on hostNetwork already",
            {"workloads": {web_key(): workload(host_network=True)}},
            Reason.NOT_REMEDIABLE,
            "hostNetwork already",
        ),
        (
            "workload gone",
            {"workloads": {}},
            Reason.NOT_REMEDIABLE,
            "was not found",
        ),
    ],
)
def test_each_preflight_failure_blocks_with_a_reason_naming_what_blocks_it(
    case, kwargs, reason, words
):
    verdict = only(plan_for(**kwargs))
    assert (verdict.outcome, verdict.reason) == (Outcome.BLOCKED, reason), case
    assert words in verdict.message, verdict.message
    assert verdict.body is None


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        (
            "the workload's own hostPort pods are replaced, not joined",
            {"node_pods": [other_pod("web-old", ports=(8080,), labels={"app": "web"})]},
        ),
        (
            "another port on the node",
            {"node_pods": [other_pod("dns", ports=(53,), host_network=True, labels={"a": "b"})]},
        ),
        (
            "two replicas with anti-affinity",
            {"workloads": {web_key(): workload(replicas=2, anti_affinity=True)}},
        ),
        (
            "pinned with Recreate",
            {
                "workloads": {
                    web_key(): workload(node_selector=PINNED, strategy={"type": "Recreate"})
                }
            },
        ),
        (
            "pinned with maxSurge 0",
            {
                "workloads": {
                    web_key(): workload(
                        node_selector=PINNED,
                        strategy={
                            "type": "RollingUpdate",
                            "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
                        },
                    )
                }
            },
        ),
        (
            "pinned without declared ports",
            {"workloads": {web_key(): workload(ports=(), node_selector=PINNED)}},
        ),
        (
            "class NodeNetwork when the operator allows it",
            {
                "pods": [facts(klass=ProbeClass.NODE_NETWORK)],
                "limits": planning.Limits(node_network_eligible=True),
            },
        ),
        (
            "pod security privileged",
            {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}},
        ),
    ],
)
def test_what_the_preflight_lets_through(case, kwargs):
    # Room for every replica a patch moves: the budget counts them all.
    kwargs = {"rem": spec(max_remediated_pods=5), **kwargs}
    assert only(plan_for(**kwargs)).outcome is Outcome.PATCH, case


@pytest.mark.parametrize("mode", ["warn", "audit"])
def test_pod_security_warn_or_audit_proceeds_with_a_warning(mode):
    verdict = only(plan_for(labels={f"pod-security.kubernetes.io/{mode}": "restricted"}))
    assert verdict.outcome is Outcome.PATCH
    assert any(f"{mode}s at Pod Security level 'restricted'" in w for w in verdict.warnings)


def test_the_kernel_bug_hint_still_patches_but_warns_the_fault_may_follow_to_the_node():
    hint = "KernelBroadcastRouteCache: cpu 0 20/20 ENETUNREACH, route cache <local,brd>"
    verdict = only(plan_for(pods=[facts(hint=hint)]))
    assert verdict.outcome is Outcome.PATCH
    assert any("may carry the fault to the node" in w for w in verdict.warnings)
    assert not only(plan_for()).warnings


# --- blast radius ------------------------------------------------------------------------


def many(count: int, *, degraded: int) -> tuple[list[planning.PodFacts], dict[Any, Any]]:
    pods = [
        facts(
            f"app{i}-1",
            owner=web_key(f"app{i}"),
            state=PodState.DEGRADED if i < degraded else PodState.HEALTHY,
        )
        for i in range(count)
    ]
    return pods, {web_key(f"app{i}"): workload(f"app{i}") for i in range(count)}


def test_max_remediated_pods_caps_the_patches_of_one_check():
    pods, workloads = many(10, degraded=3)
    plan = plan_for(pods=pods, workloads=workloads, rem=spec(max_remediated_pods=2))
    assert [v.subject for v in plan.patches] == ["Deployment/apps/app0", "Deployment/apps/app1"]
    assert [(v.subject, v.reason) for v in plan.blocked] == [
        ("Deployment/apps/app2", Reason.BUDGET_EXHAUSTED)
    ]
    assert "maxRemediatedPods 2" in plan.blocked[0].message


def test_workloads_this_check_patched_already_use_up_the_budget():
    pods, workloads = many(10, degraded=2)
    patched = hostnetwork.patch_body(
        key=web_key("app0"),
        workload=workload("app0"),
        check=CHECK,
        check_uid=CHECK_UID,
        revert_on_delete=True,
        now=NOW,
    )
    workloads[web_key("app0")] = _merged(workloads[web_key("app0")], patched)
    plan = plan_for(pods=pods, workloads=workloads, rem=spec(max_remediated_pods=1))
    assert [v.outcome for v in plan.verdicts] == [Outcome.APPLIED, Outcome.BLOCKED]
    assert plan.verdicts[1].reason is Reason.BUDGET_EXHAUSTED


def test_pods_already_moved_to_host_network_still_count_against_the_budget():
    # After the rollout the patched pods run on hostNetwork and are no longer measured;
    # the caller passes them as Remediated, so the budget still sees them.
    pods, workloads = many(10, degraded=2)
    patched = hostnetwork.patch_body(
        key=web_key("app0"),
        workload=workload("app0"),
        check=CHECK,
        check_uid=CHECK_UID,
        revert_on_delete=True,
        now=NOW,
    )
    workloads[web_key("app0")] = _merged(workloads[web_key("app0")], patched)
    pods[0] = dataclasses.replace(pods[0], state=PodState.REMEDIATED)
    plan = plan_for(pods=pods, workloads=workloads, rem=spec(max_remediated_pods=1))
    [(subject, reason)] = [(v.subject, v.reason) for v in plan.verdicts]
    assert (subject, reason) == ("Deployment/apps/app1", Reason.BUDGET_EXHAUSTED)


def test_the_global_cap_holds_even_when_the_check_allows_more():
    pods, workloads = many(10, degraded=3)
    plan = plan_for(
        pods=pods,
        workloads=workloads,
        rem=spec(max_remediated_pods=5),
        limits=planning.Limits(global_remaining=1),
    )
    assert len(plan.patches) == 1
    assert all("operator-wide cap" in v.message for v in plan.blocked)


def test_dry_run_counts_against_the_budget_like_auto_would():
    pods, workloads = many(10, degraded=3)
    plan = plan_for(
        pods=pods,
        workloads=workloads,
        rem=spec(mode=model.RemediationMode.DRY_RUN, max_remediated_pods=1),
    )
    assert [v.outcome for v in plan.verdicts] == [Outcome.DRY_RUN, Outcome.BLOCKED, Outcome.BLOCKED]


@pytest.mark.parametrize(
    ("changed_ago", "outcome"),
    [
        (datetime.timedelta(minutes=10), Outcome.BLOCKED),
        (datetime.timedelta(minutes=59, seconds=59), Outcome.BLOCKED),
        (datetime.timedelta(hours=1), Outcome.PATCH),
    ],
)
def test_cooldown_per_workload_counts_from_the_last_change(changed_ago, outcome):
    verdict = only(plan_for(history={web_key(): NOW - changed_ago}))
    assert verdict.outcome is outcome
    if outcome is Outcome.BLOCKED:
        assert verdict.reason is Reason.COOLDOWN
        assert "until 2026-11-26T" in verdict.message


@pytest.mark.parametrize(
    ("measured", "degraded", "blocked"),
    [
        (10, 6, True),  # most pods at once: a node or upstream fault
        (10, 5, False),  # half is not most
        (2, 2, False),  # too few pods to tell
        (1, 1, False),  # the seed incident: one pod
    ],
)
def test_most_selected_pods_degraded_at_once_are_not_remediated(measured, degraded, blocked):
    pods, workloads = many(measured, degraded=degraded)
    plan = plan_for(pods=pods, workloads=workloads, rem=spec(max_remediated_pods=100))
    reasons = {v.reason for v in plan.verdicts}
    assert (Reason.MOST_PODS_DEGRADED in reasons) is blocked
    if blocked:
        assert f"{degraded} of {measured} selected pods" in plan.verdicts[0].message


def test_only_degraded_pods_are_considered():
    states = [PodState.SUSPECT, PodState.RECOVERING, PodState.HEALTHY, PodState.INCONCLUSIVE]
    pods = [facts(f"web-{i}", state=s) for i, s in enumerate(states)]
    assert plan_for(pods=pods).verdicts == ()


# --- idempotency, revert, GitOps ---------------------------------------------------------


def _merged(live: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """What the API server holds after ``body`` is applied by our manager (as the sole
    owner of the fields it sets; a field it omits that only it owned is removed)."""
    result = json.loads(json.dumps(live))
    meta = result["metadata"]
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if not k.startswith("nethealth.io/")
    }
    annotations.update(body["metadata"].get("annotations") or {})
    meta["annotations"] = annotations
    pod_spec = result["spec"]["template"]["spec"]
    for field in ("hostNetwork", "dnsPolicy"):
        pod_spec.pop(field, None)
    pod_spec.update(body["spec"]["template"]["spec"])
    pod_spec.setdefault("dnsPolicy", "ClusterFirst")  # the API server's default
    return result


def test_replanning_after_the_patch_landed_yields_no_new_action():
    first = only(plan_for())
    assert first.body is not None
    live = _merged(workload(), first.body)
    again = only(plan_for(workloads={web_key(): live}))
    assert again.outcome is Outcome.APPLIED
    assert again.body is None


@pytest.mark.parametrize(
    ("host_network", "dns_policy"),
    [(None, "ClusterFirst"), (False, "ClusterFirst"), (None, "Default"), (None, "None")],
)
def test_revert_restores_the_recorded_originals_exactly(host_network, dns_policy):
    # Default and None are refused by the preflight today; a patch made before that (or by
    # hand) must still come back exactly.
    before = workload(host_network=host_network, dns_policy=dns_policy)
    body = hostnetwork.patch_body(
        key=web_key(),
        workload=before,
        check=CHECK,
        check_uid=CHECK_UID,
        revert_on_delete=True,
        now=NOW,
    )
    patched = _merged(before, body)
    back = hostnetwork.revert_body(key=web_key(), workload=patched)
    assert back is not None
    assert "annotations" not in back["metadata"]  # dropped with our ownership
    assert "labels" not in back["metadata"]
    restored = _merged(patched, back)
    # hostNetwork comes back by value: false, the default, which the API server does not
    # even store (so absent and false are the same pod template), and which takes the
    # field back from a co-owner that keeps it true (Argo CD after a RespectIgnoreDifferences
    # sync). Everything else is exactly what it was.
    assert _pod_spec(restored)["hostNetwork"] is False
    expected = {**_pod_spec(before), "hostNetwork": False}
    assert _pod_spec(restored) == expected
    assert not restored["metadata"]["annotations"]


def _pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def test_revert_of_a_workload_never_patched_is_nothing():
    assert hostnetwork.revert_body(key=web_key(), workload=workload()) is None


def test_a_corrupt_original_annotation_is_an_error_naming_the_annotation():
    broken = workload(annotations={hostnetwork.ORIGINAL_ANNOTATION: "{not json"})
    with pytest.raises(ValueError, match=re.escape(hostnetwork.ORIGINAL_ANNOTATION)):
        hostnetwork.revert_body(key=web_key(), workload=broken)


ARGO_MANAGED = [
    {
        "manager": "nethealth-operator",
        "operation": "Apply",
        "time": "2026-11-26T05:50:00Z",
        "fieldsV1": {"f:metadata": {"f:annotations": {}}},
    },
    {
        "manager": "argocd-controller",
        "operation": "Apply",
        "time": "2026-11-26T05:55:00Z",
        "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:dnsPolicy": {}}}}},
    },
]


def reverted_by_gitops() -> dict[str, Any]:
    body = only(plan_for()).body
    assert body is not None
    patched = _merged(workload(), body)
    # Argo CD self-heal puts the chart's values back; our annotation stays behind.
    patched["spec"]["template"]["spec"].pop("hostNetwork")
    patched["spec"]["template"]["spec"]["dnsPolicy"] = "ClusterFirst"
    patched["metadata"]["managedFields"] = ARGO_MANAGED
    return patched


def test_a_workload_changed_back_by_gitops_is_reported_with_the_manager_and_not_repatched():
    verdict = only(plan_for(workloads={web_key(): reverted_by_gitops()}))
    assert verdict.outcome is Outcome.REVERTED_BY_OTHER
    assert verdict.reason is Reason.REVERTED_BY_OTHER_MANAGER
    assert "argocd-controller" in verdict.message
    assert verdict.body is None
    conditions = list(planning.conditions(planning.Plan(verdicts=(verdict,))))
    assert conditions == [
        (
            model.ConditionType.REMEDIATION_REVERTED,
            True,
            Reason.REVERTED_BY_OTHER_MANAGER,
            verdict.message,
        )
    ]


def test_gitops_revert_is_never_fought_however_often_the_plan_runs():
    live = reverted_by_gitops()
    for minutes in (1, 61, 600, 6000):  # long past any cooldown
        plan = planning.plan(
            check=CHECK,
            check_uid=CHECK_UID,
            remediation=spec(),
            pods={"apps/web-1": facts()},
            workloads={web_key(): live},
            namespace_labels={},
            node_pods={},
            history={web_key(): NOW},
            now=NOW + datetime.timedelta(minutes=minutes),
        )
        assert not plan.patches


def test_the_reverting_manager_is_the_latest_writer_when_the_field_was_removed():
    live = reverted_by_gitops()
    live["metadata"]["managedFields"] = [
        {
            "manager": "kubectl-client-side-apply",
            "time": "2026-11-26T05:00:00Z",
            "fieldsV1": {"f:spec": {}},
        },
        {"manager": "kubectl-edit", "time": "2026-11-26T05:58:00Z", "fieldsV1": {"f:spec": {}}},
        {
            "manager": "nethealth-operator",
            "time": "2026-11-26T05:59:00Z",
            "fieldsV1": {"f:spec": {}},
        },
    ]
    assert hostnetwork.reverting_manager(live) == "kubectl-edit"


def test_blocked_verdicts_become_one_remediation_blocked_condition_naming_the_first():
    pods, workloads = many(10, degraded=3)
    plan = plan_for(pods=pods, workloads=workloads, rem=spec(pause_requests=("freeze",)))
    [(ctype, status, reason, message)] = planning.conditions(plan)
    assert (ctype, status, reason) == (model.ConditionType.REMEDIATION_BLOCKED, True, Reason.PAUSED)
    assert message.startswith("Deployment/apps/app0: paused: freeze")
    assert message.endswith("(and 2 more)")


# --- Events ------------------------------------------------------------------------------


def test_a_persisting_block_is_announced_once_not_at_every_run():
    blocked = plan_for(rem=spec(pause_requests=("freeze",)))
    [first] = planning.notices(previous=None, current=blocked)
    assert (first.type, first.reason, first.pods) == ("Warning", "Paused", ("apps/web-1",))
    assert planning.notices(previous=blocked, current=blocked) == []
    # ... and a new reason for the same workload is news again.
    cooling = plan_for(history={web_key(): NOW})
    [changed] = planning.notices(previous=blocked, current=cooling)
    assert changed.reason == "Cooldown"


def test_dry_run_announces_the_exact_patch():
    [notice] = planning.notices(
        previous=None, current=plan_for(rem=spec(mode=model.RemediationMode.DRY_RUN))
    )
    assert (notice.type, notice.reason) == ("Normal", "DryRun")
    assert '"hostNetwork": true' in notice.message
    assert '"dnsPolicy": "ClusterFirstWithHostNet"' in notice.message


def test_warnings_of_a_patch_make_its_event_a_warning():
    labels = {"pod-security.kubernetes.io/warn": "baseline"}
    [notice] = planning.notices(previous=None, current=plan_for(labels=labels))
    assert notice.type == "Warning"
    assert "warns at Pod Security level 'baseline'" in notice.message
    [plain] = planning.notices(previous=None, current=plan_for())
    assert (plain.type, plain.reason) == ("Normal", "HostNetworkApplied")


def test_a_patch_in_place_is_not_announced_again():
    body = only(plan_for()).body
    assert body is not None
    applied = plan_for(workloads={web_key(): _merged(workload(), body)})
    assert planning.notices(previous=None, current=applied) == []


def test_the_slim_pod_a_run_keeps_finds_the_same_workload_and_node():
    pod = {
        "metadata": {
            "name": "web-7d9-x",
            "namespace": "apps",
            "labels": {"app": "web"},
            "annotations": {"a": "b" * 1000},
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": True}
            ],
        },
        "spec": {"nodeName": "node-a", "containers": [{"name": "app"}]},
        "status": {"phase": "Running", "podIP": "198.51.100.7"},
    }
    slim = hostnetwork.owner_facts(pod)
    assert hostnetwork.owner_of(slim, replicasets={}) == hostnetwork.owner_of(pod, replicasets={})
    assert slim["spec"] == {"nodeName": "node-a"}
    assert "annotations" not in slim["metadata"]
