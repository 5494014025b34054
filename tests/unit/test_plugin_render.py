"""The diagnose report: the three namespaces side by side, errnos, CPUs, failures over
time, hints with advice, the verdict; and the same diagnosis as JSON or YAML."""

from __future__ import annotations

import errno
import json

import yaml
from plugin_builders import degraded_evidence, document, job, log_of, pod, subject, terminated

from nethealth.plugin import diagnosis, render
from nethealth.probe import report

ALL_FAIL = "x" * 30


def diagnosed(doc, *, source=diagnosis.Source.LOG, log_tail=()):
    verdict, why = diagnosis.Verdict.INCONCLUSIVE, "the probe container never started: nope"
    if doc is not None:
        verdict, why = diagnosis.judge(doc, failure_rate=None)
    return diagnosis.Diagnosis(
        subject=subject(),
        verdict=verdict,
        why=why,
        document=doc,
        source=source,
        seconds=9.4,
        log_tail=tuple(log_tail),
    )


def row(text: str, label: str) -> list[str]:
    """The cells of the table or strip row labelled ``label``."""
    line = next(line for line in text.splitlines() if line[: render.LABEL].strip() == label)
    return line[render.LABEL :].split()


def test_the_three_namespaces_stand_side_by_side_with_errnos_and_cpus():
    text = render.text(diagnosed(document(ev=degraded_evidence())))
    header = ["target", "(pod)", "control", "(fresh", "pod)", "host", "(node)"]
    assert next(line for line in text.splitlines() if "target (pod)" in line).split() == header
    assert row(text, "connects") == ["30", "30", "30"]
    assert row(text, "failed") == ["10/30", "(33%)", "0/30", "(0%)", "0/30", "(0%)"]
    assert row(text, "ENETUNREACH") == ["10", "-", "-"]
    assert row(text, "cpu 0") == ["5/15", "(33%)", "0/15", "(0%)", "0/15", "(0%)"]
    assert row(text, "cpu 1") == ["5/15", "(33%)", "0/15", "(0%)", "0/15", "(0%)"]


def test_errnos_of_every_namespace_are_listed_most_frequent_first():
    doc = document(ALL_FAIL, ALL_FAIL, ALL_FAIL, code=errno.ETIMEDOUT)
    text = render.text(diagnosed(doc))
    assert row(text, "ETIMEDOUT") == ["30", "30", "30"]


def test_failures_over_time_are_drawn_where_the_blocks_are():
    # Attempts 0.2 s apart: failures 10..19 are one block from 2.0 to 3.8 s of 6 s.
    text = render.text(diagnosed(document(ev=degraded_evidence())))
    assert row(text, "target") == ["|" + "." * 20 + "x" * 19 + "." * 21 + "|"]
    assert row(text, "control") == ["|" + "." * 60 + "|"]
    assert "target: 2.0-3.8 s (10)" in text
    assert "60 columns of 0.1 s, 6 s window" in text


def test_a_block_of_one_failure_still_shows():
    assert render.strip([{"start": 5.9, "end": 5.9, "failures": 1}], window=6.0) == "." * 59 + "x"
    assert render.strip([{"start": 9.0, "end": 9.5, "failures": 2}], window=6.0) == "." * 59 + "x"


def test_the_class_reason_kernel_and_hints_with_advice_are_shown():
    text = render.text(diagnosed(document(ev=degraded_evidence())))
    assert "Class      PodNamespace: only this pod's network namespace fails" in text
    assert "Reason     api: 10/30 failed in the target pod (ENETUNREACH 10)" in text
    assert "Kernel     6.12.43-talos: Fixed" in text
    assert "Targets    api = 203.0.113.1:443" in text
    assert "  1. PolicyRuleUnreachable" in text
    assert "     evidence: api: policy rule 'pref 100 ipproto 6 dport 443 unreachable'" in text
    assert "     advice:   Remove the rule in the pod's namespace" in text


def test_the_verdict_ends_the_report_with_its_exit_code():
    text = render.text(diagnosed(document(ev=degraded_evidence())))
    assert text.splitlines()[-1].startswith("Verdict    Degraded (exit 1): the probe classified")
    healthy = render.text(diagnosed(document("." * 30)))
    assert healthy.splitlines()[-1] == (
        "Verdict    Healthy (exit 0): 30 of 30 connects of the pod succeeded"
    )


def test_an_unmeasured_namespace_says_why():
    text = render.text(diagnosed(document(host_error="permission denied opening /proc/1/ns/net")))
    assert "host not measured: permission denied opening /proc/1/ns/net" in text
    assert row(text, "host") == ["not", "measured"]


def test_a_compact_result_renders_what_it_kept_and_says_what_it_lost():
    doc = document(ev=degraded_evidence())
    small = json.loads(report.compact(doc, limit=700))
    text = render.text(diagnosed(small, source=diagnosis.Source.TERMINATION_MESSAGE))
    assert "compact: detail may have been dropped" in text
    assert "dropped detail to fit its termination message" in text
    assert row(text, "failed") == ["10/30", "(33%)", "0/30", "(0%)", "0/30", "(0%)"]
    assert row(text, "failed per CPU") == ["(not", "in", "the", "compact", "result)"]
    assert "Failures over time: not in the compact result" in text


def test_no_result_still_says_what_was_diagnosed_why_not_and_the_log_tail():
    result = diagnosed(
        None, source=diagnosis.Source.NONE, log_tail=["Traceback", "RuntimeError: boom"]
    )
    text = render.text(result)
    assert "Pod        apps/ha on node node-a" in text
    assert "Result     none: the probe gave no valid result" in text
    assert "  RuntimeError: boom" in text
    assert text.splitlines()[-1].startswith(
        "Verdict    Inconclusive (exit 2): the probe container never"
    )


def test_json_wraps_the_probe_document_unchanged_with_the_verdict():
    doc = document(ev=degraded_evidence())
    result = diagnosis.conclude(
        subject=subject(),
        job=job(condition="Failed"),
        pods=[pod(terminated(doc), phase="Failed")],
        refused=None,
        log=log_of(doc),
        failure_rate=None,
        seconds=9.44,
    )
    parsed = json.loads(render.as_json(result))
    assert parsed["result"] == doc
    assert parsed["verdict"] == "Degraded"
    assert parsed["exitCode"] == 1
    assert parsed["source"] == "log"
    assert parsed["seconds"] == 9.4
    assert parsed["pod"] == {"namespace": "apps", "name": "ha", "node": "node-a"}
    assert parsed["job"]["name"] == "nhd-ha-0123abcd"


def test_yaml_says_the_same_as_json():
    result = diagnosed(document(ev=degraded_evidence()))
    assert yaml.safe_load(render.as_yaml(result)) == json.loads(render.as_json(result))


def test_with_several_targets_each_has_its_row_per_namespace():
    doc = document(ev=degraded_evidence())
    for ns in doc["namespaces"].values():
        ns["targets"]["dns"] = {"attempts": 30, "failures": 0, "errnos": {}}
    text = render.text(diagnosed(doc))
    assert row(text, "api") == ["10/30", "(33%)", "0/30", "(0%)", "0/30", "(0%)"]
    assert row(text, "dns") == ["0/30", "(0%)", "0/30", "(0%)", "0/30", "(0%)"]
