"""The preflight of the hostNetwork fallback in the operator's loop, on the real node: each
gate that says no blocks the change with a ``RemediationBlocked`` condition naming why and
an Event, and leaves the workload untouched.

One namespace, one operator, four checks in Auto, their pods degraded at once by the same
on/off fault (so the whole file pays for one degrade, ~60 s with 30 s runs):

- ``bare``: a bare pod has no workload to patch: ``NotRemediable``, naming the pod;
- ``ports``: a Deployment whose container declares port P, and another pod on the node
  already holding hostPort P: on hostNetwork both would bind P: ``HostPortConflict``;
- ``paused``: ``pauseRequests`` non-empty: ``Paused``, with the reason given;
- ``warned``: the namespace *warns* at Pod Security level baseline: the change goes ahead,
  with the warning in its Event (Warning) and in ``status.remediation``.

Pod Security ``enforce: baseline`` is covered here in the only way it can meet a degraded
pod on a real cluster. The probe Job's pod needs ``hostPID`` and runs in the measured pods'
namespace, so an enforcing namespace rejects it: a check there never measures, and no pod
is ever decided Degraded (the plan's gate is reached only in ``tests/unit``). What does
happen is a namespace tightened *after* its pod degraded: then the runs are Inconclusive,
which keeps the pod Degraded, and the plan must refuse to move the workload to hostNetwork,
whose new pods would be rejected (no pod at all). The ``paused`` check plays that: once its
namespace enforces baseline and the pause is lifted, it is blocked with
``PodSecurityForbidsHostNetwork``.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from typing import Any

import operator_harness as h
import pytest
import remediation_helpers
from kubernetes import client

from nethealth import model
from nethealth.devcluster import sleepers
from nethealth.remediation import hostnetwork
from nethealth.testing import faults

pytestmark = pytest.mark.e2e

PSA = "pod-security.kubernetes.io/"
DEGRADE_TIMEOUT = 240.0
BLOCK_TIMEOUT = 180.0
CHECKS = ("bare", "ports", "paused", "warned")


def _figure(text: str) -> None:
    print(f"\nFIGURE {text}")


def _pod_spec(*, port: int | None = None, host_port: bool = False) -> dict[str, Any]:
    """The sleeper's pod spec, declaring ``port`` (as a hostPort too, when asked)."""
    spec = sleepers.pod_spec()
    if port is not None:
        declared: dict[str, Any] = {"containerPort": port, "protocol": "TCP"}
        if host_port:
            declared["hostPort"] = port
        spec["containers"][0]["ports"] = [declared]
    return spec


def _deployment(
    api_client: client.ApiClient, *, namespace: str, name: str, **container: Any
) -> None:
    manifest = sleepers.deployment(name)
    manifest["spec"]["template"]["spec"] = _pod_spec(**container)
    client.AppsV1Api(api_client).create_namespaced_deployment(namespace, manifest)


def _bare(
    api_client: client.ApiClient,
    *,
    namespace: str,
    name: str,
    node: str | None = None,
    **container: Any,
) -> None:
    spec = _pod_spec(**container)
    if node is not None:
        spec["nodeName"] = node
    client.CoreV1Api(api_client).create_namespaced_pod(
        namespace, {"metadata": {"name": name, "labels": {"app": name}}, "spec": spec}
    )


def _label_namespace(api_client: client.ApiClient, namespace: str, labels: dict[str, str]) -> None:
    client.CoreV1Api(api_client).patch_namespace(namespace, {"metadata": {"labels": labels}})


def _blocked(obj: dict[str, Any]) -> dict[str, Any]:
    return h.condition(obj, "RemediationBlocked")


def _wait_all(
    api_client: client.ApiClient,
    *,
    namespace: str,
    until: dict[str, Callable[[dict[str, Any]], bool]],
    timeout: float,
    what: str,
) -> dict[str, dict[str, Any]]:
    """Every named check meeting its condition (each is kept once it has)."""
    deadline = time.monotonic() + timeout
    met: dict[str, dict[str, Any]] = {}
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        for name, cond in until.items():
            if name in met:
                continue
            last[name] = h.read_check(api_client, namespace=namespace, name=name)
            if cond(last[name]):
                met[name] = last[name]
        if len(met) == len(until):
            return met
        time.sleep(1)
    missing = {n: (last.get(n) or {}).get("status") for n in until if n not in met}
    pytest.fail(f"{what} not within {timeout:.0f} s; still waiting for: {missing}")


def _generation(api_client: client.ApiClient, *, namespace: str, name: str) -> int:
    deployment = client.AppsV1Api(api_client).read_namespaced_deployment(name, namespace)
    assert hostnetwork.ORIGINAL_ANNOTATION not in (deployment.metadata.annotations or {})
    assert not deployment.spec.template.spec.host_network
    return int(deployment.metadata.generation)


def _events(api_client: client.ApiClient, *, namespace: str, name: str) -> dict[str, Any]:
    found = h.events(api_client, namespace=namespace, kind=model.KIND, name=name)
    return {e.reason: e for e in found}


@pytest.fixture
def operator_then_cleanup(api_client, namespace, operator_for):
    """The operator, and the checks deleted (workloads reverted) before it stops."""
    yield operator_for
    remediation_helpers.delete_checks(api_client, namespace=namespace)


