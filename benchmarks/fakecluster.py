"""Many nodes and pods on one real API server, with no kubelet behind them.

One machine cannot run 10,000 pods, but the operator only ever sees API objects: pods
bound to nodes, nodes that are Ready, probe Jobs whose pods end with a result. This module
makes those objects and plays the kubelets' part for them:

- **fake nodes**: Node objects with capacity, a ``Ready`` condition and a NoSchedule taint
  (``TAINT``) so no other workload on the shared cluster is ever scheduled there (probe
  Jobs tolerate every taint, so they still land on them); ``LeaseKeeper`` renews their
  Leases in ``kube-node-lease`` like a kubelet, so the node lifecycle controller keeps them
  Ready (the operator skips pods on nodes that are not Ready);
- **workload pods**: created bound (``spec.nodeName``) and then given a Running status with
  a pod IP (``100.64.0.0/10`` strings: nothing ever connects to them);
- **the probe completer** (``Completer``): watches probe pods; one the scheduler bound to
  a fake node gets the status a kubelet would write when the probe exits: ``Succeeded``,
  each container terminated with a valid probe result as its termination message. The
  Job controller then completes the Job. The result is built by the project's own probe
  code (``classify`` and ``report``) from synthetic all-successful connects, so it is
  exactly what a healthy real probe leaves.

Every object carries ``RUN_LABEL=<run>``, so ``leftovers`` finds what a killed run left.
Each helper counts its own API requests by verb (``requests``), to tell them apart from
the operator's in the API server's cluster-wide counters.
"""

from __future__ import annotations

import collections
import datetime
import functools
import ipaddress
import threading
from collections.abc import Iterable
from typing import Any, Final

import kubernetes

from nethealth.detection import selection
from nethealth.probe import classify, report, types

RUN_LABEL: Final = "nethealth.bench/scale"
TAINT: Final = {"key": "nethealth.bench/fake-node", "value": "true", "effect": "NoSchedule"}
LEASE_NAMESPACE: Final = "kube-node-lease"
LEASE_SECONDS: Final = 40
RENEW_SECONDS: Final = 10.0
POD_NETWORK: Final = ipaddress.IPv4Network("100.64.0.0/10")
NEVER_PULLED: Final = "localhost/nethealth/bench-never-pulled:0"  # no kubelet pulls it


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Counted:
    """Requests by verb, shared by the helpers' threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()

    def add(self, verb: str, count: int = 1) -> None:
        with self._lock:
            self._counts[verb] += count

    def snapshot(self) -> collections.Counter[str]:
        with self._lock:
            return collections.Counter(self._counts)


# --- nodes ----------------------------------------------------------------------------


def node_manifest(*, name: str, run: str, index: int) -> dict[str, Any]:
    resources = {"cpu": "64", "memory": "256Gi", "pods": "1000"}
    stamp = now()
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                selection.HOSTNAME_LABEL: name,
                "kubernetes.io/os": "linux",
                RUN_LABEL: run,
            },
        },
        "spec": {"taints": [TAINT]},
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "addresses": [
                {"type": "InternalIP", "address": str(POD_NETWORK[index + 1])},
                {"type": "Hostname", "address": name},
            ],
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "a fake node of the scale benchmark",
                    "lastHeartbeatTime": stamp,
                    "lastTransitionTime": stamp,
                }
            ],
        },
    }


def create_node(api_client: Any, *, name: str, run: str, index: int, counted: Counted) -> None:
    core = kubernetes.client.CoreV1Api(api_client)
    body = node_manifest(name=name, run=run, index=index)
    core.create_node(body)
    # The API server may drop status on create: write it through the subresource too.
    core.patch_node_status(name, {"status": body["status"]})
    counted.add("POST")
    counted.add("PATCH")


class LeaseKeeper:
    """Renews each fake node's Lease every RENEW_SECONDS, like its kubelet would."""

    def __init__(self, api_client: Any, *, nodes: Iterable[str], run: str, counted: Counted):
        self._api = kubernetes.client.CoordinationV1Api(api_client)
        self._nodes = list(nodes)
        self._run = run
        self._counted = counted
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="lease-keeper", daemon=True)

    def start(self) -> None:
        for node in self._nodes:
            body = {
                "metadata": {"name": node, "labels": {RUN_LABEL: self._run}},
                "spec": {
                    "holderIdentity": node,
                    "leaseDurationSeconds": LEASE_SECONDS,
                    "renewTime": micro_now(),
                },
            }
            self._api.create_namespaced_lease(LEASE_NAMESPACE, body)
            self._counted.add("POST")
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            for node in self._nodes:
                if self._stop.is_set():
                    return
                try:
                    patch = {"spec": {"renewTime": micro_now()}}
                    self._api.patch_namespaced_lease(node, LEASE_NAMESPACE, patch)
                    self._counted.add("PATCH")
                except kubernetes.client.ApiException:
                    self._counted.add("PATCH")  # retried at the next round

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)


# --- workload pods ----------------------------------------------------------------------


def pod_manifest(*, name: str, app: str, node: str, run: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app, RUN_LABEL: run}},
        "spec": {
            "nodeName": node,
            "tolerations": [dict(TAINT, operator="Equal")],
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "containers": [{"name": "app", "image": NEVER_PULLED}],
        },
    }


