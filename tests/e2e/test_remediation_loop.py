"""Remediation in the operator's loop, on the real node: a Deployment's pod degrades under
an injected fault, the operator moves the workload to the node's network, the rollout
really happens, the new pod is probed in the node's namespace, and the change is verified
(or reverted when it does not help). DryRun shows the exact patch and changes nothing.

Checks run every 30 s (the CRD's minimum) and one failing run makes a pod Degraded here,
so each scenario takes one to three minutes. Figures are printed with -s.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import check_waits
import operator_harness as h
import pytest
import remediation_helpers
from kubernetes import client

from nethealth import model
from nethealth.devcluster import images, layout, node, processes
from nethealth.remediation import finalizer, hostnetwork
from nethealth.testing import faults

pytestmark = pytest.mark.e2e

DEGRADE_TIMEOUT = 200.0
# Degraded after one failing run: these tests are about what follows the decision, whose
# consecutive runs and hysteresis are tested in test_operator_loop.py.
ONE_RUN = {"consecutiveRuns": 1}
VERIFY_TIMEOUT = 200.0


def _figure(text: str) -> None:
    print(f"\nFIGURE {text}")


def _template(api_client: client.ApiClient, *, namespace: str, name: str) -> dict[str, Any]:
    deployment = client.AppsV1Api(api_client).read_namespaced_deployment(name, namespace)
    return api_client.sanitize_for_serialization(deployment)  # type: ignore[no-any-return]


SERVER_PORT = 38079  # the ineffective test's own port: its node-side fault matches only it


def _server(api_client: client.ApiClient, *, namespace: str) -> str:
    """A pod serving TCP on SERVER_PORT; its IP. Reached from the node's namespace through
    the CNI bridge (a main-table route), so a policy rule there can fail it; the node's own
    address would not do: local routes are looked up before any rule."""
    client.CoreV1Api(api_client).create_namespaced_pod(
        namespace,
        {
            "metadata": {"name": "srv", "labels": {"app": "srv"}},
            "spec": {
                "terminationGracePeriodSeconds": 0,
                "automountServiceAccountToken": False,
                "containers": [
                    {
                        "name": "httpd",
                        "image": images.WORKLOAD_IMAGE,
                        "imagePullPolicy": "Never",
                        "command": ["httpd", "-f", "-p", str(SERVER_PORT)],
                    }
                ],
            },
        },
    )
    pod = h.running_pod(api_client, namespace=namespace, app="srv", host_network=False)
    return str(pod["status"]["podIP"])


def test_auto_moves_a_degraded_deployment_to_the_node_network_and_verifies_it(
    api_client, namespace, operator_for
):
    pod = h.deployment(api_client, namespace=namespace, name="web")
    body = h.check_body("web", app="web", threshold=ONE_RUN, remediation={"mode": "Auto"})
    h.create_check(api_client, namespace=namespace, body=body)
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="web")
    check.pod_reaches(
        pod=pod["metadata"]["name"], state="Healthy", timeout=120, what="pod Healthy first"
    )
    with faults.on_off(pod_uid=pod["metadata"]["uid"], port=443):
        faulted = time.monotonic()
        patched = check.remediation_reaches(
            workload="web", state="Verifying", timeout=DEGRADE_TIMEOUT, what="the workload patched"
        )
        _figure(f"auto: patched {time.monotonic() - faulted:.0f} s after the fault")
    deployment = _template(api_client, namespace=namespace, name="web")
    spec = deployment["spec"]["template"]["spec"]
    assert (spec["hostNetwork"], spec["dnsPolicy"]) == (True, "ClusterFirstWithHostNet")
    annotations = deployment["metadata"]["annotations"]
    assert json.loads(annotations[hostnetwork.ORIGINAL_ANNOTATION]) == {
        "hostNetwork": None,
        "dnsPolicy": "ClusterFirst",
    }
    assert annotations[hostnetwork.BY_ANNOTATION] == f"{namespace}/web"
    entry = h.remediation_entry(patched, "web")
    assert entry["kind"] == "Deployment"
    assert json.loads(entry["patch"])["spec"]["template"]["spec"]["hostNetwork"] is True
    # The rollout really happens: the new pod runs in the node's namespace ...
    new = h.running_pod(api_client, namespace=namespace, app="web", host_network=True)
    # ... and is probed there, which verifies the change.
    verified = check.remediation_reaches(
        workload="web", state="Remediated", timeout=VERIFY_TIMEOUT, what="the change verified"
    )
    _figure(f"auto: verified {time.monotonic() - faulted:.0f} s after the fault")
    remediated = h.condition(verified, "Remediated")
    assert (remediated["status"], remediated["reason"]) == ("True", "Verified")
    assert h.pod_state(verified, new["metadata"]["name"]) == "Remediated"
    assert verified["status"]["summary"]["remediated"] == 1
    reasons = {
        e.reason for e in h.events(api_client, namespace=namespace, kind=model.KIND, name="web")
    }
    assert {"HostNetworkApplied", "RemediationVerified"} <= reasons
    # Exactly one change: one rollout, no second patch on later runs.
    assert _template(api_client, namespace=namespace, name="web")["metadata"]["generation"] == 2
    # revertOnDelete (the default): deleting the check restores the exact originals first.
    held = h.read_check(api_client, namespace=namespace, name="web")
    assert finalizer.FINALIZER in held["metadata"]["finalizers"]
    client.CustomObjectsApi(api_client).delete_namespaced_custom_object(
        model.GROUP, model.VERSION, namespace, model.PLURAL, "web"
    )
    _gone(api_client, namespace=namespace, name="web")
    restored = _template(api_client, namespace=namespace, name="web")
    spec = restored["spec"]["template"]["spec"]
    assert "hostNetwork" not in spec
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert not set(restored["metadata"].get("annotations") or {}) & {
        hostnetwork.ORIGINAL_ANNOTATION,
        hostnetwork.BY_ANNOTATION,
        hostnetwork.AT_ANNOTATION,
    }
    h.running_pod(api_client, namespace=namespace, app="web", host_network=False)


def _gone(api_client: client.ApiClient, *, namespace: str, name: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            h.read_check(api_client, namespace=namespace, name=name)
        except client.ApiException as exc:
            if exc.status == 404:
                return
            raise
        time.sleep(0.5)
    pytest.fail(f"check {namespace}/{name} still exists 60 s after its deletion")


def test_dry_run_publishes_the_exact_patch_and_changes_nothing(api_client, namespace, operator_for):
    pod = h.deployment(api_client, namespace=namespace, name="dry")
    body = h.check_body("dry", app="dry", threshold=ONE_RUN, remediation={"mode": "DryRun"})
    h.create_check(api_client, namespace=namespace, body=body)
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="dry")
    with faults.on_off(pod_uid=pod["metadata"]["uid"], port=443):
        obj = check.remediation_reaches(
            workload="dry",
            state="DryRun",
            timeout=DEGRADE_TIMEOUT,
            what="the dry-run patch published",
        )
    entry = h.remediation_entry(obj, "dry")
    planned = json.loads(entry["patch"])
    assert planned["spec"]["template"]["spec"] == {
        "hostNetwork": True,
        "dnsPolicy": "ClusterFirstWithHostNet",
    }
    assert json.loads(entry["original"]) == {"hostNetwork": None, "dnsPolicy": "ClusterFirst"}
    deployment = _template(api_client, namespace=namespace, name="dry")
    assert deployment["metadata"]["generation"] == 1
    assert "hostNetwork" not in deployment["spec"]["template"]["spec"]
    assert hostnetwork.ORIGINAL_ANNOTATION not in (deployment["metadata"].get("annotations") or {})
    events = h.events(api_client, namespace=namespace, kind=model.KIND, name="dry")
    dry = [e for e in events if e.reason == "DryRun"]
    assert dry, [e.reason for e in events]
    assert "hostNetwork" in dry[0].message


def _node_pids(cluster: node.Node) -> list[int]:
    """A process in each node's network namespace: its containerd."""
    run = layout.RunLayout(root=cluster.run_dir)
    recorded = [
        processes.read_pid_file(run.node(n).pid_file_of("containerd")) for n in cluster.node_names
    ]
    assert all(recorded), "a node's containerd has no pid file"
    return [r.pid for r in recorded if r is not None]


