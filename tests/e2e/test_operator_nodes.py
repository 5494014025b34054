"""On a cluster of several nodes the operator probes each node's pods with a Job of that
node: a Deployment spread over every node gets one Job per node per run, each pinned to
its node, and every pod is judged."""

from __future__ import annotations

import collections
import json

import operator_harness as h
import pytest
from kubernetes import client

from nethealth.detection import jobs
from nethealth.devcluster import sleepers

pytestmark = pytest.mark.e2e


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
