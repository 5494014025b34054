"""Deciding a pod's state from its probe runs: transitions, thresholds, hysteresis.

Runs are written as letters: F a clearly failing run (30 of 60 connects failed), P a clean
run (0 of 60), I a run the probe could not measure. The threshold is the CRD's default
(failureRate 0.2, minSamples 20, consecutiveRuns 2, recoveryRuns 3) unless a test says.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

from nethealth import model
from nethealth.detection import decision
from nethealth.probe import types

State = model.PodState
Verdict = decision.RunVerdict
DEFAULT = model.THRESHOLD.load({}, path="spec.threshold", field="threshold")

RUNS = {
    "F": decision.RunResult(
        klass=types.ProbeClass.POD_NAMESPACE, attempts=60, failures=30, failure_blocks=3
    ),
    "P": decision.RunResult(klass=types.ProbeClass.HEALTHY, attempts=60, failures=0),
    "I": decision.RunResult(
        klass=types.ProbeClass.INCONCLUSIVE, attempts=0, failures=0, reason="probe Job evicted"
    ),
}


def _states(letters: str, *, threshold: model.Threshold = DEFAULT) -> list[State]:
    record: decision.PodRecord | None = None
    states = []
    for letter in letters:
        record = decision.decide(previous=record, run=RUNS[letter], threshold=threshold)
        states.append(record.state)
    return states


def _run(attempts: int, failures: int, *, blocks: int | None = None) -> decision.RunResult:
    klass = types.ProbeClass.POD_NAMESPACE if failures else types.ProbeClass.HEALTHY
    return decision.RunResult(
        klass=klass, attempts=attempts, failures=failures, failure_blocks=blocks
    )


def _threshold(**changes: object) -> model.Threshold:
    return dataclasses.replace(DEFAULT, **changes)  # type: ignore[arg-type]


def _record_after(letters: str, *, threshold: model.Threshold = DEFAULT) -> decision.PodRecord:
    record: decision.PodRecord | None = None
    for letter in letters:
        record = decision.decide(previous=record, run=RUNS[letter], threshold=threshold)
    assert record is not None
    return record


S, H, D, R, U, X = (
    State.SUSPECT,
    State.HEALTHY,
    State.DEGRADED,
    State.RECOVERING,
    State.UNKNOWN,
    State.INCONCLUSIVE,
)


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        pytest.param("FF", [S, D], id="two-failing-runs-make-an-unknown-pod-degraded"),
        pytest.param("PFF", [H, S, D], id="a-healthy-pod-is-suspect-before-degraded"),
        pytest.param("FPFPFP", [S, H, S, H, S, H], id="flapping-never-reaches-degraded"),
        pytest.param("FFPPP", [S, D, R, R, H], id="recovery-takes-recovery-runs-passing-runs"),
        pytest.param("FFPPFPPP", [S, D, R, R, D, R, R, H], id="failing-while-recovering"),
        pytest.param("I", [X], id="a-first-unmeasured-run-is-inconclusive-not-healthy"),
        pytest.param("IIP", [X, X, H], id="healthy-only-after-a-first-measured-run"),
        pytest.param("IIF", [X, X, S], id="suspect-after-inconclusive-first-runs"),
        pytest.param("FIF", [S, S, D], id="inconclusive-runs-neither-break-nor-extend-streaks"),
        pytest.param("PIIII", [H, H, H, H, H], id="inconclusive-runs-keep-healthy"),
        pytest.param("FFIII", [S, D, D, D, D], id="inconclusive-runs-keep-degraded"),
        pytest.param("FFPIPIP", [S, D, R, R, R, R, H], id="inconclusive-runs-pause-recovery"),
    ],
)
def test_runs_move_the_pod_through_its_states(runs: str, expected: list[State]) -> None:
    assert _states(runs) == expected


@pytest.mark.parametrize(
    ("threshold", "runs", "expected"),
    [
        pytest.param(_threshold(consecutive_runs=1), "PF", [H, D], id="one-failing-run-enough"),
        pytest.param(_threshold(consecutive_runs=3), "FFF", [S, S, D], id="three-needed"),
        pytest.param(_threshold(recovery_runs=1), "FFP", [S, D, H], id="one-passing-run-enough"),
        pytest.param(_threshold(recovery_runs=5), "FFPPPPP", [S, D, R, R, R, R, H], id="five"),
    ],
)
def test_run_counts_follow_the_threshold(
    threshold: model.Threshold, runs: str, expected: list[State]
) -> None:
    assert _states(runs, threshold=threshold) == expected


def test_a_pod_starts_unknown_and_never_healthy_before_a_result() -> None:
    assert decision.UNKNOWN.state is State.UNKNOWN
    assert _record_after("IIIII").state is State.INCONCLUSIVE


def test_an_inconclusive_probe_never_counts_as_failure_whatever_its_counts() -> None:
    every_connect_failed = decision.RunResult(
        klass=types.ProbeClass.INCONCLUSIVE, attempts=60, failures=60, failure_blocks=1
    )
    judged = decision.judge(run=every_connect_failed, threshold=DEFAULT)
    assert judged.verdict is Verdict.INCONCLUSIVE
    suspect = _record_after("F")
    after = decision.decide(previous=suspect, run=every_connect_failed, threshold=DEFAULT)
    assert (after.state, after.failing_runs, after.inconclusive_runs) == (State.SUSPECT, 1, 1)


def test_an_inconclusive_run_reports_why_and_keeps_the_last_measurement() -> None:
    suspect = _record_after("F")
    after = decision.decide(previous=suspect, run=RUNS["I"], threshold=DEFAULT)
    assert after.verdict is Verdict.INCONCLUSIVE
    assert "probe Job evicted" in after.message
    assert (after.estimate, after.samples, after.klass) == (
        suspect.estimate,
        60,
        types.ProbeClass.POD_NAMESPACE,
    )


@pytest.mark.parametrize(
    ("attempts", "verdict"),
    [(19, Verdict.INCONCLUSIVE), (20, Verdict.FAILING), (60, Verdict.FAILING)],
)
def test_runs_with_fewer_than_min_samples_are_inconclusive(attempts: int, verdict: Verdict) -> None:
    half_failed = _run(attempts, attempts // 2, blocks=2)
    judged = decision.judge(run=half_failed, threshold=DEFAULT)
    assert judged.verdict is verdict
    if verdict is Verdict.INCONCLUSIVE:
        assert "minSamples 20" in judged.why


@pytest.mark.parametrize(
    ("failures", "verdict"),
    [
        pytest.param(12, Verdict.PASSING, id="exactly-the-threshold-passes"),
        pytest.param(13, Verdict.FAILING, id="more-than-the-threshold-fails"),
        pytest.param(0, Verdict.PASSING, id="clean"),
        pytest.param(60, Verdict.FAILING, id="all"),
    ],
)
def test_a_run_fails_when_more_than_the_threshold_share_fails(
    failures: int, verdict: Verdict
) -> None:
    assert decision.judge(run=_run(60, failures), threshold=DEFAULT).verdict is verdict


def test_a_threshold_below_the_noise_cannot_turn_noise_into_failing_runs() -> None:
    low = _threshold(failure_rate=0.05)
    # 4 of 60 is above 5 %, but 2 % noise gives 4 or more in one run of 30.
    judged = decision.judge(run=_run(60, 4), threshold=low)
    assert judged.verdict is Verdict.UNCLEAR
    assert "background noise" in judged.why
    assert decision.judge(run=_run(60, 12), threshold=low).verdict is Verdict.FAILING


def test_recovery_counts_only_runs_clearly_below_the_threshold() -> None:
    degraded = _record_after("FF")
    # One block of 10 failures: a bursty fault's light window, about 4 independent samples.
    light_window = _run(60, 10, blocks=1)
    after = decision.decide(previous=degraded, run=light_window, threshold=DEFAULT)
    assert (after.state, after.verdict, after.passing_runs) == (State.DEGRADED, Verdict.UNCLEAR, 0)
    # Scattered failures are independent: 3 of 60 is clearly below 20 %.
    scattered = decision.decide(previous=degraded, run=_run(60, 3, blocks=3), threshold=DEFAULT)
    assert (scattered.state, scattered.verdict) == (State.RECOVERING, Verdict.PASSING)


def test_a_clean_run_ends_a_recovery_even_when_few_connects_cannot_be_clearly_below() -> None:
    # 20 connects against a 10 % threshold: even 0 failures leave a 95 % interval up to
    # ~16 %. Were a clean run not enough, such a pod would stay Degraded for good.
    threshold = _threshold(failure_rate=0.1, min_samples=20, recovery_runs=2)
    degraded = decision.decide(
        previous=decision.decide(previous=None, run=_run(20, 10), threshold=threshold),
        run=_run(20, 10),
        threshold=threshold,
    )
    assert degraded.state is State.DEGRADED
    clean = decision.decide(previous=degraded, run=_run(20, 0), threshold=threshold)
    assert (clean.state, clean.verdict) == (State.RECOVERING, Verdict.PASSING)
    healed = decision.decide(previous=clean, run=_run(20, 0), threshold=threshold)
    assert healed.state is State.HEALTHY
    # One failure in such a run is still not clearly below: it does not count.
    one = decision.decide(previous=degraded, run=_run(20, 1), threshold=threshold)
    assert one.verdict is Verdict.UNCLEAR


def test_a_pod_that_is_not_degraded_passes_on_the_share_alone() -> None:
    healthy = _record_after("P")
    after = decision.decide(previous=healthy, run=_run(60, 10, blocks=1), threshold=DEFAULT)
    assert (after.state, after.verdict) == (State.HEALTHY, Verdict.PASSING)


def test_the_record_says_what_changed_for_events() -> None:
    suspect = _record_after("F")
    degraded = decision.decide(previous=suspect, run=RUNS["F"], threshold=DEFAULT)
    assert degraded.entered(State.DEGRADED)
    assert not decision.decide(previous=degraded, run=RUNS["F"], threshold=DEFAULT).changed
    assert "30 of 60 connects failed (50 %)" in degraded.message
    assert "threshold of 20 %" in degraded.message
    assert "failing run 1 of 2 before Degraded" in suspect.message


def test_the_record_carries_class_rate_and_interval_of_the_last_measured_run() -> None:
    record = _record_after("F")
    assert record.klass is types.ProbeClass.POD_NAMESPACE
    assert record.estimate is not None
    assert record.estimate.rate == 0.5
    assert record.estimate.low < 0.5 < record.estimate.high
    assert record.estimate.effective_samples < 60  # three blocks, not sixty samples


def test_decide_pods_drops_gone_pods_and_starts_new_ones_unknown() -> None:
    previous = {"gone": _record_after("FF"), "kept": _record_after("F")}
    runs = {"kept": RUNS["F"], "new": RUNS["F"]}
    records = decision.decide_pods(previous=previous, runs=runs, threshold=DEFAULT)
    assert list(records) == ["kept", "new"]
    assert records["kept"].state is State.DEGRADED
    assert (records["new"].state, records["new"].previous_state) == (State.SUSPECT, State.UNKNOWN)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"attempts": -1, "failures": 0}, "attempts"),
        ({"attempts": 10, "failures": 11}, "failures"),
        ({"attempts": 10, "failures": -1}, "failures"),
        ({"attempts": 10, "failures": 5, "failure_blocks": 6}, "failure_blocks"),
        ({"attempts": 10, "failures": 5, "failure_blocks": 0}, "failure_blocks"),
    ],
)
def test_impossible_counts_are_refused_naming_the_field(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        decision.RunResult(klass=types.ProbeClass.HEALTHY, **fields)


def test_remediated_is_not_a_decision_state() -> None:
    with pytest.raises(ValueError, match="state must be one of"):
        decision.PodRecord(state=State.REMEDIATED)


# -- properties ---------------------------------------------------------------------------

letters = st.text(alphabet="FPI", max_size=30)
thresholds = st.builds(
    model.Threshold,
    failure_rate=st.floats(min_value=0.01, max_value=0.99),
    min_samples=st.integers(min_value=1, max_value=100),
    consecutive_runs=st.integers(min_value=1, max_value=5),
    recovery_runs=st.integers(min_value=1, max_value=5),
)
counts = st.integers(min_value=0, max_value=200).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(min_value=0, max_value=n))
)


@hypothesis.given(history=letters, threshold=thresholds)
def test_one_run_never_takes_a_healthy_pod_to_degraded_when_more_are_required(
    history: str, threshold: model.Threshold
) -> None:
    hypothesis.assume(threshold.consecutive_runs > 1)
    record: decision.PodRecord | None = None
    for letter in history:
        record = decision.decide(previous=record, run=RUNS[letter], threshold=threshold)
        if record.previous_state is State.HEALTHY:
            assert record.state is not State.DEGRADED


@hypothesis.given(history=letters, threshold=thresholds)
def test_degraded_needs_that_many_failing_runs_and_healthy_that_many_passing(
    history: str, threshold: model.Threshold
) -> None:
    record: decision.PodRecord | None = None
    passed_once = False
    for letter in history:
        before = record
        record = decision.decide(previous=record, run=RUNS[letter], threshold=threshold)
        passed_once = passed_once or record.verdict is Verdict.PASSING
        # A failing run while Recovering goes straight back: the fault was never gone.
        if record.entered(State.DEGRADED) and record.previous_state is not State.RECOVERING:
            assert record.failing_runs >= threshold.consecutive_runs
        was_degraded = before is not None and before.state in (State.DEGRADED, State.RECOVERING)
        if was_degraded and record.state is State.HEALTHY:
            assert record.passing_runs >= threshold.recovery_runs
        if record.state is State.HEALTHY:
            assert passed_once  # never healthy before a measured, passing run


@hypothesis.given(history=letters, threshold=thresholds)
def test_an_inconclusive_run_changes_nothing_but_its_own_count(
    history: str, threshold: model.Threshold
) -> None:
    record = None
    for letter in history:
        record = decision.decide(previous=record, run=RUNS[letter], threshold=threshold)
    after = decision.decide(previous=record, run=RUNS["I"], threshold=threshold)
    before = record or decision.UNKNOWN
    expected_state = State.INCONCLUSIVE if before.state is State.UNKNOWN else before.state
    assert after.state is expected_state
    assert (after.failing_runs, after.passing_runs) == (before.failing_runs, before.passing_runs)
    assert after.inconclusive_runs == before.inconclusive_runs + 1


@hypothesis.given(count=counts, threshold=thresholds, recovering=st.booleans())
def test_more_failures_never_make_a_run_look_better(
    count: tuple[int, int], threshold: model.Threshold, recovering: bool
) -> None:
    attempts, failures = count
    hypothesis.assume(failures < attempts)
    rank = {Verdict.PASSING: 0, Verdict.UNCLEAR: 1, Verdict.FAILING: 2}
    worse = [
        decision.judge(run=_run(attempts, k), threshold=threshold, recovering=recovering)
        for k in (failures, failures + 1)
    ]
    if worse[0].verdict is Verdict.INCONCLUSIVE:
        assert worse[1].verdict is Verdict.INCONCLUSIVE  # too few samples either way
        return
    assert rank[worse[0].verdict] <= rank[worse[1].verdict]


@hypothesis.given(
    pods=st.dictionaries(
        keys=st.text(alphabet="abc-", min_size=1, max_size=5),
        values=st.sampled_from("FPI"),
        max_size=8,
    ),
    seed=st.randoms(use_true_random=False),
)
def test_deciding_many_pods_does_not_depend_on_their_order(
    pods: dict[str, str], seed: random.Random
) -> None:
    names = list(pods)
    seed.shuffle(names)
    runs = {name: RUNS[pods[name]] for name in pods}
    shuffled = {name: RUNS[pods[name]] for name in names}
    first = decision.decide_pods(previous={}, runs=runs, threshold=DEFAULT)
    second = decision.decide_pods(previous={}, runs=shuffled, threshold=DEFAULT)
    assert list(first.items()) == list(second.items())
