"""The check's status after a run: worst first, bounded, conditions that name the pod;
Events only when something changed; records rebuilt conservatively after a restart."""

from __future__ import annotations

import dataclasses
from typing import Any

import status_builders

from nethealth import model
from nethealth.detection import decision, notices, reporting, results, selection
from nethealth.probe import types

NOW = status_builders.NOW
THRESHOLD = model.Threshold(failure_rate=0.2, min_samples=20, consecutive_runs=2, recovery_runs=2)


def _run(
    failures: int, klass: types.ProbeClass = types.ProbeClass.POD_NAMESPACE
) -> decision.RunResult:
    return decision.RunResult(
        klass=klass, attempts=60, failures=failures, failure_blocks=min(failures, 4)
    )


def _record(*failures: int) -> decision.PodRecord:
    record = None
    for count in failures:
        klass = types.ProbeClass.HEALTHY if count == 0 else types.ProbeClass.POD_NAMESPACE
        record = decision.decide(previous=record, run=_run(count, klass), threshold=THRESHOLD)
    assert record is not None
    return record


def _view(name: str, record: decision.PodRecord, hint: str | None = None) -> reporting.PodView:
    ref = selection.PodRef(
        namespace="apps", name=name, uid=f"u-{name}", node="node-a", ip="198.51.100.9"
    )
    return reporting.PodView(ref=ref, record=record, hint=hint, last_run=NOW)


