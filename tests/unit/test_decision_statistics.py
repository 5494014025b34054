"""How well the decision separates real faults from noise, measured on simulated runs.

Faults and noise are simulated (`nethealth.testing.failureprocess`) with the CRD's default probe
settings (60 connects over 30 s, up to 3 windows) and threshold (20 %, consecutiveRuns 2):
one namespace's counts judged by the pooled rule (what one 30 s window can say), and whole
probe runs as shipped (`nethealth.testing.simulatedrun`: the class table, the paired
comparison, the longer windows). Rates from a
seeded Monte Carlo are asserted through a Wilson interval at 4 standard deviations, so a
test fails only when the rule (or the simulator) changes, never by bad luck of the seed;
rates far below what 2,000 runs can show are computed exactly instead.
"""

from __future__ import annotations

import errno
import pathlib
import random
import statistics
import subprocess
import sys

import pytest

from nethealth import model
from nethealth.detection import decision
from nethealth.probe import types
from nethealth.testing import failureprocess, simulatedrun

DEFAULT = model.THRESHOLD.load({}, path="spec.threshold", field="threshold")
PROBE = model.PROBE.load({}, path="spec.probe", field="probe")
RUNS = 2000
SURE = 4.0  # standard deviations: a bound this far out fails by chance ~3e-5 of the time
ROOT = pathlib.Path(__file__).parents[2]
NOISE = failureprocess.Iid(rate=0.01)  # a fresh pod's and the node's background loss


def _simulate(
    process: failureprocess.Process, *, seed: str, runs: int = RUNS
) -> list[decision.RunResult]:
    rng = random.Random(seed)
    return [
        failureprocess.simulate_run(
            process, rng=rng, attempts=PROBE.attempts, spread=PROBE.spread.total_seconds()
        )
        for _ in range(runs)
    ]


def _failing(runs: list[decision.RunResult]) -> int:
    return sum(
        decision.judge(run=run, threshold=DEFAULT).verdict is decision.RunVerdict.FAILING
        for run in runs
    )


def _surely_at_least(hits: int, trials: int) -> float:
    return decision.wilson(rate=hits / trials, samples=trials, z=SURE)[0]


def _surely_at_most(hits: int, trials: int) -> float:
    return decision.wilson(rate=hits / trials, samples=trials, z=SURE)[1]


def _whole_runs(
    process: failureprocess.Process, *, seed: str, runs: int = RUNS
) -> list[simulatedrun.Simulated]:
    """Whole probe runs as shipped: three namespaces, the class table, longer windows."""
    scenario = simulatedrun.Scenario(name="fault", target=process, control=NOISE, host=NOISE)
    rng = random.Random(seed)
    return [simulatedrun.simulate(scenario, rng=rng) for _ in range(runs)]


def _fails(run: decision.RunResult) -> bool:
    return decision.assess(run=run, threshold=DEFAULT).verdict is decision.RunVerdict.FAILING


def _runs_until_degraded(
    process: failureprocess.Process, *, rng: random.Random, limit: int
) -> int | None:
    scenario = simulatedrun.Scenario(name="fault", target=process, control=NOISE, host=NOISE)
    record = None
    for count in range(1, limit + 1):
        run = simulatedrun.simulate(scenario, rng=rng).run
        record = decision.decide(previous=record, run=run, threshold=DEFAULT)
        if record.state is model.PodState.DEGRADED:
            return count
    return None


# -- the simulator is what it claims ------------------------------------------------------


@pytest.mark.parametrize("duty", [0.3, 0.5])
def test_a_bursty_fault_fails_its_duty_share_of_connects_in_blocks_of_5_to_8_s(
    duty: float,
) -> None:
    runs = _simulate(failureprocess.Bursty(duty=duty), seed=f"share/{duty}")
    rates = [run.rate for run in runs]
    assert abs(statistics.fmean(rates) - duty) < SURE * statistics.stdev(rates) / len(rates) ** 0.5
    # A whole block inside the window is 10-16 connects; cut blocks at the edges are shorter.
    whole = [
        run.failures / run.failure_blocks
        for run in runs
        if run.failure_blocks and run.failure_blocks > 1
    ]
    assert 5 <= statistics.fmean(whole) <= 16


def test_iid_noise_fails_its_rate_of_connects_in_scattered_blocks() -> None:
    runs = _simulate(failureprocess.Iid(rate=0.1), seed="iid")
    assert abs(statistics.fmean(r.rate for r in runs) - 0.1) < 0.01
    assert statistics.fmean(r.failures / (r.failure_blocks or 1) for r in runs if r.failures) < 1.2


