"""The operator SIGKILLed right after it patched a workload, on the real node: a restarted
operator converges on exactly the one change (one rollout), with the originals intact, and
goes on to verify it.

The kill is timed by a watch on the Deployment: the moment the patched object is seen, the
operator gets SIGKILL, before it can write the check's status (the write follows the patch
and its Event) or finish anything else. Whether the kill landed before or after that status
write is printed as a FIGURE line; the outcome must be the same either way.
"""

from __future__ import annotations

import json
import time
from typing import Any

import check_waits
import operator_harness as h
import pytest
import remediation_helpers
from kubernetes import client, watch

from nethealth import model
from nethealth.remediation import hostnetwork
from nethealth.testing import faults

pytestmark = pytest.mark.e2e

DEGRADE_TIMEOUT = 200
VERIFY_TIMEOUT = 150.0  # one or two 30 s runs of the new pod, with room


def _figure(text: str) -> None:
    print(f"\nFIGURE {text}")


def _patched_seen(api_client: client.ApiClient, *, namespace: str, name: str) -> dict[str, Any]:
    """Blocks until the Deployment carries the patch, as fast as a watch tells."""
    apps = client.AppsV1Api(api_client)
    current = apps.read_namespaced_deployment(name, namespace)
    if hostnetwork.ORIGINAL_ANNOTATION in (current.metadata.annotations or {}):
        pytest.fail(f"{name} was patched before the kill could be timed")
    stream = watch.Watch().stream(
        apps.list_namespaced_deployment,
        namespace,
        field_selector=f"metadata.name={name}",
        resource_version=current.metadata.resource_version,
        timeout_seconds=DEGRADE_TIMEOUT,
    )
    for event in stream:
        obj = event["object"]
        if hostnetwork.ORIGINAL_ANNOTATION in (obj.metadata.annotations or {}):
            return api_client.sanitize_for_serialization(obj)  # type: ignore[no-any-return]
    pytest.fail(f"{name} not patched within {DEGRADE_TIMEOUT} s")


def _killed_right_after_the_patch(
    api_client: client.ApiClient, *, operator: dict[str, Any], namespace: str, log: Any
) -> dict[str, Any]:
    """A Deployment and an Auto check; the operator runs until the pod is Healthy, a fault
    degrades it, and the operator is SIGKILLed the moment the patched Deployment is seen
    (before it can write the check's status). The patched Deployment."""
    h.install_crd(api_client)
    pod = h.deployment(api_client, namespace=namespace, name="web")
    h.create_check(
        api_client,
        namespace=namespace,
        body=h.check_body("web", app="web", remediation={"mode": "Auto"}),
    )
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="web")
    with h.operator(log=log, **operator) as first:
        check.pod_reaches(
            pod=pod["metadata"]["name"], state="Healthy", timeout=120, what="pod Healthy first"
        )
        with faults.on_off(pod_uid=pod["metadata"]["uid"], port=443):
            patched = _patched_seen(api_client, namespace=namespace, name="web")
            h.stop(first.proc, kill=True)
    return patched


def test_an_operator_killed_right_after_patching_converges_on_one_verified_change(
    api_client, cluster, namespace, tmp_path
):
    operator = {"kubeconfig": cluster.kubeconfig, "namespaces": (namespace,)}
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="web")
    try:
        patched = _killed_right_after_the_patch(
            api_client, operator=operator, namespace=namespace, log=tmp_path / "first.log"
        )
        status_then = h.read_check(api_client, namespace=namespace, name="web")
        recorded = h.remediation_entry(status_then, "web").get("state")
        _figure(f"crash: SIGKILL after the patch; status recorded then: {recorded or 'nothing'}")
        originals = patched["metadata"]["annotations"][hostnetwork.ORIGINAL_ANNOTATION]
        assert json.loads(originals) == {"hostNetwork": None, "dnsPolicy": "ClusterFirst"}

        restarted = time.monotonic()
        with h.operator(log=tmp_path / "second.log", **operator):
            verified = check.remediation_reaches(
                workload="web",
                state="Remediated",
                timeout=VERIFY_TIMEOUT,
                what="the change verified after the restart",
            )
            _figure(f"crash: verified {time.monotonic() - restarted:.0f} s after the restart")
            deployment = client.AppsV1Api(api_client).read_namespaced_deployment("web", namespace)
            # Exactly one change: one rollout, the originals as recorded by the first write.
            assert deployment.metadata.generation == 2
            assert deployment.metadata.annotations[hostnetwork.ORIGINAL_ANNOTATION] == originals
            assert deployment.spec.template.spec.host_network is True
            replicasets = client.AppsV1Api(api_client).list_namespaced_replica_set(
                namespace, label_selector="app=web"
            )
            assert len(replicasets.items) == 2
            remediated = h.condition(verified, "Remediated")
            assert (remediated["status"], remediated["reason"]) == ("True", "Verified")
            applied = [
                e
                for e in h.events(api_client, namespace=namespace, kind=model.KIND, name="web")
                if e.reason == "HostNetworkApplied"
            ]
            assert sum(e.count or 1 for e in applied) <= 1
            remediation_helpers.delete_checks(api_client, namespace=namespace)
    finally:
        remediation_helpers.delete_checks(api_client, namespace=namespace, grace=5)


def test_a_check_deleted_while_its_operator_is_down_right_after_the_patch_still_reverts(
    api_client, cluster, namespace, tmp_path
):
    """Issue 14, case 2: the delete lands in the window between the patch and the status
    write, with the operator gone. The finalizer went on before the patch, so the check
    waits; the next operator finds the change by the check's uid label and reverts it."""
    operator = {"kubeconfig": cluster.kubeconfig, "namespaces": (namespace,)}
    custom = client.CustomObjectsApi(api_client)
    args = (model.GROUP, model.VERSION, namespace, model.PLURAL)
    try:
        _killed_right_after_the_patch(
            api_client, operator=operator, namespace=namespace, log=tmp_path / "first.log"
        )
        custom.delete_namespaced_custom_object(*args, "web")
        held = h.read_check(api_client, namespace=namespace, name="web")
        assert held["metadata"]["deletionTimestamp"]
        assert "nethealth.io/revert-on-delete" in held["metadata"]["finalizers"]

        with h.operator(log=tmp_path / "second.log", **operator):
            deadline = time.monotonic() + 60
            while custom.list_namespaced_custom_object(*args)["items"]:
                assert time.monotonic() < deadline, "the deleted check was not released"
                time.sleep(0.5)
        deployment = client.AppsV1Api(api_client).read_namespaced_deployment("web", namespace)
        assert not deployment.spec.template.spec.host_network
        assert deployment.spec.template.spec.dns_policy == "ClusterFirst"
        assert not (deployment.metadata.annotations or {}).keys() & {
            hostnetwork.ORIGINAL_ANNOTATION,
            hostnetwork.BY_ANNOTATION,
        }
        assert hostnetwork.UID_LABEL not in (deployment.metadata.labels or {})
    finally:
        remediation_helpers.delete_checks(api_client, namespace=namespace)
