"""A TargetUnresolvable verdict outlives the run that made it: an edit (or an operator
restart) that leaves the target as it was keeps ``Ready`` False until a run measures
again; a changed or removed target, or a measurement, ends it."""

from __future__ import annotations

import datetime
from typing import Any

from operator_builders import probe_document

from nethealth import model
from nethealth.detection import acceptance, results
from nethealth.probe import report, types

UNRESOLVABLE = "x" * 64 + ".invalid"
API = {"name": "api", "host": "203.0.113.1", "port": 443}
DB = {"name": "db", "host": UNRESOLVABLE, "port": 5432}


def _check(*, targets: list[dict[str, Any]], status: dict[str, Any] | None = None) -> Any:
    body: dict[str, Any] = {
        "apiVersion": model.API_VERSION,
        "kind": model.KIND,
        "metadata": {"name": "web", "namespace": "apps", "uid": "u", "generation": 5},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "targets": targets},
    }
    if status is not None:
        body["status"] = status
    return model.parse(body)


def _outcome(klass: types.ProbeClass, *, reason: str = "") -> results.Outcome:
    doc = probe_document("." * 20, klass=klass)
    if reason:
        doc["reason"] = reason
    return results.parse_document(key="apps/a", text=report.compact(doc))


UNRESOLVED = _outcome(
    types.ProbeClass.INCONCLUSIVE,
    reason=f"target db: cannot resolve {UNRESOLVABLE}: encoding with 'idna' codec failed",
)
MEASURED = _outcome(types.ProbeClass.HEALTHY)
OTHER_INCONCLUSIVE = _outcome(types.ProbeClass.INCONCLUSIVE, reason="pod has no process")


def _judge(check: model.NetHealthCheck) -> acceptance.Acceptance:
    return acceptance.judge(check=check, operator_namespace="nethealth-system", selected_pods=1)


def _status_after_unresolvable_run() -> dict[str, Any]:
    """The status a run that could not resolve ``db`` leaves (the message as written)."""
    fresh = _check(targets=[API, DB])
    verdict = acceptance.after_run(
        verdict=_judge(fresh), check=fresh, outcomes={"apps/a": UNRESOLVED}
    )
    assert verdict.reason == model.Reason.TARGET_UNRESOLVABLE
    ready = {
        "type": "Ready",
        "status": "False",
        "reason": verdict.reason,
        "message": verdict.message,
        "lastTransitionTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC).isoformat(),
    }
    return {"observedGeneration": 4, "conditions": [ready]}


def test_an_edit_that_keeps_the_target_keeps_ready_false_with_the_same_message() -> None:
    status = _status_after_unresolvable_run()
    verdict = _judge(_check(targets=[API, DB], status=status))
    assert not verdict.ready
    assert verdict.reason == model.Reason.TARGET_UNRESOLVABLE
    assert verdict.message == status["conditions"][0]["message"]


def test_a_changed_or_removed_target_is_left_for_the_next_run_to_judge() -> None:
    status = _status_after_unresolvable_run()
    fixed = {**DB, "host": "db.apps.svc"}
    for targets in ([API, fixed], [API]):
        verdict = _judge(_check(targets=targets, status=status))
        assert verdict.ready, targets
        assert verdict.reason == model.Reason.RUNNING


def test_the_kept_verdict_ends_with_the_first_measurement() -> None:
    check = _check(targets=[API, DB], status=_status_after_unresolvable_run())
    kept = _judge(check)
    after = acceptance.after_run(verdict=kept, check=check, outcomes={"apps/a": MEASURED})
    assert after == _judge(_check(targets=[API, DB]))


def test_a_run_that_measured_nothing_keeps_the_verdict() -> None:
    check = _check(targets=[API, DB], status=_status_after_unresolvable_run())
    kept = _judge(check)
    for outcomes in ({}, {"apps/a": OTHER_INCONCLUSIVE}):
        assert acceptance.after_run(verdict=kept, check=check, outcomes=outcomes) == kept


def test_a_run_that_still_cannot_resolve_says_so_again() -> None:
    check = _check(targets=[API, DB], status=_status_after_unresolvable_run())
    after = acceptance.after_run(
        verdict=_judge(check), check=check, outcomes={"apps/a": UNRESOLVED}
    )
    assert not after.ready
    assert after.reason == model.Reason.TARGET_UNRESOLVABLE
    assert after.message.startswith(f"spec.targets[1].host {UNRESOLVABLE!r} (target 'db')")


def test_other_refusals_come_first_and_are_never_kept() -> None:
    status = _status_after_unresolvable_run()
    none_selected = acceptance.judge(
        check=_check(targets=[API, DB], status=status),
        operator_namespace="nethealth-system",
        selected_pods=0,
    )
    assert none_selected.reason == model.Reason.NO_PODS_SELECTED
    ready = status["conditions"][0]
    for reason in (model.Reason.NO_PODS_SELECTED, model.Reason.RUNNING):
        other = {**status, "conditions": [{**ready, "reason": reason}]}
        assert _judge(_check(targets=[API, DB], status=other)).ready
