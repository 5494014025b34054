"""The dev cluster's nodes are real and separate: each has its own network namespace,
address and pod slice; pods on different nodes reach each other and Services; a
hostNetwork pod is in its node's namespace with its node's address."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys

import clusterpods as cp
import kubernetes
import pytest

from nethealth.devcluster import layout, node

pytestmark = pytest.mark.e2e


def test_every_node_is_ready_in_a_network_namespace_of_its_own(api_client, cluster):
    core = kubernetes.client.CoreV1Api(api_client)
    listed = {n.metadata.name: n for n in core.list_node().items}
    assert len(cluster.nodes) == layout.DEFAULT_NODES or os.environ.get("NETHEALTH_KUBECONFIG")
    inodes = set()
    for info in cluster.nodes:
        addresses = {a.type: a.address for a in listed[info.name].status.addresses}
        assert addresses["InternalIP"] == str(info.ip)
        inodes.add(os.stat(info.netns).st_ino)
    assert len(inodes) == len(cluster.nodes)
    assert os.stat("/proc/self/ns/net").st_ino not in inodes


def _pinned(core, namespace: str, name: str, info: node.NodeInfo) -> object:
    core.create_namespaced_pod(namespace, cp.sleeper(name, node=info.name))
    return cp.wait_running(core, namespace=namespace, name=name)


def test_pods_on_different_nodes_reach_each_other_and_a_service(api_client, cluster, namespace):
    if len(cluster.nodes) < 2:
        pytest.skip("needs two nodes")
    core = kubernetes.client.CoreV1Api(api_client)
    first, second = cluster.nodes[0], cluster.nodes[-1]
    core.create_namespaced_pod(namespace, cp.server_pod("server", node=first.name))
    server = cp.wait_running(core, namespace=namespace, name="server")
    client = _pinned(core, namespace, "client", second)
    assert ipaddress.IPv4Address(server.status.pod_ip) in first.pod_cidr
    assert ipaddress.IPv4Address(client.status.pod_ip) in second.pod_cidr
    core.create_namespaced_service(
        namespace,
        {
            "metadata": {"name": "server"},
            "spec": {"selector": {"app": "server"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    )
    service_ip = core.read_namespaced_service("server", namespace).spec.cluster_ip

    assert cp.connects(
        core, namespace=namespace, pod="client", host=server.status.pod_ip, port=cp.SERVER_PORT
    )
    # kube-proxy's rules take a moment to follow a new Service.
    assert _eventually(
        lambda: cp.connects(core, namespace=namespace, pod="client", host=service_ip, port=80)
    )


def _eventually(check, *, attempts: int = 10) -> bool:
    return any(check() for _ in range(attempts))


def test_a_pod_has_the_calico_shape_on_its_node(api_client, cluster, namespace):
    core = kubernetes.client.CoreV1Api(api_client)
    info = cluster.nodes[0]
    pod = _pinned(core, namespace, "shape", info)
    routes = cp.exec_in(core, namespace=namespace, pod="shape", command=["ip", "-4", "route"])
    addresses = cp.exec_in(
        core, namespace=namespace, pod="shape", command=["ip", "-4", "-o", "addr", "show", "eth0"]
    )
    assert "default via 169.254.1.1 dev eth0" in routes
    assert f"{pod.status.pod_ip}/32" in addresses
    on_node = subprocess.run(
        ["ip", "-n", info.name, "-4", "route", "show", f"{pod.status.pod_ip}/32"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (veth,) = [w for w in on_node.split() if w.startswith("cali")]
    proxy_arp = subprocess.run(
        ["nsenter", f"--net={info.netns}", "cat", f"/proc/sys/net/ipv4/conf/{veth}/proxy_arp"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert proxy_arp.strip() == "1"


def test_a_host_network_pod_is_in_its_nodes_namespace_with_its_nodes_address(
    api_client, cluster, namespace
):
    core = kubernetes.client.CoreV1Api(api_client)
    for index, info in enumerate(cluster.nodes):
        name = f"host-{index}"
        core.create_namespaced_pod(namespace, cp.sleeper(name, node=info.name, host_network=True))
        pod = cp.wait_running(core, namespace=namespace, name=name)
        assert pod.status.pod_ip == pod.status.host_ip == str(info.ip)
        link = cp.exec_in(
            core, namespace=namespace, pod=name, command=["readlink", "/proc/self/ns/net"]
        )
        assert link == f"net:[{os.stat(info.netns).st_ino}]"


def test_cluster_status_shows_every_node(cluster):
    done = subprocess.run(
        [sys.executable, "-m", "nethealth", "cluster", "--run-dir", str(cluster.run_dir), "status"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for info in cluster.nodes:
        assert f"node {info.name}" in done.stdout
        assert f"{info.name}/kubelet" in done.stdout
