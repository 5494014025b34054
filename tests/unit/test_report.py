"""The result document: its fields, the compact form that always fits, and the text."""

from __future__ import annotations

import datetime
import errno
import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from probe_builders import AFFECTED, attempts, evidence, ok, three

from nethealth.probe import classify, report, types

STARTED = datetime.datetime(2026, 2, 15, 12, 0, 0, tzinfo=datetime.UTC)
FINISHED = STARTED + datetime.timedelta(seconds=35)
SEED = "xxxxxx......" * 5  # failures in six-attempt blocks


def document(measurements, *, verdict=None, targets=None, ev=None, kernel=AFFECTED):
    verdict = verdict or classify.classify(measurements=measurements, evidence=ev, kernel=kernel)
    return report.build(
        verdict=verdict,
        measurements=measurements,
        evidence=ev,
        kernel=kernel,
        targets=targets or [types.Target(name="srv", host="server.example", port=8080)],
        started=STARTED,
        finished=FINISHED,
        probe_info={"version": "0.1.0", "node": "node-1"},
    )


def fits(text: str, limit: int) -> dict:
    assert len(text.encode("utf-8")) <= limit
    return json.loads(text)


# --- build ---------------------------------------------------------------------------


def test_document_carries_schema_class_reason_and_hints():
    doc = document(three(attempts(SEED), ok(), ok()), ev=evidence())
    assert doc["schema"] == "nethealth.io/probe-result/v1"
    assert doc["class"] == "PodNamespace"
    assert doc["reason"].startswith("srv:")
    assert doc["truncated"] is False
    assert all(set(h) == {"code", "evidence", "advice"} for h in doc["hints"])
    assert doc["kernel"]["status"] == "Affected"
    assert doc["kernel"]["fixedIn"] == "6.12.45"
    assert doc["started"] == "2026-02-15T12:00:00Z"
    assert doc["durationSeconds"] == 35.0


def test_namespaces_report_totals_errno_names_cpus_and_blocks():
    doc = document(three(attempts(SEED), ok(), attempts("x" * 60, code=errno.ECONNREFUSED)))
    target = doc["namespaces"]["target"]
    assert (target["attempts"], target["failures"], target["failureRate"]) == (60, 30, 0.5)
    assert target["errnos"] == {"ENETUNREACH": 30}
    assert target["cpus"] == {
        "0": {"attempts": 30, "failures": 15},
        "1": {"attempts": 30, "failures": 15},
    }
    assert len(target["blocks"]) == 5
    assert target["blocks"][0] == {"start": 0.0, "end": 2.5, "failures": 6}
    assert target["targets"]["srv"]["failures"] == 30
    assert doc["namespaces"]["host"]["errnos"] == {"ECONNREFUSED": 60}
    assert doc["namespaces"]["control"]["failures"] == 0


def test_unmeasured_namespace_keeps_its_error():
    measurements = [
        *three(attempts(SEED), ok(), ok())[:2],
        types.Measurement(role=types.Role.HOST, netns="/proc/1/ns/net", error="permission denied"),
    ]
    doc = document(measurements)
    assert doc["namespaces"]["host"]["error"] == "permission denied"
    assert doc["namespaces"]["host"]["attempts"] == 0


def test_targets_list_the_addresses_probed():
    doc = document(three(attempts(SEED), ok(), ok()))
    assert doc["targets"] == [
        {"name": "srv", "host": "server.example", "port": 8080, "addresses": ["203.0.113.10"]}
    ]


def test_evidence_is_included_as_camel_case_json():
    doc = document(three(attempts(SEED), ok(), ok()), ev=evidence())
    assert doc["evidence"]["lookups"][0]["kind"] == "plain"
    assert doc["evidence"]["kernelRelease"] == "6.18.44"
    assert doc["evidence"]["udpSockets"] == []
    assert doc["evidence"]["counters"] == {"IpOutNoRoutes": 0, "Ip6OutNoRoutes": 0}
    json.dumps(doc)  # serializable as is


# --- compact ---------------------------------------------------------------------------


def test_small_document_is_kept_whole():
    doc = document(three(attempts(SEED), ok(), ok()))
    doc["evidence"] = None
    text = report.compact(doc, limit=1 << 20)
    assert json.loads(text) == doc


def huge_document() -> dict:
    """16 targets, long non-ASCII hints, an errno histogram of every errno, many blocks."""
    targets = [
        types.Target(name=f"ziel-{i}-ü", host=f"dienst-{i}.example", port=8000 + i)
        for i in range(16)
    ]
    codes = sorted(errno.errorcode)
    series = []
    for i, target in enumerate(targets):
        series.append(
            tuple(
                types.Attempt(
                    target=target.name,
                    address=f"203.0.113.{i}",
                    at=n * 0.1,
                    cpu=n % 64,
                    immediate_errno=0,
                    final_errno=0 if n % 3 == 0 else codes[n % len(codes)],
                    duration=0.01,
                )
                for n in range(300)
            )
        )
    target = tuple(a for s in series for a in s)
    measurements = three(target, target, target)
    hints = tuple(
        types.Hint(
            code=f"Hint{i}", evidence="Übertragung fehlgeschlagen — " * 60, advice="Rat ✓ " * 200
        )
        for i in range(12)
    )
    verdict = types.Verdict(
        klass=types.ProbeClass.POD_NAMESPACE, reason="Grund: " + "ä" * 3000, hints=hints
    )
    return document(measurements, verdict=verdict, targets=targets, ev=evidence())


