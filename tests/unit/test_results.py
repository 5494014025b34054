"""A probe Job's pod as per-pod run results: valid measurements in, everything else
Inconclusive with a reason, never a network failure."""

from __future__ import annotations

import json
from typing import Any

import pytest
from operator_builders import probe_document

from nethealth.detection import jobs, results
from nethealth.probe import report, types

MEASURED = [
    {"container": "probe-0", "namespace": "apps", "name": "a", "uid": "uid-a"},
    {"container": "probe-1", "namespace": "apps", "name": "b", "uid": "uid-b"},
]
JOB = {
    "metadata": {"name": "nhp-web-1", "annotations": {jobs.ANNOTATION_PODS: json.dumps(MEASURED)}}
}


def _terminated(name: str, message: str, exit_code: int = 0) -> dict[str, Any]:
    return {
        "name": name,
        "state": {"terminated": {"exitCode": exit_code, "reason": "Completed", "message": message}},
    }


def _pod(*statuses: dict[str, Any], phase: str = "Failed", **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "nhp-web-1-x", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {"phase": phase, "containerStatuses": list(statuses), **extra},
    }


def test_each_container_result_becomes_its_pods_run_with_counts_blocks_and_hint() -> None:
    hint = types.Hint(code="PolicyRuleUnreachable", evidence="rule 100 unreachable", advice="-")
    degraded = probe_document(
        "....xxxx....xxxx" * 2, klass=types.ProbeClass.POD_NAMESPACE, hints=(hint,)
    )
    healthy = probe_document("." * 30, klass=types.ProbeClass.HEALTHY)
    outcomes = results.collect(
        job=JOB,
        pods=[
            _pod(
                _terminated("probe-0", report.compact(degraded), 1),
                _terminated("probe-1", report.compact(healthy)),
            )
        ],
    )
    a, b = outcomes["apps/a"], outcomes["apps/b"]
    assert (a.run.klass, a.run.attempts, a.run.failures, a.run.failure_blocks) == (
        types.ProbeClass.POD_NAMESPACE,
        32,
        16,
        4,
    )
    assert a.hint == "PolicyRuleUnreachable: rule 100 unreachable"
    assert (b.run.klass, b.run.attempts, b.run.failures) == (types.ProbeClass.HEALTHY, 30, 0)
    assert not a.inconclusive
    assert not b.inconclusive


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        ("Traceback (most recent call last):", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"schema": "other/v9", "class": "Healthy"}', "schema"),
        (json.dumps({"schema": report.SCHEMA, "class": "Sideways"}), "unknown class"),
        (json.dumps({"schema": report.SCHEMA, "class": "PodNamespace"}), "attempts/failures"),
        (
            json.dumps(
                {
                    "schema": report.SCHEMA,
                    "class": "PodNamespace",
                    "namespaces": {"target": {"attempts": 5, "failures": 9}},
                }
            ),
            "attempts/failures",
        ),
    ],
)
def test_garbage_in_the_termination_message_is_inconclusive_never_a_failure(
    message: str, detail: str
) -> None:
    outcome = results.parse_document(key="apps/a", text=message)
    assert outcome.inconclusive
    assert outcome.why is results.Why.BAD_RESULT
    assert detail in outcome.run.reason


def test_a_probe_that_says_inconclusive_keeps_its_reason() -> None:
    doc = probe_document("", klass=types.ProbeClass.INCONCLUSIVE)
    outcome = results.parse_document(key="apps/a", text=report.compact(doc))
    assert outcome.inconclusive
    assert outcome.why is results.Why.PROBE
    assert outcome.run.reason == "as pictured"


