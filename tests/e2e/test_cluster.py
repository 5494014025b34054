"""The dev cluster is real: pods get their own network, Jobs finish, the API is
reachable from pods, and a crashed run is cleaned away by the next start."""

from __future__ import annotations

import ipaddress
import os
import pathlib
import signal
import time
from typing import Any

import kubernetes
import pytest
from kubernetes.stream import stream

from nethealth.devcluster import build, images, layout, node, processes, teardown

pytestmark = pytest.mark.e2e

TIMEOUT = 60.0


def _busybox_pod(name: str, script: str, *, restart: str = "Never") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": restart,
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "main",
                    "image": images.WORKLOAD_IMAGE,
                    "imagePullPolicy": "Never",
                    "command": ["sh", "-c", script],
                }
            ],
        },
    }


def _busybox_job(name: str, script: str) -> dict[str, Any]:
    template = _busybox_pod(name, script)
    del template["apiVersion"], template["kind"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": template},
    }


def _wait_running(core: kubernetes.client.CoreV1Api, *, namespace: str, name: str) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while True:
        pod = core.read_namespaced_pod(name, namespace)
        if pod.status.phase == "Running":
            return pod
        assert pod.status.phase == "Pending", f"pod {name} is {pod.status.phase}"
        assert time.monotonic() < deadline, f"pod {name} not running: {pod.status}"
        time.sleep(0.2)


def _wait_job_finished(batch: kubernetes.client.BatchV1Api, *, namespace: str, name: str) -> str:
    deadline = time.monotonic() + TIMEOUT
    while True:
        job = batch.read_namespaced_job_status(name, namespace)
        for condition in job.status.conditions or []:
            if condition.type in ("Complete", "Failed") and condition.status == "True":
                return str(condition.type)
        assert time.monotonic() < deadline, f"job {name} unfinished: {job.status}"
        time.sleep(0.2)


def _job_termination_message(
    core: kubernetes.client.CoreV1Api, *, namespace: str, job: str
) -> str | None:
    (pod,) = core.list_namespaced_pod(
        namespace, label_selector=f"batch.kubernetes.io/job-name={job}"
    ).items
    (status,) = pod.status.container_statuses
    return status.state.terminated.message if status.state.terminated else None


def _exec(
    core: kubernetes.client.CoreV1Api, *, namespace: str, pod: str, command: list[str]
) -> str:
    session = stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        namespace,
        command=command,
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    try:
        session.run_forever(timeout=TIMEOUT)
        return str(session.read_stdout()).strip()
    finally:
        session.close()
        # websocket-client skips closing the socket when the server closed the
        # stream first (it does, when the command exits): close it here.
        session.sock.shutdown()


def _netns_inode(path: str | pathlib.Path) -> int:
    return os.stat(path).st_ino


def test_a_pod_runs_on_the_node_in_a_network_namespace_of_its_own(api_client, cluster, namespace):
    core = kubernetes.client.CoreV1Api(api_client)
    core.create_namespaced_pod(
        namespace, _busybox_pod("netns", "readlink /proc/self/ns/net; exec sleep 3600")
    )
    pod = _wait_running(core, namespace=namespace, name="netns")

    (info,) = [n for n in cluster.nodes if n.name == pod.spec.node_name]
    assert pod.status.pod_ip is not None
    assert ipaddress.IPv4Address(pod.status.pod_ip) in info.pod_cidr
    # The kubelet's client certificate lets the apiserver exec into the pod.
    pod_netns = _exec(
        core, namespace=namespace, pod="netns", command=["readlink", "/proc/self/ns/net"]
    )
    assert pod_netns.startswith("net:[")
    assert pod_netns != os.readlink("/proc/self/ns/net")
    assert pod_netns != f"net:[{_netns_inode(info.netns)}]"
    # ... and the pod's log is readable through the API.
    deadline = time.monotonic() + TIMEOUT
    while not core.read_namespaced_pod_log("netns", namespace).strip():
        assert time.monotonic() < deadline, "the pod's log stayed empty"
        time.sleep(0.2)
    assert core.read_namespaced_pod_log("netns", namespace).strip() == pod_netns
    # The namespace is CNI's, pinned where the teardown looks for it.
    pinned = {_netns_inode(p) for p in teardown.NETNS_DIR.glob("cni-*")}
    assert int(pod_netns.removeprefix("net:[").removesuffix("]")) in pinned