def test_a_change_that_does_not_help_is_reverted_as_ineffective(
    api_client, cluster, namespace, operator_for
):
    pod = h.deployment(api_client, namespace=namespace, name="bad")
    target = {"name": "srv", "host": _server(api_client, namespace=namespace), "port": SERVER_PORT}
    body = h.check_body(
        "bad", app="bad", targets=[target], threshold=ONE_RUN, remediation={"mode": "Auto"}
    )
    h.create_check(api_client, namespace=namespace, body=body)
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="bad")
    check.pod_reaches(
        pod=pod["metadata"]["name"], state="Healthy", timeout=120, what="pod Healthy first"
    )
    with faults.on_off(pod_uid=pod["metadata"]["uid"], port=SERVER_PORT):
        check.remediation_reaches(
            workload="bad", state="Verifying", timeout=DEGRADE_TIMEOUT, what="the workload patched"
        )
    # The fault follows the workload into its node's namespace (every node's, wherever the
    # new pod lands): only this test's port.
    with contextlib.ExitStack() as stack:
        for pid in _node_pids(cluster):
            stack.enter_context(faults.on_off(pid=pid, port=SERVER_PORT))
        obj = check.remediation_reaches(
            workload="bad",
            state="Ineffective",
            timeout=VERIFY_TIMEOUT,
            what="the change found ineffective",
        )
    ineffective = h.condition(obj, "RemediationIneffective")
    assert (ineffective["status"], ineffective["reason"]) == ("True", "StillFailing")
    assert "reverted" in ineffective["message"]
    deployment = _template(api_client, namespace=namespace, name="bad")
    spec = deployment["spec"]["template"]["spec"]
    assert "hostNetwork" not in spec
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert hostnetwork.ORIGINAL_ANNOTATION not in (deployment["metadata"].get("annotations") or {})
    reasons = {
        e.reason for e in h.events(api_client, namespace=namespace, kind=model.KIND, name="bad")
    }
    assert "RemediationIneffective" in reasons


