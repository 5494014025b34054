"""Probe pods that print garbage, crash or are evicted are Inconclusive with a reason in
status, an Event and a metric, never a network failure: the check stays Ready and its pod
never becomes Degraded, even after more such runs than ``consecutiveRuns``.

Garbage, crashes and the kubelet's eviction come from ``images.FAKE_PROBE_IMAGE``, a
busybox script that takes the probe's arguments and misbehaves as the check's first
target's name says; it is not part of the cluster's images, so ``fake_probe`` imports it
into the node (the shared node or the session's own) the way the node imports its images
at start.

Two evictions, because they look different to the operator:

- through the Eviction API, as ``kubectl drain`` evicts (the everyday one for a short-lived
  pod: node maintenance during a run). The pod is deleted as soon as it stops, usually
  before the operator's next poll; what is left is a Job that counted one failed pod.
  The real probe image runs here, evicted in the middle of its measurement;
- by the kubelet, which evicts under node pressure and leaves the pod ``Failed`` with
  reason ``Evicted``. Pressure on the shared node would disturb everyone, so the same
  kubelet code path is triggered by the pod's own ``ephemeral-storage`` limit
  (``spec.probe.resources``), which the fake probe overfills.
"""

from __future__ import annotations

import time
from typing import Any

import check_waits
import operator_harness as h
import pytest
from kubernetes import client

from nethealth.detection import jobs
from nethealth.devcluster import images, node

pytestmark = pytest.mark.e2e

TARGET = {"host": "203.0.113.1", "port": 443}  # never contacted by the fake probe


@pytest.fixture(scope="module")
def fake_probe(cluster: node.Node) -> str:
    """The fake probe's image, in every node's containerd (import is idempotent)."""
    archive = images.build_fake_probe(cache_dir=images.default_cache_dir())
    node.import_everywhere(run_dir=cluster.run_dir, images=[archive])
    return archive.ref


def _figure(text: str) -> None:
    print(f"\nFIGURE {text}")


def _fake_check(name: str, *, app: str, image: str, **probe: Any) -> dict[str, Any]:
    """A check whose probe is the fake one, misbehaving as ``name`` says."""
    return h.check_body(
        name,
        app=app,
        targets=[{"name": name, **TARGET}],
        probe={"image": image, "deadline": "20s", **probe},
    )


def _inconclusive_events(api_client, *, namespace: str, kind: str, name: str) -> list[Any]:
    listed = h.events(api_client, namespace=namespace, kind=kind, name=name)
    return [e for e in listed if e.reason == "ProbeInconclusive"]


def _probe_pod(api_client, *, namespace: str, check_uid: str, timeout: float) -> Any:
    """The check's probe pod once its container runs."""
    core = client.CoreV1Api(api_client)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = core.list_namespaced_pod(
            namespace, label_selector=f"{jobs.LABEL_CHECK_UID}={check_uid}"
        ).items
        for pod in listed:
            statuses = pod.status.container_statuses or []
            if statuses and all(s.state.running for s in statuses):
                return pod
        time.sleep(0.3)
    pytest.fail(f"no running probe pod of check {check_uid} within {timeout:.0f} s")


def _assert_not_degraded(obj: dict[str, Any], *, pod: str) -> dict[str, Any]:
    """The check is Ready, nothing Degraded; the pod's status entry."""
    assert h.condition(obj, "Ready")["status"] == "True"
    assert h.condition(obj, "Degraded")["status"] == "False"
    assert obj["status"]["summary"]["degraded"] == 0
    (result,) = obj["status"]["pods"]
    assert result["name"] == pod
    assert result["state"] == "Inconclusive"
    return result