def test_a_job_completes_and_its_termination_message_is_in_the_pod_status(api_client, namespace):
    batch = kubernetes.client.BatchV1Api(api_client)
    core = kubernetes.client.CoreV1Api(api_client)
    batch.create_namespaced_job(
        namespace, _busybox_job("answer", "echo -n answer=$((6 * 7)) > /dev/termination-log")
    )

    assert _wait_job_finished(batch, namespace=namespace, name="answer") == "Complete"
    assert _job_termination_message(core, namespace=namespace, job="answer") == "answer=42"


def test_pods_reach_the_api_server_through_the_kubernetes_service(api_client, namespace):
    batch = kubernetes.client.BatchV1Api(api_client)
    core = kubernetes.client.CoreV1Api(api_client)
    script = (
        "echo -n $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT > /dev/termination-log; "
        "nc -w 5 $KUBERNETES_SERVICE_HOST $KUBERNETES_SERVICE_PORT < /dev/null"
    )
    batch.create_namespaced_job(namespace, _busybox_job("reach-api", script))

    assert _wait_job_finished(batch, namespace=namespace, name="reach-api") == "Complete"
    service = _job_termination_message(core, namespace=namespace, job="reach-api")
    assert service == f"{layout.api_service_ip()}:443"


def _owned_or_skip(cluster: node.Node) -> None:
    if os.environ.get("NETHEALTH_KUBECONFIG"):
        pytest.skip("the session reuses a node it does not own; it will not crash it")


@pytest.mark.e2e_disruptive
def test_the_next_up_cleans_away_a_run_that_crashed_with_pods_running(api_client, cluster):
    _owned_or_skip(cluster)
    run = layout.RunLayout(root=cluster.run_dir)
    core = kubernetes.client.CoreV1Api(api_client)
    for info in cluster.nodes:
        pod = _busybox_pod(f"survivor-{info.name}", "exec sleep 3600")
        pod["spec"]["nodeName"] = info.name
        core.create_namespaced_pod("default", pod)
    for info in cluster.nodes:
        _wait_running(core, namespace="default", name=f"survivor-{info.name}")
    pid_files = list(run.pids.rglob("*.pid"))
    old_components = [r for r in map(processes.read_pid_file, pid_files) if r is not None]
    old_pod_processes = [
        processes.Recorded(pid=pid, start_time=processes.start_time_of(pid) or 0)
        for pid in teardown.pids_in_kubepods()
    ]
    old_netns = set().union(*(teardown.netns_of_tasks(n) for n in run.node_layouts()))
    assert len(old_components) == 4 + 4 * len(cluster.nodes)
    assert old_pod_processes
    assert len(old_netns) >= len(cluster.nodes)

    # A crash as bad as it gets: every component dies at once, the pods and their
    # shims live on, and the pid files are lost.
    for recorded in old_components:
        os.kill(recorded.pid, signal.SIGKILL)
    for pid_file in pid_files:
        pid_file.unlink()

    restarted = node.up(
        run_dir=cluster.run_dir,
        kubenode=build.ensure_kubenode().path,
        images=images.build_all(),
        pause_image=images.PAUSE_IMAGE,
        nodes=len(cluster.nodes),
    )

    assert not [r for r in old_components if processes.is_alive(r)]
    assert not [r for r in old_pod_processes if processes.is_alive(r)]
    assert not [path for path in old_netns if path.exists()]
    fresh = kubernetes.config.new_client_from_config(str(restarted.kubeconfig))
    try:
        ready = kubernetes.client.CoreV1Api(fresh).list_node().items
        assert sorted(n.metadata.name for n in ready) == sorted(cluster.node_names)
        assert not kubernetes.client.CoreV1Api(fresh).list_namespaced_pod("default").items
    finally:
        fresh.close()
