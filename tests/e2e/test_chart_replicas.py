"""Two replicas from the chart (``replicaCount: 2``): exactly one leads through the Lease,
only the leader launches probe Jobs, and killing the leader's pod hands the checks over.

Both replicas run as pods under the chart's ServiceAccount and Role, so this also shows
that the Role's Lease verbs are enough. Which replica probes is read from each pod's own
``/metrics`` (through the API server's pod proxy): a follower serves metrics and
``/healthz`` (it is Ready) but has measured nothing.

The release is confined to the test's namespace (``operator.watchNamespaces``); its name
is derived from the namespace, so its cluster-scoped ClusterRole cannot collide with
another test's release.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import operator_harness as h
import pytest
from kubernetes import client

from nethealth.detection import jobs
from nethealth.devcluster import images
from nethealth.loop import election

pytestmark = pytest.mark.e2e

CHART = pathlib.Path(__file__).resolve().parents[2] / "charts" / "nethealth-operator"
SELECTOR = "app.kubernetes.io/name=nethealth-operator"
T = TypeVar("T")


def _helm(helm: pathlib.Path, kubeconfig: pathlib.Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(helm), "--kubeconfig", str(kubeconfig), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], *, timeout: float) -> tuple[int, str]:
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
    return proc.returncode, output


def _diagnosis(core: client.CoreV1Api, namespace: str) -> str:
    lines = []
    for pod in core.list_namespaced_pod(namespace, label_selector=SELECTOR).items:
        lines.append(f"--- pod {pod.metadata.name}: {pod.status.phase}")
        try:
            lines.append(core.read_namespaced_pod_log(pod.metadata.name, namespace, tail_lines=40))
        except client.ApiException as exc:
            lines.append(f"(no log: {exc.reason})")
    return "\n".join(lines)


@pytest.fixture
def release(cluster: Any, namespace: str, helm: pathlib.Path, api_client: Any) -> Iterator[str]:
    """The chart with two replicas in the test's namespace; uninstalled afterwards."""
    name = f"nh2-{namespace.removeprefix('t-')}"
    repository, tag = images.NETHEALTH_IMAGE.rsplit(":", 1)
    sets = {
        "replicaCount": "2",
        "image.repository": repository,
        "image.tag": tag,
        "image.pullPolicy": "Never",
        "operator.watchNamespaces": f"{{{namespace}}}",
    }
    args = ["install", name, str(CHART), "--namespace", namespace, "--wait", "--timeout", "180s"]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    try:
        code, output = _finish(_helm(helm, cluster.kubeconfig, *args), timeout=240)
        if code != 0:
            core = client.CoreV1Api(api_client)
            pytest.fail(f"helm install: {output}\n{_diagnosis(core, namespace)}")
        yield name
    finally:
        uninstall = ["uninstall", name, "--namespace", namespace, "--wait", "--timeout", "60s"]
        _finish(_helm(helm, cluster.kubeconfig, *uninstall), timeout=120)


def _eventually(probe: Callable[[], T | None], *, timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(1)
    pytest.fail(f"{what} not within {timeout:.0f} s")


def _running_pods(core: client.CoreV1Api, namespace: str) -> dict[str, Any]:
    pods = core.list_namespaced_pod(namespace, label_selector=SELECTOR).items
    return {
        p.metadata.name: p
        for p in pods
        if p.metadata.deletion_timestamp is None and p.status.phase == "Running"
    }


def _holder_pod(
    coordination: client.CoordinationV1Api, namespace: str, pods: dict[str, Any]
) -> str | None:
    """The pod whose process holds the Lease (identities are ``<hostname>-<pid>``)."""
    try:
        lease = coordination.read_namespaced_lease(election.LEASE_NAME, namespace)
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise
    identity = lease.spec.holder_identity or ""
    matching = [name for name in pods if identity.rsplit("-", 1)[0] == name]
    return matching[0] if len(matching) == 1 else None


def _runs_measured(core: client.CoreV1Api, *, namespace: str, pod: str, check: str) -> int:
    """The probe runs this replica measured for the check, from its own /metrics."""
    text = core.connect_get_namespaced_pod_proxy_with_path(f"{pod}:8080", namespace, "metrics")
    pattern = rf'^nethealth_probe_runs_total\{{check="{re.escape(check)}",[^}}]*\}} (\S+)$'
    return int(sum(float(v) for v in re.findall(pattern, text, re.MULTILINE)))


def test_two_chart_replicas_elect_one_leader_that_alone_probes_and_hands_over_when_killed(
    api_client: Any, namespace: str, release: str
) -> None:
    core = client.CoreV1Api(api_client)
    coordination = client.CoordinationV1Api(api_client)
    pods = _running_pods(core, namespace)
    assert len(pods) == 2, f"two operator pods expected: {sorted(pods)}"
    for pod in pods.values():
        env = {e.name: e.value for e in pod.spec.containers[0].env}
        assert env["NETHEALTH_LEADER_ELECTION"] == "true"
        assert all(status.ready for status in pod.status.container_statuses)
    leader = _eventually(
        lambda: _holder_pod(coordination, namespace, pods), timeout=30, what="a Lease holder"
    )
    (follower,) = set(pods) - {leader}

    h.workload(api_client, namespace=namespace, name="web")
    created = h.create_check(api_client, namespace=namespace, body=h.check_body("web", app="web"))
    check = f"{namespace}/web"
    first = h.wait_for(
        api_client,
        namespace=namespace,
        name="web",
        timeout=120,
        what="pod Healthy, measured by the leader",
        until=lambda o: h.pod_state(o, "web") == "Healthy",
    )
    assert _runs_measured(core, namespace=namespace, pod=leader, check=check) >= 1
    assert _runs_measured(core, namespace=namespace, pod=follower, check=check) == 0
    leader_log = core.read_namespaced_pod_log(leader, namespace)
    follower_log = core.read_namespaced_pod_log(follower, namespace)
    assert "elected leader" in leader_log
    assert "elected leader" not in follower_log

    # Killed, not stopped: no graceful step-down, the Lease must expire.
    core.delete_namespaced_pod(leader, namespace, grace_period_seconds=0)
    killed = time.monotonic()
    successor = _eventually(
        lambda: (
            holder
            if (holder := _holder_pod(coordination, namespace, _running_pods(core, namespace)))
            not in (None, leader)
            else None
        ),
        timeout=60,
        what="a new Lease holder",
    )
    took_over = time.monotonic() - killed
    after = h.wait_for(
        api_client,
        namespace=namespace,
        name="web",
        timeout=120,
        what="a run by the new leader",
        until=lambda o: (
            o["status"]["lastRunTime"] > first["status"]["lastRunTime"]
            and _runs_measured(core, namespace=namespace, pod=successor, check=check) >= 1
        ),
    )
    print(
        f"\nFIGURE chart replicas: new Lease holder {took_over:.0f} s, next run "
        f"{time.monotonic() - killed:.0f} s after the leader's pod was killed"
    )
    assert h.pod_state(after, "web") == "Healthy"
    survivors = set(_running_pods(core, namespace)) - {successor}
    for pod in survivors:
        assert _runs_measured(core, namespace=namespace, pod=pod, check=check) == 0, pod
    listed = h.probe_jobs(api_client, namespace=namespace, check_uid=created["metadata"]["uid"])
    runs = [j.metadata.labels[jobs.LABEL_RUN] for j in listed]
    assert len(runs) == len(set(runs)), f"a run was launched twice: {sorted(runs)}"
