"""An evicted probe pod is Inconclusive with a reason that says so, never a network failure
and never "no probe pod was created".

The Job and pod shapes are the ones the dev cluster (k8s 1.36) showed: after an eviction
through the Eviction API (what ``kubectl drain`` does) the pod is deleted as soon as it
stops and the Job says ``Failed``/``BackoffLimitExceeded`` with ``failed: 1``; a pod the
kubelet evicts under pressure stays, ``Failed`` with reason ``Evicted``.
"""

from __future__ import annotations

import json
from typing import Any

from nethealth.detection import jobs, results

MEASURED = [{"container": "probe-0", "namespace": "apps", "name": "a", "uid": "uid-a"}]
ANNOTATIONS = {jobs.ANNOTATION_PODS: json.dumps(MEASURED)}
BACKOFF = {
    "status": "True",
    "reason": "BackoffLimitExceeded",
    "message": "Job has reached the specified backoff limit",
}


def _job(*, failed: int, conditions: list[dict[str, Any]]) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": conditions}
    if failed:
        status["failed"] = failed
    return {"metadata": {"name": "nhp-a-1", "annotations": ANNOTATIONS}, "status": status}


def _killed_pod(**status: Any) -> dict[str, Any]:
    container = {
        "name": "probe-0",
        "state": {"terminated": {"exitCode": 137, "reason": "Error"}},
    }
    return {
        "metadata": {"name": "nhp-a-1-x", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {"phase": "Failed", "containerStatuses": [container], **status},
    }


def test_a_pod_evicted_by_a_drain_and_already_gone_is_not_finished_not_never_created() -> None:
    job = _job(failed=1, conditions=[{"type": "Failed", **BACKOFF}])
    outcome = results.collect(job=job, pods=[])["apps/a"]
    assert outcome.inconclusive
    assert outcome.why is results.Why.NOT_FINISHED
    assert "evicted or deleted before it finished" in outcome.run.reason
    assert "BackoffLimitExceeded" in outcome.run.reason
    assert "no probe pod was created" not in outcome.run.reason


def test_a_job_whose_pod_never_existed_still_says_no_pod_was_created() -> None:
    # Admission refusals leave failed at 0: the Job controller retries the create.
    outcome = results.collect(job=_job(failed=0, conditions=[]), pods=[])["apps/a"]
    assert outcome.why is results.Why.NOT_CREATED
    assert "no probe pod was created" in outcome.run.reason


def test_a_refusal_event_wins_over_the_failed_count() -> None:
    job = _job(failed=1, conditions=[{"type": "Failed", **BACKOFF}])
    outcome = results.collect(job=job, pods=[], refused="violates PodSecurity")["apps/a"]
    assert outcome.why is results.Why.NOT_CREATED
    assert "violates PodSecurity" in outcome.run.reason


def test_a_drained_pod_seen_before_it_goes_names_the_eviction() -> None:
    disrupted = {
        "type": "DisruptionTarget",
        "status": "True",
        "reason": "EvictionByEvictionAPI",
        "message": "Eviction API: evicting",
    }
    pod = _killed_pod(conditions=[{"type": "Ready", "status": "False"}, disrupted])
    outcome = results.collect(job=_job(failed=0, conditions=[]), pods=[pod])["apps/a"]
    assert outcome.why is results.Why.NOT_FINISHED
    assert "exit 137" in outcome.run.reason
    assert "EvictionByEvictionAPI: Eviction API: evicting" in outcome.run.reason


def test_a_pod_the_kubelet_evicted_keeps_the_kubelets_words() -> None:
    message = "Pod ephemeral local storage usage exceeds the total limit of containers 1Mi."
    pod = _killed_pod(reason="Evicted", message=message)
    job = _job(failed=1, conditions=[{"type": "Failed", **BACKOFF}])
    outcome = results.collect(job=job, pods=[pod])["apps/a"]
    assert outcome.why is results.Why.NOT_FINISHED
    assert f"pod Evicted: {message}" in outcome.run.reason
    assert "disrupted" not in outcome.run.reason


def test_a_container_the_kubelet_lost_on_eviction_is_not_read_as_a_probe_result() -> None:
    # The kubelet writes its own words where the termination message goes.
    lost = {
        "name": "probe-0",
        "state": {
            "terminated": {
                "exitCode": 137,
                "reason": "ContainerStatusUnknown",
                "message": "The container could not be located when the pod was terminated",
            }
        },
    }
    pod = {
        "metadata": {"name": "nhp-x", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {"phase": "Failed", "reason": "Evicted", "containerStatuses": [lost]},
    }
    job = {
        "metadata": {
            "name": "nhp",
            "annotations": {
                jobs.ANNOTATION_PODS: json.dumps(
                    [{"container": "probe-0", "namespace": "apps", "name": "a", "uid": "u"}]
                )
            },
        }
    }
    outcome = results.collect(job=job, pods=[pod])["apps/a"]
    assert outcome.why is results.Why.NOT_FINISHED
    assert "Evicted" in outcome.run.reason
    assert "invalid probe result" not in outcome.run.reason
