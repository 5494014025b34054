"""The hostNetwork fallback on each kind of owner, on the real node, without the operator:
a StatefulSet and a DaemonSet are planned, patched, rolled out onto the node's network and
reverted to their exact original pod template; a bare pod and a Job's pod are planned as
not remediable, and nothing is written.

What the API server keeps of a pod template decides what "the original" can be: it drops
``hostNetwork: false`` (Go's omitempty) and defaults an absent ``dnsPolicy`` to
``ClusterFirst``, so the live object cannot tell an explicit false from an absent field,
nor an absent dnsPolicy from ClusterFirst. The record therefore holds the live values
(``null`` and ``"ClusterFirst"``), and the test holds the revert to what a user can see:
the whole pod template, byte for byte as before, and the new pod back in its own
namespace. (The pure record of an explicit false, or of an absent dnsPolicy, is in
``tests/unit/test_remediation.py``.)
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable
from typing import Any

import kubernetes
import operator_calls as workloads
import pytest

import model_examples
from nethealth import model
from nethealth.devcluster import layout, sleepers
from nethealth.probe import types
from nethealth.remediation import hostnetwork, planning

pytestmark = pytest.mark.e2e

TIMEOUT = 90.0
CHECK = "apps/kinds-check"
OURS = {hostnetwork.ORIGINAL_ANNOTATION, hostnetwork.BY_ANNOTATION, hostnetwork.AT_ANNOTATION}


def _figure(text: str) -> None:
    print(f"\nFIGURE {text}")


def _pod_template(name: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": name}}, "spec": sleepers.pod_spec()}


def _statefulset(name: str) -> dict[str, Any]:
    """A chart that says ``hostNetwork: false`` explicitly and leaves dnsPolicy out."""
    manifest = sleepers.deployment(name, kind="StatefulSet")
    manifest["spec"]["template"]["spec"]["hostNetwork"] = False
    return manifest


def _daemonset(name: str) -> dict[str, Any]:
    """No hostNetwork at all, and dnsPolicy given explicitly, restored by value (Default
    or None would block the patch: the pods resolve names their own way). On one node
    only, so that it has one pod on a cluster of several."""
    manifest = sleepers.deployment(name, kind="DaemonSet")
    template = manifest["spec"]["template"]["spec"]
    template["dnsPolicy"] = "ClusterFirst"
    template["nodeSelector"] = {"kubernetes.io/hostname": layout.NODE_NAME}
    return manifest


def _plan(api_client: Any, pod: dict[str, Any]) -> planning.Plan:
    """The plan the operator would make for ``pod`` decided Degraded (class PodNamespace),
    from what ``workloads.gather`` reads of the cluster."""
    gathered = workloads.gather(api_client, pods=[pod])
    key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
    facts = planning.PodFacts(
        key=key,
        node=pod["spec"].get("nodeName") or "",
        state=model.PodState.DEGRADED,
        klass=types.ProbeClass.POD_NAMESPACE,
        hint=None,
        owner=gathered.owners[key],
    )
    return planning.plan(
        check=CHECK,
        check_uid="uid-of-the-check",
        remediation=model_examples.REMEDIATION,
        pods={key: facts},
        workloads=gathered.workloads,
        namespace_labels=gathered.namespace_labels,
        node_pods=gathered.node_pods,
        history={},
        now=datetime.datetime.now(datetime.UTC),
    )


def _only_pod(
    core: Any, *, namespace: str, app: str, ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The single pod of ``app``, Running and ``ready`` (an old one gone, not terminating)."""
    deadline = time.monotonic() + TIMEOUT
    pods: list[Any] = []
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod(namespace, label_selector=f"app={app}").items
        if len(pods) == 1 and pods[0].metadata.deletion_timestamp is None:
            pod: dict[str, Any] = core.api_client.sanitize_for_serialization(pods[0])
            if pod["status"].get("phase") == "Running" and ready(pod):
                return pod
        time.sleep(0.3)
    pytest.fail(f"no single Running pod of {app} as wanted within {TIMEOUT:.0f} s: {pods}")


def _on_host_network(pod: dict[str, Any]) -> bool:
    return bool(pod["spec"].get("hostNetwork")) and pod["status"].get("podIP") == pod["status"].get(
        "hostIP"
    )


def _in_own_namespace(pod: dict[str, Any]) -> bool:
    return not pod["spec"].get("hostNetwork") and pod["status"].get("podIP") != pod["status"].get(
        "hostIP"
    )