def test_huge_document_fits_the_termination_message_and_keeps_what_matters():
    doc = huge_document()
    assert report.size(doc) > 4096 * 10
    small = fits(report.compact(doc), 4096)
    assert small["schema"] == report.SCHEMA
    assert small["class"] == "PodNamespace"
    assert small["truncated"] is True
    assert small["reason"].startswith("Grund: ä")
    assert small["hints"][0]["code"] == "Hint0"
    assert small["namespaces"]["target"]["attempts"] == 16 * 300
    assert small["namespaces"]["target"]["failures"] == doc["namespaces"]["target"]["failures"]
    assert "evidence" not in small


def test_compact_drops_detail_in_the_documented_order():
    doc = huge_document()
    kept = []
    for limit in (60000, 30000, 16000, 8000, 4096, 2048, 1024, 512, 256):
        kept.append(set(fits(report.compact(doc, limit=limit), limit)))
    # Each tighter limit keeps a subset of what a looser one kept.
    assert all(tighter <= looser for looser, tighter in itertools.pairwise(kept))
    assert {"schema", "class", "reason", "truncated"} <= kept[-1]


@settings(max_examples=60, deadline=None)
@given(
    reason=st.text(max_size=5000),
    hint_text=st.text(max_size=3000),
    limit=st.integers(min_value=report.MIN_LIMIT, max_value=6000),
)
def test_compact_always_fits_whatever_the_text(reason, hint_text, limit):
    verdict = types.Verdict(
        klass=types.ProbeClass.INCONCLUSIVE,
        reason=reason,
        hints=(types.Hint(code=hint_text[:40], evidence=hint_text, advice=hint_text),) * 5,
    )
    doc = document(three(attempts(SEED), ok(), ok()), verdict=verdict, ev=evidence())
    small = fits(report.compact(doc, limit=limit), limit)
    assert small["schema"] == report.SCHEMA
    assert small["class"] == "Inconclusive"


def test_limit_too_small_for_anything_is_refused():
    with pytest.raises(ValueError, match="limit must be at least"):
        report.compact(huge_document(), limit=50)


# --- text --------------------------------------------------------------------------------


def test_text_shows_namespaces_side_by_side_with_errnos_cpus_blocks_and_advice():
    measurements = three(attempts(SEED), ok(), attempts("." * 50 + "x" * 10, code=errno.ETIMEDOUT))
    text = report.render_text(document(measurements, ev=evidence()))
    lines = text.splitlines()
    assert lines[0] == "nethealth probe: PodNamespace"
    header = next(line for line in lines if line.startswith("namespace"))
    assert header.split() == ["namespace", "target", "control", "host"]
    assert next(line for line in lines if line.startswith("ENETUNREACH")).split() == [
        "ENETUNREACH",
        "30",
        "-",
        "-",
    ]
    assert next(line for line in lines if line.startswith("ETIMEDOUT")).split() == [
        "ETIMEDOUT",
        "-",
        "-",
        "10",
    ]
    assert next(line for line in lines if line.startswith("cpu 0")).split()[-3:] == [
        "15/30",
        "0/30",
        "5/30",
    ]
    assert "failure blocks in target: 0.0-2.5 s (6)" in text
    assert (
        "kernel 6.12.43-talos: Affected (broadcast route cache regression; fixed in 6.12.45)"
        in text
    )
    assert "advice:" in text


def test_text_of_a_compacted_document_still_renders():
    small = json.loads(report.compact(huge_document(), limit=512))
    text = report.render_text(small)
    assert "PodNamespace" in text
    assert "detail was dropped" in text


def test_the_text_report_shows_the_window_and_the_names_as_the_pod_resolves_them() -> None:
    doc = {
        "class": "Upstream",
        "reason": "dns web.test: ...",
        "window": {"seconds": 60.0, "steps": 2, "maxSteps": 3},
        "dns": [
            {"name": "web.test", "status": "timeout", "addresses": [],
             "detail": "no answer from 198.18.0.53 within 1 s", "control": "timeout",
             "host": "timeout", "own": "ok"},
        ],
    }  # fmt: skip
    text = report.render_text(doc)
    assert "window 60 s (2 of at most 3 windows" in text
    assert (
        "  web.test: timeout (no answer from 198.18.0.53 within 1 s); fresh pod timeout,"
        " node timeout, probe's own ok"
    ) in text