def running_status(*, ip: str, host_ip: str) -> dict[str, Any]:
    stamp = now()
    return {
        "status": {
            "phase": "Running",
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": stamp,
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": stamp}
                for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
            ],
            "containerStatuses": [
                {
                    "name": "app",
                    "image": NEVER_PULLED,
                    "imageID": "",
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": stamp}},
                }
            ],
        }
    }


def create_running_pod(
    api_client: Any,
    *,
    namespace: str,
    manifest: dict[str, Any],
    ip: str,
    host_ip: str,
    counted: Counted,
) -> None:
    core = kubernetes.client.CoreV1Api(api_client)
    core.create_namespaced_pod(namespace, manifest)
    core.patch_namespaced_pod_status(
        manifest["metadata"]["name"], namespace, running_status(ip=ip, host_ip=host_ip)
    )
    counted.add("POST")
    counted.add("PATCH")


# --- the probe completer --------------------------------------------------------------


@functools.cache
def healthy_result(attempts: int) -> str:
    """The termination message of a probe that saw every connect succeed (compact JSON)."""
    target = types.Target(name="api", host="203.0.113.1", port=443)
    measurements = [
        types.Measurement(
            role=role,
            netns=f"synthetic:{role.value}",
            attempts=tuple(
                types.Attempt(
                    target=target.name,
                    address=target.host,
                    at=i * 0.5,
                    cpu=i % 2,
                    immediate_errno=0,
                    final_errno=0,
                    duration=0.001,
                )
                for i in range(attempts)
            ),
        )
        for role in types.Role
    ]
    verdict = classify.classify(measurements=measurements, evidence=None, kernel=None)
    if verdict.klass is not types.ProbeClass.HEALTHY:
        raise RuntimeError(f"synthetic connects classified {verdict.klass}, not Healthy")
    moment = datetime.datetime.now(datetime.UTC)
    doc = report.build(
        verdict=verdict,
        measurements=measurements,
        evidence=None,
        kernel=None,
        targets=[target],
        started=moment,
        finished=moment,
        probe_info={"synthetic": "operator_scale benchmark"},
    )
    return report.compact(doc)


def _attempts(container: Any) -> int:
    args = list(container.args or [])
    if "--attempts" in args:
        return int(args[args.index("--attempts") + 1])
    return 60


def succeeded_status(pod: Any) -> dict[str, Any]:
    stamp = now()
    return {
        "status": {
            "phase": "Succeeded",
            "startTime": stamp,
            "containerStatuses": [
                {
                    "name": c.name,
                    "image": c.image,
                    "imageID": "",
                    "ready": False,
                    "started": False,
                    "restartCount": 0,
                    "state": {
                        "terminated": {
                            "exitCode": 0,
                            "reason": "Completed",
                            "message": healthy_result(_attempts(c)),
                            "startedAt": stamp,
                            "finishedAt": stamp,
                        }
                    },
                }
                for c in pod.spec.containers
            ],
        }
    }


class Completer:
    """Ends every probe pod bound to a fake node with a healthy result, as a kubelet would."""

    def __init__(self, api_client: Any, *, nodes: Iterable[str], counted: Counted):
        self._core = kubernetes.client.CoreV1Api(api_client)
        self._nodes = frozenset(nodes)
        self._counted = counted
        self._stop = threading.Event()
        self._done: set[str] = set()
        self.completed = 0
        self._thread = threading.Thread(target=self._serve, name="probe-completer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        selector = f"{selection.PROBE_LABEL}=true"
        version: str | None = None
        while not self._stop.is_set():
            try:
                if version is None:
                    listed = self._core.list_pod_for_all_namespaces(label_selector=selector)
                    self._counted.add("LIST")
                    version = listed.metadata.resource_version
                    for pod in listed.items:
                        self._complete(pod)
                stream = kubernetes.watch.Watch().stream(
                    self._core.list_pod_for_all_namespaces,
                    label_selector=selector,
                    resource_version=version,
                    timeout_seconds=5,
                    allow_watch_bookmarks=True,
                )
                self._counted.add("WATCH")
                for event in stream:
                    version = event["object"].metadata.resource_version
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._complete(event["object"])
                    if self._stop.is_set():
                        break
            except kubernetes.client.ApiException as exc:
                if exc.status == 410:
                    version = None  # too old: list again
                else:
                    self._stop.wait(1)
            except Exception:  # the watch's connection dropped: resume from `version`
                self._stop.wait(1)

    def _complete(self, pod: Any) -> None:
        node = pod.spec.node_name
        if node not in self._nodes or pod.metadata.uid in self._done:
            return
        if pod.metadata.deletion_timestamp or (pod.status and pod.status.phase != "Pending"):
            return
        try:
            self._core.patch_namespaced_pod_status(
                pod.metadata.name, pod.metadata.namespace, succeeded_status(pod)
            )
            self._done.add(pod.metadata.uid)
            self.completed += 1
        except kubernetes.client.ApiException:
            pass  # deleted meanwhile, or a conflict: a later event retries
        finally:
            self._counted.add("PATCH")

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
