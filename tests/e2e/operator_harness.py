"""Helpers for e2e tests of the operator: the CRD, the operator as a real process, a
workload pod, a check, waiting on status, and a fault in a pod's network namespace."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from nethealth import model
from nethealth.detection import jobs
from nethealth.devcluster import images, sleepers
from nethealth.model import definition

MISSING_IMAGE = "localhost/nethealth/does-not-exist:0"
# The probe images the tests' checks name: a fake probe, one that never starts, and the
# pause image (a probe that never finishes).
TEST_PROBE_IMAGES = (images.FAKE_PROBE_IMAGE, MISSING_IMAGE, images.PAUSE_IMAGE)
API_TARGET = {"name": "api", "host": "203.0.113.1", "port": 443}  # the kubernetes Service


def install_crd(api_client: client.ApiClient) -> None:
    """Create or update the CRD; parallel tests all do, so a lost update race is retried."""
    api = client.ApiextensionsV1Api(api_client)
    body = definition.manifest()
    name = body["metadata"]["name"]
    for _ in range(20):
        try:
            api.create_custom_resource_definition(body)
            break
        except client.ApiException as exc:
            if exc.status != 409:
                raise
        current = api.read_custom_resource_definition(name)
        if api_client.sanitize_for_serialization(current.spec) == body["spec"]:
            break
        body["metadata"]["resourceVersion"] = current.metadata.resource_version
        try:
            api.replace_custom_resource_definition(name, body)
            break
        except client.ApiException as exc:
            if exc.status != 409:  # another test replaced it first: read it again
                raise
        del body["metadata"]["resourceVersion"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = api.read_custom_resource_definition(name)
        if any(c.type == "Established" and c.status == "True" for c in got.status.conditions or []):
            return
        time.sleep(0.2)
    pytest.fail("CRD never became Established")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Running:
    proc: subprocess.Popen[bytes]
    metrics_port: int

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())

    def healthz(self) -> int:
        url = f"http://127.0.0.1:{self.metrics_port}/healthz"
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def operator(
    *,
    kubeconfig: pathlib.Path,
    log: pathlib.Path,
    namespaces: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
) -> Iterator[Running]:
    """``nethealth operator`` as a user runs it; stopped (and its log shown) afterwards."""
    if not namespaces and os.environ.get("PYTEST_XDIST_WORKER"):
        # It would serve every parallel test's checks beside their own operators.
        raise AssertionError(
            "a cluster-wide operator in a parallel (xdist) pass: mark the test e2e_serial,"
            " which the parallel pass leaves out (-m 'not e2e_serial'), and run it without -n"
        )
    port = _free_port()
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "NETHEALTH_NAMESPACE": "nethealth-system",
        "NETHEALTH_PROBE_IMAGE": images.NETHEALTH_IMAGE,
        "NETHEALTH_ALLOWED_PROBE_IMAGES": ",".join(TEST_PROBE_IMAGES),
        "NETHEALTH_METRICS_PORT": str(port),
        **(extra_env or {}),
    }
    args = [sys.executable, "-m", "nethealth", "operator", "--verbose"]
    for namespace in namespaces:
        args += ["--namespace", namespace]
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            args, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield Running(proc=proc, metrics_port=port)
    finally:
        stop(proc)
        with contextlib.suppress(FileNotFoundError):
            sys.stderr.write(log.read_text()[-3000:])


def stop(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    if proc.poll() is not None:
        return
    if kill:
        proc.send_signal(signal.SIGKILL)
    else:
        proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def workload(api_client: client.ApiClient, *, namespace: str, name: str) -> dict[str, Any]:
    """A busybox pod that sleeps, Running, as the API returns it."""
    core = client.CoreV1Api(api_client)
    core.create_namespaced_pod(
        namespace,
        {"metadata": {"name": name, "labels": {"app": name}}, "spec": sleepers.pod_spec()},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pod = core.read_namespaced_pod(name, namespace)
        if pod.status.phase == "Running" and pod.status.pod_ip:
            return client.ApiClient().sanitize_for_serialization(pod)  # type: ignore[no-any-return]
        time.sleep(0.3)
    pytest.fail(f"pod {namespace}/{name} never ran")


def check_body(name: str, *, app: str, **spec: Any) -> dict[str, Any]:
    """A check with short, fast runs: 20 connects over 4 s every 30 s (the minimum)."""
    full = {
        "selector": {"matchLabels": {"app": app}},
        "targets": [API_TARGET],
        "probe": {
            "interval": "30s",
            "attempts": 20,
            "spread": "4s",
            "timeout": "1s",
            "deadline": "40s",
        },
        "threshold": {"minSamples": 20, "consecutiveRuns": 2, "recoveryRuns": 2},
    }
    for key, value in spec.items():
        full[key] = {**full.get(key, {}), **value} if isinstance(value, dict) else value
    return {
        "apiVersion": model.API_VERSION,
        "kind": model.KIND,
        "metadata": {"name": name},
        "spec": full,
    }


def create_check(
    api_client: client.ApiClient, *, namespace: str, body: dict[str, Any]
) -> dict[str, Any]:
    api = client.CustomObjectsApi(api_client)
    created: dict[str, Any] = api.create_namespaced_custom_object(
        model.GROUP, model.VERSION, namespace, model.PLURAL, body
    )
    return created


def read_check(api_client: client.ApiClient, *, namespace: str, name: str) -> dict[str, Any]:
    api = client.CustomObjectsApi(api_client)
    got: dict[str, Any] = api.get_namespaced_custom_object(
        model.GROUP, model.VERSION, namespace, model.PLURAL, name
    )
    return got


def wait_for(
    api_client: client.ApiClient,
    *,
    namespace: str,
    name: str,
    until: Callable[[dict[str, Any]], bool],
    timeout: float,
    what: str,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    obj: dict[str, Any] = {}
    while time.monotonic() < deadline:
        obj = read_check(api_client, namespace=namespace, name=name)
        if until(obj):
            return obj
        time.sleep(1)
    pytest.fail(f"{what} not within {timeout:.0f} s; status: {obj.get('status')}")


def pod_state(obj: dict[str, Any], pod: str) -> str | None:
    for result in (obj.get("status") or {}).get("pods") or []:
        if result["name"] == pod:
            return str(result["state"])
    return None


def condition(obj: dict[str, Any], type: str) -> dict[str, Any]:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == type), {})


def probe_jobs(api_client: client.ApiClient, *, namespace: str, check_uid: str) -> list[Any]:
    batch = client.BatchV1Api(api_client)
    selector = f"{jobs.LABEL_CHECK_UID}={check_uid}"
    return list(batch.list_namespaced_job(namespace, label_selector=selector).items)


def events(api_client: client.ApiClient, *, namespace: str, kind: str, name: str) -> list[Any]:
    core = client.CoreV1Api(api_client)
    selector = f"involvedObject.kind={kind},involvedObject.name={name}"
    return list(core.list_namespaced_event(namespace, field_selector=selector).items)


def deployment(api_client: client.ApiClient, *, namespace: str, name: str) -> dict[str, Any]:
    """A one-replica Deployment of a sleeping busybox, its pod Running."""
    client.AppsV1Api(api_client).create_namespaced_deployment(namespace, sleepers.deployment(name))
    return running_pod(api_client, namespace=namespace, app=name, host_network=False)


def running_pod(
    api_client: client.ApiClient, *, namespace: str, app: str, host_network: bool
) -> dict[str, Any]:
    core = client.CoreV1Api(api_client)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod(namespace, label_selector=f"app={app}").items
        live = [
            p
            for p in pods
            if p.metadata.deletion_timestamp is None
            and p.status.phase == "Running"
            and bool(p.spec.host_network) is host_network
        ]
        if len(live) == 1 and len(pods) == 1:
            return api_client.sanitize_for_serialization(live[0])  # type: ignore[no-any-return]
        time.sleep(0.5)
    pytest.fail(f"no single Running pod of {app} with hostNetwork={host_network}")


def remediation_entry(obj: dict[str, Any], name: str) -> dict[str, Any]:
    entries = (obj.get("status") or {}).get("remediation") or []
    return next((e for e in entries if e["name"] == name), {})
