"""NetworkPolicy is enforced (kube-router's controller in every node's namespace): a
policy that denies an application pod's egress blocks it, and not a probe pod beside it
on the same node, which no application policy selects — the case where "only the target
pod fails" is a policy, not a broken namespace."""

from __future__ import annotations

import time

import clusterpods as cp
import kubernetes
import pytest

pytestmark = pytest.mark.e2e

PROBE_LABEL = "nethealth.io/probe"  # nethealth.selection.PROBE_LABEL, on every probe pod
SYNC_SECONDS = 30.0


def _deny_egress(app: str) -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"deny-egress-{app}"},
        "spec": {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Egress"]},
    }


def test_a_deny_egress_policy_blocks_the_app_and_not_the_probe_pod(api_client, cluster, namespace):
    core = kubernetes.client.CoreV1Api(api_client)
    networking = kubernetes.client.NetworkingV1Api(api_client)
    here, there = cluster.nodes[0].name, cluster.nodes[-1].name
    core.create_namespaced_pod(namespace, cp.server_pod("server", node=there))
    server = cp.wait_running(core, namespace=namespace, name="server").status.pod_ip
    core.create_namespaced_pod(namespace, cp.sleeper("app", node=here))
    core.create_namespaced_pod(
        namespace, cp.sleeper("probe", node=here, labels={PROBE_LABEL: "true", "role": "probe"})
    )
    for pod in ("app", "probe"):
        cp.wait_running(core, namespace=namespace, name=pod)
        assert cp.connects(core, namespace=namespace, pod=pod, host=server, port=cp.SERVER_PORT)

    networking.create_namespaced_network_policy(namespace, _deny_egress("app"))
    started = time.monotonic()
    while cp.connects(core, namespace=namespace, pod="app", host=server, port=cp.SERVER_PORT):
        assert time.monotonic() - started < SYNC_SECONDS, "the policy never took effect"
    print(f"\nFIGURE deny-egress policy effective after {time.monotonic() - started:.1f} s")

    assert cp.connects(core, namespace=namespace, pod="probe", host=server, port=cp.SERVER_PORT)
    networking.delete_namespaced_network_policy("deny-egress-app", namespace)
    started = time.monotonic()
    while not cp.connects(core, namespace=namespace, pod="app", host=server, port=cp.SERVER_PORT):
        assert time.monotonic() - started < SYNC_SECONDS, "the policy's removal never took effect"
