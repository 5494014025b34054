"""A finished one-off Job as a verdict: the full result from the probe's log when it can
be read, the termination message otherwise, and Inconclusive whenever there is no valid
measurement — never Healthy or Degraded by default."""

from __future__ import annotations

import json

import pytest
from plugin_builders import degraded_evidence, document, job, log_of, pod, subject, terminated

from nethealth.plugin import diagnosis
from nethealth.probe import report

ALL_FAIL = "x" * 30


def conclude(*, pods, log=None, job_obj=None, refused=None, failure_rate=None):
    return diagnosis.conclude(
        subject=subject(),
        job=job_obj or job(condition="Failed", reason="BackoffLimitExceeded"),
        pods=pods,
        refused=refused,
        log=log,
        failure_rate=failure_rate,
    )


def test_a_pod_only_fault_is_degraded_with_exit_1():
    doc = document(ev=degraded_evidence())
    result = conclude(pods=[pod(terminated(doc), phase="Failed")], log=log_of(doc))
    assert result.verdict is diagnosis.Verdict.DEGRADED
    assert result.exit_code == 1
    assert result.document is not None
    assert result.document["class"] == "PodNamespace"
    assert "PodNamespace" in result.why


@pytest.mark.parametrize(
    ("pictures", "klass"),
    [
        ((ALL_FAIL, ALL_FAIL, "." * 30), "NodeNetwork"),
        ((ALL_FAIL, ALL_FAIL, ALL_FAIL), "Upstream"),
    ],
)
def test_every_network_fault_class_is_degraded(pictures, klass):
    doc = document(*pictures)
    assert doc["class"] == klass
    verdict, _ = diagnosis.judge(doc, failure_rate=None)
    assert verdict is diagnosis.Verdict.DEGRADED


def test_a_healthy_pod_exits_0():
    doc = document("." * 30)
    result = conclude(
        pods=[pod(terminated(doc, exit_code=0), phase="Succeeded")],
        log=log_of(doc),
        job_obj=job(condition="Complete"),
    )
    assert result.verdict is diagnosis.Verdict.HEALTHY
    assert result.exit_code == 0
    assert result.why == "30 of 30 connects of the pod succeeded"


def test_failure_rate_turns_a_healthy_class_with_some_failures_into_degraded():
    doc = document("x" + "." * 29)  # one lost connect: background noise for the probe
    assert doc["class"] == "Healthy"
    assert diagnosis.judge(doc, failure_rate=None)[0] is diagnosis.Verdict.HEALTHY
    assert diagnosis.judge(doc, failure_rate=0.05)[0] is diagnosis.Verdict.HEALTHY
    verdict, why = diagnosis.judge(doc, failure_rate=0.02)
    assert verdict is diagnosis.Verdict.DEGRADED
    assert "1 of 30" in why
    assert "--failure-rate 2%" in why


def test_a_probe_that_says_inconclusive_exits_2():
    doc = document(ALL_FAIL, host_error="permission denied")
    doc["class"], doc["reason"] = "Inconclusive", "api: cannot tell pod from node"
    verdict, why = diagnosis.judge(doc, failure_rate=0.0)
    assert verdict is diagnosis.Verdict.INCONCLUSIVE
    assert verdict.exit_code == 2
    assert "cannot tell pod from node" in why


def test_the_full_result_in_the_log_is_preferred_to_the_compact_message():
    doc = document(ev=degraded_evidence())
    noisy = log_of(doc, stderr="nethealth probe: warning: something\n")
    result = conclude(pods=[pod(terminated(doc), phase="Failed")], log=noisy)
    assert result.source is diagnosis.Source.LOG
    assert result.document == doc


def test_without_a_log_the_termination_message_is_read():
    doc = document(ev=degraded_evidence())
    result = conclude(pods=[pod(terminated(doc), phase="Failed")], log=None)
    assert result.source is diagnosis.Source.TERMINATION_MESSAGE
    assert result.document == json.loads(report.compact(doc))
    assert result.verdict is diagnosis.Verdict.DEGRADED


def test_a_log_that_disagrees_with_the_termination_message_is_not_believed():
    healthy, degraded = document("." * 30), document(ev=degraded_evidence())
    result = conclude(pods=[pod(terminated(degraded), phase="Failed")], log=log_of(healthy))
    assert result.source is diagnosis.Source.TERMINATION_MESSAGE
    assert result.verdict is diagnosis.Verdict.DEGRADED


def test_a_container_that_never_started_is_inconclusive_with_the_reason():
    waiting = {"waiting": {"reason": "ErrImageNeverPull", "message": "image not present"}}
    result = conclude(pods=[pod(waiting, phase="Pending")], job_obj=job())
    assert result.verdict is diagnosis.Verdict.INCONCLUSIVE
    assert result.document is None
    assert "ErrImageNeverPull" in result.why


def test_a_refused_pod_is_inconclusive_saying_why_it_was_refused():
    refused = 'pods "nhd-ha-x" is forbidden: violates PodSecurity "baseline:latest": hostPID=true'
    result = conclude(pods=[], job_obj=job(), refused=refused)
    assert result.verdict is diagnosis.Verdict.INCONCLUSIVE
    assert "PodSecurity" in result.why


def test_a_crashed_probe_is_inconclusive_and_shows_the_end_of_its_log():
    log = "Traceback (most recent call last):\n  File x\nRuntimeError: boom\n"
    result = conclude(pods=[pod(terminated(None), phase="Failed")], log=log)
    assert result.verdict is diagnosis.Verdict.INCONCLUSIVE
    assert result.log_tail[-1] == "RuntimeError: boom"
    assert "without a result" in result.why


def test_a_log_is_not_trusted_without_a_valid_termination_message():
    doc = document(ev=degraded_evidence())
    result = conclude(pods=[pod(terminated(None), phase="Failed")], log=log_of(doc))
    assert result.verdict is diagnosis.Verdict.INCONCLUSIVE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json\n",
        '{\n  "schema": "someone-else/v1"\n}\n',
        '{\n  "class": "Healthy"\n',
    ],
)
def test_anything_but_a_probe_document_in_the_log_is_no_document(text):
    assert diagnosis.document_from_log(text) is None


def test_the_document_is_found_between_other_log_lines():
    doc = document()
    text = "warning: a\n" + json.dumps(doc, indent=2) + "\nwarning: b\n"
    assert diagnosis.document_from_log(text) == doc