# -- the effective sample size ------------------------------------------------------------


def test_clustered_failures_count_as_few_independent_samples() -> None:
    bursty = decision.effective_samples(attempts=60, failures=30, blocks=2)
    scattered = decision.effective_samples(attempts=60, failures=6, blocks=6)
    unknown = decision.effective_samples(attempts=60, failures=30, blocks=None)
    assert bursty < 8  # 30 s holds about four 5-8 s blocks
    assert scattered == 60
    assert unknown <= bursty  # unknown blocks: assume the worst clustering


def test_the_rate_interval_is_wilson_over_the_effective_samples() -> None:
    # Textbook Wilson 95 % interval for 5 of 10: 0.237 to 0.763.
    low, high = decision.wilson(rate=0.5, samples=10)
    assert (round(low, 3), round(high, 3)) == (0.237, 0.763)
    clustered = decision.estimate(
        decision.RunResult(
            klass=types.ProbeClass.POD_NAMESPACE, attempts=60, failures=30, failure_blocks=2
        )
    )
    scattered = decision.estimate(
        decision.RunResult(
            klass=types.ProbeClass.POD_NAMESPACE, attempts=60, failures=30, failure_blocks=30
        )
    )
    assert clustered.high - clustered.low > 2 * (scattered.high - scattered.low)


# -- detection ----------------------------------------------------------------------------


def test_a_50_percent_bursty_fault_fails_every_run_and_is_degraded_after_two() -> None:
    runs = _simulate(failureprocess.Bursty(duty=0.5), seed="detect/50")
    assert _surely_at_least(_failing(runs), len(runs)) >= 0.99
    rng = random.Random("degraded/50")
    needed = [
        _runs_until_degraded(failureprocess.Bursty(duty=0.5), rng=rng, limit=2) for _ in range(500)
    ]
    assert _surely_at_least(needed.count(2), len(needed)) >= 0.95


def test_one_30_s_window_misses_a_30_percent_bursty_fault_in_about_one_run_of_seven() -> None:
    """Why the probe measures longer: a 30 s window sometimes holds a single 5-6 s block
    (17-20 %), no more than the 20 % threshold, though nothing else explains it."""
    runs = _simulate(failureprocess.Bursty(duty=0.3), seed="detect/30")
    failing = _failing(runs)
    assert _surely_at_least(failing, len(runs)) >= 0.80
    assert _surely_at_most(failing, len(runs)) <= 0.95
    assert min(run.failures for run in runs) >= 10  # never a window without a block


def test_the_extended_window_catches_a_30_percent_bursty_fault_in_one_run() -> None:
    shipped = _whole_runs(failureprocess.Bursty(duty=0.3), seed="extended/30")
    failing = sum(_fails(s.run) for s in shipped)
    assert _surely_at_least(failing, len(shipped)) >= 0.98  # the benchmark: >= 0.999
    # Measuring longer costs only the pods that look bad: ~1 window in 10 is extended.
    assert statistics.fmean(s.window for s in shipped) <= 40.0
    rng = random.Random("degraded/30")
    needed = [
        _runs_until_degraded(failureprocess.Bursty(duty=0.3), rng=rng, limit=2) for _ in range(500)
    ]
    assert _surely_at_least(sum(n is not None for n in needed), len(needed)) >= 0.70


def test_a_poisoned_cpu_of_two_is_caught_in_every_run() -> None:
    seed = simulatedrun.Scenario(
        name="seed",
        target=failureprocess.Iid(rate=1.0),
        control=NOISE,
        host=NOISE,
        poisoned=frozenset({0}),
    )
    shipped = [simulatedrun.simulate(seed, rng=random.Random(f"cpu/{i}")) for i in range(300)]
    assert all(_fails(s.run) for s in shipped)
    assert {s.klass for s in shipped} == {types.ProbeClass.POD_NAMESPACE}


def test_loss_every_namespace_shares_is_rarely_blamed_on_the_pod_where_it_was_often() -> None:
    lossy = failureprocess.Iid(rate=0.10)
    shared = simulatedrun.Scenario(
        name="shared", target=lossy, control=lossy, host=lossy, target_errno=errno.ETIMEDOUT
    )
    pod = frozenset({types.ProbeClass.POD_NAMESPACE, types.ProbeClass.FILTERED})
    rng = random.Random("shared/10")
    legacy = [simulatedrun.simulate(shared, rng=rng, legacy=True).klass for _ in range(RUNS)]
    shipped = [simulatedrun.simulate(shared, rng=rng).klass for _ in range(RUNS)]
    assert _surely_at_least(sum(k in pod for k in legacy), RUNS) >= 0.15  # two separate tests
    assert _surely_at_most(sum(k in pod for k in shipped), RUNS) <= 0.02  # the benchmark: 0.5 %


