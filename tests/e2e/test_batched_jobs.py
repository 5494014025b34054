"""Shared probe Jobs on the real cluster (``NETHEALTH_BATCH_PROBE_JOBS``): three checks
selecting three pods of one namespace on one node are measured by one probe Job per tick,
and each check's status holds its own pod's result and no other."""

from __future__ import annotations

import collections
import pathlib
from collections.abc import Iterator

import check_waits
import operator_harness as h
import pytest
from kubernetes import client

from nethealth.detection import batching, jobs
from nethealth.devcluster import node as devnode
from nethealth.devcluster import sleepers

pytestmark = pytest.mark.e2e

APPS = ("a", "b", "c")


@pytest.fixture
def batching_operator(
    cluster: devnode.Node,
    api_client: client.ApiClient,
    namespace: str,
    tmp_path: pathlib.Path,
) -> Iterator[h.Running]:
    h.install_crd(api_client)
    with h.operator(
        kubeconfig=cluster.kubeconfig,
        log=tmp_path / "operator.log",
        namespaces=(namespace,),
        extra_env={"NETHEALTH_BATCH_PROBE_JOBS": "true"},
    ) as running:
        yield running


def test_checks_of_one_namespace_and_node_share_one_job_per_tick_and_keep_their_results(
    api_client: client.ApiClient, namespace: str, batching_operator: h.Running
) -> None:
    core = client.CoreV1Api(api_client)
    node = core.list_node().items[0].metadata.name
    for app in APPS:
        spec = {**sleepers.pod_spec(), "nodeName": node}
        core.create_namespaced_pod(
            namespace, {"metadata": {"name": app, "labels": {"app": app}}, "spec": spec}
        )
    for app in APPS:
        h.create_check(api_client, namespace=namespace, body=h.check_body(app, app=app))
    waits = {a: check_waits.Check(api_client=api_client, namespace=namespace, name=a) for a in APPS}
    first = {a: waits[a].pod_reaches(pod=a, state="Healthy", timeout=150) for a in APPS}
    for app in APPS:
        waits[app].next_run(after=first[app], timeout=120, what="a second run")
    for app in APPS:
        obj = h.read_check(api_client, namespace=namespace, name=app)
        assert [p["name"] for p in obj["status"]["pods"]] == [app]  # its own pod, no other
        assert h.condition(obj, "OnSchedule")["status"] == "True"
    listed = client.BatchV1Api(api_client).list_namespaced_job(namespace).items
    per_tick = collections.Counter(j.metadata.labels[batching.LABEL_BATCH] for j in listed)
    assert len(per_tick) >= 2  # two runs of the three checks ...
    assert set(per_tick.values()) == {1}  # ... each one Job for all three
    # The first tick may come between two checks' creations; from then on they share it.
    together = [
        sorted(m.name for m in jobs.measured_pods(client.ApiClient().sanitize_for_serialization(j)))
        for j in listed
    ]
    assert together.count(list(APPS)) >= 1, together
