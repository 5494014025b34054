"""Decision quality: how often simulated faults are caught, and how often noise trips the rule.

Feeds `nethealth.detection.decision` with seeded simulated probe runs
(`nethealth.testing.failureprocess`):
the seed incident's bursty failures (5-8 s failing blocks at 30 % and 50 % of the time,
alternating, and the same with blocks failing at random), i.i.d. failures at 1 % (healthy
noise) and 10 % (below the threshold), and short random outages (correlated noise). The
probe settings and the threshold are the CRD's defaults unless given.

Per scenario it prints, as a Markdown table:

- P(run failing): the share of single runs judged failing (for a pod that is not degraded:
  Healthy -> Suspect), with a Wilson 95 % interval; "exact" adds the exact value for i.i.d.
  processes (the verdict depends on the count alone, so it is a binomial sum);
- P(Degraded at first chance): a fresh pod is Degraded after exactly consecutiveRuns runs;
- P(false recovery): a Degraded pod whose fault goes on reaches Healthy within
  --recovery-window runs (faults only; recovery needs runs clearly below the threshold);
- E[runs to Degraded]: from simulated pods (capped at --max-runs, with the share that got
  there) where runs are frequent enough, and in closed form from the per-run probability
  q (runs are independent): (1 - q^c) / ((1 - q) q^c) for c = consecutiveRuns.

Goals (issue 8): >= 99 % detection within one run at 30-50 % bursty failure; <= 1e-4 false
positives per run at 1 % i.i.d. noise. A goal is "met" when the whole interval (or the
exact value) is on the right side, "missed" when it is entirely on the wrong side.

    .venv/bin/python benchmarks/decision_quality.py [--runs 20000] [--seed 1]
        [--threshold 0.2] [--consecutive-runs 2] [--attempts 60] [--spread 30]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import sys
import time
from collections.abc import Callable

from nethealth import model
from nethealth.detection import decision
from nethealth.testing import failureprocess

DETECTION_GOAL = 0.99
FALSE_POSITIVE_GOAL = 1e-4
# The CRD's defaults, so the benchmark follows them if they change.
DEFAULT_THRESHOLD = model.THRESHOLD.load({}, path="spec.threshold", field="threshold")
DEFAULT_PROBE = model.PROBE.load({}, path="spec.probe", field="probe")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Scenario:
    process: failureprocess.Process
    goal: str  # "detect", "quiet" or "" (reported only)


SCENARIOS = (
    Scenario(process=failureprocess.Bursty(duty=0.5), goal="detect"),
    Scenario(process=failureprocess.Bursty(duty=0.3), goal="detect"),
    Scenario(process=failureprocess.RandomBlocks(duty=0.5), goal=""),
    Scenario(process=failureprocess.RandomBlocks(duty=0.3), goal=""),
    Scenario(process=failureprocess.Iid(rate=0.01), goal="quiet"),
    Scenario(process=failureprocess.Iid(rate=0.10), goal=""),
    Scenario(process=failureprocess.Glitches(per_minute=1.0), goal=""),
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Figures:
    failing: int
    runs: int
    exact: float | None
    first_chance: int
    pods: int
    to_degraded: list[int]  # runs each simulated pod needed; only pods that got there
    simulated_pods: int
    false_recoveries: int | None  # of `pods` degraded pods; None for noise scenarios


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    threshold = model.Threshold(
        failure_rate=args.threshold,
        min_samples=args.min_samples,
        consecutive_runs=args.consecutive_runs,
        recovery_runs=args.recovery_runs,
    )
    print(
        f"decision quality: {args.runs} runs per scenario, seed {args.seed}; probe"
        f" {args.attempts} connects over {args.spread:g} s; threshold failureRate"
        f" {threshold.failure_rate:g}, minSamples {threshold.min_samples}, consecutiveRuns"
        f" {threshold.consecutive_runs} (interval {DEFAULT_PROBE.interval}); failing runs"
        f" must be significant against {decision.NOISE_RATE:.0%} i.i.d. noise at"
        f" {decision.FALSE_POSITIVE_BUDGET:g}\n"
    )
    print(
        "| scenario | P(run failing) [95 % CI] | exact | P(Degraded at first chance) [95 % CI]"
        f" | P(false recovery in {args.recovery_window} runs) [95 % CI]"
        " | E[runs to Degraded] simulated | closed form | goal |"
    )
    print("|---|---|---|---|---|---|---|---|")
    started = time.monotonic()
    for index, scenario in enumerate(SCENARIOS):
        rng = random.Random(f"{args.seed}/{index}")
        figures = measure(scenario=scenario, args=args, threshold=threshold, rng=rng)
        print(_row(scenario=scenario, figures=figures, threshold=threshold))
    print(f"\n({time.monotonic() - started:.1f} s)")
    return 0


def measure(
    *,
    scenario: Scenario,
    args: argparse.Namespace,
    threshold: model.Threshold,
    rng: random.Random,
) -> Figures:
    def run() -> decision.RunResult:
        return failureprocess.simulate_run(
            scenario.process, rng=rng, attempts=args.attempts, spread=args.spread
        )

    healthy = decision.PodRecord(state=decision.PodState.HEALTHY)
    failing = sum(
        decide(healthy, run(), threshold).verdict is decision.RunVerdict.FAILING
        for _ in range(args.runs)
    )
    exact = None
    if isinstance(scenario.process, failureprocess.Iid):
        exact = failureprocess.exact_failing_probability(
            rate=scenario.process.rate, attempts=args.attempts, threshold=threshold
        )
    first_chance = 0
    for _ in range(args.runs):
        record = None
        for _ in range(threshold.consecutive_runs):
            record = decide(record, run(), threshold)
        first_chance += record is not None and record.state is decision.PodState.DEGRADED
    # Following pods until Degraded only pays off when failing runs are common.
    to_degraded: list[int] = []
    simulated = args.runs if failing >= 0.05 * args.runs else 0
    for _ in range(simulated):
        record = None
        for count in range(1, args.max_runs + 1):
            record = decide(record, run(), threshold)
            if record.state is decision.PodState.DEGRADED:
                to_degraded.append(count)
                break
    false_recoveries = None
    if scenario.goal == "detect" or isinstance(scenario.process, failureprocess.RandomBlocks):
        false_recoveries = sum(
            _recovers(run=run, threshold=threshold, window=args.recovery_window)
            for _ in range(args.runs)
        )
    return Figures(
        failing=failing,
        runs=args.runs,
        exact=exact,
        first_chance=first_chance,
        pods=args.runs,
        to_degraded=to_degraded,
        simulated_pods=simulated,
        false_recoveries=false_recoveries,
    )


def _recovers(
    *, run: Callable[[], decision.RunResult], threshold: model.Threshold, window: int
) -> bool:
    record = decision.PodRecord(
        state=decision.PodState.DEGRADED, failing_runs=threshold.consecutive_runs
    )
    for _ in range(window):
        record = decide(record, run(), threshold)
        if record.state is decision.PodState.HEALTHY:
            return True
    return False


def decide(
    previous: decision.PodRecord | None, run: decision.RunResult, threshold: model.Threshold
) -> decision.PodRecord:
    return decision.decide(previous=previous, run=run, threshold=threshold)


def _row(*, scenario: Scenario, figures: Figures, threshold: model.Threshold) -> str:
    low, high = decision.wilson(rate=figures.failing / figures.runs, samples=figures.runs)
    first_low, first_high = decision.wilson(
        rate=figures.first_chance / figures.pods, samples=figures.pods
    )
    q = figures.exact if figures.exact is not None else figures.failing / figures.runs
    cells = [
        scenario.process.name,
        f"{_p(figures.failing / figures.runs)} [{_p(low)}, {_p(high)}]",
        _p(figures.exact) if figures.exact is not None else "",
        f"{_p(figures.first_chance / figures.pods)} [{_p(first_low)}, {_p(first_high)}]",
        _share(figures.false_recoveries, figures.pods),
        _simulated_runs(figures),
        _closed_form(figures=figures, q=q, high=high, consecutive=threshold.consecutive_runs),
        _goal(scenario=scenario, figures=figures, low=low, high=high),
    ]
    return "| " + " | ".join(cells) + " |"


def _share(hits: int | None, trials: int) -> str:
    if hits is None:
        return ""
    low, high = decision.wilson(rate=hits / trials, samples=trials)
    return f"{_p(hits / trials)} [{_p(low)}, {_p(high)}]"


def _expected_runs(*, q: float, consecutive: int) -> float:
    """Expected runs until ``consecutive`` failing runs in a row, each failing with ``q``."""
    if q <= 0.0:
        return math.inf
    if q >= 1.0:
        return float(consecutive)
    return (1.0 - q**consecutive) / ((1.0 - q) * q**consecutive)


def _closed_form(*, figures: Figures, q: float, high: float, consecutive: int) -> str:
    if figures.exact is None and figures.failing == 0:
        # Nothing seen: only the interval's upper end says anything, as a lower bound.
        return f"≥ {_runs(_expected_runs(q=high, consecutive=consecutive))}"
    return _runs(_expected_runs(q=q, consecutive=consecutive))


def _simulated_runs(figures: Figures) -> str:
    if not figures.simulated_pods:
        return "(too rare to simulate)"
    reached = figures.to_degraded
    if not reached:
        return f"none of {figures.simulated_pods} pods"
    mean = sum(reached) / len(reached)
    spread = math.sqrt(sum((x - mean) ** 2 for x in reached) / max(1, len(reached) - 1))
    share = len(reached) / figures.simulated_pods
    return f"{mean:.2f} ± {1.96 * spread / math.sqrt(len(reached)):.2f} ({share:.1%} got there)"


def _goal(*, scenario: Scenario, figures: Figures, low: float, high: float) -> str:
    if scenario.goal == "detect":
        if low >= DETECTION_GOAL:
            return f"≥ {DETECTION_GOAL:.0%}: met"
        if high < DETECTION_GOAL:
            return f"≥ {DETECTION_GOAL:.0%}: **missed**"
        return f"≥ {DETECTION_GOAL:.0%}: not resolved at this size"
    if scenario.goal == "quiet":
        value = figures.exact if figures.exact is not None else high
        verdict = "met" if value <= FALSE_POSITIVE_GOAL else "**missed**"
        return f"≤ {FALSE_POSITIVE_GOAL:g}: {verdict}"
    return ""


def _p(value: float) -> str:
    if value == 0.0:
        return "0"
    if value >= 0.001:
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return f"{value:.1e}"


def _runs(value: float) -> str:
    if math.isinf(value):
        return "∞"
    return f"{value:.2f}" if value < 1000 else f"{value:.2e}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=_positive, default=20_000, help="runs per scenario")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-runs", type=_positive, default=200, help="cap per simulated pod")
    parser.add_argument(
        "--recovery-window", type=_positive, default=10, help="runs watched for false recovery"
    )
    parser.add_argument(
        "--attempts", type=_positive, default=DEFAULT_PROBE.attempts, help="connects per run"
    )
    parser.add_argument(
        "--spread",
        type=float,
        default=DEFAULT_PROBE.spread.total_seconds(),
        help="seconds the connects are spread over",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD.failure_rate,
        help="threshold.failureRate",
    )
    parser.add_argument("--min-samples", type=_positive, default=DEFAULT_THRESHOLD.min_samples)
    parser.add_argument(
        "--consecutive-runs", type=_positive, default=DEFAULT_THRESHOLD.consecutive_runs
    )
    parser.add_argument("--recovery-runs", type=_positive, default=DEFAULT_THRESHOLD.recovery_runs)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


if __name__ == "__main__":
    sys.exit(main())
