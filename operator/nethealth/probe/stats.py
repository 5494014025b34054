"""Pure statistics over connect attempts: when does a namespace *fail*, and how.

"Fails" is a statistical statement, not "at least one attempt failed": a healthy path
still loses the odd connect (a SYN dropped under load, a neighbour being resolved), so
a namespace fails only when its failure count is very unlikely under that background
rate. The same test finds CPUs that fail while others don't (per-CPU kernel state), and
a runs test tells failures that come in blocks (something toggles) from scattered ones.
"""

from __future__ import annotations

import collections
import dataclasses
import errno
import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Final

from nethealth.probe import types

# A healthy path fails fewer than 2 % of connects (one lost SYN per ~50 with a retry
# outside the window); a namespace fails when P(X >= k | n, 2 %) < 1 %. For 60 attempts
# that is >= 5 failures (8 %), for 20 it is >= 3 (15 %), for 10 it is >= 3: well below
# the seed's ~50 % and the ~50 % duty cycle of a toggled fault, yet one or two unlucky
# attempts never make a verdict.
NOISE_RATE: Final = 0.02
SIGNIFICANCE: Final = 0.01
# Per-CPU comparisons need a few attempts on each CPU to say anything.
MIN_PER_CPU: Final = 3
# Runs test: fewer runs of success/failure than chance by this many standard deviations.
BURST_Z: Final = -2.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Tally:
    attempts: int
    failures: int
    errnos: tuple[tuple[int, int], ...] = ()  # (errno, count) of failures, most common first

    @property
    def rate(self) -> float:
        return self.failures / self.attempts if self.attempts else 0.0

    @property
    def failing(self) -> bool:
        return is_failing(attempts=self.attempts, failures=self.failures)

    def count(self, code: int) -> int:
        return dict(self.errnos).get(code, 0)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Block:
    """A run of consecutive failed attempts (in time order)."""

    start: float
    end: float
    failures: int


def tally(attempts: Iterable[types.Attempt]) -> Tally:
    attempts = list(attempts)
    codes = collections.Counter(a.final_errno for a in attempts if not a.ok)
    return Tally(
        attempts=len(attempts),
        failures=sum(codes.values()),
        errnos=tuple(sorted(codes.items(), key=lambda item: (-item[1], item[0]))),
    )


def binomial_tail(*, n: int, k: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), in log space so large n cannot overflow."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    for i in range(k, n + 1):
        log_term = (
            math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
            + i * log_p + (n - i) * log_q
        )  # fmt: skip
        total += math.exp(log_term)
    return min(1.0, total)


def is_failing(*, attempts: int, failures: int) -> bool:
    """Failures clearly above the background rate of a healthy path."""
    if attempts == 0:
        return False
    return binomial_tail(n=attempts, k=failures, p=NOISE_RATE) < SIGNIFICANCE


@dataclasses.dataclass(frozen=True, kw_only=True)
class Pairs:
    """One namespace's attempts beside another's made in the same slots (same target,
    same moment): which failures they shared, and which only one of them had."""

    both_ok: int = 0
    mine_only: int = 0  # failed here, got through there
    theirs_only: int = 0  # got through here, failed there
    both: int = 0  # failed in both: something they share

    @property
    def excess(self) -> float:
        """One-sided p-value that *mine* fails more often than *theirs* (McNemar's exact
        test: under "the same chance of failing" each slot where only one of them failed
        is a fair coin, whatever that chance and however the path drops packets)."""
        discordant = self.mine_only + self.theirs_only
        return binomial_tail(n=discordant, k=self.mine_only, p=0.5)


def _key(attempt: types.Attempt) -> tuple[str, str, int]:
    """What makes two namespaces' attempts partners: the same target, address (a target
    of both families is measured on each) and slot."""
    return attempt.target, attempt.address, attempt.slot


def pair(mine: Iterable[types.Attempt], theirs: Iterable[types.Attempt]) -> Pairs:
    """Attempts matched by (target, address, slot); those without a partner are left out."""
    failed_there = {_key(a): not a.ok for a in theirs if a.slot >= 0}
    counts = collections.Counter(
        (not a.ok, failed_there[_key(a)]) for a in mine if _key(a) in failed_there
    )
    return Pairs(
        both_ok=counts[(False, False)],
        mine_only=counts[(True, False)],
        theirs_only=counts[(False, True)],
        both=counts[(True, True)],
    )


