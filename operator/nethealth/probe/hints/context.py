"""What a hint rule may look at, and the shape of a rule.

A rule is a plain function from the `Context` to scored hints, so that each one can be
read and tested on its own and the ranking does not need to know what any of them does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from nethealth.probe import types
from nethealth.probe.hints import words


@dataclasses.dataclass(frozen=True, kw_only=True)
class Context:
    """Everything a hint rule may look at."""

    klass: types.ProbeClass
    target: types.Measurement | None
    others: dict[types.Role, types.Measurement]
    evidence: types.Evidence | None
    kernel: types.KernelAssessment | None
    # The targets whose class is the run's: the failures the hints explain are theirs (a
    # target that fails everywhere says nothing about the pod's namespace).
    at_fault: tuple[str, ...] = ()
    dns: tuple[types.DnsVerdict, ...] = ()  # names resolved with the pod's resolver

    @property
    def target_attempts(self) -> tuple[types.Attempt, ...]:
        attempts = self.target.attempts if self.target else ()
        if not self.at_fault:
            return attempts
        return tuple(a for a in attempts if a.target in self.at_fault)

    @property
    def failures(self) -> list[types.Attempt]:
        return [a for a in self.target_attempts if not a.ok]

    def failures_with(self, code: int, *, family: int | None = None) -> int:
        """Failed attempts that ended with ``code`` (to addresses of ``family``, if given)."""
        return sum(
            1
            for a in self.failures
            if a.final_errno == code and (family is None or words.family_of(a.address) == family)
        )

    @property
    def kernel_affected(self) -> bool:
        return self.kernel is not None and self.kernel.status == types.KernelStatus.AFFECTED


# A hint with its score: higher ranks first.
Scored = tuple[int, types.Hint]
HintRule = Callable[[Context], Iterable[Scored]]
