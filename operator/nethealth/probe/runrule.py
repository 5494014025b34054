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
"""

from __future__ import annotations

import functools
from typing import Final

from nethealth.probe import stats

NOISE_RATE: Final = 0.02  # the most a healthy path loses, per connect (as stats assumes)
FALSE_POSITIVE_BUDGET: Final = 1e-4  # per judged count, under i.i.d. noise at NOISE_RATE


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
