"""Simulated failure processes: which connects of one probe run fail, for tests and benchmarks.

A probe run makes ``attempts`` connects evenly spread over ``spread`` seconds, as
``nethealth.probe.measure`` does. A process says which of them fail, for a run that starts
at a random moment of the process's history (a stationary phase, so no run is lucky or
unlucky by construction):

- `Bursty` is the seed incident: the namespace alternates between failing and working
  blocks. Failing blocks last 5-8 s (uniform); working blocks are the same shape scaled by
  (1 - duty) / duty, so that ``duty`` is the failing share of time. Every connect made
  inside a failing block fails, so a run's failures are strongly correlated.
- `RandomBlocks` reads "5-8 s blocks at 30 %" the other way: every block fails
  independently with probability ``duty``, so a run may see no failing block at all.
- `Iid` is healthy background noise (or a uniformly lossy path): each connect fails
  independently with probability ``rate``.
- `Glitches` is a healthy path with short outages (0.5-3 s) at random times: correlated
  noise, the case that makes a naive per-connect test over-confident.

Separate runs are independent: a run's phase is drawn afresh, since runs are an interval
(minutes) apart and blocks last seconds.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from collections.abc import Sequence
from typing import Protocol

from nethealth import model
from nethealth.detection import decision
from nethealth.probe import types

DEFAULT_ATTEMPTS = 60
DEFAULT_SPREAD = 30.0


class Process(Protocol):
    @property
    def name(self) -> str: ...

    def failures(self, *, times: Sequence[float], rng: random.Random) -> tuple[bool, ...]:
        """For connects made at ``times`` (seconds into the run), which fail."""
        ...


def _check_blocks(*, duty: float, block_min: float, block_max: float) -> None:
    if not 0 < duty < 1:
        raise ValueError(f"duty must be between 0 and 1 (exclusive), got {duty}")
    if not 0 < block_min <= block_max:
        raise ValueError("block_min must be positive and at most block_max")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Bursty:
    duty: float  # failing share of time
    block_min: float = 5.0  # failing block length, seconds
    block_max: float = 8.0

    def __post_init__(self) -> None:
        _check_blocks(duty=self.duty, block_min=self.block_min, block_max=self.block_max)

    @property
    def name(self) -> str:
        return f"bursty {self.duty:.0%} ({self.block_min:g}-{self.block_max:g} s blocks)"

    def failures(self, *, times: Sequence[float], rng: random.Random) -> tuple[bool, ...]:
        failing = rng.random() < self.duty
        # The block under way at time 0 is length-biased (long blocks cover more moments),
        # and time 0 falls uniformly inside it: the alternating renewal's stationary phase.
        first = self._scale(failing) * _length_biased(self.block_min, self.block_max, rng)
        start = -rng.random() * first
        edges = [(start, start + first, failing)]
        end_of_run = max(times, default=0.0)
        while edges[-1][1] <= end_of_run:
            failing = not failing
            begin = edges[-1][1]
            length = self._scale(failing) * rng.uniform(self.block_min, self.block_max)
            edges.append((begin, begin + length, failing))
        return tuple(_inside_failing(at, edges) for at in times)

    def _scale(self, failing: bool) -> float:
        return 1.0 if failing else (1.0 - self.duty) / self.duty


@dataclasses.dataclass(frozen=True, kw_only=True)
class RandomBlocks:
    """Blocks of 5-8 s, each failing independently with probability ``duty``.

    Another reading of "5-8 s blocks at 30 % duty": no strict alternation, so a run may
    fall entirely into working blocks. Harder to detect in one run than `Bursty`.
    """

    duty: float
    block_min: float = 5.0
    block_max: float = 8.0

    def __post_init__(self) -> None:
        _check_blocks(duty=self.duty, block_min=self.block_min, block_max=self.block_max)

    @property
    def name(self) -> str:
        return f"random blocks {self.duty:.0%} ({self.block_min:g}-{self.block_max:g} s)"

    def failures(self, *, times: Sequence[float], rng: random.Random) -> tuple[bool, ...]:
        first = _length_biased(self.block_min, self.block_max, rng)
        start = -rng.random() * first
        edges = [(start, start + first, rng.random() < self.duty)]
        end_of_run = max(times, default=0.0)
        while edges[-1][1] <= end_of_run:
            begin = edges[-1][1]
            length = rng.uniform(self.block_min, self.block_max)
            edges.append((begin, begin + length, rng.random() < self.duty))
        return tuple(_inside_failing(at, edges) for at in times)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Iid:
    rate: float

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1:
            raise ValueError(f"rate must be between 0 and 1, got {self.rate}")

    @property
    def name(self) -> str:
        return f"i.i.d. {self.rate:.0%}"

    def failures(self, *, times: Sequence[float], rng: random.Random) -> tuple[bool, ...]:
        return tuple(rng.random() < self.rate for _ in times)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Glitches:
    per_minute: float  # outages starting per minute, on average (Poisson)
    length_min: float = 0.5
    length_max: float = 3.0

    def __post_init__(self) -> None:
        if self.per_minute < 0:
            raise ValueError(f"per_minute must be >= 0, got {self.per_minute}")
        if not 0 < self.length_min <= self.length_max:
            raise ValueError("length_min must be positive and at most length_max")

    @property
    def name(self) -> str:
        return f"glitches {self.per_minute:g}/min ({self.length_min:g}-{self.length_max:g} s)"

    def failures(self, *, times: Sequence[float], rng: random.Random) -> tuple[bool, ...]:
        rate = self.per_minute / 60.0
        outages: list[tuple[float, float]] = []
        at = -self.length_max  # an outage that began before the run may still be on
        end_of_run = max(times, default=0.0)
        while rate > 0:
            at += rng.expovariate(rate)
            if at > end_of_run:
                break
            outages.append((at, at + rng.uniform(self.length_min, self.length_max)))
        return tuple(any(a <= t < b for a, b in outages) for t in times)


def schedule(*, attempts: int = DEFAULT_ATTEMPTS, spread: float = DEFAULT_SPREAD) -> list[float]:
    """When the probe's connects are made: evenly over the window."""
    return [i * spread / attempts for i in range(attempts)]


