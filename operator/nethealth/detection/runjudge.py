"""Pure: one run judged on its own: Failing, Passing, or no verdict, and why.

The rule for a count of connects (`counts`) is the module docstring of `decision`'s:
failing when more than ``failureRate`` failed beyond what noise explains
(`probe.runrule`, the rule the probe itself uses to decide whether to measure longer);
passing at or below it, and *clearly* below it while a pod recovers.

A run measures every target of its check, and the probe judges each target on its own
(`probe.classes`): where its fault lies, and the counts a verdict on the pod rests on
(failures a fresh pod shared in the same time slot left out). `targets` judges each
target by its own counts, so that one target down everywhere (class Upstream: the
destination or the path beyond the node) never makes the pod fail, and a few failures on
each of several targets never add up to a failure of none of them:

- targets the probe could not place or measure (Inconclusive) and targets every namespace
  fails (Upstream) give no verdict on the pod; when no other target is left, the run has
  none either (Unclear when a target failed everywhere, Inconclusive otherwise);
- the run fails when any remaining target fails, and its class is the most local class
  among the failing targets (what remediation acts on);
- otherwise it is Unclear when any target is, else it passes; its class is again that of
  the targets the verdict rests on (a target failing everywhere is in the hints, not
  in the pod's class).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from typing import Final

from nethealth import model
from nethealth.probe import classes, runrule, types

Z: Final = runrule.Z
_LOCAL_FIRST: Final = (
    types.ProbeClass.POD_NAMESPACE,
    types.ProbeClass.FILTERED,
    types.ProbeClass.NODE_NETWORK,
    types.ProbeClass.HEALTHY,
)


class RunVerdict(enum.StrEnum):
    FAILING = "Failing"
    PASSING = "Passing"
    UNCLEAR = "Unclear"  # measured, but within noise, or not clearly below while recovering
    INCONCLUSIVE = "Inconclusive"  # not measured well enough: probe says so, too few samples


@dataclasses.dataclass(frozen=True, kw_only=True)
class TargetRun:
    """One target's verdict from the probe: its class and the counts it rests on."""

    target: str
    klass: types.ProbeClass
    attempts: int
    failures: int
    failure_blocks: int | None = None  # runs of consecutive failures; None when not known

    def __post_init__(self) -> None:
        check_counts(attempts=self.attempts, failures=self.failures, blocks=self.failure_blocks)

    @property
    def rate(self) -> float:
        return self.failures / self.attempts if self.attempts else 0.0


