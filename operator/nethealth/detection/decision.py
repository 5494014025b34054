"""Deciding: one probe run's counts for a pod, and what came before, give the pod's state.

``decide(previous=..., run=..., threshold=...)`` is a pure transition function. Each run is
first judged on its own (`judge`: Failing, Passing, or no verdict) and then moves the pod
(c = ``consecutiveRuns``, r = ``recoveryRuns``, counted in a row)::

    before                 failing run                      passing run
    Unknown, Inconclusive  Suspect; Degraded at c           Healthy
    Healthy, Suspect       Suspect; Degraded at c           Healthy
    Degraded               Degraded                         Recovering; Healthy at r
    Recovering             Degraded                         Recovering; Healthy at r

A run without a verdict (Inconclusive: not measured; Unclear: see below) keeps the state
and both streaks, as it carries no evidence either way; only a pod still Unknown becomes
Inconclusive, so a pod is never Healthy before a passing run. A passing run ends a Suspect
streak, so a flapping pod never reaches Degraded; a failing run while Recovering goes
straight back to Degraded. The probe's class travels along for reporting; only the class
Inconclusive changes the verdict (the remediation layer decides which classes it acts on).

How one run is judged, and why
------------------------------
*Failing*: at least ``minSamples`` connects, more than ``failureRate`` of them failed, and
that many failures are significant against background noise: P(X >= failures) <= 1e-4 for
X ~ Binomial(attempts, 2 %). The share is the user's word for what matters; the binomial
test bounds what noise can do. A healthy path does lose the odd connect, and under i.i.d.
noise of rate <= 2 % the exact binomial tail makes a failing run at most 1e-4 likely *for
any threshold and sample size*. With the defaults (60 connects, 20 %) the share is the
stricter condition: 13 failures are needed, which 1 % noise produces with p ~ 3e-14.

*Passing*: at least ``minSamples`` connects and at most ``failureRate`` of them failed. A
pod that is Degraded or Recovering must be *clearly* below: the upper end of the rate's
95 % interval (below) must be at most ``failureRate``, else the run is Unclear. That is
hysteresis on the rate itself, so one lucky window of a bursty fault does not count
towards recovery.

Failures are bursty, so the samples of one run are not independent. The seed incident's
failures came in 5-8 s blocks; 60 connects spread over 30 s then hold about four
independent pieces of information, not sixty. This module accounts for it where it matters:

- The *interval* of the rate uses an effective sample size. The run's outcomes are read as
  a two-state Markov chain whose switching probabilities are estimated from the number of
  failure blocks B (runs of consecutive failures in time order): P(fail->ok) ~ B/failures,
  P(ok->fail) ~ B/successes, lag-1 correlation rho = 1 - both. The variance of a mean of
  such a chain is (1 + rho)/(1 - rho) times the binomial one, so
  n_eff = attempts * (1 - rho)/(1 + rho); scattered failures (rho <= 0) keep n_eff =
  attempts. The Wilson interval is computed with n_eff. When the blocks are unknown the
  most clustered case (one block) is assumed. Recovery uses this interval (above).
- The *failing* test does not use it, deliberately. With n_eff ~ 4, no one-run test can
  both say "clearly above 20 %" and catch a 50 % bursty fault; and noise that is clustered
  on the fault's own time scale cannot be told from the fault by its shape, only by its
  size, which the share threshold judges. The binomial test above is exact for the noise
  the false-positive goal is about (i.i.d.). Confidence across runs comes from
  ``consecutiveRuns``: runs are an interval (minutes) apart, far longer than a block, so
  separate runs are independent and per-run error rates multiply.

A run that carries its targets' verdicts (the probe judges each target on its own; see
`runjudge`) is judged target by target with the same rule: a target that every namespace
fails says nothing about the pod, and the pod fails on a target by that target's counts.
`judge` keeps judging a run's pooled counts (what remediation's verification asks).

Detection and false-positive figures of this rule against simulated bursty and i.i.d.
processes: ``benchmarks/decision_quality.py`` and ``docs/performance.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Final

from nethealth import model
from nethealth.detection import runjudge
from nethealth.probe import runrule, types

PodState = model.PodState

# The probe judges its own window with the same rule (``probe.runrule``).
NOISE_RATE: Final = runrule.NOISE_RATE
FALSE_POSITIVE_BUDGET: Final = runrule.FALSE_POSITIVE_BUDGET
Z: Final = runjudge.Z

# Remediated is the remediation layer's overlay; the decision never produces it.
DECISION_STATES: Final = frozenset(PodState) - {PodState.REMEDIATED}

RunVerdict = runjudge.RunVerdict
TargetRun = runjudge.TargetRun
Estimate = runjudge.Estimate
Judgement = runjudge.Judgement
effective_samples = runjudge.effective_samples
wilson = runjudge.wilson


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunResult:
    """One probe run's counts for one pod's namespace (target-namespace connects only)."""

    klass: types.ProbeClass
    attempts: int
    failures: int
    failure_blocks: int | None = None  # runs of consecutive failures; None when not known
    reason: str = ""  # why the run was inconclusive, when the caller knows (Job evicted, ...)
    # Each target's verdict from the probe; empty from a probe that did not judge targets
    # one by one (then the pooled counts above are judged).
    targets: tuple[TargetRun, ...] = ()
    window: float | None = None  # seconds the probe measured (the extended window's length)

    def __post_init__(self) -> None:
        runjudge.check_counts(
            attempts=self.attempts, failures=self.failures, blocks=self.failure_blocks
        )

    @property
    def rate(self) -> float:
        return self.failures / self.attempts if self.attempts else 0.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class PodRecord:
    """A pod's decision after its latest run; the previous record is the next run's input."""

    state: PodState
    previous_state: PodState = PodState.UNKNOWN
    verdict: RunVerdict | None = None  # of the latest run
    failing_runs: int = 0  # consecutive failing runs (runs without a verdict skipped)
    passing_runs: int = 0  # consecutive passing runs (likewise)
    inconclusive_runs: int = 0  # inconclusive runs since the last conclusive one
    runs: int = 0  # runs decided in total
    klass: types.ProbeClass | None = None  # of the latest measured run
    # The classes of the runs of the current failing streak: remediation acts on a pod only
    # when every one of them is a class it helps, not the latest alone.
    streak_classes: frozenset[types.ProbeClass] = frozenset()
    samples: int = 0  # connects of the latest measured run
    estimate: Estimate | None = None  # of the latest measured run
    window: float | None = None  # seconds the latest measured run's probe measured
    message: str = ""

    def __post_init__(self) -> None:
        if self.state not in DECISION_STATES:
            raise ValueError(f"state must be one of {sorted(DECISION_STATES)}, got {self.state}")

    @property
    def changed(self) -> bool:
        return self.state is not self.previous_state

    def entered(self, state: PodState) -> bool:
        """This run moved the pod into ``state`` (for Events: degraded, recovered)."""
        return self.changed and self.state is state


UNKNOWN: Final = PodRecord(state=PodState.UNKNOWN)


def decide(*, previous: PodRecord | None, run: RunResult, threshold: model.Threshold) -> PodRecord:
    """The pod's record after ``run``, given its record before (None: first run)."""
    before = previous or UNKNOWN
    recovering = before.state in (PodState.DEGRADED, PodState.RECOVERING)
    judged = assess(run=run, threshold=threshold, recovering=recovering)
    klass = judged.klass or run.klass
    failing, passing = before.failing_runs, before.passing_runs
    streak = before.streak_classes
    if judged.verdict is RunVerdict.FAILING:
        failing, passing = failing + 1, 0
        streak = streak | {klass}
    elif judged.verdict is RunVerdict.PASSING:
        failing, passing = 0, passing + 1
        streak = frozenset()
    state = _next_state(
        state=before.state,
        verdict=judged.verdict,
        failing_runs=failing,
        passing_runs=passing,
        threshold=threshold,
    )
    measured = judged.estimate is not None
    return PodRecord(
        state=state,
        previous_state=before.state,
        verdict=judged.verdict,
        failing_runs=failing,
        passing_runs=passing,
        inconclusive_runs=(
            before.inconclusive_runs + 1 if judged.verdict is RunVerdict.INCONCLUSIVE else 0
        ),
        runs=before.runs + 1,
        klass=klass if measured else before.klass,
        streak_classes=streak,
        samples=(judged.samples or run.attempts) if measured else before.samples,
        estimate=judged.estimate if measured else before.estimate,
        window=run.window if measured else before.window,
        message=_message(
            why=judged.why,
            verdict=judged.verdict,
            before=before.state,
            after=state,
            runs=failing if judged.verdict is RunVerdict.FAILING else passing,
            threshold=threshold,
        ),
    )


