"""Verifying a remediation: the new pods on the node's network decide whether it helped."""

from __future__ import annotations

import datetime

from nethealth import model
from nethealth.detection import decision
from nethealth.probe import types
from nethealth.remediation import verification

NOW = datetime.datetime(2026, 11, 26, 8, 0, tzinfo=datetime.UTC)
LIMIT = datetime.timedelta(minutes=5)
Verdict = decision.RunVerdict
Result = verification.Result


def new(
    verdict: Verdict | None, name: str = "web-2", hint: str | None = None
) -> verification.NewPod:
    return verification.NewPod(key=f"apps/{name}", verdict=verdict, hint=hint)


def judge(
    *pods: verification.NewPod, minutes_ago: float = 1, passed_before: int = 0, needed: int = 1
) -> Result:
    return verification.judge(
        pods=pods,
        passed_before=passed_before,
        needed=needed,
        changed_at=NOW - datetime.timedelta(minutes=minutes_ago),
        now=NOW,
        limit=LIMIT,
    )


def test_every_new_pod_passing_verifies_the_change():
    assert judge(new(Verdict.PASSING), new(Verdict.PASSING, "web-3")) is Result.VERIFIED


def test_one_failing_new_pod_makes_the_change_ineffective_even_if_others_pass():
    assert judge(new(Verdict.PASSING), new(Verdict.FAILING, "web-3")) is Result.STILL_FAILING


def test_no_new_pod_measured_yet_waits_until_the_deadline_then_times_out():
    assert judge() is Result.WAITING
    assert judge(minutes_ago=5) is Result.TIMED_OUT


def test_inconclusive_or_unclear_runs_never_verify_a_change():
    assert judge(new(Verdict.INCONCLUSIVE), new(Verdict.UNCLEAR, "web-3")) is Result.WAITING
    assert judge(new(Verdict.PASSING), new(None, "web-3")) is Result.WAITING


def test_the_deadline_leaves_room_for_a_rollout_and_three_runs():
    limit = verification.deadline(
        interval=datetime.timedelta(seconds=30), probe_deadline=datetime.timedelta(seconds=40)
    )
    assert limit == datetime.timedelta(minutes=2) + 3 * datetime.timedelta(seconds=70)


def test_the_failing_pods_hint_explains_an_ineffective_change():
    pods = [new(Verdict.PASSING, hint="none"), new(Verdict.FAILING, "web-3", hint="KernelX: y")]
    assert verification.failing_hint(pods) == "KernelX: y"


THRESHOLD = model.Threshold(failure_rate=0.2, min_samples=20, consecutive_runs=2, recovery_runs=2)


def test_a_new_pod_failing_counts_even_when_the_probe_cannot_say_where_the_fault_lies():
    # Pod and fresh pod both failing, the node unmeasurable: the probe says Inconclusive,
    # but the workload's own connects fail, which is what verification asks.
    run = decision.RunResult(
        klass=types.ProbeClass.INCONCLUSIVE, attempts=20, failures=10, reason="host unmeasured"
    )
    assert verification.measured(run, threshold=THRESHOLD) is Verdict.FAILING


def test_a_new_pod_passing_and_a_run_that_measured_nothing():
    healthy = decision.RunResult(klass=types.ProbeClass.HEALTHY, attempts=20, failures=0)
    assert verification.measured(healthy, threshold=THRESHOLD) is Verdict.PASSING
    never = decision.RunResult(klass=types.ProbeClass.INCONCLUSIVE, attempts=0, failures=0)
    assert verification.measured(never, threshold=THRESHOLD) is None


def test_a_change_is_verified_only_after_recovery_runs_passing_runs_in_a_row():
    passing = new(Verdict.PASSING)
    assert judge(passing, needed=3) is Result.PASSED
    assert judge(passing, passed_before=1, needed=3) is Result.PASSED
    assert judge(passing, passed_before=2, needed=3) is Result.VERIFIED


def test_one_lucky_window_below_the_threshold_is_not_a_clear_pass():
    # 11 of 60 connects failing in one block: below 20 %, but not clearly (the interval of
    # the rate over so few independent samples reaches far above it).
    lucky = decision.RunResult(
        klass=types.ProbeClass.POD_NAMESPACE, attempts=60, failures=11, failure_blocks=1
    )
    assert verification.measured(lucky, threshold=THRESHOLD) is None


def test_failures_the_control_shares_are_not_held_against_the_change():
    for klass in (types.ProbeClass.UPSTREAM, types.ProbeClass.NODE_NETWORK):
        outage = decision.RunResult(klass=klass, attempts=60, failures=60, failure_blocks=1)
        assert verification.measured(outage, threshold=THRESHOLD) is None


def test_a_verified_change_relapses_when_a_new_pod_is_decided_degraded_again():
    healthy = verification.NewPod(
        key="apps/web-2", verdict=Verdict.FAILING, hint=None, state=model.PodState.SUSPECT
    )
    degraded = verification.NewPod(
        key="apps/web-3", verdict=Verdict.FAILING, hint="X: y", state=model.PodState.DEGRADED
    )
    assert not verification.relapsed([healthy])
    assert verification.relapsed([healthy, degraded])
    assert verification.failing_hint([degraded]) == "X: y"
