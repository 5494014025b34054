"""The target pod is found from its UID, through a process in a kubelet-style cgroup."""

from __future__ import annotations

import secrets
import sys
import uuid

import probe_cli


def _pod(node):
    """A pod's processes in the pod namespace: a sandbox ("/pause") and an application."""
    uid = str(uuid.uuid4())
    sandbox_id, app_id = secrets.token_hex(32), secrets.token_hex(32)
    pause = [sys.executable, "-c", "import os; os.execvp('sleep', ['/pause', '300'])"]
    sandbox = node.start_in_pod_cgroup(
        ns=node.pod, pod_uid=uid, container_id=sandbox_id, argv=pause
    )
    app = node.start_in_pod_cgroup(
        ns=node.pod, pod_uid=uid, container_id=app_id, argv=["sleep", "300"]
    )
    return uid, (sandbox, sandbox_id), (app, app_id)


def test_target_by_pod_uid_measures_the_pods_namespace_through_an_app_process(node, tmp_path):
    uid, _, (app, app_id) = _pod(node)
    node.add_pod_rule_unreachable()  # only the pod's namespace has it: proof of where we are
    result = probe_cli.probe(node, tmp_path, where=["--pod-uid", uid])
    assert (result.code, result.klass) == (1, "PodNamespace")
    assert result.document["probe"]["located"] == {
        "how": "pod-uid",
        "netns": f"/proc/{app.pid}/ns/net",
        "pid": app.pid,
        "podUid": uid,
        "containerId": app_id,
        "command": "sleep",
        "sandbox": False,
    }


def test_a_container_id_selects_that_containers_process(node, tmp_path):
    uid, (sandbox, sandbox_id), _ = _pod(node)
    result = probe_cli.probe(
        node, tmp_path, where=["--pod-uid", uid, "--container-id", f"containerd://{sandbox_id}"]
    )
    assert (result.code, result.klass) == (0, "Healthy")
    located = result.document["probe"]["located"]
    assert (located["pid"], located["sandbox"]) == (sandbox.pid, True)


def test_unknown_pod_uid_is_inconclusive_never_a_network_failure(node, tmp_path):
    uid = str(uuid.uuid4())
    result = probe_cli.probe(node, tmp_path, where=["--pod-uid", uid])
    assert (result.code, result.klass) == (2, "Inconclusive")
    assert f"no process of pod {uid}" in result.document["reason"]
    assert result.document["namespaces"] == {}