def check_counts(*, attempts: int, failures: int, blocks: int | None) -> None:
    """Refuse impossible counts, naming the field."""
    if attempts < 0:
        raise ValueError(f"attempts must be >= 0, got {attempts}")
    if not 0 <= failures <= attempts:
        raise ValueError(f"failures must be between 0 and attempts ({attempts}), got {failures}")
    if blocks is not None and not min(failures, 1) <= blocks <= failures:
        raise ValueError(
            f"failure_blocks must be between {min(failures, 1)} and failures ({failures}),"
            f" got {blocks}"
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Estimate:
    """A run's failure rate with its 95 % interval over ``effective_samples``."""

    rate: float
    low: float
    high: float
    effective_samples: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class Judgement:
    verdict: RunVerdict
    why: str  # one clause a person can read in an Event
    estimate: Estimate | None  # None when nothing was measured
    # The class of the targets the verdict rests on (the most local of them); None: the
    # run's own class (a run judged on its pooled counts).
    klass: types.ProbeClass | None = None
    samples: int = 0  # the connects ``estimate`` is over


def counts(
    *,
    attempts: int,
    failures: int,
    blocks: int | None,
    threshold: model.Threshold,
    recovering: bool = False,
) -> Judgement:
    """Whether ``failures`` of ``attempts`` fail, pass, or say nothing (``minSamples`` is
    the caller's to check)."""
    est = estimate(attempts=attempts, failures=failures, blocks=blocks)
    counted = f"{failures} of {attempts} connects failed ({pct(est.rate)})"
    limit = pct(threshold.failure_rate)

    def judged(verdict: RunVerdict, why: str) -> Judgement:
        return Judgement(verdict=verdict, why=why, estimate=est, samples=attempts)

    if est.rate > threshold.failure_rate:
        if runrule.significant(attempts=attempts, failures=failures):
            return judged(RunVerdict.FAILING, f"{counted}, more than the threshold of {limit}")
        return judged(
            RunVerdict.UNCLEAR,
            f"{counted}, more than the threshold of {limit} but within what"
            f" {pct(runrule.NOISE_RATE)} background noise explains at {attempts} connects",
        )
    # A run without a single failure passes even when its interval is wider than the
    # threshold (few connects, a low failureRate): otherwise no run could ever end a
    # recovery and the pod would stay Degraded for good.
    if recovering and est.high > threshold.failure_rate and failures > 0:
        return judged(
            RunVerdict.UNCLEAR,
            f"{counted}, below the threshold of {limit} but not clearly (95 % interval up to"
            f" {pct(est.high)} over ~{est.effective_samples:.0f} independent samples)",
        )
    return judged(RunVerdict.PASSING, f"{counted}, at most the threshold of {limit}")


def targets(
    *,
    runs: Sequence[TargetRun],
    threshold: model.Threshold,
    recovering: bool = False,
    reason: str = "",
) -> Judgement:
    """The run's verdict from its targets' (see the module docstring)."""
    counted = [t for t in runs if t.klass in classes.JUDGED]
    if not counted:
        return _without_verdict(runs, reason=reason)
    total = sum(t.attempts for t in counted)
    if total < threshold.min_samples:
        why = f"only {total} connects measured, fewer than minSamples {threshold.min_samples}"
        return Judgement(verdict=RunVerdict.INCONCLUSIVE, why=why, estimate=None)
    judged = {
        t.target: counts(
            attempts=t.attempts,
            failures=t.failures,
            blocks=t.failure_blocks,
            threshold=threshold,
            recovering=recovering,
        )
        for t in counted
    }
    for verdict in (RunVerdict.FAILING, RunVerdict.UNCLEAR, RunVerdict.PASSING):
        chosen = [t for t in counted if judged[t.target].verdict is verdict]
        if chosen:
            return _combined(verdict, chosen=chosen, judged=judged, many=len(runs) > 1)
    raise AssertionError("every judgement is failing, unclear or passing")


def _combined(
    verdict: RunVerdict,
    *,
    chosen: Sequence[TargetRun],
    judged: dict[str, Judgement],
    many: bool,
) -> Judgement:
    """One verdict over the targets that gave it: the worst of them speaks for the run."""
    worst = max(chosen, key=lambda t: (t.rate, -_LOCAL_FIRST.index(_placed(t.klass))))
    named = [
        f"{t.target}: {judged[t.target].why}" if many else judged[t.target].why for t in chosen
    ]
    klass = min((_placed(t.klass) for t in chosen), key=_LOCAL_FIRST.index)
    return Judgement(
        verdict=verdict,
        why="; ".join(named),
        estimate=judged[worst.target].estimate,
        klass=klass,
        samples=worst.attempts,
    )


def _placed(klass: types.ProbeClass) -> types.ProbeClass:
    return klass if klass in _LOCAL_FIRST else types.ProbeClass.HEALTHY


def _without_verdict(runs: Sequence[TargetRun], *, reason: str) -> Judgement:
    everywhere = [t for t in runs if t.klass is types.ProbeClass.UPSTREAM]
    if everywhere:
        worst = max(everywhere, key=lambda t: t.rate)
        names = ", ".join(t.target for t in everywhere)
        why = (
            f"{names}: fails from a fresh pod and from the node as well (class Upstream):"
            " the destination or the path beyond the node, not this pod's network"
        )
        est = estimate(attempts=worst.attempts, failures=worst.failures, blocks=None)
        return Judgement(
            verdict=RunVerdict.UNCLEAR,
            why=why,
            estimate=est,
            klass=types.ProbeClass.UPSTREAM,
            samples=worst.attempts,
        )
    why = f"the probe could not measure: {reason or 'no target could be judged'}"
    return Judgement(verdict=RunVerdict.INCONCLUSIVE, why=why, estimate=None)


def estimate(*, attempts: int, failures: int, blocks: int | None) -> Estimate:
    """The failure rate and its Wilson 95 % interval over the effective sample size."""
    rate = failures / attempts if attempts else 0.0
    n_eff = effective_samples(attempts=attempts, failures=failures, blocks=blocks)
    low, high = wilson(rate=rate, samples=n_eff)
    return Estimate(rate=rate, low=low, high=high, effective_samples=n_eff)


effective_samples = runrule.effective_samples
wilson = runrule.wilson


def pct(value: float) -> str:
    return f"{value * 100:.0f} %" if value >= 0.01 or value == 0 else f"{value * 100:.1f} %"
