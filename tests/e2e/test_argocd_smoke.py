"""The real Argo CD of ``argocd_harness`` runs: an Application syncs a Deployment from the
local Git repository into the test's namespace, reports it Synced and Healthy, follows a
pushed commit, and deleting the Application deletes what it synced."""

from __future__ import annotations

import time

import argocd_harness as a
import pytest
from kubernetes import client

from nethealth.devcluster import sleepers

pytestmark = [pytest.mark.e2e, pytest.mark.argocd]

SYNC_TIMEOUT = 120.0


def test_an_application_syncs_a_deployment_from_git_and_deleting_it_deletes_the_deployment(
    argocd_apps, api_client, namespace
):
    argocd = argocd_apps.argocd
    deployment = sleepers.deployment("smoke")
    argocd_apps.push("smoke", {"deployment.yaml": deployment}, message="smoke")
    name = argocd_apps.create("smoke", sync_policy={"automated": {}})

    app = argocd.wait(
        name,
        until=lambda o: a.sync_status(o) == "Synced" and a.health_status(o) == "Healthy",
        timeout=SYNC_TIMEOUT,
        what="Synced and Healthy",
    )
    print(f"\nFIGURE argo cd {argocd.version}: synced {app['status']['sync']['revision'][:8]}")
    apps = client.AppsV1Api(api_client)
    assert apps.read_namespaced_deployment("smoke", namespace).status.ready_replicas == 1

    deployment["metadata"]["labels"]["revision"] = "two"
    pushed = argocd_apps.push("smoke", {"deployment.yaml": deployment}, message="two")
    argocd.wait_synced(name, pushed, timeout=SYNC_TIMEOUT)
    assert apps.read_namespaced_deployment("smoke", namespace).metadata.labels["revision"] == "two"

    assert argocd.delete(name, timeout=60)
    deadline = time.monotonic() + 30
    while apps.list_namespaced_deployment(namespace).items:
        assert time.monotonic() < deadline, "the Deployment outlived its Application"
        time.sleep(0.5)
