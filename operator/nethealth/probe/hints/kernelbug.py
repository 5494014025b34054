"""The KernelBroadcastRouteCache hint: the kernel regression, seen at work or suspected.

A sighting in the route cache beats the kernel's version both ways: distributions and
local builds carry the regression under versions the table (`kernels`) calls fixed, and
a known-bad kernel need not have poisoned a CPU yet. So the score follows what was seen
first and what the version says second, and the evidence text (`kernelfacts`) says both.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable

from nethealth.probe import stats, types
from nethealth.probe.hints import context, kernelfacts, routecache, words


def broadcast_route_cache(ctx: context.Context) -> Iterable[context.Scored]:
    ev = ctx.evidence
    failing_cpus, clean_cpus = stats.cpu_split(ctx.target_attempts)
    seen = routecache.Sighting(
        poisoned=routecache.poisoned_lookups(ev) if ev else [],
        disagreeing=routecache.disagreeing_cpus(ev) if ev else [],
        failing_cpus=failing_cpus,
        clean_cpus=clean_cpus,
        unreachable=ctx.failures_with(errno.ENETUNREACH, family=socket.AF_INET),
        no_routes=ev.counters.get("IpOutNoRoutes") if ev else None,
    )
    # A broadcast entry in the local table refuses connects without OutNoRoutes too; when
    # one covers a target it is the explanation, not the kernel.
    entry = ev is not None and any(
        r.type == "broadcast" and words.covers(r.dst, address=a.address)
        for r in ev.routes
        for a in ctx.failures
    )
    indirect = (
        ctx.kernel_affected and seen.unreachable > 0 and (seen.not_routing or seen.per_cpu)
        and not entry
    )  # fmt: skip
    if not (seen.direct or indirect):
        return
    confirmed = ev is not None and seen.confirmed(ev.lookups)
    if confirmed:
        # Seen at work: distributions and local builds carry the regression under
        # versions the table calls fixed, so the version does not get a say.
        score = 100 if ctx.kernel_affected else 90
    elif ctx.kernel_affected:
        # Known bad, but the poisoned CPU was not caught (the cache was clean again, or
        # that CPU was not sampled): strong, yet below a sighting.
        score = 85 if seen.direct else 80
    elif ctx.kernel is None or ctx.kernel.status == types.KernelStatus.UNKNOWN:
        score = 75
    else:
        score = 55  # the picture of the bug, not lined up with the failures
    yield (
        score,
        types.Hint(
            code="KernelBroadcastRouteCache",
            evidence="; ".join(kernelfacts.evidence(ctx, seen=seen, ev=ev)),
            advice=kernelfacts.advice(ctx.kernel),
        ),
    )
