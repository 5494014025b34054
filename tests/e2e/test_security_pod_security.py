"""A namespace that enforces Pod Security ``restricted`` refuses the probe pod: the check
says so on Ready with the level and the way out, posts one Warning Event, and does not try
again every interval (docs/security.md)."""

from __future__ import annotations

import time

import operator_harness as h
import pytest
from kubernetes import client

from nethealth import model

pytestmark = pytest.mark.e2e


def test_a_restricted_namespace_makes_the_check_not_ready_with_the_way_out_and_backs_off(
    api_client: client.ApiClient, namespace: str, operator_for: h.Running
) -> None:
    # The workload first: a restricted namespace would refuse the sleeping busybox too.
    h.workload(api_client, namespace=namespace, name="app")
    core = client.CoreV1Api(api_client)
    labels = {"pod-security.kubernetes.io/enforce": "restricted"}
    core.patch_namespace(namespace, {"metadata": {"labels": labels}})
    body = h.check_body("psa", app="app", probe={"deadline": "10s", "spread": "2s"})
    created = h.create_check(api_client, namespace=namespace, body=body)
    started = time.monotonic()
    refused = h.wait_for(
        api_client,
        namespace=namespace,
        name="psa",
        until=lambda o: (
            h.condition(o, "Ready").get("reason") == model.Reason.PROBE_REFUSED_BY_POD_SECURITY
        ),
        timeout=60,
        what="Ready=False ProbeRefusedByPodSecurity",
    )
    ready = h.condition(refused, "Ready")
    assert ready["status"] == "False"
    assert f"namespace '{namespace}' enforces Pod Security 'restricted'" in ready["message"]
    assert "pod-security.kubernetes.io/enforce=privileged" in ready["message"]
    assert h.pod_state(refused, "app") == model.PodState.INCONCLUSIVE
    warnings = h.events(api_client, namespace=namespace, kind=model.KIND, name="psa")
    assert [e for e in warnings if e.reason == model.Reason.PROBE_REFUSED_BY_POD_SECURITY]
    uid = created["metadata"]["uid"]
    (job,) = h.probe_jobs(api_client, namespace=namespace, check_uid=uid)
    failed = h.events(api_client, namespace=namespace, kind="Job", name=job.metadata.name)
    assert any(e.reason == "FailedCreate" and "PodSecurity" in e.message for e in failed)
    # Without the back-off the second run starts 30-33 s after the first; with it, 60 s.
    time.sleep(max(0.0, started + 48 - time.monotonic()))
    assert len(h.probe_jobs(api_client, namespace=namespace, check_uid=uid)) == 1
