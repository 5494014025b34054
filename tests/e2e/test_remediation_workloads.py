"""The hostNetwork fallback applied to a real Deployment: patch, rollout, idempotency, revert."""

from __future__ import annotations

import datetime
import time
from typing import Any

import kubernetes
import operator_calls as workloads
import pytest

from nethealth import model
from nethealth.devcluster import sleepers
from nethealth.probe import types
from nethealth.remediation import hostnetwork, planning

pytestmark = pytest.mark.e2e

TIMEOUT = 90.0
CHECK = "apps/web-check"


def _settings(mode: model.RemediationMode) -> model.Remediation:
    return model.Remediation(
        mode=mode,
        strategy=model.RemediationStrategy.HOST_NETWORK,
        cooldown=datetime.timedelta(hours=1),
        max_remediated_pods=1,
        revert_on_delete=True,
        verify=True,
        pause_requests=(),
    )


def _only_pod(core: Any, *, namespace: str, name: str, host_network: bool) -> dict[str, Any]:
    """The workload's single Running pod with the wanted hostNetwork (the old one gone)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        pods = core.list_namespaced_pod(namespace, label_selector=f"app={name}").items
        live = [p for p in pods if p.metadata.deletion_timestamp is None]
        if (
            len(pods) == 1
            and len(live) == 1
            and live[0].status.phase == "Running"
            and bool(live[0].spec.host_network) is host_network
        ):
            return core.api_client.sanitize_for_serialization(live[0])
        assert time.monotonic() < deadline, (
            f"no single running pod with hostNetwork={host_network}: {pods}"
        )
        time.sleep(0.3)


def _plan(api_client: Any, pod: dict[str, Any], mode: model.RemediationMode) -> planning.Plan:
    gathered = workloads.gather(api_client, pods=[pod])
    key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
    facts = planning.PodFacts(
        key=key,
        node=pod["spec"]["nodeName"],
        state=model.PodState.DEGRADED,
        klass=types.ProbeClass.POD_NAMESPACE,
        hint=None,
        owner=gathered.owners[key],
    )
    return planning.plan(
        check=CHECK,
        check_uid="uid-of-the-check",
        remediation=_settings(mode),
        pods={key: facts},
        workloads=gathered.workloads,
        namespace_labels=gathered.namespace_labels,
        node_pods=gathered.node_pods,
        history={},
        now=datetime.datetime.now(datetime.UTC),
    )


def test_a_deployment_moves_to_host_network_and_back_exactly(api_client, cluster, namespace):
    apps = kubernetes.client.AppsV1Api(api_client)
    core = kubernetes.client.CoreV1Api(api_client)
    apps.create_namespaced_deployment(namespace, sleepers.deployment("web"))
    pod = _only_pod(core, namespace=namespace, name="web", host_network=False)
    key = hostnetwork.WorkloadKey(kind=hostnetwork.Kind.DEPLOYMENT, namespace=namespace, name="web")
    assert workloads.resolve(api_client, pod) == key  # Pod -> ReplicaSet -> Deployment
    before = workloads.read_workload(api_client, key)
    assert before is not None
    original_spec = before["spec"]["template"]["spec"]

    # DryRun: the exact patch is planned, the server validates it, nothing changes.
    [dry] = _plan(api_client, pod, model.RemediationMode.DRY_RUN).verdicts
    assert dry.outcome is planning.Outcome.DRY_RUN
    assert dry.body is not None
    workloads.apply(api_client, dry.body, dry_run=True)
    unchanged = workloads.read_workload(api_client, key)
    assert unchanged is not None
    # Nothing written: no new generation, no annotation, the same pod template. (Not the
    # resourceVersion: the Deployment controller still updates the status meanwhile.)
    assert unchanged["metadata"]["generation"] == before["metadata"]["generation"]
    assert unchanged["metadata"].get("annotations") == before["metadata"].get("annotations")
    assert unchanged["spec"]["template"] == before["spec"]["template"]

    # Auto: the patch lands, the rollout gives a pod in the node's network namespace.
    [verdict] = _plan(api_client, pod, model.RemediationMode.AUTO).verdicts
    assert verdict.outcome is planning.Outcome.PATCH
    started = time.monotonic()
    patched = workloads.patch(api_client, verdict)
    new_pod = _only_pod(core, namespace=namespace, name="web", host_network=True)
    rollout_seconds = time.monotonic() - started
    assert new_pod["spec"]["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert new_pod["status"]["podIP"] == new_pod["status"]["hostIP"]
    annotations = patched["metadata"]["annotations"]
    assert annotations[hostnetwork.ORIGINAL_ANNOTATION] == (
        '{"dnsPolicy": "ClusterFirst", "hostNetwork": null}'
    )
    ours = [m for m in patched["metadata"]["managedFields"] if m["manager"] == "nethealth-operator"]
    assert [m["operation"] for m in ours] == ["Apply"]
    owned = ours[0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]
    assert set(owned) == {"f:hostNetwork", "f:dnsPolicy"}  # the two fields, nothing else

    # Idempotent: re-planning sees the patch in place; applying it again rolls nothing.
    [again] = _plan(api_client, new_pod, model.RemediationMode.AUTO).verdicts
    assert again.outcome is planning.Outcome.APPLIED
    reapplied = workloads.apply(api_client, verdict.body or {})
    assert reapplied["metadata"]["generation"] == patched["metadata"]["generation"]

    # Revert: the exact original template, no annotations, a pod in its own namespace again.
    restored = workloads.revert(api_client, key)
    assert restored is not None
    assert restored["spec"]["template"]["spec"] == original_spec
    assert not (restored["metadata"].get("annotations") or {}).keys() & {
        hostnetwork.ORIGINAL_ANNOTATION,
        hostnetwork.BY_ANNOTATION,
        hostnetwork.AT_ANNOTATION,
    }
    _only_pod(core, namespace=namespace, name="web", host_network=False)
    assert workloads.revert(api_client, key) is None  # nothing recorded any more
    print(f"\nremediation rollout to a hostNetwork pod: {rollout_seconds:.1f} s")
