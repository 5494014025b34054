"""On a cluster of several nodes the operator probes each node's pods with a Job of that
node: a Deployment spread over every node gets one Job per node per run, each pinned to
its node, and every pod is judged."""

from __future__ import annotations

import collections
import contextlib
import json
import subprocess
import urllib.parse
from collections.abc import Iterator

import check_waits
import clusterpods as cp
import operator_harness as h
import pytest
import remediation_helpers
from kubernetes import client

from nethealth.detection import jobs
from nethealth.devcluster import images, layout, sleepers
from nethealth.devcluster import node as devnode
from nethealth.testing import faults

pytestmark = pytest.mark.e2e

DNS_NAME = f"kubernetes.default.svc.{layout.CLUSTER_DOMAIN}"


def _spread(name: str, replicas: int) -> dict:
    """A Deployment with one pod on each node (required anti-affinity on the hostname)."""
    body = sleepers.deployment(name)
    body["spec"]["replicas"] = replicas
    body["spec"]["template"]["spec"]["affinity"] = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "labelSelector": {"matchLabels": {"app": name}},
                    "topologyKey": "kubernetes.io/hostname",
                }
            ]
        }
    }
    return body


def test_a_deployment_spread_over_every_node_gets_one_probe_job_per_node(
    api_client, cluster, namespace, operator_for
):
    if len(cluster.nodes) < 2:
        pytest.skip("needs two nodes")
    core = client.CoreV1Api(api_client)
    client.AppsV1Api(api_client).create_namespaced_deployment(
        namespace, _spread("spread", len(cluster.nodes))
    )
    created = h.create_check(
        api_client, namespace=namespace, body=h.check_body("spread", app="spread")
    )
    pods = core.list_namespaced_pod(namespace, label_selector="app=spread").items
    h.wait_for(
        api_client,
        namespace=namespace,
        name="spread",
        timeout=150,
        what="every pod of the spread Deployment Healthy",
        until=lambda o: (
            len([p for p in (o.get("status") or {}).get("pods") or [] if p["state"] == "Healthy"])
            == len(cluster.nodes)
        ),
    )
    pods = core.list_namespaced_pod(namespace, label_selector="app=spread").items
    node_of = {p.metadata.name: p.spec.node_name for p in pods}
    assert sorted(node_of.values()) == sorted(cluster.node_names)

    listed = h.probe_jobs(api_client, namespace=namespace, check_uid=created["metadata"]["uid"])
    runs: dict[str, list] = collections.defaultdict(list)
    for job in listed:
        runs[job.metadata.labels[jobs.LABEL_RUN]].append(job)
    complete = [run for run in runs.values() if len(run) == len(cluster.nodes)]
    assert complete, f"no run with one Job per node: {[len(r) for r in runs.values()]}"
    for job in complete[0]:
        node = job.metadata.annotations[jobs.ANNOTATION_NODE]
        measured = json.loads(job.metadata.annotations[jobs.ANNOTATION_PODS])
        assert {node_of[m["name"]] for m in measured} == {node}
    assert {j.metadata.annotations[jobs.ANNOTATION_NODE] for j in complete[0]} == set(
        cluster.node_names
    )


@contextlib.contextmanager
def _node_refuses_its_pods(node: devnode.NodeInfo, *, to: str) -> Iterator[None]:
    """The node stops forwarding its pods' traffic to ``to`` (an ``ip rule`` in the node's
    namespace, for its pod slice only): its pods fail, its own connects still work."""
    rule = ["rule", "add", "pref", "101", "from", str(node.pod_cidr), "to", to, "unreachable"]
    subprocess.run(["ip", "-n", node.netns.name, *rule], check=True)
    try:
        yield
    finally:
        subprocess.run(["ip", "-n", node.netns.name, "rule", "del", "pref", "101"], check=False)