@pytest.mark.parametrize(
    ("manifest", "kind", "dns_before"),
    [
        (_statefulset, hostnetwork.Kind.STATEFULSET, "ClusterFirst"),
        (_daemonset, hostnetwork.Kind.DAEMONSET, "ClusterFirst"),
    ],
    ids=["statefulset", "daemonset"],
)
def test_a_workload_kind_moves_to_the_node_network_and_back_to_its_exact_template(
    api_client, namespace, manifest, kind, dns_before
):
    apps = kubernetes.client.AppsV1Api(api_client)
    core = kubernetes.client.CoreV1Api(api_client)
    body = manifest("app")
    if kind is hostnetwork.Kind.STATEFULSET:
        apps.create_namespaced_stateful_set(namespace, body)
    else:
        apps.create_namespaced_daemon_set(namespace, body)
    pod = _only_pod(core, namespace=namespace, app="app", ready=_in_own_namespace)
    key = hostnetwork.WorkloadKey(kind=kind, namespace=namespace, name="app")
    before = workloads.read_workload(api_client, key)
    assert before is not None

    [verdict] = _plan(api_client, pod).verdicts
    assert (verdict.outcome, verdict.subject) == (planning.Outcome.PATCH, str(key)), verdict.message
    started = time.monotonic()
    patched = workloads.patch(api_client, verdict)
    # The record is what the API server shows (see the module docstring), in the same write.
    assert json.loads(patched["metadata"]["annotations"][hostnetwork.ORIGINAL_ANNOTATION]) == {
        "hostNetwork": None,
        "dnsPolicy": dns_before,
    }
    # The rollout really happens: a new pod in the node's network namespace.
    moved = _only_pod(core, namespace=namespace, app="app", ready=_on_host_network)
    _figure(f"{kind} rollout onto hostNetwork: {time.monotonic() - started:.1f} s")
    assert moved["metadata"]["uid"] != pod["metadata"]["uid"]
    assert moved["spec"]["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert moved["metadata"]["annotations"][hostnetwork.BY_ANNOTATION] == CHECK

    started = time.monotonic()
    restored = workloads.revert(api_client, key)
    assert restored is not None
    assert restored["spec"]["template"] == before["spec"]["template"]
    assert not (restored["metadata"].get("annotations") or {}).keys() & OURS
    back = _only_pod(core, namespace=namespace, app="app", ready=_in_own_namespace)
    _figure(f"{kind} rollout back to its own namespace: {time.monotonic() - started:.1f} s")
    assert back["spec"]["dnsPolicy"] == dns_before
    assert hostnetwork.BY_ANNOTATION not in (back["metadata"].get("annotations") or {})


def _bare_pod(core: Any, *, namespace: str) -> dict[str, Any]:
    template = _pod_template("bare")
    core.create_namespaced_pod(
        namespace, {"metadata": {**template["metadata"], "name": "bare"}, "spec": template["spec"]}
    )
    return _only_pod(core, namespace=namespace, app="bare", ready=lambda _: True)


def _job_pod(api_client: Any, *, namespace: str) -> dict[str, Any]:
    template = _pod_template("job")
    template["spec"]["restartPolicy"] = "Never"
    kubernetes.client.BatchV1Api(api_client).create_namespaced_job(
        namespace,
        {"metadata": {"name": "job"}, "spec": {"backoffLimit": 0, "template": template}},
    )
    core = kubernetes.client.CoreV1Api(api_client)
    return _only_pod(core, namespace=namespace, app="job", ready=lambda _: True)


def test_a_bare_pod_and_a_jobs_pod_are_not_remediable_and_nothing_is_written(api_client, namespace):
    core = kubernetes.client.CoreV1Api(api_client)
    batch = kubernetes.client.BatchV1Api(api_client)
    bare = _bare_pod(core, namespace=namespace)
    job_pod = _job_pod(api_client, namespace=namespace)
    job_before = batch.read_namespaced_job("job", namespace).metadata.generation

    for pod, why in ((bare, "a bare pod"), (job_pod, "owned by Job job")):
        plan = _plan(api_client, pod)
        [verdict] = plan.verdicts
        name = f"{namespace}/{pod['metadata']['name']}"
        assert (verdict.outcome, verdict.reason) == (
            planning.Outcome.BLOCKED,
            model.Reason.NOT_REMEDIABLE,
        )
        assert verdict.pods == (name,)
        assert verdict.message.startswith(f"{name}: {why}")
        assert verdict.body is None
        assert plan.patches == ()
        with pytest.raises(ValueError, match="only a Patch verdict is applied"):
            workloads.patch(api_client, verdict)

    assert batch.read_namespaced_job("job", namespace).metadata.generation == job_before
    for name in ("bare", job_pod["metadata"]["name"]):
        live = core.read_namespaced_pod(name, namespace)
        assert not live.spec.host_network
        assert hostnetwork.BY_ANNOTATION not in (live.metadata.annotations or {})
