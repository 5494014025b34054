"""What the KernelBroadcastRouteCache hint says: the facts seen, and the advice.

The facts put the poisoned answer next to the other CPUs' answers and the failures per
CPU, in words a person can check with `ip route get` pinned to a CPU; the advice depends
on whether the kernel's version is known bad, because an upgrade to "a fixed release"
does not help when the build carries the regression under a fixed version.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence

from nethealth.probe import kernels, stats, types
from nethealth.probe.hints import context, routecache, words


def evidence(
    ctx: context.Context, *, seen: routecache.Sighting, ev: types.Evidence | None
) -> list[str]:
    """The facts behind the hint; a known-bad kernel first, any other kernel last, since
    then the sighting, not the version, is what carries the hint."""
    facts: list[str] = []
    if ctx.kernel and ctx.kernel_affected:
        facts.append(_kernel_fact(ctx.kernel))
    told: set[str] = set()
    if seen.poisoned and ev is not None:
        look = _example(seen.poisoned)
        told.add(look.address)
        facts.append(_poison_fact(look, poisoned=seen.poisoned, ev=ev, disagree=seen.disagreeing))
    others = [a for a in seen.disagreeing if a not in told]
    if others:
        facts.append(f"route lookups differ between CPUs for {', '.join(others)}")
    if seen.per_cpu:
        facts.append(_per_cpu_fact(ctx, failing=seen.failing_cpus, clean=seen.clean_cpus))
    elif seen.unreachable:
        facts.append(f"{seen.unreachable} connects failed with ENETUNREACH")
    if seen.not_routing:
        facts.append(
            f"IpOutNoRoutes rose by only {seen.no_routes}, so no routing rule refused them"
        )
    if ctx.kernel and not ctx.kernel_affected:
        facts.append(_kernel_fact(ctx.kernel))
    return facts


def _example(poisoned: Sequence[types.RouteLookup]) -> types.RouteLookup:
    """The lookup a person can repeat: a plain one (`ip route get`) if there is one."""
    return min(poisoned, key=lambda look: (look.kind != "plain", look.cpu or 0))


def _poison_fact(
    look: types.RouteLookup,
    *,
    poisoned: Sequence[types.RouteLookup],
    ev: types.Evidence,
    disagree: Sequence[str],
) -> str:
    """'on CPU 0 a plain lookup of X returned broadcast via G cache <local,brd> (flags
    0x90000200), CPU 1 unicast': the poisoned answer next to the other CPUs' answers."""
    same = [x for x in poisoned if x.address == look.address and x.kind == look.kind]
    bad_cpus = sorted({x.cpu for x in same if x.cpu is not None})
    via = f" via {look.gateway}" if look.gateway else ""
    cache = " cache <local,brd>" if routecache.cached_brd(look) else ""
    where = f"on CPU {words.cpus(bad_cpus)} " if bad_cpus else ""
    text = (
        f"{where}a {look.kind} lookup of {look.address} returned broadcast{via}{cache}"
        f" (flags {look.flags:#x})"
    )
    elsewhere = [
        f"CPU {x.cpu} {x.type or stats.errno_name(x.errno)}"
        for x in ev.lookups
        if x.address == look.address and x.kind == look.kind and x.cpu not in bad_cpus
        and x.cpu is not None
    ]  # fmt: skip
    if elsewhere:
        text += ", " + ", ".join(elsewhere)
    else:
        text += " while the local table has no broadcast entry for it"
    if look.address in disagree:
        text = f"route lookups differ between CPUs: {text}"
    return text


def _per_cpu_fact(ctx: context.Context, *, failing: Sequence[int], clean: Sequence[int]) -> str:
    """'failures on CPU 0, none on CPU 1: 20/20 connects on CPU 0 failed with ENETUNREACH,
    0/20 on CPU 1'."""
    counts = stats.per_cpu(ctx.target_attempts)
    shown = [
        f"{counts[cpu].count(errno.ENETUNREACH)}/{counts[cpu].attempts}"
        + (" connects" if i == 0 else "")
        + f" on CPU {cpu}"
        + (" failed with ENETUNREACH" if i == 0 else "")
        for i, cpu in enumerate([*failing, *clean])
    ]
    return (
        f"failures on CPU {words.cpus(failing)}, none on CPU {words.cpus(clean)}:"
        f" {', '.join(shown)}"
    )


def _kernel_fact(kernel: types.KernelAssessment) -> str:
    if kernel.status == types.KernelStatus.AFFECTED:
        return (
            f"kernel {kernel.release} ({kernel.version}) has the IPv4 broadcast route cache"
            f" regression, fixed in {kernel.fixed_in}"
        )
    if kernel.status == types.KernelStatus.UNKNOWN:
        return f"kernel {kernel.release}: version unknown ({kernel.detail})"
    version = f" ({kernel.version})" if kernel.version else ""
    return f"kernel {kernel.release}{version} is not in the known-bad table ({kernel.status})"


def advice(kernel: types.KernelAssessment | None) -> str:
    """An upgrade to the fixed release, or, for a kernel the table does not call bad, to a
    build that has the fix; then how to live with the bug until the node is upgraded."""
    if kernel is not None and kernel.status == types.KernelStatus.AFFECTED:
        target = kernel.fixed_in or "a release with the fix"
        upgrade = f"Upgrade the node's kernel to {target} or later (fix {kernels.FIX_COMMIT})."
    else:
        release = f"Kernel {kernel.release}" if kernel else "The node's kernel"
        placed = (
            "could not be placed in the known-bad table"
            if kernel is None or kernel.status == types.KernelStatus.UNKNOWN
            else "is not a release in the known-bad table"
        )
        # Only reached with the bug seen in the route cache: without a sighting a kernel
        # that is not known bad gets no hint at all.
        upgrade = (
            f"{release} {placed}, but its route cache shows the bug: distribution kernels and"
            " local builds can carry the regression (9e30ecf23b1b) as a backport or patch"
            f" without the fix. Upgrade the node's kernel to a build that has {kernels.FIX_COMMIT},"
            " or ask its vendor for it."
        )
    return (
        f"{upgrade} Until then stop broadcast senders in the pod, e.g. SSDP discovery"
        " (M-SEARCH to 255.255.255.255:1900; Home Assistant's ssdp integration): each"
        " broadcast can poison a CPU's cached route, and a cache flush only helps until the"
        " next one. hostNetwork may not help: the bug is in the node's kernel (host-networked"
        " Home Assistant OS was hit too), and it carries the fault into the node's namespace."
    )
