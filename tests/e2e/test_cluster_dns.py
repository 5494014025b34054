"""Cluster DNS: CoreDNS behind the kube-dns Service answers pods that ask it, and a
hostNetwork pod asks it only with ``dnsPolicy: ClusterFirstWithHostNet`` — with plain
``ClusterFirst`` it has its node's resolver, which knows no cluster names (what a
half-reverted hostNetwork remediation leaves a workload with)."""

from __future__ import annotations

import clusterpods as cp
import kubernetes
import pytest

from nethealth.devcluster import images, layout

pytestmark = pytest.mark.e2e

NAME = f"kubernetes.default.svc.{layout.CLUSTER_DOMAIN}"
# The Python image's glibc resolver, with the pod's /etc/resolv.conf (busybox's static
# one crashes on name lookups). Prints the nameservers it was given, then the answer.
RESOLVE = f"""
import socket
servers = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")]
try:
    answer = socket.gethostbyname({NAME!r})
except OSError as exc:
    answer = "error " + type(exc).__name__
print(",".join(servers) + " " + answer, end="", file=open("/dev/termination-log", "w"))
"""


def _resolve(core, *, namespace: str, name: str, node: str, dns_policy: str) -> tuple[str, str]:
    core.create_namespaced_pod(
        namespace,
        cp.busybox_pod(
            name,
            "",
            node=node,
            host_network=True,
            dns_policy=dns_policy,
            image=images.NETHEALTH_IMAGE,
            command=["python3", "-c", RESOLVE],
        ),
    )
    pod = cp.wait_finished(core, namespace=namespace, name=name)
    servers, _, answer = cp.termination_message(pod).partition(" ")
    return servers, answer


def test_a_host_network_pod_resolves_service_names_only_with_cluster_first_with_host_net(
    api_client, cluster, namespace
):
    core = kubernetes.client.CoreV1Api(api_client)
    node = cluster.nodes[-1].name

    servers, answer = _resolve(
        core, namespace=namespace, name="with", node=node, dns_policy="ClusterFirstWithHostNet"
    )
    assert servers == str(layout.dns_service_ip())
    assert answer == str(layout.api_service_ip())

    servers, answer = _resolve(
        core, namespace=namespace, name="without", node=node, dns_policy="ClusterFirst"
    )
    assert str(layout.dns_service_ip()) not in servers.split(",")
    assert answer.startswith("error")


def test_a_pod_resolves_a_service_of_its_own_namespace_by_its_short_name(api_client, namespace):
    core = kubernetes.client.CoreV1Api(api_client)
    core.create_namespaced_service(
        namespace,
        {
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
    )
    ip = core.read_namespaced_service("web", namespace).spec.cluster_ip
    script = RESOLVE.replace(repr(NAME), repr("web"))
    core.create_namespaced_pod(
        namespace,
        cp.busybox_pod(
            "short", "", image=images.NETHEALTH_IMAGE, command=["python3", "-c", script]
        ),
    )
    pod = cp.wait_finished(core, namespace=namespace, name="short")
    assert cp.termination_message(pod).endswith(f" {ip}")
