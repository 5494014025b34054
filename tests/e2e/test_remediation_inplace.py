"""The in-place route on the real node: the cure Job (``nethealth cure`` in the project's
image, hostPID, three capabilities) puts ``255.255.255.255/32 dev eth0`` into the selected
pods' own network namespaces and no other, a new pod of the workload gets it too, deleting
the check takes it out again, and the workload itself never changes (its generation stays
1: nothing for Argo CD to see).

The dev cluster's kernel has the fix, so the bug cannot be triggered here: prevention with
``Always`` drives the very Job and shell the cure uses (``loop/cure.py``); the ladder's
sequencing is the fake cluster's (tests/unit/test_loop_inplace.py), the route against the
real bug the kernel tier's (tests/kernel/test_inplace_cure.py).
"""

from __future__ import annotations

import subprocess
import time

import check_waits
import operator_harness as h
import pytest
from kubernetes import client

from nethealth import model
from nethealth.probe import podnetns
from nethealth.remediation import curejob, finalizer

pytestmark = pytest.mark.e2e

TIMEOUT = 150.0  # a run every 30 s; the route goes in at the end of the first run


def _routes(pod_uid: str) -> list[str]:
    """The pod's main-table routes for 255.255.255.255, read from the node."""
    pid = podnetns.find(pod_uid=pod_uid).pid
    done = subprocess.run(
        ["nsenter", f"--net=/proc/{pid}/ns/net", "ip", "-4", "route", "show", "table", "main",
         "255.255.255.255/32"],
        capture_output=True, text=True, check=True, timeout=10,
    )  # fmt: skip
    return [" ".join(line.split()) for line in done.stdout.splitlines() if line.strip()]


def _protected(obj: dict) -> list[str]:
    entry = h.remediation_entry(obj, "web")
    return list(entry.get("pods") or []) if entry.get("state") == "Protected" else []


def _generation(api_client: client.ApiClient, *, namespace: str) -> int:
    deployment = client.AppsV1Api(api_client).read_namespaced_deployment("web", namespace)
    return int(deployment.metadata.generation)


def _cure_jobs(api_client: client.ApiClient, *, namespace: str) -> list:
    selector = f"app.kubernetes.io/name={curejob.NAME}"
    return list(
        client.BatchV1Api(api_client).list_namespaced_job(namespace, label_selector=selector).items
    )


def test_the_route_goes_into_the_selected_pods_only_follows_new_pods_and_leaves_with_the_check(
    api_client, namespace, operator_for
):
    web = h.deployment(api_client, namespace=namespace, name="web")
    other = h.deployment(api_client, namespace=namespace, name="other")
    body = h.check_body("web", app="web", remediation={"mode": "Auto", "prevention": "Always"})
    h.create_check(api_client, namespace=namespace, body=body)
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="web")
    key = f"{namespace}/{web['metadata']['name']}"
    started = time.monotonic()
    protected = check.until(
        what="the pod protected", timeout=TIMEOUT, until=lambda o: key in _protected(o)
    )
    print(f"\nFIGURE prevention: route in {time.monotonic() - started:.0f} s after the check")
    assert _routes(web["metadata"]["uid"]) == ["255.255.255.255 dev eth0 proto 110 scope link"]
    assert _routes(other["metadata"]["uid"]) == []  # not selected: never touched
    entry = h.remediation_entry(protected, "web")
    assert curejob.route() in entry["message"]
    reasons = {
        e.reason for e in h.events(api_client, namespace=namespace, kind=model.KIND, name="web")
    }
    assert "BroadcastRouteAdded" in reasons
    assert finalizer.FINALIZER in protected["metadata"]["finalizers"]
    series = f'nethealth_protected_pods{{check="{namespace}/web"}} 1.0'
    assert series in operator_for.metrics().splitlines()

    # A new pod of the workload (the old one deleted, the ReplicaSet makes another).
    client.CoreV1Api(api_client).delete_namespaced_pod(
        web["metadata"]["name"], namespace, grace_period_seconds=1
    )
    new = h.running_pod(api_client, namespace=namespace, app="web", host_network=False)
    new_key = f"{namespace}/{new['metadata']['name']}"
    check.until(
        what="the new pod protected", timeout=TIMEOUT, until=lambda o: _protected(o) == [new_key]
    )
    assert _routes(new["metadata"]["uid"]) == ["255.255.255.255 dev eth0 proto 110 scope link"]
    assert _routes(other["metadata"]["uid"]) == []

    # No cure Job outlives its result.
    deadline = time.monotonic() + 30
    while _cure_jobs(api_client, namespace=namespace) and time.monotonic() < deadline:
        time.sleep(1)
    assert _cure_jobs(api_client, namespace=namespace) == []

    # Deleting the check takes the route out, then releases the check.
    client.CustomObjectsApi(api_client).delete_namespaced_custom_object(
        model.GROUP, model.VERSION, namespace, model.PLURAL, "web"
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            h.read_check(api_client, namespace=namespace, name="web")
        except client.ApiException as exc:
            if exc.status == 404:
                break
            raise
        time.sleep(0.5)
    else:
        pytest.fail("the check was not released within 90 s of its deletion")
    assert _routes(new["metadata"]["uid"]) == []
    assert _generation(api_client, namespace=namespace) == 1  # the workload never changed