def test_a_degraded_pod_with_an_ongoing_bursty_fault_does_not_recover() -> None:
    rng = random.Random("no-false-recovery")
    fault = failureprocess.Bursty(duty=0.3)
    degraded = decision.PodRecord(state=model.PodState.DEGRADED, failing_runs=2)
    recovered = 0
    for _ in range(400):
        record = degraded
        for _ in range(10):
            run = failureprocess.simulate_run(fault, rng=rng)
            record = decision.decide(previous=record, run=run, threshold=DEFAULT)
        recovered += record.state is model.PodState.HEALTHY
    assert _surely_at_most(recovered, 400) <= 0.05


# -- false positives ----------------------------------------------------------------------


def test_one_percent_noise_fails_a_run_less_than_once_in_ten_thousand() -> None:
    # Each window the probe may measure is one look at a pooled count: their sum bounds it.
    bound = sum(
        failureprocess.exact_failing_probability(
            rate=0.01, attempts=PROBE.attempts * looks, threshold=DEFAULT
        )
        for looks in range(1, PROBE.windows + 1)
    )
    assert bound <= 1e-4
    shipped = _whole_runs(failureprocess.Iid(rate=0.01), seed="noise/1")
    assert not any(_fails(s.run) for s in shipped)  # expected 2,000 x bound, far below one
    assert statistics.fmean(s.window for s in shipped) <= 31.0  # noise rarely measures longer


@pytest.mark.parametrize("failure_rate", [0.01, 0.05, 0.2, 0.5])
def test_noise_at_the_assumed_level_is_bounded_for_any_threshold_and_sample_size(
    failure_rate: float,
) -> None:
    threshold = model.Threshold(
        failure_rate=failure_rate, min_samples=1, consecutive_runs=2, recovery_runs=3
    )
    worst = max(
        failureprocess.exact_failing_probability(
            rate=decision.NOISE_RATE, attempts=attempts, threshold=threshold
        )
        for attempts in [*range(1, 121), 240, 600]
    )
    assert worst <= decision.FALSE_POSITIVE_BUDGET


def test_ten_percent_iid_failures_stay_below_the_20_percent_threshold() -> None:
    """10 % is below the threshold, so it should not make a pod Degraded: a run fails
    only when chance puts 13 of 60 failures in it (~0.6 %), two in a row ~3e-5."""
    exact = failureprocess.exact_failing_probability(
        rate=0.1, attempts=PROBE.attempts, threshold=DEFAULT
    )
    assert 1e-3 <= exact <= 1e-2
    assert exact**DEFAULT.consecutive_runs <= 1e-4
    runs = _simulate(failureprocess.Iid(rate=0.1), seed="noise/10")
    assert _surely_at_most(_failing(runs), len(runs)) <= 0.03
    shipped = _whole_runs(failureprocess.Iid(rate=0.1), seed="noise/10/shipped")
    assert _surely_at_most(sum(_fails(s.run) for s in shipped), len(shipped)) <= 0.03


def test_short_glitches_of_a_healthy_path_rarely_fail_a_run() -> None:
    runs = _simulate(failureprocess.Glitches(per_minute=1.0), seed="glitches")
    assert _surely_at_most(_failing(runs), len(runs)) <= 0.02
    shipped = _whole_runs(failureprocess.Glitches(per_minute=1.0), seed="glitches/shipped")
    assert _surely_at_most(sum(_fails(s.run) for s in shipped), len(shipped)) <= 0.02


# -- the benchmark ------------------------------------------------------------------------


def test_the_decision_quality_benchmark_runs_on_a_tiny_size() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "decision_quality.py"),
            *("--runs", "40", "--pods", "10", "--max-runs", "20"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names = ("bursty 50%", "bursty 30%", "per-CPU 1 of 2", "i.i.d. 1%", "i.i.d. 10%", "glitches")
    for name in (*names, "shared 10% loss"):
        assert f"| {name}" in result.stdout
    assert "≤ 0.0001: met" in result.stdout  # decided exactly, whatever the size
