"""A run's measurement, window after window: all namespaces at once in each window.

Each window is one `measure.Plan` run in every namespace at once (one forked child each),
with evidence sampled in the target meanwhile; its slots number on from the last
window's and its times count from the first window's start, so that the windows read as
one measurement. After each window the pooled attempts are judged (`probe.windows`):
another window, or done.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Final

from nethealth.probe import classes, measure, netns, report, request, sampling, types, windows

# Children need a moment to fork and enter their namespaces before the common start.
START_DELAY: Final = 0.3
_EVIDENCE_TIMEOUT: Final = 30.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Target:
    """The target namespace: where children enter it, and how it was found (reported)."""

    enter: str
    netns: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Measured:
    """Every window's attempts joined per namespace, and the evidence sampled meanwhile."""

    measurements: tuple[types.Measurement, ...]
    samples: list[tuple[float, types.Evidence]]
    window: report.Window | None


def run(
    run: request.Request,
    *,
    target: Target,
    endpoints: tuple[types.Endpoint, ...],
    distinct: dict[types.Role, str],
    duplicates: Sequence[types.Measurement],
    before: dict[str, int],
) -> Measured:
    """All namespaces at once, window after window while `windows.longer` says so.
    ``distinct``: the namespaces to measure; ``duplicates``: roles not measured because
    they are another role's namespace (reported as such)."""
    if not endpoints:  # no target resolves in the pod: nothing to connect to
        nothing = types.Measurement(role=types.Role.TARGET, netns=target.netns)
        return Measured(measurements=(nothing,), samples=[], window=None)
    origin = time.monotonic() + START_DELAY
    joined: dict[types.Role, types.Measurement] = {m.role: m for m in duplicates}
    samples: list[tuple[float, types.Evidence]] = []
    used = 0
    while True:
        plan = measure.Plan(
            endpoints=endpoints,
            attempts=run.attempts,
            spread=run.spread,
            timeout=run.timeout,
            start_at=max(origin + used * run.spread, time.monotonic() + START_DELAY),
            first_slot=used * run.attempts,
            origin=origin,
        )
        measured, sampled = _window(plan, target=target, distinct=distinct, before=before)
        joined = _join(joined, measured)
        samples += sampled
        used += 1
        if used >= run.windows or not _longer(joined, failure_rate=run.failure_rate):
            break
    # Children entered the target through the probe's descriptor; report where it was found.
    if types.Role.TARGET in joined:
        joined[types.Role.TARGET] = dataclasses.replace(
            joined[types.Role.TARGET], netns=target.netns
        )
    ordered = tuple(joined[role] for role in types.Role if role in joined)
    window = report.Window(seconds=used * run.spread, steps=used, max_steps=run.windows)
    return Measured(measurements=ordered, samples=samples, window=window)


def _window(
    plan: measure.Plan,
    *,
    target: Target,
    distinct: dict[types.Role, str],
    before: dict[str, int],
) -> tuple[tuple[types.Measurement, ...], list[tuple[float, types.Evidence]]]:
    """One window in all namespaces at once, with evidence sampled in the target meanwhile."""
    sampler = netns.spawn(
        target.enter,
        sampling.sample,
        plan.endpoints,
        before,
        plan.start_at,
        plan.start_at + plan.spread,
        sampling.interval(plan.spread),
    )
    try:
        measured = measure.across(namespaces=distinct, plan=plan)
        samples = _samples(sampler, offset=plan.start_at - plan.zero)
    finally:
        sampler.close()
    return measured, samples


def _join(
    joined: dict[types.Role, types.Measurement], measured: Sequence[types.Measurement]
) -> dict[types.Role, types.Measurement]:
    """Later windows' attempts appended; a namespace that failed once stays failed."""
    result = dict(joined)
    for m in measured:
        earlier = result.get(m.role)
        if earlier is None:
            result[m.role] = m
            continue
        result[m.role] = dataclasses.replace(
            earlier, attempts=earlier.attempts + m.attempts, error=earlier.error or m.error
        )
    return result


def _longer(joined: dict[types.Role, types.Measurement], *, failure_rate: float) -> bool:
    judged = classes.judge(by_role=joined, min_attempts=classes.MIN_ATTEMPTS)
    return windows.longer(verdicts=judged.targets, failure_rate=failure_rate)


def _samples(sampler: netns.Child, *, offset: float) -> list[tuple[float, types.Evidence]]:
    """The sampler's evidence, timed from the run's first window (``offset``: when this
    window began, after it)."""
    try:
        raw = sampler.wait(timeout=_EVIDENCE_TIMEOUT)
    except netns.NetnsError:
        return []  # the final gathering reports what went wrong, if it persists
    return [(float(doc.get("at", 0.0)) + offset, types.Evidence.from_dict(doc)) for doc in raw]