def run_result(outcomes: Sequence[bool]) -> decision.RunResult:
    """The counts the operator reads from a probe run with these outcomes (True = failed)."""
    failures = sum(outcomes)
    blocks = sum(1 for failed, _ in itertools.groupby(outcomes) if failed)
    return decision.RunResult(
        klass=types.ProbeClass.POD_NAMESPACE if failures else types.ProbeClass.HEALTHY,
        attempts=len(outcomes),
        failures=failures,
        failure_blocks=blocks,
    )


def simulate_run(
    process: Process,
    *,
    rng: random.Random,
    attempts: int = DEFAULT_ATTEMPTS,
    spread: float = DEFAULT_SPREAD,
) -> decision.RunResult:
    return run_result(process.failures(times=schedule(attempts=attempts, spread=spread), rng=rng))


def _length_biased(low: float, high: float, rng: random.Random) -> float:
    """A draw from the density proportional to x on [low, high] (inverse CDF)."""
    return math.sqrt(low * low + rng.random() * (high * high - low * low))


def _inside_failing(at: float, edges: Sequence[tuple[float, float, bool]]) -> bool:
    return any(start <= at < end and failing for start, end, failing in edges)


def exact_failing_probability(*, rate: float, attempts: int, threshold: model.Threshold) -> float:
    """P(a run is judged failing) under i.i.d. failures: the verdict depends on the count
    alone, so summing the binomial probabilities of the failing counts is exact."""
    total = 0.0
    for failures in range(attempts + 1):
        run = decision.RunResult(
            klass=types.ProbeClass.POD_NAMESPACE, attempts=attempts, failures=failures
        )
        if decision.judge(run=run, threshold=threshold).verdict is decision.RunVerdict.FAILING:
            total += _binomial_pmf(n=attempts, k=failures, p=rate)
    return total


def _binomial_pmf(*, n: int, k: int, p: float) -> float:
    if p in (0.0, 1.0):
        return float(k == (n if p == 1.0 else 0))
    log = (
        math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
        + k * math.log(p) + (n - k) * math.log1p(-p)
    )  # fmt: skip
    return math.exp(log)
