"""Remediation you can trust (issue 14) on the real cluster, where a NetworkPolicy is
enforced and cluster DNS answers: the operator never moves a pod around a policy, and never
leaves a workload on the node's network with a DNS policy that cannot resolve Services.
(Each case failed before its fix; the in-memory twins are tests/unit/test_loop_safety.py.)"""

from __future__ import annotations

import check_waits
import clusterpods as cp
import operator_harness as h
import pytest
import remediation_helpers
from kubernetes import client

from nethealth import model
from nethealth.devcluster import images, layout, sleepers
from nethealth.remediation import hostnetwork
from nethealth.testing import faults

pytestmark = pytest.mark.e2e

AUTO = {"threshold": {"consecutiveRuns": 1}, "remediation": {"mode": "Auto"}}
DNS_NAME = f"kubernetes.default.svc.{layout.CLUSTER_DOMAIN}"


def _read(api_client: client.ApiClient, *, namespace: str, name: str) -> dict:
    """The Deployment as the API returns it (camelCase)."""
    found = client.AppsV1Api(api_client).read_namespaced_deployment(name, namespace)
    return api_client.sanitize_for_serialization(found)  # type: ignore[no-any-return]


def _deny_egress(api_client: client.ApiClient, *, namespace: str, app: str) -> None:
    """A NetworkPolicy that lets the app's pods talk to nobody: the probe's pod, which it
    does not select, is not affected."""
    client.NetworkingV1Api(api_client).create_namespaced_network_policy(
        namespace,
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": f"deny-{app}"},
            "spec": {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Egress"]},
        },
    )


def test_a_pod_a_network_policy_cuts_off_is_reported_filtered_and_never_moved(
    api_client, namespace, operator_for
):
    pod = h.deployment(api_client, namespace=namespace, name="fenced")
    h.create_check(
        api_client, namespace=namespace, body=h.check_body("fenced", app="fenced", **AUTO)
    )
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="fenced")
    check.pod_reaches(pod=pod["metadata"]["name"], state="Healthy", timeout=120)
    before = _read(api_client, namespace=namespace, name="fenced")
    _deny_egress(api_client, namespace=namespace, app="fenced")
    obj = check.remediation_reaches(workload="fenced", state="Blocked", timeout=150)
    entry = h.remediation_entry(obj, "fenced")
    assert entry["reason"] == "TrafficFiltered", entry
    assert "NetworkPolicy" in entry["message"]
    [result] = obj["status"]["pods"]
    assert (result["state"], result["class"]) == ("Degraded", "Filtered")
    assert result["hint"].startswith("PodTrafficFiltered"), result
    after = _read(api_client, namespace=namespace, name="fenced")
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert not hostnetwork.pod_spec(after).get("hostNetwork")
    blocked = h.condition(obj, "RemediationBlocked")
    assert (blocked["status"], blocked["reason"]) == ("True", "TrafficFiltered")


def test_a_half_revert_is_restored_to_a_pair_under_which_services_resolve(
    api_client, namespace, operator_for
):
    """Another manager sets ``dnsPolicy`` back while ``hostNetwork`` stays: a hostNetwork
    pod with ClusterFirst cannot resolve Service names. The operator restores both original
    values, and the workload's pod resolves a Service name again."""
    apps = client.AppsV1Api(api_client)
    body = sleepers.deployment("half")
    body["spec"]["template"]["spec"]["containers"][0].update(
        image=images.NETHEALTH_IMAGE, command=["python3", "-c", "import time; time.sleep(3600)"]
    )
    apps.create_namespaced_deployment(namespace, body)
    pod = h.running_pod(api_client, namespace=namespace, app="half", host_network=False)
    h.create_check(api_client, namespace=namespace, body=h.check_body("half", app="half", **AUTO))
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="half")
    check.pod_reaches(pod=pod["metadata"]["name"], state="Healthy", timeout=120)
    try:
        with faults.on_off(pod_uid=pod["metadata"]["uid"], port=443):
            check.remediation_reaches(workload="half", state="Verifying", timeout=200)
        # A manifest that names dnsPolicy (and not hostNetwork), applied by its manager.
        apps.patch_namespaced_deployment(
            "half",
            namespace,
            {"spec": {"template": {"spec": {"dnsPolicy": "ClusterFirst"}}}},
            field_manager="argocd-controller",
        )
        obj = check.remediation_reaches(workload="half", state="Ineffective", timeout=150)
        entry = h.remediation_entry(obj, "half")
        assert entry["reason"] == str(model.Reason.HALF_REVERTED)
        assert "argocd-controller" in entry["message"]
        spec = hostnetwork.pod_spec(_read(api_client, namespace=namespace, name="half"))
        assert (bool(spec.get("hostNetwork")), spec["dnsPolicy"]) == (False, "ClusterFirst")
        back = h.running_pod(api_client, namespace=namespace, app="half", host_network=False)
        answer = cp.exec_in(
            client.CoreV1Api(api_client),
            namespace=namespace,
            pod=back["metadata"]["name"],
            command=["python3", "-c", f"import socket; print(socket.gethostbyname({DNS_NAME!r}))"],
        )
        assert answer.strip() == str(layout.api_service_ip())
    finally:
        remediation_helpers.delete_checks(api_client, namespace=namespace)