def test_restart_then_host_network_restarts_first_and_moves_only_when_it_degrades_again(
    api_client, namespace, operator_for
):
    first = h.deployment(api_client, namespace=namespace, name="lad")
    body = h.check_body(
        "lad",
        app="lad",
        threshold=ONE_RUN,
        remediation={"mode": "Auto", "strategy": "RestartThenHostNetwork"},
    )
    h.create_check(api_client, namespace=namespace, body=body)
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="lad")
    with faults.on_off(pod_uid=first["metadata"]["uid"], port=443):
        check.remediation_reaches(
            workload="lad", state="Restarted", timeout=DEGRADE_TIMEOUT, what="the pod restarted"
        )
    # The cheap step first: a new pod in a fresh namespace of its own, template unchanged.
    second = h.running_pod(api_client, namespace=namespace, app="lad", host_network=False)
    assert second["metadata"]["uid"] != first["metadata"]["uid"]
    assert _template(api_client, namespace=namespace, name="lad")["metadata"]["generation"] == 1
    # Degraded again within the window: now hostNetwork.
    with faults.on_off(pod_uid=second["metadata"]["uid"], port=443):
        check.until(
            what="the workload patched after the restart",
            timeout=DEGRADE_TIMEOUT,
            until=lambda o: (
                h.remediation_entry(o, "lad").get("state") in ("Verifying", "Remediated")
            ),
        )
    spec = _template(api_client, namespace=namespace, name="lad")["spec"]["template"]["spec"]
    assert spec["hostNetwork"] is True
    reasons = {
        e.reason for e in h.events(api_client, namespace=namespace, kind=model.KIND, name="lad")
    }
    assert {"PodsRestarted", "HostNetworkApplied"} <= reasons


