"""A probe that never finishes (an image that ignores the probe's arguments and sleeps:
the cluster's pause image) is Inconclusive with a reason naming the deadline, never a
network failure; the check stays Ready and Degraded stays False."""

from __future__ import annotations

import check_waits
import operator_harness as h
import pytest

from nethealth.devcluster import images

pytestmark = pytest.mark.e2e


def test_a_probe_killed_at_its_deadline_is_inconclusive_not_degraded(
    api_client, namespace, operator_for
):
    h.workload(api_client, namespace=namespace, name="slow")
    body = h.check_body("slow", app="slow", probe={"image": images.PAUSE_IMAGE, "deadline": "10s"})
    h.create_check(api_client, namespace=namespace, body=body)
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="slow")
    obj = check.pod_reaches(pod="slow", state="Inconclusive", timeout=90)
    assert h.condition(obj, "Degraded")["status"] == "False"
    assert h.condition(obj, "Ready")["status"] == "True"
    assert obj["status"]["summary"]["degraded"] == 0
    (result,) = obj["status"]["pods"]
    assert "deadline" in result["hint"].lower(), result
    check_events = h.events(api_client, namespace=namespace, kind="NetHealthCheck", name="slow")
    assert any(e.reason == "ProbeInconclusive" for e in check_events)
    scraped = operator_for.metrics()
    assert (
        f'nethealth_probe_inconclusive_total{{check="{namespace}/slow",reason="NotFinished"}}'
        in scraped
    )