def test_a_probe_that_prints_garbage_or_crashes_is_inconclusive_not_degraded(
    api_client, namespace, operator_for, fake_probe
):
    h.workload(api_client, namespace=namespace, name="app")
    # Two checks on one pod: garbage and exit 0; a traceback and exit 1.
    for mode in ("garbage", "crash"):
        body = _fake_check(mode, app="app", image=fake_probe)
        h.create_check(api_client, namespace=namespace, body=body)
    started = time.monotonic()
    firsts = {}
    for mode in ("garbage", "crash"):
        check = check_waits.Check(api_client=api_client, namespace=namespace, name=mode)
        obj = check.pod_reaches(
            pod="app", state="Inconclusive", timeout=60, what=f"{mode}: pod Inconclusive"
        )
        result = _assert_not_degraded(obj, pod="app")
        assert "invalid probe result: not JSON" in result["hint"], result
        events = _inconclusive_events(
            api_client, namespace=namespace, kind="NetHealthCheck", name=mode
        )
        assert events, f"{mode}: no ProbeInconclusive Event on the check"
        assert "invalid probe result" in events[0].message
        firsts[mode] = obj
        took = time.monotonic() - started
        _figure(f"{mode}: Inconclusive {took:.0f} s after the check; hint {result['hint']!r}")
    # Each one's own words, so a person sees what the probe printed.
    assert "Segmentation fault" in firsts["garbage"]["status"]["pods"][0]["hint"]
    assert "Traceback" in firsts["crash"]["status"]["pods"][0]["hint"]
    pod_events = _inconclusive_events(api_client, namespace=namespace, kind="Pod", name="app")
    assert {e.message.rsplit("(NetHealthCheck ", 1)[-1] for e in pod_events} == {
        "garbage)",
        "crash)",
    }
    scraped = operator_for.metrics()
    for mode in ("garbage", "crash"):
        label = f'check="{namespace}/{mode}",reason="BadResult"'
        assert f"nethealth_probe_inconclusive_total{{{label}}}" in scraped
    # consecutiveRuns is 2: a second garbage run would make a counted failure Degraded.
    garbage = check_waits.Check(api_client=api_client, namespace=namespace, name="garbage")
    again = garbage.next_run(after=firsts["garbage"], timeout=45, what="a second garbage run")
    _assert_not_degraded(again, pod="app")
    # One Event for a series of inconclusive runs, not one per run.
    events = _inconclusive_events(
        api_client, namespace=namespace, kind="NetHealthCheck", name="garbage"
    )
    assert sum(e.count or 1 for e in events) == 1


def test_a_probe_pod_evicted_by_a_drain_mid_run_is_inconclusive(
    api_client, namespace, operator_for
):
    h.workload(api_client, namespace=namespace, name="drained")
    # The real probe, measuring over 20 s: long enough to be evicted in the middle.
    body = h.check_body("drained", app="drained", probe={"spread": "20s", "deadline": "40s"})
    created = h.create_check(api_client, namespace=namespace, body=body)
    probe = _probe_pod(
        api_client, namespace=namespace, check_uid=created["metadata"]["uid"], timeout=30
    )
    client.CoreV1Api(api_client).create_namespaced_pod_eviction(
        probe.metadata.name,
        namespace,
        client.V1Eviction(
            metadata=client.V1ObjectMeta(name=probe.metadata.name, namespace=namespace)
        ),
    )
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="drained")
    evicted = time.monotonic()
    obj = check.pod_reaches(
        pod="drained", state="Inconclusive", timeout=40, what="pod Inconclusive after the eviction"
    )
    took = time.monotonic() - evicted
    result = _assert_not_degraded(obj, pod="drained")
    _figure(f"drain eviction: Inconclusive {took:.0f} s after it; hint {result['hint']!r}")
    # Read at once, not at the deadline: the run ended when its only pod was gone.
    assert took < 15
    # Whether the operator saw the stopped pod (DisruptionTarget) or only the Job's count.
    assert "evict" in result["hint"].lower(), result
    assert "no probe pod was created" not in result["hint"]
    assert _inconclusive_events(api_client, namespace=namespace, kind="Pod", name="drained")
    scraped = operator_for.metrics()
    label = f'check="{namespace}/drained",reason="NotFinished"'
    assert f"nethealth_probe_inconclusive_total{{{label}}}" in scraped


def test_a_probe_pod_the_kubelet_evicts_is_inconclusive_with_the_kubelets_reason(
    api_client, namespace, operator_for, fake_probe
):
    h.workload(api_client, namespace=namespace, name="full")
    # The fake probe writes 8 MiB; the kubelet's eviction manager (every 10 s) evicts it.
    body = _fake_check(
        "fill",
        app="full",
        image=fake_probe,
        deadline="40s",
        resources={"limits": {"ephemeral-storage": "1Mi"}},
    )
    h.create_check(api_client, namespace=namespace, body=body)
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="fill")
    started = time.monotonic()
    obj = check.pod_reaches(
        pod="full",
        state="Inconclusive",
        timeout=60,
        what="pod Inconclusive after the kubelet's eviction",
    )
    result = _assert_not_degraded(obj, pod="full")
    took = time.monotonic() - started
    _figure(f"kubelet eviction: Inconclusive {took:.0f} s after the check; {result['hint']!r}")
    assert "pod Evicted" in result["hint"], result
    assert "spec.probe.deadline" not in result["hint"], "the eviction came before the deadline"
    events = _inconclusive_events(
        api_client, namespace=namespace, kind="NetHealthCheck", name="fill"
    )
    assert events
    assert "ephemeral" in events[0].message
