"""The users' flow with a real Argo CD, in steps the Argo CD tests share: a workload and its
check in Git, synced by an Application; waiting on the Application and on the check
together; counting what changes the workload."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import argocd_harness as a
import check_waits
import operator_harness as h
from kubernetes import client

from nethealth import model
from nethealth.devcluster import sleepers

SYNC_TIMEOUT = 120.0
# The first probe run, a fault seen, a rollout verified: each within a few 30 s intervals.
RUN_TIMEOUT = 150.0
INTERVAL_SECONDS = 30.0  # the CRD's minimum, the checks' interval here
WORKLOAD = "web"
CHECK = "web"


def manifests(*, undo: bool = False, **check_spec: Any) -> dict[str, Any]:
    """The workload (one busybox pod) and its check (remediation Auto, degraded after one
    failing run) as they sit in Git.

    ``undo``: the commit of someone who wants the pod network back: the manifest names
    ``hostNetwork: false`` and ``dnsPolicy: ClusterFirst``, and the Deployment gets a label
    (``hostNetwork: false`` alone is no difference to Argo CD: false is the field's zero
    value, which it drops before comparing, so no sync would ever apply it)."""
    deployment = sleepers.deployment(WORKLOAD)
    if undo:
        deployment["metadata"]["labels"]["revision"] = "undo"
        deployment["spec"]["template"]["spec"]["hostNetwork"] = False
        deployment["spec"]["template"]["spec"]["dnsPolicy"] = "ClusterFirst"
    spec: dict[str, Any] = {"threshold": {"consecutiveRuns": 1}, "remediation": {"mode": "Auto"}}
    spec.update(check_spec)
    check = h.check_body(CHECK, app=WORKLOAD, **spec)
    return {"deployment.yaml": deployment, "check.yaml": check}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Flow:
    """One test's Application of the workload and check, and the live objects."""

    apps: a.Apps
    api_client: client.ApiClient
    app: str

    @property
    def argocd(self) -> a.ArgoCD:
        return self.apps.argocd

    @property
    def check(self) -> check_waits.Check:
        return check_waits.Check(api_client=self.api_client, namespace=self.namespace, name=CHECK)

    @property
    def namespace(self) -> str:
        return self.apps.namespace

    def wait(
        self, until: Callable[[dict[str, Any]], bool], *, what: str, timeout: float = SYNC_TIMEOUT
    ) -> dict[str, Any]:
        return self.argocd.wait(self.app, until=until, timeout=timeout, what=what)

    def check_health(self, app: dict[str, Any]) -> str | None:
        """The health Argo CD computes for the check with ``argocd/health.lua``."""
        return a.resource_health(app, kind=model.KIND, name=CHECK).get("status")

    def workload(self) -> dict[str, Any]:
        deployment = client.AppsV1Api(self.api_client).read_namespaced_deployment(
            WORKLOAD, self.namespace
        )
        return self.api_client.sanitize_for_serialization(deployment)  # type: ignore[no-any-return]

    def push(self, files: dict[str, Any], *, message: str) -> str:
        """Pushes a new version of the Application's directory and has Argo CD sync it."""
        pushed = self.apps.push("app", files, message=message)
        self.argocd.wait_synced(self.app, pushed, timeout=SYNC_TIMEOUT)
        return pushed


def start(
    apps: a.Apps,
    api_client: client.ApiClient,
    files: dict[str, Any],
    *,
    sync_policy: dict[str, Any] | None = None,
    ignore_differences: list[dict[str, Any]] | None = None,
) -> Flow:
    """Pushes ``files`` and creates an Application that syncs them automatically."""
    apps.push("app", files, message="the workload and its check")
    name = apps.create(
        "app",
        sync_policy=sync_policy or {"automated": {"prune": True, "selfHeal": True}},
        ignore_differences=ignore_differences,
    )
    return Flow(apps=apps, api_client=api_client, app=name)


def generations_during(flow: Flow, *, seconds: float) -> tuple[set[int], set[str | None]]:
    """The workload's generations and the Application's sync statuses seen over ``seconds``
    (sampled every second): what changed the workload, and whether Argo CD ever saw drift."""
    generations: set[int] = set()
    syncs: set[str | None] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        generations.add(int(flow.workload()["metadata"]["generation"]))
        syncs.add(a.sync_status(flow.argocd.read(flow.app)))
        time.sleep(1)
    return generations, syncs


def sync_count(app: dict[str, Any]) -> int:
    """How many syncs Argo CD has run for the Application (its history)."""
    return len((app.get("status") or {}).get("history") or [])
