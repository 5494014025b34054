"""Pure: the rule one run's counts are judged failing by, shared by probe and operator.

The operator's decision judges each run with it (``detection.decision.judge``), and the
probe uses the very same rule to decide whether a run that looks bad but is not failing
yet deserves a longer window (``probe.windows``): the counts pooled over the longer window
are judged exactly as the operator will judge them.

A run fails when more than ``failure_rate`` of its connects failed (the user's word for
what matters) *and* that many failures are significant against background noise: P(X >=
failures) <= ``FALSE_POSITIVE_BUDGET`` for X ~ Binomial(attempts, ``NOISE_RATE``). The
share alone would let a handful of connects fail a run by chance; the binomial test
bounds what i.i.d. noise of rate <= 2 % can do, whatever the threshold and the count.

The rate's interval (Wilson, over an *effective* number of samples: failures that come in
blocks are worth fewer independent samples than connects) lives here as well: the
operator's recovery rule uses it, and so does the probe to stop measuring when more of the
same could not make a run fail (`plausibly_above`).
"""

from __future__ import annotations

import functools
import math
from typing import Final

from nethealth.probe import stats

NOISE_RATE: Final = 0.02  # the most a healthy path loses, per connect (as stats assumes)
FALSE_POSITIVE_BUDGET: Final = 1e-4  # per judged count, under i.i.d. noise at NOISE_RATE
Z: Final = 1.959964  # 95 % two-sided normal quantile, for the rate's interval


def failing(*, attempts: int, failures: int, failure_rate: float) -> bool:
    """More than ``failure_rate`` of the connects failed, beyond what noise explains."""
    if attempts <= 0 or failures / attempts <= failure_rate:
        return False
    return significant(attempts=attempts, failures=failures)


def significant(*, attempts: int, failures: int) -> bool:
    """So many failures are unlikely (<= FALSE_POSITIVE_BUDGET) under i.i.d. noise."""
    return noise_tail(attempts=attempts, failures=failures) <= FALSE_POSITIVE_BUDGET


def noise_tail(*, attempts: int, failures: int) -> float:
    """P(X >= failures) for X ~ Binomial(attempts, NOISE_RATE)."""
    return _noise_tail(attempts, failures)


@functools.lru_cache(maxsize=4096)
def _noise_tail(attempts: int, failures: int) -> float:
    return stats.binomial_tail(n=attempts, k=failures, p=NOISE_RATE)


def plausibly_above(
    *, attempts: int, failures: int, blocks: int | None, failure_rate: float
) -> bool:
    """The rate's 95 % interval (over the effective samples) reaches above ``failure_rate``:
    more of the same could still turn out failing. Bursty failures hold few independent
    samples, so one block keeps this open; scattered ones well below the threshold close it."""
    n_eff = effective_samples(attempts=attempts, failures=failures, blocks=blocks)
    rate = failures / attempts if attempts else 0.0
    return wilson(rate=rate, samples=n_eff)[1] > failure_rate


def effective_samples(*, attempts: int, failures: int, blocks: int | None) -> float:
    """Attempts deflated by the lag-1 correlation of a two-state Markov chain fitted to them."""
    successes = attempts - failures
    if failures == 0 or successes == 0:
        return float(attempts)  # nothing switches: no clustering to measure
    switches = max(1, min(blocks or 1, failures, successes + 1))
    rho = 1.0 - switches / failures - switches / successes
    if rho <= 0.0:
        return float(attempts)  # scattered (or alternating): never count more than attempts
    return max(1.0, attempts * (1.0 - rho) / (1.0 + rho))


def wilson(*, rate: float, samples: float, z: float = Z) -> tuple[float, float]:
    """Wilson score interval of a proportion; ``samples`` may be an effective, non-integer n."""
    if samples <= 0:
        return 0.0, 1.0
    z2n = z * z / samples
    centre = (rate + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(rate * (1 - rate) / samples + z2n / (4 * samples)) / (1 + z2n)
    # At 0 and 1 the bounds are exact; rounding would leave them a hair inside.
    low = 0.0 if rate <= 0.0 else max(0.0, centre - half)
    high = 1.0 if rate >= 1.0 else min(1.0, centre + half)
    return low, high
