"""A pod fails on a target by that target's own counts, and never because a target fails
everywhere: from the probe's verdict, through the termination message, to the pod's state."""

from __future__ import annotations

import dataclasses
import datetime
import errno
import json
from typing import Any

from probe_builders import ALL, HALF, attempts, measured, ok

from nethealth import model
from nethealth.detection import decision, reporting, results, selection
from nethealth.probe import classify, report, types

Class = types.ProbeClass
Role = types.Role
DEFAULT = model.THRESHOLD.load({}, path="spec.threshold", field="threshold")
DB = {"target": "db", "address": "203.0.113.20"}


def _document(target: tuple[types.Attempt, ...], others: tuple[types.Attempt, ...]) -> str:
    measurements = [
        measured(Role.TARGET, target),
        measured(Role.CONTROL, others),
        measured(Role.HOST, others),
    ]
    verdict = classify.classify(measurements=measurements, evidence=None, kernel=None)
    moment = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    doc = report.build(
        verdict=verdict,
        measurements=measurements,
        evidence=None,
        kernel=None,
        targets=(),
        started=moment,
        finished=moment,
        probe_info={},
    )
    return report.compact(doc)


def _states(text: str, runs: int = 3) -> list[decision.PodRecord]:
    outcome = results.parse_document(key="apps/a", text=text)
    records, record = [], None
    for _ in range(runs):
        record = decision.decide(previous=record, run=outcome.run, threshold=DEFAULT)
        records.append(record)
    return records


def test_a_target_down_everywhere_never_makes_the_pod_degraded() -> None:
    target = (*ok(target="api"), *attempts(ALL, code=errno.ETIMEDOUT, **DB))
    others = (*ok(target="api"), *attempts(ALL, code=errno.ETIMEDOUT, **DB))
    records = _states(_document(target, others))
    assert [r.state for r in records] == [model.PodState.HEALTHY] * 3
    assert records[-1].klass is Class.HEALTHY


def test_a_target_down_everywhere_alone_is_no_verdict_and_names_it() -> None:
    down = attempts(ALL, code=errno.ETIMEDOUT, **DB)
    (record,) = _states(_document(down, down), runs=1)
    assert record.verdict is decision.RunVerdict.UNCLEAR
    assert record.state is model.PodState.INCONCLUSIVE
    assert record.klass is Class.UPSTREAM
    assert "db: fails from a fresh pod and from the node as well" in record.message


def test_pooled_counts_would_have_failed_the_pod_per_target_counts_do_not() -> None:
    # 60 of 120 pooled connects failed (50 %), but every failure is on db, which fails
    # from the fresh pod and the node as well; api is clean.
    target = (*ok(target="api"), *attempts(ALL, **DB))
    others = (*ok(target="api"), *attempts(ALL, **DB))
    outcome = results.parse_document(key="apps/a", text=_document(target, others))
    assert (outcome.run.attempts, outcome.run.failures) == (120, 60)
    pooled = decision.judge(run=outcome.run, threshold=DEFAULT)
    assert pooled.verdict is decision.RunVerdict.FAILING
    assert decision.assess(run=outcome.run, threshold=DEFAULT).verdict is not pooled.verdict


def test_the_pod_fails_on_a_target_by_its_counts_and_the_record_names_it() -> None:
    target = (*attempts(HALF, target="api"), *ok(**DB))
    others = (*ok(target="api"), *ok(**DB))
    records = _states(_document(target, others), runs=2)
    assert records[-1].state is model.PodState.DEGRADED
    assert records[-1].klass is Class.POD_NAMESPACE
    assert records[-1].message.startswith("api: 30 of 60 connects failed (50 %)")
    assert records[-1].samples == 60


def test_a_pod_failing_on_a_target_everywhere_and_its_own_on_another_is_blamed_for_its_own():
    target = (*attempts(HALF, target="api"), *attempts(ALL, code=errno.ETIMEDOUT, **DB))
    others = (*ok(target="api"), *attempts(ALL, code=errno.ETIMEDOUT, **DB))
    records = _states(_document(target, others), runs=2)
    assert records[-1].state is model.PodState.DEGRADED
    assert records[-1].streak_classes == {Class.POD_NAMESPACE}


def test_a_few_failures_on_each_target_never_add_up() -> None:
    # 7 of 60 on each (12 %): pooled 14 of 120 is as little, but per target it stays so
    # even with a third target clean; each is judged alone.
    few = "x......." * 7 + "...."
    target = (*attempts(few, target="api"), *attempts(few, **DB))
    others = (*ok(target="api"), *ok(**DB))
    (record,) = _states(_document(target, others), runs=1)
    assert record.verdict is decision.RunVerdict.PASSING


def test_a_document_without_per_target_verdicts_is_judged_on_pooled_counts() -> None:
    text = _document(attempts(HALF), ok())
    doc: dict[str, Any] = json.loads(text)
    del doc["judged"]
    outcome = results.parse_document(key="apps/a", text=report.dumps(doc))
    assert outcome.run.targets == ()
    assert decision.assess(run=outcome.run, threshold=DEFAULT).verdict is (
        decision.RunVerdict.FAILING
    )


def test_malformed_per_target_verdicts_are_a_bad_result_never_a_failure() -> None:
    doc: dict[str, Any] = json.loads(_document(attempts(HALF), ok()))
    doc["judged"][0]["failures"] = 99
    outcome = results.parse_document(key="apps/a", text=report.dumps(doc))
    assert outcome.why is results.Why.BAD_RESULT
    assert "judged" in outcome.run.reason


def test_per_target_verdicts_survive_compaction_longest() -> None:
    names = [f"t{i}" for i in range(16)]
    target = tuple(a for n in names for a in attempts(HALF, target=n))
    others = tuple(a for n in names for a in ok(target=n))
    doc: dict[str, Any] = json.loads(_document(target, others))
    assert doc["truncated"]
    assert [j["target"] for j in doc["judged"]] == names


def test_the_window_the_probe_measured_shows_in_status_and_the_degraded_condition() -> None:
    doc: dict[str, Any] = json.loads(_document(attempts(HALF), ok()))
    doc["window"] = {"seconds": 60.0, "steps": 2, "maxSteps": 3}
    outcome = results.parse_document(key="apps/a", text=report.dumps(doc))
    assert outcome.run.window == 60.0
    record = None
    for _ in range(2):
        record = decision.decide(previous=record, run=outcome.run, threshold=DEFAULT)
    assert record is not None
    assert record.window == 60.0
    ref = selection.PodRef(
        namespace="apps", name="a", uid="uid-a", node="node-a", ip="198.51.100.10"
    )
    view = reporting.PodView(ref=ref, record=record, hint=None, last_run=None)
    (shown,) = model.dump_status(
        dataclasses.replace(
            model.EMPTY_STATUS,
            pods=tuple(reporting.pod_results(views={"apps/a": view}, check_namespace="apps")),
        )
    )["pods"]
    assert shown["window"] == "1m"
    _, _, message = reporting.degraded_condition({"apps/a": view})
    assert "50 % of 60 connects failed over 60 s" in message