def decide_pods(
    *,
    previous: Mapping[str, PodRecord],
    runs: Mapping[str, RunResult],
    threshold: model.Threshold,
) -> dict[str, PodRecord]:
    """Every pod with a run, decided; pods without one (gone, not eligible) are dropped.

    The caller passes an Inconclusive run for a pod it meant to measure but could not.
    Keys are returned sorted, so the result never depends on the order pods came in.
    """
    return {
        pod: decide(previous=previous.get(pod), run=runs[pod], threshold=threshold)
        for pod in sorted(runs)
    }


def assess(*, run: RunResult, threshold: model.Threshold, recovering: bool = False) -> Judgement:
    """Whether one run fails, passes, or says nothing: target by target when the probe
    judged its targets (`runjudge.targets`), else on its pooled counts (`judge`)."""
    if not run.targets:
        return judge(run=run, threshold=threshold, recovering=recovering)
    return runjudge.targets(
        runs=run.targets, threshold=threshold, recovering=recovering, reason=run.reason
    )


def judge(*, run: RunResult, threshold: model.Threshold, recovering: bool = False) -> Judgement:
    """Whether one run's pooled counts fail, pass, or say nothing; see the module docstring."""
    if run.klass is types.ProbeClass.INCONCLUSIVE:
        why = f"the probe could not measure: {run.reason or 'class Inconclusive'}"
        return Judgement(verdict=RunVerdict.INCONCLUSIVE, why=why, estimate=None)
    if run.attempts < threshold.min_samples:
        needed = threshold.min_samples
        why = f"only {run.attempts} connects measured, fewer than minSamples {needed}"
        return Judgement(verdict=RunVerdict.INCONCLUSIVE, why=why, estimate=None)
    return runjudge.counts(
        attempts=run.attempts,
        failures=run.failures,
        blocks=run.failure_blocks,
        threshold=threshold,
        recovering=recovering,
    )


