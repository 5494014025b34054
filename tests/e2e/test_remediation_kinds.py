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
import pytest

from nethealth import model, netpatch, remediation, workloads
from nethealth.devcluster import images, layout
from nethealth.probe import types

pytestmark = pytest.mark.e2e

TIMEOUT = 90.0
CHECK = "apps/kinds-check"
OURS = {netpatch.ORIGINAL_ANNOTATION, netpatch.BY_ANNOTATION, netpatch.AT_ANNOTATION}


def _figure(text: str) -> None:
    print(f"\nFIGURE {text}")


def _pod_template(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": name}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "main",
                    "image": images.WORKLOAD_IMAGE,
                    "imagePullPolicy": "Never",
                    "command": ["sleep", "3600"],
                }
            ],
            **spec,
        },
    }


def _statefulset(name: str) -> dict[str, Any]:
    """A chart that says ``hostNetwork: false`` explicitly and leaves dnsPolicy out."""
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": _pod_template(name, hostNetwork=False),
        },
    }


def _daemonset(name: str) -> dict[str, Any]:
    """No hostNetwork at all, and a dnsPolicy other than the default, restored by value.
    On one node only, so that it has one pod on a cluster of several."""
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": _pod_template(
                name,
                dnsPolicy="Default",
                nodeSelector={"kubernetes.io/hostname": layout.NODE_NAME},
            ),
        },
    }


def _settings() -> model.Remediation:
    return model.Remediation(
        mode=model.RemediationMode.AUTO,
        strategy=model.RemediationStrategy.HOST_NETWORK,
        cooldown=datetime.timedelta(hours=1),
        max_remediated_pods=1,
        revert_on_delete=True,
        verify=True,
        pause_requests=(),
    )


def _plan(api_client: Any, pod: dict[str, Any]) -> remediation.Plan:
    """The plan the operator would make for ``pod`` decided Degraded (class PodNamespace),
    from what ``workloads.gather`` reads of the cluster."""
    gathered = workloads.gather(api_client, pods=[pod])
    key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
    facts = remediation.PodFacts(
        key=key,
        node=pod["spec"].get("nodeName") or "",
        state=model.PodState.DEGRADED,
        klass=types.ProbeClass.POD_NAMESPACE,
        hint=None,
        owner=gathered.owners[key],
    )
    return remediation.plan(
        check=CHECK,
        remediation=_settings(),
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
        (_statefulset, netpatch.Kind.STATEFULSET, "ClusterFirst"),
        (_daemonset, netpatch.Kind.DAEMONSET, "Default"),
    ],
    ids=["statefulset", "daemonset"],
)
def test_a_workload_kind_moves_to_the_node_network_and_back_to_its_exact_template(
    api_client, namespace, manifest, kind, dns_before
):
    apps = kubernetes.client.AppsV1Api(api_client)
    core = kubernetes.client.CoreV1Api(api_client)
    body = manifest("app")
    if kind is netpatch.Kind.STATEFULSET:
        apps.create_namespaced_stateful_set(namespace, body)
    else:
        apps.create_namespaced_daemon_set(namespace, body)
    pod = _only_pod(core, namespace=namespace, app="app", ready=_in_own_namespace)
    key = netpatch.WorkloadKey(kind=kind, namespace=namespace, name="app")
    before = workloads.read_workload(api_client, key)
    assert before is not None

    [verdict] = _plan(api_client, pod).verdicts
    assert (verdict.outcome, verdict.subject) == (remediation.Outcome.PATCH, str(key))
    started = time.monotonic()
    patched = workloads.patch(api_client, verdict)
    # The record is what the API server shows (see the module docstring), in the same write.
    assert json.loads(patched["metadata"]["annotations"][netpatch.ORIGINAL_ANNOTATION]) == {
        "hostNetwork": None,
        "dnsPolicy": dns_before,
    }
    # The rollout really happens: a new pod in the node's network namespace.
    moved = _only_pod(core, namespace=namespace, app="app", ready=_on_host_network)
    _figure(f"{kind} rollout onto hostNetwork: {time.monotonic() - started:.1f} s")
    assert moved["metadata"]["uid"] != pod["metadata"]["uid"]
    assert moved["spec"]["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert moved["metadata"]["annotations"][netpatch.BY_ANNOTATION] == CHECK

    started = time.monotonic()
    restored = workloads.revert(api_client, key)
    assert restored is not None
    assert restored["spec"]["template"] == before["spec"]["template"]
    assert not (restored["metadata"].get("annotations") or {}).keys() & OURS
    back = _only_pod(core, namespace=namespace, app="app", ready=_in_own_namespace)
    _figure(f"{kind} rollout back to its own namespace: {time.monotonic() - started:.1f} s")
    assert back["spec"]["dnsPolicy"] == dns_before
    assert netpatch.BY_ANNOTATION not in (back["metadata"].get("annotations") or {})


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
            remediation.Outcome.BLOCKED,
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
        assert netpatch.BY_ANNOTATION not in (live.metadata.annotations or {})
