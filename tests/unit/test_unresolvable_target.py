"""A target the probe cannot resolve: the check is not Ready, naming ``spec.targets[i].host``;
the pods stay Inconclusive (never Degraded), and the check's other verdicts are untouched."""

from __future__ import annotations

from typing import Any

import pytest
from operator_builders import check, probe_document

from nethealth import model
from nethealth.detection import acceptance, decision, results
from nethealth.probe import orchestrate, report, types

# A label longer than 63 characters fails in the resolver's IDNA step, before any packet:
# the probe's real words for an unresolvable name, without touching a DNS server.
UNRESOLVABLE = "x" * 64 + ".example"
TARGETS = [
    {"name": "api", "host": "203.0.113.1", "port": 443},
    {"name": "db", "host": UNRESOLVABLE, "port": 5432},
]
RUNNING = acceptance.Acceptance(ready=True, reason=model.Reason.RUNNING, message="1 pod(s)")


def _probe_says_unresolvable() -> dict[str, Any]:
    """The document the probe writes when resolving the check's targets fails."""
    with pytest.raises(orchestrate.Inconclusive) as failed:
        orchestrate.resolve([types.Target(**t) for t in TARGETS])
    verdict = types.Verdict(klass=types.ProbeClass.INCONCLUSIVE, reason=str(failed.value))
    doc = probe_document("", klass=types.ProbeClass.INCONCLUSIVE)
    doc["reason"] = verdict.reason
    return doc


def _outcome() -> results.Outcome:
    return results.parse_document(key="apps/a", text=report.compact(_probe_says_unresolvable()))


def test_the_probes_resolution_failure_is_inconclusive_with_its_own_reason() -> None:
    outcome = _outcome()
    assert outcome.inconclusive
    assert outcome.why is results.Why.UNRESOLVABLE
    found = results.unresolved(outcome)
    assert found is not None
    assert (found.name, found.host) == ("db", UNRESOLVABLE)
    assert "too long" in found.error


def test_an_unresolvable_target_makes_ready_false_naming_the_field_and_host() -> None:
    verdict = acceptance.after_run(
        verdict=RUNNING, check=check(targets=TARGETS), outcomes={"apps/a": _outcome()}
    )
    assert not verdict.ready
    assert verdict.reason == model.Reason.TARGET_UNRESOLVABLE
    assert verdict.message.startswith(f"spec.targets[1].host {UNRESOLVABLE!r}")
    assert "apps/a" in verdict.message


def test_an_unresolvable_target_never_makes_a_healthy_pod_degraded() -> None:
    healthy = decision.PodRecord(state=model.PodState.HEALTHY, passing_runs=3)
    after = decision.decide_pods(
        previous={"apps/a": healthy},
        runs={"apps/a": _outcome().run},
        threshold=check(targets=TARGETS).spec.threshold,
    )
    assert after["apps/a"].state is not model.PodState.DEGRADED


def test_other_inconclusive_runs_and_measurements_leave_ready_as_it_was() -> None:
    other = results.parse_document(
        key="apps/b", text=report.compact(probe_document("", klass=types.ProbeClass.INCONCLUSIVE))
    )
    healthy = results.parse_document(
        key="apps/c", text=report.compact(probe_document("." * 20, klass=types.ProbeClass.HEALTHY))
    )
    assert other.why is results.Why.PROBE
    outcomes = {"apps/b": other, "apps/c": healthy}
    assert acceptance.after_run(verdict=RUNNING, check=check(), outcomes=outcomes) == RUNNING


def test_a_check_refused_for_another_reason_keeps_that_reason() -> None:
    refused = acceptance.Acceptance(
        ready=False, reason=model.Reason.NO_PODS_SELECTED, message="spec.selector matches none"
    )
    verdict = acceptance.after_run(
        verdict=refused, check=check(targets=TARGETS), outcomes={"apps/a": _outcome()}
    )
    assert verdict == refused
