"""A target the probe cannot resolve: the check is not Ready, naming ``spec.targets[i].host``;
the pods stay Inconclusive (never Degraded), and the check's other verdicts are untouched."""

from __future__ import annotations

import datetime
from typing import Any

import probe_builders
from operator_builders import check, probe_document

from nethealth import model
from nethealth.detection import acceptance, decision, results
from nethealth.probe import classify, report, resolving, types
from nethealth.probe.dns import verdicts

UNRESOLVABLE = "nothing.invalid"
TARGETS = [
    {"name": "api", "host": "203.0.113.1", "port": 443},
    {"name": "db", "host": UNRESOLVABLE, "port": 5432},
]
RUNNING = acceptance.Acceptance(ready=True, reason=model.Reason.RUNNING, message="1 pod(s)")


def _probe_says_unresolvable() -> dict[str, Any]:
    """The document the probe writes when nothing resolves db's name, not even its own
    resolver: api is measured (healthy), db is not (its target Inconclusive)."""
    gone = types.Resolution(name=UNRESOLVABLE, status="nxdomain", detail="NXDOMAIN from x")
    dns = verdicts.judge(
        name=UNRESOLVABLE,
        target="db",
        by_role={types.Role.TARGET: gone, types.Role.CONTROL: gone, types.Role.HOST: gone},
        own=gone,
        servers=("198.51.100.53",),
    )
    resolved = resolving.Resolved(
        endpoints=(),
        unmeasured=(resolving._unmeasured(types.Target(**TARGETS[1]), dns),),  # type: ignore[arg-type]
        dns=(dns,),
    )
    measurements = [
        types.Measurement(role=role, netns=role.value, attempts=probe_builders.ok(20, target="api"))
        for role in types.Role
    ]
    verdict = classify.classify(
        measurements=measurements,
        evidence=None,
        kernel=None,
        unmeasured=resolved.unmeasured,
        dns=resolved.dns,
    )
    moment = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    return report.build(
        verdict=verdict,
        measurements=measurements,
        evidence=None,
        kernel=None,
        targets=(),
        started=moment,
        finished=moment,
        probe_info={},
    )


def _outcome() -> results.Outcome:
    return results.parse_document(key="apps/a", text=report.compact(_probe_says_unresolvable()))


def test_a_name_nothing_resolves_makes_its_target_not_the_pod_inconclusive() -> None:
    outcome = _outcome()
    assert not outcome.inconclusive  # api was measured
    found = results.unresolved(outcome)
    assert found is not None
    assert (found.name, found.host) == ("db", UNRESOLVABLE)
    assert "nxdomain" in found.error
    assert {t.target: t.klass for t in outcome.run.targets} == {
        "api": types.ProbeClass.HEALTHY,
        "db": types.ProbeClass.INCONCLUSIVE,
    }


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