def significant(*, attempts: int, failures: int) -> bool:
    """So many failures are unlikely (<= FALSE_POSITIVE_BUDGET) under i.i.d. noise."""
    return runrule.significant(attempts=attempts, failures=failures)


def estimate(run: RunResult) -> Estimate:
    """The run's failure rate and its Wilson 95 % interval over the effective sample size."""
    return runjudge.estimate(
        attempts=run.attempts, failures=run.failures, blocks=run.failure_blocks
    )


def _next_state(
    *,
    state: PodState,
    verdict: RunVerdict,
    failing_runs: int,
    passing_runs: int,
    threshold: model.Threshold,
) -> PodState:
    degraded_before = state in (PodState.DEGRADED, PodState.RECOVERING)
    if verdict is RunVerdict.FAILING:
        if degraded_before or failing_runs >= threshold.consecutive_runs:
            return PodState.DEGRADED
        return PodState.SUSPECT
    if verdict is RunVerdict.PASSING:
        if degraded_before and passing_runs < threshold.recovery_runs:
            return PodState.RECOVERING
        return PodState.HEALTHY
    # No evidence either way: keep the state, but say a first attempt was made.
    return PodState.INCONCLUSIVE if state is PodState.UNKNOWN else state


def _message(
    *,
    why: str,
    verdict: RunVerdict,
    before: PodState,
    after: PodState,
    runs: int,
    threshold: model.Threshold,
) -> str:
    """The run's clause, and where it leaves the pod when it moved a streak."""
    if verdict is RunVerdict.FAILING and after is PodState.SUSPECT:
        return f"{why}; failing run {runs} of {threshold.consecutive_runs} before Degraded"
    if verdict is RunVerdict.FAILING and before is PodState.RECOVERING:
        return f"{why}; failing again while recovering"
    if verdict is RunVerdict.FAILING and after is PodState.DEGRADED:
        return f"{why}; {runs} failing runs in a row"
    if verdict is RunVerdict.PASSING and after is PodState.RECOVERING:
        return f"{why}; passing run {runs} of {threshold.recovery_runs} before Healthy"
    return why


_pct = runjudge.pct