def worse(*, pairs: Pairs, theirs: Tally) -> bool:
    """*Mine* fails clearly more than *theirs*: not one of theirs failed, or the failures
    only mine had outnumber theirs beyond chance. Loss both share (a lossy uplink) is
    neither: it fails both at about the same rate, in the same slots or not.

    "Clean" means no failure at all, not "within background loss": at 10 % shared loss a
    fresh pod keeps its 60 connects to one failure in 1.4 % of windows, which would blame
    the pod as often; with none it is 0.2 %. A real fault needs no such help: 7 failures
    only the pod had, against none of the other's, are significant on their own."""
    return theirs.failures == 0 or pairs.excess < SIGNIFICANCE


def unshared(mine: Iterable[types.Attempt], theirs: Iterable[types.Attempt]) -> list[types.Attempt]:
    """*Mine*, without the slots in which both failed: what is left to blame on mine.

    Only shared failures go: a slot in which *theirs* failed and mine got through still
    says mine worked (dropping it too would count a pod's failures against fewer
    connects, and lift a 20 % share above 20 % whenever the other lost one)."""
    failed_there = {_key(a) for a in theirs if a.slot >= 0 and not a.ok}
    return [a for a in mine if a.ok or _key(a) not in failed_there]


def per_cpu(attempts: Iterable[types.Attempt]) -> dict[int, Tally]:
    by_cpu: dict[int, list[types.Attempt]] = collections.defaultdict(list)
    for attempt in attempts:
        by_cpu[attempt.cpu].append(attempt)
    return {cpu: tally(group) for cpu, group in sorted(by_cpu.items())}


def cpu_split(attempts: Iterable[types.Attempt]) -> tuple[list[int], list[int]]:
    """(CPUs that fail, CPUs that are clean) among CPUs with enough attempts."""
    failing, clean = [], []
    for cpu, counts in per_cpu(attempts).items():
        if counts.attempts < MIN_PER_CPU:
            continue
        if counts.failing:
            failing.append(cpu)
        elif counts.rate <= NOISE_RATE:
            clean.append(cpu)
    return failing, clean


def blocks(attempts: Iterable[types.Attempt]) -> list[Block]:
    """Runs of consecutive failures per target, in time order of their start.

    Per target, because attempts at several targets interleave: a healthy target's
    successes between a failing target's attempts would otherwise chop one outage into
    one-attempt "blocks".
    """
    by_target: dict[str, list[types.Attempt]] = {}
    for attempt in sorted(attempts, key=lambda a: a.at):
        by_target.setdefault(attempt.target, []).append(attempt)
    found: list[Block] = []
    for series in by_target.values():
        current: list[types.Attempt] = []
        for attempt in series:
            if not attempt.ok:
                current.append(attempt)
                continue
            if current:
                found.append(_block(current))
                current = []
        if current:
            found.append(_block(current))
    return sorted(found, key=lambda b: b.start)


def _block(run: Sequence[types.Attempt]) -> Block:
    return Block(start=run[0].at, end=run[-1].at + run[-1].duration, failures=len(run))


def runs_z(attempts: Iterable[types.Attempt]) -> float | None:
    """Wald-Wolfowitz z of the success/failure sequence; negative = clustered.

    None when there are too few of either outcome to say.
    """
    outcomes = [a.ok for a in sorted(attempts, key=lambda a: a.at)]
    n1 = sum(1 for ok in outcomes if not ok)
    n2 = len(outcomes) - n1
    if n1 < 2 or n2 < 2:
        return None
    runs = 1 + sum(1 for a, b in itertools.pairwise(outcomes) if a != b)
    n = n1 + n2
    mean = 2 * n1 * n2 / n + 1
    variance = 2 * n1 * n2 * (2 * n1 * n2 - n) / (n * n * (n - 1))
    if variance <= 0:
        return None
    return (runs - mean) / math.sqrt(variance)


def is_bursty(attempts: Iterable[types.Attempt]) -> bool:
    z = runs_z(attempts)
    return z is not None and z <= BURST_Z


def errno_name(code: int) -> str:
    """``101`` -> ``"ENETUNREACH"``; unknown codes keep their number."""
    return errno.errorcode.get(code, str(code))