def test_each_preflight_gate_blocks_with_its_reason_and_leaves_the_workload_alone(
    api_client, namespace, operator_then_cleanup
):
    started = time.monotonic()
    _label_namespace(api_client, namespace, {f"{PSA}warn": "baseline"})
    port = random.randint(20000, 29999)
    _bare(api_client, namespace=namespace, name="bare")
    _deployment(api_client, namespace=namespace, name="ports", port=port)
    _deployment(api_client, namespace=namespace, name="paused")
    _deployment(api_client, namespace=namespace, name="warned")
    pods = {
        name: h.running_pod(api_client, namespace=namespace, app=name, host_network=False)
        for name in CHECKS
    }
    # Holds the port on the node of the ports pod (of several nodes); selected by no check.
    _bare(
        api_client,
        namespace=namespace,
        name="holder",
        port=port,
        host_port=True,
        node=pods["ports"]["spec"]["nodeName"],
    )
    h.running_pod(api_client, namespace=namespace, app="holder", host_network=False)
    for name in CHECKS:
        remediation: dict[str, Any] = {"mode": "Auto"}
        if name == "paused":
            remediation["pauseRequests"] = ["change freeze"]
        body = h.check_body(name, app=name, remediation=remediation)
        h.create_check(api_client, namespace=namespace, body=body)
    _wait_all(
        api_client,
        namespace=namespace,
        timeout=120,
        what="every pod Healthy first",
        until={
            name: lambda o, n=name: h.pod_state(o, pods[n]["metadata"]["name"]) == "Healthy"
            for name in CHECKS
        },
    )

    with contextlib.ExitStack() as stack:
        for pod in pods.values():
            stack.enter_context(faults.on_off(pod_uid=pod["metadata"]["uid"], port=443))
        faulted = time.monotonic()
        found = _wait_all(
            api_client,
            namespace=namespace,
            timeout=DEGRADE_TIMEOUT,
            what="every check's verdict",
            until={
                "bare": lambda o: _blocked(o).get("reason") == "NotRemediable",
                "ports": lambda o: _blocked(o).get("reason") == "HostPortConflict",
                "paused": lambda o: _blocked(o).get("reason") == "Paused",
                "warned": lambda o: (
                    h.remediation_entry(o, "warned").get("state") in ("Verifying", "Remediated")
                ),
            },
        )
        _figure(f"preflight: all four verdicts {time.monotonic() - faulted:.0f} s after the fault")

        bare = _blocked(found["bare"])
        assert bare["status"] == "True"
        assert bare["message"].startswith(f"{namespace}/bare: a bare pod")
        assert "NotRemediable" in _events(api_client, namespace=namespace, name="bare")
        assert found["bare"]["status"].get("remediation", []) == []  # no workload: no entry

        ports = _blocked(found["ports"])
        assert f"port(s) {port}/TCP" in ports["message"]
        assert f"pod {namespace}/holder holds them" in ports["message"]
        assert h.remediation_entry(found["ports"], "ports")["reason"] == "HostPortConflict"
        assert "HostPortConflict" in _events(api_client, namespace=namespace, name="ports")
        assert _generation(api_client, namespace=namespace, name="ports") == 1

        paused = _blocked(found["paused"])
        assert "paused: change freeze" in paused["message"]
        assert "Paused" in _events(api_client, namespace=namespace, name="paused")
        assert _generation(api_client, namespace=namespace, name="paused") == 1

        # warn (not enforce): moved, and the warning is said where a person looks.
        warned = h.remediation_entry(found["warned"], "warned")
        assert "warns at Pod Security level 'baseline'" in warned["message"]
        applied = _events(api_client, namespace=namespace, name="warned")["HostNetworkApplied"]
        assert applied.type == "Warning"
        assert "Pod Security level 'baseline'" in applied.message
        assert not _blocked(found["warned"])

        # The namespace now enforces baseline, and the pause is lifted: the probe Jobs are
        # rejected (Inconclusive runs keep the pod Degraded); the plan must not move it.
        _label_namespace(api_client, namespace, {f"{PSA}enforce": "baseline"})
        client.CustomObjectsApi(api_client).patch_namespaced_custom_object(
            model.GROUP,
            model.VERSION,
            namespace,
            model.PLURAL,
            "paused",
            {"spec": {"remediation": {"pauseRequests": None}}},
            _content_type="application/merge-patch+json",
        )
        tightened = time.monotonic()
        enforced = _wait_all(
            api_client,
            namespace=namespace,
            timeout=BLOCK_TIMEOUT,
            what="the Pod Security block",
            until={
                "paused": lambda o: _blocked(o).get("reason") == "PodSecurityForbidsHostNetwork"
            },
        )["paused"]
        _figure(f"preflight: enforce block {time.monotonic() - tightened:.0f} s after the label")
    psa = _blocked(enforced)
    assert f"namespace {namespace} enforces Pod Security level 'baseline'" in psa["message"]
    assert h.pod_state(enforced, pods["paused"]["metadata"]["name"]) == "Degraded"
    assert "PodSecurityForbidsHostNetwork" in _events(
        api_client, namespace=namespace, name="paused"
    )
    assert _generation(api_client, namespace=namespace, name="paused") == 1
    _figure(f"preflight: whole test {time.monotonic() - started:.0f} s")