@pytest.mark.parametrize(
    ("pods", "why", "says"),
    [
        ([], results.Why.NOT_CREATED, "no probe pod was created"),
        (
            [
                _pod(
                    {
                        "name": "probe-0",
                        "state": {"waiting": {"reason": "ErrImagePull", "message": "not found"}},
                    },
                    phase="Pending",
                )
            ],
            results.Why.NOT_STARTED,
            "ErrImagePull: not found",
        ),
        ([_pod(_terminated("probe-0", "", 137))], results.Why.NOT_FINISHED, "exit 137"),
        (
            [_pod(phase="Failed", reason="Evicted", message="low memory")],
            results.Why.NOT_STARTED,
            "pod Evicted: low memory",
        ),
        (
            [
                _pod(
                    {"name": "probe-0", "state": {"running": {}}},
                    phase="Running",
                    reason="DeadlineExceeded",
                )
            ],
            results.Why.NOT_FINISHED,
            "still running",
        ),
    ],
)
def test_a_probe_that_cannot_start_or_finish_is_inconclusive_with_the_reason(
    pods: list[dict[str, Any]], why: results.Why, says: str
) -> None:
    outcome = results.collect(job=JOB, pods=pods)["apps/a"]
    assert outcome.inconclusive
    assert outcome.why is why
    assert says in outcome.run.reason


def test_a_failed_job_without_pods_says_why_it_failed() -> None:
    job = {
        **JOB,
        "status": {
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "DeadlineExceeded",
                    "message": "Job was active longer than specified deadline",
                }
            ]
        },
    }
    outcome = results.collect(job=job, pods=[])["apps/b"]
    assert "DeadlineExceeded" in outcome.run.reason
    assert results.finished(job=job, pods=[])
    # Past its deadline the Job controller deleted the pod: it ran, it did not finish.
    assert outcome.why is results.Why.NOT_FINISHED
    assert "spec.probe.deadline" in outcome.run.reason
    assert outcome.inconclusive
    # A pod that admission refused is still named as refused, deadline or not.
    refused = results.collect(job=job, pods=[], refused="violates PodSecurity")["apps/b"]
    assert refused.why is results.Why.NOT_CREATED
    assert "violates PodSecurity" in refused.run.reason


@pytest.mark.parametrize("condition", ["Failed", "FailureTarget"])
def test_a_probe_stopped_at_the_job_deadline_is_not_finished_even_with_exit_zero(
    condition: str,
) -> None:
    # FailureTarget: what the Job says until its pods are gone (then Failed).
    failed = {"type": condition, "status": "True", "reason": "DeadlineExceeded", "message": "-"}
    job = {**JOB, "status": {"conditions": [failed]}}
    outcomes = results.collect(
        job=job, pods=[_pod(_terminated("probe-0", "", 0), _terminated("probe-1", "", 0))]
    )
    for outcome in outcomes.values():
        assert outcome.why is results.Why.NOT_FINISHED
        assert "spec.probe.deadline" in outcome.run.reason
    # Without the deadline, an empty result is a broken probe, not a slow one.
    plain = results.collect(job=JOB, pods=[_pod(_terminated("probe-0", "", 0))])["apps/a"]
    assert plain.why is results.Why.BAD_RESULT


def test_a_job_is_finished_when_its_pod_ended_or_its_condition_says_so() -> None:
    assert not results.finished(job=JOB, pods=[_pod(phase="Running")])
    assert results.finished(job=JOB, pods=[_pod(phase="Succeeded")])
    assert not results.finished(job=JOB, pods=[])


def test_a_truncated_block_list_counts_as_unknown_clustering() -> None:
    doc = {
        "schema": report.SCHEMA,
        "class": "PodNamespace",
        "truncated": True,
        "namespaces": {"target": {"attempts": 60, "failures": 30, "blocks": [{}, {}, {}]}},
    }
    outcome = results.parse_document(key="apps/a", text=json.dumps(doc))
    assert outcome.run.failure_blocks is None


def test_a_pod_refused_by_admission_is_inconclusive_with_the_refusal() -> None:
    refusal = (
        'pods "nhp-web-1-x" is forbidden: violates PodSecurity "baseline:latest": host'
        " namespaces (hostPID=true)"
    )
    outcome = results.collect(job=JOB, pods=[], refused=refusal)["apps/a"]
    assert outcome.why is results.Why.NOT_CREATED
    assert "violates PodSecurity" in outcome.run.reason