def _patch(
    views: dict[str, reporting.PodView], current: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The status after a run at NOW that saw ``views``."""
    return status_builders.status_patch(
        current=current, views=views, last_run=NOW, next_run=status_builders.NEXT_RUN
    )


def test_pods_are_listed_worst_first_with_class_rate_and_hint() -> None:
    views = {
        "apps/ok": _view("ok", _record(0)),
        "apps/bad": _view("bad", _record(30, 30), hint="PolicyRuleUnreachable: rule 100"),
        "apps/odd": _view("odd", _record(30)),
    }
    patch = _patch(views)
    assert [p["name"] for p in patch["pods"]] == ["bad", "odd", "ok"]
    worst = patch["pods"][0]
    assert (worst["state"], worst["class"], worst["failureRate"], worst["samples"]) == (
        "Degraded",
        "PodNamespace",
        0.5,
        60,
    )
    assert "namespace" not in worst  # the check's own namespace goes unsaid
    assert patch["summary"] == {
        "selected": 3,
        "healthy": 1,
        "suspect": 1,
        "degraded": 1,
        "remediated": 0,
        "inconclusive": 0,
    }
    assert patch["observedGeneration"] == 7
    assert patch["nextRunTime"] == "2026-01-01T12:01:00Z"


def test_the_degraded_condition_names_pod_class_rate_and_hint() -> None:
    patch = _patch({"apps/bad": _view("bad", _record(30, 30), hint="PolicyRuleUnreachable: r")})
    degraded = next(c for c in patch["conditions"] if c["type"] == "Degraded")
    assert degraded["status"] == "True"
    assert degraded["reason"] == "PodsDegraded"
    for part in ("apps/bad", "PodNamespace", "50 %", "PolicyRuleUnreachable"):
        assert part in degraded["message"]


def test_a_recovering_pod_keeps_degraded_true_until_it_is_healthy() -> None:
    recovering = _record(30, 30, 0)
    assert recovering.state is model.PodState.RECOVERING
    patch = _patch({"apps/p": _view("p", recovering)})
    assert next(c for c in patch["conditions"] if c["type"] == "Degraded")["status"] == "True"
    healthy = _patch({"apps/p": _view("p", _record(30, 30, 0, 0))})
    assert next(c for c in healthy["conditions"] if c["type"] == "Degraded")["status"] == "False"


def test_the_pod_list_is_bounded_but_the_summary_counts_every_pod() -> None:
    views = {
        f"apps/p{i:03d}": _view(f"p{i:03d}", _record(0)) for i in range(model.MAX_POD_RESULTS + 20)
    }
    patch = _patch(views)
    assert len(patch["pods"]) == model.MAX_POD_RESULTS
    assert patch["summary"]["selected"] == model.MAX_POD_RESULTS + 20


def test_an_unchanged_status_needs_no_write() -> None:
    views = {"apps/ok": _view("ok", _record(0))}
    first = _patch(views)
    assert reporting.changed_fields(current=first, wanted=_patch(views, current=first)) == {}


def test_a_spec_change_alone_leaves_pods_and_summary_alone() -> None:
    patch = status_builders.status_patch(generation=8, views=None, last_run=None, next_run=None)
    assert set(patch) == {"observedGeneration", "conditions"}


def test_records_after_a_restart_never_shorten_the_way_to_degraded_or_healthy() -> None:
    saved = model.parse_status(
        {
            "pods": [
                {"name": "s", "state": "Suspect"},
                {"name": "r", "state": "Recovering"},
                {"name": "x", "namespace": "other", "state": "Degraded"},
            ]
        }
    )
    records = reporting.records_from_status(saved, check_namespace="apps")
    assert set(records) == {"apps/s", "apps/r", "other/x"}
    failing = _run(30)
    after = decision.decide(previous=records["apps/s"], run=failing, threshold=THRESHOLD)
    assert after.state is model.PodState.DEGRADED  # one more failing run, as before the restart
    passing = _run(0, types.ProbeClass.HEALTHY)
    after = decision.decide(previous=records["apps/r"], run=passing, threshold=THRESHOLD)
    assert after.state is model.PodState.HEALTHY


def test_events_mark_degraded_recovered_and_the_first_inconclusive_run_only() -> None:
    bad = results.inconclusive(key="apps/i", why=results.Why.NOT_STARTED, reason="ErrImagePull")
    first_inconclusive = decision.decide(previous=None, run=bad.run, threshold=THRESHOLD)
    second = decision.decide(previous=first_inconclusive, run=bad.run, threshold=THRESHOLD)
    found = notices.notices(
        records={
            "apps/d": _record(30, 30),
            "apps/h": _record(30, 30, 0, 0),
            "apps/i": first_inconclusive,
            "apps/s": _record(30),
        },
        outcomes={"apps/i": bad},
    )
    assert [(n.reason, n.pods) for n in found] == [
        (model.EventReason.POD_DEGRADED, ("apps/d",)),
        (model.EventReason.POD_RECOVERED, ("apps/h",)),
        (model.EventReason.PROBE_INCONCLUSIVE, ("apps/i",)),
    ]
    assert "50 % of 60" in found[0].message
    assert "ErrImagePull" in found[2].message
    assert notices.notices(records={"apps/i": second}, outcomes={"apps/i": bad}) == []


def test_a_healthy_pod_of_a_verified_remediation_shows_as_remediated() -> None:
    healthy = _record(0, 0)
    views = {"apps/web-2": dataclasses.replace(_view("web-2", healthy), remediated=True)}
    patch = _patch(views)
    assert [p["state"] for p in patch["pods"]] == ["Remediated"]
    assert patch["summary"]["remediated"] == 1
    assert patch["summary"]["healthy"] == 0


def test_remediation_conditions_are_set_or_removed_and_its_record_cleared_with_null() -> None:
    current = {
        "conditions": [
            {
                "type": "RemediationBlocked",
                "status": "True",
                "reason": "Cooldown",
                "message": "old",
                "lastTransitionTime": "2026-01-01T11:00:00Z",
            }
        ],
        "remediation": [{"kind": "Deployment"}],
    }
    view = reporting.RemediationView(
        workloads=(),
        conditions={
            model.ConditionType.REMEDIATION_BLOCKED: None,
            model.ConditionType.REMEDIATED: (True, model.Reason.VERIFIED, "web verified"),
        },
    )
    patch = status_builders.status_patch(current=current, views=None, remediation=view)
    types_ = {c["type"]: c for c in patch["conditions"]}
    assert "RemediationBlocked" not in types_
    assert types_["Remediated"]["reason"] == "Verified"
    assert patch["remediation"] is None  # a merge patch clears it only with null
