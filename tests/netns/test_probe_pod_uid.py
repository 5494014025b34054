"""The target pod is found from its UID, through a process in a kubelet-style cgroup."""

from __future__ import annotations

import secrets
import sys
import threading
import time
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


def test_the_app_process_exiting_mid_run_does_not_end_the_run(node, tmp_path):
    # A crash-looping application, often the broken one: the probe found the namespace
    # through it, holds the namespace open, and measures on while the sandbox keeps it.
    uid, (sandbox, _), (app, _) = _pod(node)
    node.add_pod_rule_unreachable()
    killer = _kill_once_measuring(app, marker=str(tmp_path / "termination-log"))
    try:
        result = probe_cli.probe(
            node, tmp_path, where=["--pod-uid", uid], attempts=40, spread=4.0,
            extra=["--windows", "2"],
        )  # fmt: skip
    finally:
        killer.join(timeout=10)
    assert app.poll() is not None  # it did exit mid-run
    assert sandbox.poll() is None
    assert (result.code, result.klass) == (1, "PodNamespace"), result.document["reason"]
    located = result.document["probe"]["located"]
    assert (located["pid"], located["exitedDuringRun"]) == (app.pid, True)
    assert result.namespace("target")["attempts"] == 40
    assert result.namespace("target")["netns"] == f"/proc/{app.pid}/ns/net"
    assert result.document["evidence"]["rules"], "evidence gathered after the process exited"


def test_a_pod_whose_processes_all_exit_mid_run_is_inconclusive_not_broken(node, tmp_path):
    # Holding the namespace keeps it alive: without anything else in it (a deleted pod)
    # it would look broken. Here the pod's processes live in a namespace of their own.
    uid = str(uuid.uuid4())
    own = ["unshare", "--net", "sleep", "300"]
    app = node.start_in_pod_cgroup(
        ns=node.pod, pod_uid=uid, container_id=secrets.token_hex(32), argv=own
    )
    time.sleep(0.3)
    killer = _kill_once_measuring(app, marker=str(tmp_path / "termination-log"))
    try:
        result = probe_cli.probe(node, tmp_path, where=["--pod-uid", uid], spread=3.0)
    finally:
        killer.join(timeout=10)
    assert (result.code, result.klass) == (2, "Inconclusive")
    assert "nothing but the probe was left in it" in result.document["reason"]


def _kill_once_measuring(process, *, marker: str) -> threading.Thread:
    """Kill ``process`` a second after the probe (its command line has ``marker``) has
    forked its measuring children: mid-run, however slowly the probe started."""

    def wait_and_kill() -> None:
        deadline = time.monotonic() + 20
        while len(probe_cli.leftover_processes(marker)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        process.kill()

    thread = threading.Thread(target=wait_and_kill, daemon=True)
    thread.start()
    return thread
