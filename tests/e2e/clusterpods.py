"""Pods for the cluster tests: pinned to a node, exec'd into, with a busybox server."""

from __future__ import annotations

import time
from typing import Any

import kubernetes
from kubernetes.stream import stream

from nethealth.devcluster import images

TIMEOUT = 90.0
SERVER_PORT = 8080


def busybox_pod(
    name: str,
    script: str,
    *,
    node: str | None = None,
    labels: dict[str, str] | None = None,
    host_network: bool = False,
    dns_policy: str | None = None,
    image: str = images.WORKLOAD_IMAGE,
    command: list[str] | None = None,
    restart: str = "Never",
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "restartPolicy": restart,
        "terminationGracePeriodSeconds": 0,
        "automountServiceAccountToken": False,
        "containers": [
            {
                "name": "main",
                "image": image,
                "imagePullPolicy": "Never",
                "command": command or ["sh", "-c", script],
            }
        ],
    }
    if node is not None:
        spec["nodeName"] = node
    if host_network:
        spec["hostNetwork"] = True
    if dns_policy is not None:
        spec["dnsPolicy"] = dns_policy
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": name}},
        "spec": spec,
    }


def server_pod(name: str, *, node: str) -> dict[str, Any]:
    """busybox's httpd on ``SERVER_PORT``, pinned to ``node``."""
    return busybox_pod(name, f"exec httpd -f -p {SERVER_PORT} -h /tmp", node=node)


def sleeper(name: str, **kwargs: Any) -> dict[str, Any]:
    return busybox_pod(name, "exec sleep 3600", **kwargs)


def wait_running(core: kubernetes.client.CoreV1Api, *, namespace: str, name: str) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while True:
        pod = core.read_namespaced_pod(name, namespace)
        if pod.status.phase == "Running" and pod.status.pod_ip:
            return pod
        assert pod.status.phase == "Pending", f"pod {name} is {pod.status.phase}"
        assert time.monotonic() < deadline, f"pod {name} not running: {pod.status}"
        time.sleep(0.2)


def wait_finished(core: kubernetes.client.CoreV1Api, *, namespace: str, name: str) -> Any:
    """The pod once it has Succeeded or Failed, with its termination message."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        pod = core.read_namespaced_pod(name, namespace)
        if pod.status.phase in ("Succeeded", "Failed"):
            return pod
        assert time.monotonic() < deadline, f"pod {name} unfinished: {pod.status}"
        time.sleep(0.3)


def termination_message(pod: Any) -> str:
    (status,) = pod.status.container_statuses
    return str(status.state.terminated.message or "") if status.state.terminated else ""


def exec_in(
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


def connects(
    core: kubernetes.client.CoreV1Api, *, namespace: str, pod: str, host: str, port: int
) -> bool:
    """Whether ``pod`` opens a TCP connection to ``host:port`` within 3 s (busybox nc)."""
    script = f"nc -w 3 {host} {port} </dev/null >/dev/null 2>&1 && echo yes || echo no"
    answer = exec_in(core, namespace=namespace, pod=pod, command=["sh", "-c", script])
    return answer.endswith("yes")