def test_a_change_argo_cd_undoes_is_reported_and_not_fought(api_client, namespace, operator_for):
    pod = h.deployment(api_client, namespace=namespace, name="git")
    body = h.check_body("git", app="git", threshold=ONE_RUN, remediation={"mode": "Auto"})
    h.create_check(api_client, namespace=namespace, body=body)
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="git")
    with faults.on_off(pod_uid=pod["metadata"]["uid"], port=443):
        check.remediation_reaches(
            workload="git", state="Verifying", timeout=DEGRADE_TIMEOUT, what="the workload patched"
        )
    # Argo CD self-heal with server-side apply: Git's manifest says hostNetwork: false.
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "git", "namespace": namespace},
        "spec": {"template": {"spec": {"hostNetwork": False, "dnsPolicy": "ClusterFirst"}}},
    }
    client.AppsV1Api(api_client).patch_namespaced_deployment(
        "git",
        namespace,
        manifest,
        field_manager="argocd-controller",
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    obj = check.remediation_reaches(
        workload="git",
        state="RevertedByOtherManager",
        timeout=90,
        what="the revert by another manager noticed",
    )
    reverted = h.condition(obj, "RemediationReverted")
    assert reverted["status"] == "True"
    assert "argocd-controller" in reverted["message"]
    generation = _template(api_client, namespace=namespace, name="git")["metadata"]["generation"]
    # Another run: nothing re-applied (no fight), the report stays.
    later = check.next_run(after=obj, timeout=90, what="one more run")
    assert h.remediation_entry(later, "git")["state"] == "RevertedByOtherManager"
    deployment = _template(api_client, namespace=namespace, name="git")
    assert deployment["metadata"]["generation"] == generation
    # false is Go's zero value: the API server leaves it out of the object it returns.
    assert not deployment["spec"]["template"]["spec"].get("hostNetwork")
    reasons = {
        e.reason for e in h.events(api_client, namespace=namespace, kind=model.KIND, name="git")
    }
    assert "RemediationReverted" in reasons


def test_two_overlapping_checks_never_touch_each_others_change(
    api_client, cluster, namespace, tmp_path
):
    """Issue 14, case 4: an administrator's namespaceSelector check and a team's check
    select the same pod; whichever patches first owns the change: the other says so and
    never verifies, reverts or adopts it, and deleting it leaves the change alone."""
    h.install_crd(api_client)
    core = client.CoreV1Api(api_client)
    core.patch_namespace(namespace, {"metadata": {"labels": {"nethealth.test/admin": namespace}}})
    pod = h.deployment(api_client, namespace=namespace, name="web")
    auto = {"threshold": ONE_RUN, "remediation": {"mode": "Auto"}}
    admin = h.check_body(
        "admin", app="web", namespaceSelector={"matchLabels": {"nethealth.test/admin": namespace}}
    )
    admin["spec"] = {**admin["spec"], **auto}
    h.create_check(api_client, namespace=namespace, body=admin)
    h.create_check(api_client, namespace=namespace, body=h.check_body("team", app="web", **auto))
    env = {"NETHEALTH_NAMESPACE": namespace}  # where a namespaceSelector is honoured
    with h.operator(
        kubeconfig=cluster.kubeconfig,
        log=tmp_path / "operator.log",
        namespaces=(namespace,),
        extra_env=env,
    ):
        for name in ("admin", "team"):
            h.wait_for(
                api_client,
                namespace=namespace,
                name=name,
                timeout=120,
                what=f"pod Healthy first for {name}",
                until=lambda o: h.pod_state(o, pod["metadata"]["name"]) == "Healthy",
            )
        with faults.on_off(pod_uid=pod["metadata"]["uid"], port=443):
            deadline = time.monotonic() + DEGRADE_TIMEOUT
            while True:
                annotations = _template(api_client, namespace=namespace, name="web")["metadata"]
                owner = (annotations.get("annotations") or {}).get(hostnetwork.BY_ANNOTATION)
                if owner:
                    break
                assert time.monotonic() < deadline, "no check patched the workload"
                time.sleep(1)
        first = owner.split("/", 1)[1]
        other = "team" if first == "admin" else "admin"
        verified = h.wait_for(
            api_client,
            namespace=namespace,
            name=first,
            timeout=VERIFY_TIMEOUT,
            what="the owner's change verified",
            until=lambda o: h.remediation_entry(o, "web").get("state") == "Remediated",
        )
        del verified
        seen = h.read_check(api_client, namespace=namespace, name=other)
        entry = h.remediation_entry(seen, "web")
        assert entry.get("state") in (None, "Blocked"), entry
        if entry:
            assert entry["reason"] == "ChangedByAnotherCheck", entry
        generation = _template(api_client, namespace=namespace, name="web")["metadata"][
            "generation"
        ]
        client.CustomObjectsApi(api_client).delete_namespaced_custom_object(
            model.GROUP, model.VERSION, namespace, model.PLURAL, other
        )
        _gone(api_client, namespace=namespace, name=other)
        after = _template(api_client, namespace=namespace, name="web")
        assert after["spec"]["template"]["spec"]["hostNetwork"] is True
        assert after["metadata"]["generation"] == generation
        remediation_helpers.delete_checks(api_client, namespace=namespace)
    restored = _template(api_client, namespace=namespace, name="web")
    assert not restored["spec"]["template"]["spec"].get("hostNetwork")
