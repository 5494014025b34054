"""A whole probe run, simulated: three namespaces, CPUs, windows, the probe's own judgement.

`failureprocess` says which connects of *one* namespace fail. A real run measures the
target pod, a fresh pod and the node side by side on the same slots, pins each connect to
the next CPU, judges each target with the class table (`probe.classes`: the paired
comparison), and measures another window while the pod looks bad but is not failing yet
(`probe.windows`). This module runs exactly that code on simulated outcomes, so that the
benchmark and the statistics tests measure the rule the operator ships, not a model of it:

- every namespace has its own failure process (a pod fault in the target, background
  noise or a shared lossy path in the others), drawn once for the longest window so that
  a longer window sees the same fault go on;
- ``poisoned`` CPUs: the target's failures happen only on connects pinned to them (the
  seed's per-CPU route cache), the others' wherever they fall;
- the result is the `decision.RunResult` the operator would read from the probe's
  document: the run's class, pooled counts, the per-target verdicts and the window.

``legacy=True`` judges the way the operator did before per-target, paired and extended
judgement (one window; the target pod at fault when it fails and the fresh pod does not;
pooled counts), for side-by-side figures.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import random
from collections.abc import Sequence

from nethealth.detection import decision
from nethealth.probe import classes, stats, types, windows
from nethealth.testing import failureprocess

TARGET = "srv"
ADDRESS = "203.0.113.10"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Scenario:
    """What fails where: one failure process per namespace."""

    name: str
    target: failureprocess.Process
    control: failureprocess.Process
    host: failureprocess.Process
    cpus: int = 2
    poisoned: frozenset[int] | None = None  # the target fails only on these CPUs
    target_errno: int = errno.ENETUNREACH  # refused in the pod's own namespace
    others_errno: int = errno.ETIMEDOUT


@dataclasses.dataclass(frozen=True, kw_only=True)
class Simulated:
    run: decision.RunResult
    klass: types.ProbeClass  # the probe's class of the run
    window: float  # seconds measured


def simulate(
    scenario: Scenario,
    *,
    rng: random.Random,
    attempts: int = failureprocess.DEFAULT_ATTEMPTS,
    spread: float = failureprocess.DEFAULT_SPREAD,
    max_windows: int = 3,
    failure_rate: float = 0.2,
    legacy: bool = False,
) -> Simulated:
    """One probe run of ``scenario`` (see the module docstring)."""
    most = 1 if legacy else max_windows
    times = failureprocess.schedule(attempts=attempts * most, spread=spread * most)
    outcomes = {
        types.Role.TARGET: _target_outcomes(scenario, times=times, rng=rng),
        types.Role.CONTROL: scenario.control.failures(times=times, rng=rng),
        types.Role.HOST: scenario.host.failures(times=times, rng=rng),
    }
    if legacy:
        made = {role: _attempts(role, failed, scenario=scenario, times=times)
                for role, failed in outcomes.items()}  # fmt: skip
        return _legacy(made, spread=spread)
    for used in range(1, most + 1):
        slots = used * attempts
        made = {role: _attempts(role, failed[:slots], scenario=scenario, times=times[:slots])
                for role, failed in outcomes.items()}  # fmt: skip
        by_role = _measurements(made)
        judged = classes.judge(by_role=by_role, min_attempts=classes.MIN_ATTEMPTS)
        if used == most or not windows.longer(verdicts=judged.targets, failure_rate=failure_rate):
            break
    return Simulated(
        run=_run_result(by_role, judged=judged, window=used * spread),
        klass=judged.klass,
        window=used * spread,
    )


def _target_outcomes(
    scenario: Scenario, *, times: Sequence[float], rng: random.Random
) -> tuple[bool, ...]:
    failed = scenario.target.failures(times=times, rng=rng)
    if scenario.poisoned is None:
        return failed
    return tuple(f and (i % scenario.cpus) in scenario.poisoned for i, f in enumerate(failed))


def _attempts(
    role: types.Role, failed: Sequence[bool], *, scenario: Scenario, times: Sequence[float]
) -> tuple[types.Attempt, ...]:
    code = scenario.target_errno if role is types.Role.TARGET else scenario.others_errno
    return tuple(
        _attempt(slot=slot, at=at, cpu=slot % scenario.cpus, code=code if bad else 0)
        for slot, (at, bad) in enumerate(zip(times, failed, strict=True))
    )


@functools.lru_cache(maxsize=65536)
def _attempt(*, slot: int, at: float, cpu: int, code: int) -> types.Attempt:
    """Attempts are values: the same slot with the same outcome is the same attempt (the
    cache spares the benchmark building millions of them)."""
    local = code in types.LOCAL_ERRNOS
    return types.Attempt(
        target=TARGET,
        address=ADDRESS,
        at=at,
        cpu=cpu,
        immediate_errno=code if local else 0,
        final_errno=code,
        duration=0.0 if local else 0.001,
        slot=slot,
    )


def _measurements(
    made: dict[types.Role, tuple[types.Attempt, ...]],
) -> dict[types.Role, types.Measurement]:
    return {
        role: types.Measurement(role=role, netns=role.value, attempts=attempts)
        for role, attempts in made.items()
    }


def _run_result(
    by_role: dict[types.Role, types.Measurement], *, judged: classes.Judgement, window: float
) -> decision.RunResult:
    pooled = by_role[types.Role.TARGET].attempts
    counts = stats.tally(pooled)
    return decision.RunResult(
        klass=judged.klass,
        attempts=counts.attempts,
        failures=counts.failures,
        failure_blocks=len(stats.blocks(pooled)),
        targets=tuple(
            decision.TargetRun(
                target=v.target,
                klass=v.klass,
                attempts=v.attempts,
                failures=v.failures,
                failure_blocks=v.blocks,
            )
            for v in judged.targets
        ),
        window=window,
    )


def _legacy(made: dict[types.Role, tuple[types.Attempt, ...]], *, spread: float) -> Simulated:
    """Before #15: pooled counts; the pod at fault when it fails and the fresh pod not."""
    target = stats.tally(made[types.Role.TARGET])
    control = stats.tally(made[types.Role.CONTROL])
    host = stats.tally(made[types.Role.HOST])
    if not target.failing:
        klass = types.ProbeClass.HEALTHY
    elif not control.failing:
        local = stats.tally(a for a in made[types.Role.TARGET] if a.ok or a.local)
        klass = types.ProbeClass.POD_NAMESPACE if local.failing else types.ProbeClass.FILTERED
    elif not host.failing:
        klass = types.ProbeClass.NODE_NETWORK
    else:
        klass = types.ProbeClass.UPSTREAM
    run = decision.RunResult(
        klass=klass,
        attempts=target.attempts,
        failures=target.failures,
        failure_blocks=len(stats.blocks(made[types.Role.TARGET])),
        window=spread,
    )
    return Simulated(run=run, klass=klass, window=spread)