def test_a_fault_of_one_nodes_network_is_node_network_for_its_pods_only(
    api_client, cluster, namespace, operator_for
):
    if len(cluster.nodes) < 2:
        pytest.skip("needs two nodes")
    client.AppsV1Api(api_client).create_namespaced_deployment(
        namespace, _spread("nodes", len(cluster.nodes))
    )
    body = h.check_body("nodes", app="nodes", threshold={"consecutiveRuns": 1})
    h.create_check(api_client, namespace=namespace, body=body)
    h.wait_for(
        api_client,
        namespace=namespace,
        name="nodes",
        timeout=150,
        what="every pod Healthy first",
        until=lambda o: (
            [p["state"] for p in (o.get("status") or {}).get("pods") or []]
            == ["Healthy"] * len(cluster.nodes)
        ),
    )
    broken = cluster.nodes[0]
    api_server = urllib.parse.urlparse(cluster.api_url).hostname or ""
    with _node_refuses_its_pods(broken, to=api_server):
        obj = h.wait_for(
            api_client,
            namespace=namespace,
            name="nodes",
            timeout=150,
            what="the pod on the broken node Degraded",
            until=lambda o: any(
                p["state"] == "Degraded" for p in (o.get("status") or {}).get("pods") or []
            ),
        )
    by_node = {p["node"]: p for p in obj["status"]["pods"]}
    assert (by_node[broken.name]["state"], by_node[broken.name]["class"]) == (
        "Degraded",
        "NodeNetwork",
    )
    for other in cluster.nodes[1:]:
        assert by_node[other.name]["state"] == "Healthy", by_node[other.name]


def test_a_remediated_pod_on_another_node_is_verified_and_resolves_a_service(
    api_client, cluster, namespace, operator_for
):
    """The hostNetwork fallback's new pod lands on another node, with that node's address:
    it is verified there, and cluster DNS still answers it (ClusterFirstWithHostNet)."""
    if len(cluster.nodes) < 2:
        pytest.skip("needs two nodes")
    core = client.CoreV1Api(api_client)
    apps = client.AppsV1Api(api_client)
    body = sleepers.deployment("moved")
    body["spec"]["template"]["spec"]["containers"][0].update(
        image=images.NETHEALTH_IMAGE, command=["python3", "-c", "import time; time.sleep(3600)"]
    )
    # New pods keep off a node that runs a pod labelled ``keep-off`` (required pod
    # anti-affinity): the test moves the workload without cordoning a node of the shared
    # cluster, which would leave every other test's pods there unmeasured.
    body["spec"]["template"]["spec"]["affinity"] = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "labelSelector": {"matchLabels": {"keep-off": "moved"}},
                    "topologyKey": "kubernetes.io/hostname",
                }
            ]
        }
    }
    apps.create_namespaced_deployment(namespace, body)
    pod = h.running_pod(api_client, namespace=namespace, app="moved", host_network=False)
    first_node = pod["spec"]["nodeName"]
    # From now on the old node takes no new pod of the workload: the patched one lands
    # elsewhere (the running pod stays: IgnoredDuringExecution).
    marker = {
        "metadata": {"name": "keep-off", "labels": {"keep-off": "moved"}},
        "spec": {**sleepers.pod_spec(), "nodeName": first_node},
    }
    core.create_namespaced_pod(namespace, marker)
    check = h.check_body(
        "moved", app="moved", threshold={"consecutiveRuns": 1}, remediation={"mode": "Auto"}
    )
    h.create_check(api_client, namespace=namespace, body=check)
    waits = check_waits.Check(api_client=api_client, namespace=namespace, name="moved")
    waits.pod_reaches(
        pod=pod["metadata"]["name"], state="Healthy", timeout=120, what="pod Healthy first"
    )
    try:
        with faults.on_off(pod_uid=pod["metadata"]["uid"], port=443):
            waits.remediation_reaches(
                workload="moved", state="Verifying", timeout=200, what="the workload patched"
            )
        moved = h.running_pod(api_client, namespace=namespace, app="moved", host_network=True)
        assert moved["spec"]["nodeName"] != first_node
        assert moved["status"]["podIP"] == moved["status"]["hostIP"]  # the other node's
        waits.remediation_reaches(
            workload="moved", state="Remediated", timeout=200, what="the change verified"
        )
        answer = cp.exec_in(
            core,
            namespace=namespace,
            pod=moved["metadata"]["name"],
            command=["python3", "-c", f"import socket; print(socket.gethostbyname({DNS_NAME!r}))"],
        )
        assert answer.strip() == str(layout.api_service_ip())
    finally:
        remediation_helpers.delete_checks(api_client, namespace=namespace)
