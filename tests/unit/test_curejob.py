"""The cure Job's one definition, and how its result is read back."""

from __future__ import annotations

import json

import pytest

from nethealth.detection import selection
from nethealth.remediation import curejob

POD = selection.PodRef(
    namespace="apps", name="web-1", uid="0f3a2c1e-1111-2222-3333-444455556666", node="n1",
    ip="198.51.100.10",
)  # fmt: skip


def _pod(terminated=None, phase="Running"):
    statuses = [{"name": "cure", "state": {"terminated": terminated}}] if terminated else []
    return {"status": {"phase": phase, "containerStatuses": statuses}}


def test_an_unknown_action_is_refused_naming_the_allowed_ones():
    with pytest.raises(ValueError, match="expected one of add, remove"):
        curejob.command(pod_uid=POD.uid, action="flush")


def test_the_job_is_pinned_to_the_pods_node_and_named_per_pod_action_and_check():
    add = curejob.manifest(pod=POD, hostname="h1", image="img", action="add", check_uid="c")
    remove = curejob.manifest(pod=POD, hostname="h1", image="img", action="remove", check_uid="c")
    assert add["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "h1"}
    assert add["metadata"]["name"] != remove["metadata"]["name"]
    assert len(add["metadata"]["name"]) <= 52
    labels = add["spec"]["template"]["metadata"]["labels"]
    assert labels[selection.PROBE_LABEL] == "true"  # never measured as a workload pod
    assert "nethealth.io/check-uid" not in labels  # never mistaken for a probe run


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        (_pod(), None),
        (
            _pod({"exitCode": 0, "message": json.dumps({"result": "added"})}, "Succeeded"),
            curejob.Outcome(result="added", error=None),
        ),
        (
            _pod({"exitCode": 1, "message": json.dumps({"error": "no process of pod"})}, "Failed"),
            curejob.Outcome(result=None, error="exit 1: no process of pod"),
        ),
        (
            _pod({"exitCode": 137, "reason": "OOMKilled", "message": ""}, "Failed"),
            curejob.Outcome(result=None, error="exit 137: OOMKilled"),
        ),
        (
            {"status": {"phase": "Failed", "message": "DeadlineExceeded"}},
            curejob.Outcome(result=None, error="DeadlineExceeded"),
        ),
    ],
    ids=["running", "added", "failed", "killed", "deadline"],
)
def test_the_outcome_is_read_from_the_termination_message(pod, expected):
    assert curejob.outcome(pod) == expected
