"""Hints from *when* and *where* connects fail rather than from the namespace's state.

Failures that follow the CPU point at per-CPU kernel state; failures in blocks point at
something that switches the fault on and off. Both are circumstantial (the state itself
may be gone by the time evidence is taken), so they rank below a cause seen directly.
"""

from __future__ import annotations

from collections.abc import Iterable

from nethealth.probe import stats, types
from nethealth.probe.hints import context


def per_cpu_failures(ctx: context.Context) -> Iterable[context.Scored]:
    failing, clean = stats.cpu_split(ctx.target_attempts)
    if not failing or not clean:
        return
    counts = stats.per_cpu(ctx.target_attempts)
    shown = ", ".join(f"CPU {c}: {counts[c].failures}/{counts[c].attempts}" for c in counts)
    yield (
        65,
        types.Hint(
            code="PerCpuFailures",
            evidence=f"failures depend on the CPU the connect ran on ({shown})",
            advice=(
                "Failures that follow the CPU point at per-CPU kernel state, above all the IPv4"
                " output route cache: see KernelBroadcastRouteCache and check the node's kernel."
            ),
        ),
    )


def bursty_failures(ctx: context.Context) -> Iterable[context.Scored]:
    attempts = ctx.target_attempts
    if not stats.is_bursty(attempts):
        return
    found = stats.blocks(attempts)
    shown = ", ".join(f"{b.start:.1f}-{b.end:.1f} s" for b in found[:4])
    more = f" and {len(found) - 4} more" if len(found) > 4 else ""
    z = stats.runs_z(attempts) or 0.0
    yield (
        45,
        types.Hint(
            code="BurstyFailures",
            evidence=(
                f"failures come in {len(found)} blocks ({shown}{more}), clustered beyond"
                f" chance (runs test z={z:.1f})"
            ),
            advice=(
                "Something switches the fault on and off: a process adding and removing rules or"
                " routes, or route cache invalidations (route changes, multicast joins) and"
                " broadcasts for the kernel bug. Match the block times against the pod's logs."
            ),
        ),
    )
