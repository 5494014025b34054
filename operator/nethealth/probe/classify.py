"""Pure: measurements + evidence + kernel -> where the fault lies, and ranked hints.

The class (*where*) comes from `classes`, from which namespaces fail. Hints explain
*why*; each rule below looks at the evidence and returns scored hints,
and the scores rank them. Scores are coarse on purpose: 90s for a cause seen directly
(a rule that refuses the target's flow, a poisoned cached route on the CPUs that fail,
whatever the kernel's version says), 60-80 for strong circumstantial evidence, below 50
for context.
"""

from __future__ import annotations

import dataclasses
import errno
import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from nethealth.probe import classes, stats, types

SSDP_MDNS_GROUPS: Final = {
    "239.255.255.250": "SSDP", "224.0.0.251": "mDNS", "ff02::c": "SSDP", "ff02::fb": "mDNS",
}  # fmt: skip
FIX_COMMIT: Final = '5189446ba995 ("net: ipv4: fix regression in local-broadcast routes")'
# The errno a connect() gets from each refusing rule action / route type.
ERRNO_OF_ACTION: Final = {
    "unreachable": errno.ENETUNREACH, "prohibit": errno.EACCES, "blackhole": errno.EINVAL,
}  # fmt: skip
PATH_HINTS: Final = {
    errno.ECONNREFUSED: (
        "PathRefused",
        "The destination answers with a reset: nothing listens on that port, or a firewall "
        "on the way rejects it. Check the service and its endpoints.",
    ),
    errno.ETIMEDOUT: (
        "PathTimeout",
        "Nothing answers: packets are dropped on the way or the destination is down. Check "
        "firewalls, the destination and the route beyond the node.",
    ),
    errno.EHOSTUNREACH: (
        "PathHostUnreachable",
        "A router or the node reports the host unreachable (ICMP), or its address does not "
        "resolve on the link. Check the route and the destination's link.",
    ),
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Context:
    """Everything a hint rule may look at."""

    klass: types.ProbeClass
    target: types.Measurement | None
    others: dict[types.Role, types.Measurement]
    evidence: types.Evidence | None
    kernel: types.KernelAssessment | None

    @property
    def target_attempts(self) -> tuple[types.Attempt, ...]:
        return self.target.attempts if self.target else ()

    @property
    def failures(self) -> list[types.Attempt]:
        return [a for a in self.target_attempts if not a.ok]

    def failures_with(self, code: int, *, family: int | None = None) -> int:
        """Failed attempts that ended with ``code`` (to addresses of ``family``, if given)."""
        return sum(
            1
            for a in self.failures
            if a.final_errno == code and (family is None or _family_of(a.address) == family)
        )

    @property
    def kernel_affected(self) -> bool:
        return self.kernel is not None and self.kernel.status == types.KernelStatus.AFFECTED


Scored = tuple[int, types.Hint]
HintRule = Callable[[Context], Iterable[Scored]]


def classify(
    *,
    measurements: Sequence[types.Measurement],
    evidence: types.Evidence | None,
    kernel: types.KernelAssessment | None,
    min_attempts: int = classes.MIN_ATTEMPTS,
) -> types.Verdict:
    """Where the fault lies, why we think so, and ranked hints at the cause."""
    by_role = {m.role: m for m in measurements}
    target = by_role.get(types.Role.TARGET)
    klass, reason = classes.judge(by_role=by_role, min_attempts=min_attempts)
    context = Context(
        klass=klass,
        target=target,
        others={r: m for r, m in by_role.items() if r != types.Role.TARGET},
        evidence=evidence,
        kernel=kernel,
    )
    return types.Verdict(klass=klass, reason=reason, hints=rank_hints(context))


# --- hints -------------------------------------------------------------------------------


def rank_hints(context: Context) -> tuple[types.Hint, ...]:
    scored: list[Scored] = []
    for rule in HINT_RULES:
        scored.extend(rule(context))
    scored.sort(key=lambda item: -item[0])  # stable: rule order breaks ties
    seen: set[tuple[str, str]] = set()
    hints: list[types.Hint] = []
    for _, hint in scored:
        if (hint.code, hint.evidence) not in seen:
            seen.add((hint.code, hint.evidence))
            hints.append(hint)
    return tuple(hints)


@dataclasses.dataclass(frozen=True, kw_only=True)
class _CacheSighting:
    """What the evidence and the attempts say about poisoned per-CPU cached routes."""

    poisoned: list[types.RouteLookup]  # cached broadcast answers for unicast destinations
    disagreeing: list[str]  # addresses whose cached lookups differ between CPUs
    failing_cpus: list[int]
    clean_cpus: list[int]
    unreachable: int  # IPv4 connects that failed with ENETUNREACH
    no_routes: int | None  # the IpOutNoRoutes delta, None when not read

    @property
    def direct(self) -> bool:
        return bool(self.poisoned or self.disagreeing)

    @property
    def per_cpu(self) -> bool:
        return bool(self.failing_cpus and self.clean_cpus)

    @property
    def not_routing(self) -> bool:
        """ENETUNREACH without OutNoRoutes: no routing decision refused the connects."""
        if self.no_routes is None or not self.unreachable:
            return False
        return self.no_routes < self.unreachable / 2

    @property
    def poisoned_cpus(self) -> set[int]:
        return {look.cpu for look in self.poisoned if look.cpu is not None and _cached_brd(look)}

    def confirmed(self, lookups: Sequence[types.RouteLookup]) -> bool:
        """The bug seen at work: a cached broadcast route on some CPUs only, and the
        connects failing with ENETUNREACH exactly there, without OutNoRoutes rising."""
        poisoned = self.poisoned_cpus
        addresses = {look.address for look in self.poisoned}
        sampled = {x.cpu for x in lookups if x.cpu is not None and x.address in addresses}
        rising = self.no_routes is not None and self.no_routes >= self.unreachable / 2
        return (
            bool(poisoned)
            and poisoned < sampled
            and bool(self.failing_cpus)
            and set(self.failing_cpus) <= poisoned
            and self.unreachable > 0
            and not rising
        )


def _kernel_broadcast_route_cache(ctx: Context) -> Iterable[Scored]:
    ev = ctx.evidence
    failing_cpus, clean_cpus = stats.cpu_split(ctx.target_attempts)
    seen = _CacheSighting(
        poisoned=_poisoned_lookups(ev) if ev else [],
        disagreeing=_disagreeing_cpus(ev) if ev else [],
        failing_cpus=failing_cpus,
        clean_cpus=clean_cpus,
        unreachable=ctx.failures_with(errno.ENETUNREACH, family=socket.AF_INET),
        no_routes=ev.counters.get("IpOutNoRoutes") if ev else None,
    )
    # A broadcast entry in the local table refuses connects without OutNoRoutes too; when
    # one covers a target it is the explanation, not the kernel.
    entry = ev is not None and any(
        r.type == "broadcast" and _covers(r.dst, a.address) for r in ev.routes for a in ctx.failures
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
            evidence="; ".join(_sighting_facts(ctx, seen=seen, ev=ev)),
            advice=_kernel_advice(ctx.kernel),
        ),
    )


def _sighting_facts(ctx: Context, *, seen: _CacheSighting, ev: types.Evidence | None) -> list[str]:
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
    cache = " cache <local,brd>" if _cached_brd(look) else ""
    where = f"on CPU {_cpus(bad_cpus)} " if bad_cpus else ""
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


def _per_cpu_fact(ctx: Context, *, failing: Sequence[int], clean: Sequence[int]) -> str:
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
    return f"failures on CPU {_cpus(failing)}, none on CPU {_cpus(clean)}: {', '.join(shown)}"


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


def _kernel_advice(kernel: types.KernelAssessment | None) -> str:
    if kernel is not None and kernel.status == types.KernelStatus.AFFECTED:
        target = kernel.fixed_in or "a release with the fix"
        upgrade = f"Upgrade the node's kernel to {target} or later (fix {FIX_COMMIT})."
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
            f" without the fix. Upgrade the node's kernel to a build that has {FIX_COMMIT},"
            " or ask its vendor for it."
        )
    return (
        f"{upgrade} Until then stop broadcast senders in the pod, e.g. SSDP discovery"
        " (M-SEARCH to 255.255.255.255:1900; Home Assistant's ssdp integration): each"
        " broadcast can poison a CPU's cached route, and a cache flush only helps until the"
        " next one. hostNetwork may not help: the bug is in the node's kernel (host-networked"
        " Home Assistant OS was hit too), and it carries the fault into the node's namespace."
    )


def _cached_brd(look: types.RouteLookup) -> bool:
    bits = types.RTCF_LOCAL | types.RTCF_BROADCAST
    return look.flags & bits == bits


def _poisoned_lookups(ev: types.Evidence) -> list[types.RouteLookup]:
    """Cached lookups that say broadcast for a destination whose FIB entry is not broadcast."""
    real = _fib_broadcast(ev)
    return [
        look
        for look in ev.lookups
        if look.kind != "fib_match"
        and look.broadcast_flagged
        and look.address not in real
        and not _is_broadcast_address(look.address, ev)
    ]


def _fib_broadcast(ev: types.Evidence) -> set[str]:
    """Looked-up addresses that really have a broadcast entry in the FIB.

    An RTM_F_FIB_MATCH answer cannot tell on its own: the kernel takes its type from the
    route the lookup resolved to (route.c, ``fri.type = rt->rt_type``), cached routes
    included, so on a poisoned CPU it says broadcast too. A real entry is in the route
    dump (it is always reported when it covers a target). Without a dump, a FIB-match
    broadcast answer counts as an entry only when every CPU gives it; broadcast on some
    CPUs only is a poisoned per-CPU cache.
    """
    addresses = {look.address for look in ev.lookups}
    entries = {
        address
        for address in addresses
        if any(r.type == "broadcast" and _covers(r.dst, address) for r in ev.routes)
    }
    dumped = bool(ev.routes) and not any(e.startswith("routes:") for e in ev.errors)
    if dumped:
        return entries
    answers: dict[str, list[bool]] = {}
    for look in ev.lookups:
        if look.kind == "fib_match":
            answers.setdefault(look.address, []).append(look.type == "broadcast")
    return entries | {address for address, said in answers.items() if all(said)}


def _is_broadcast_address(address: str, ev: types.Evidence) -> bool:
    if ":" in address:
        return False
    ip = ipaddress.ip_address(address)
    if ip == ipaddress.ip_address("255.255.255.255"):
        return True
    for a in ev.addresses:
        if a.family == socket.AF_INET and a.prefixlen < 31:
            network = ipaddress.ip_network(f"{a.address}/{a.prefixlen}", strict=False)
            if ip == network.broadcast_address:
                return True
    return False


def _disagreeing_cpus(ev: types.Evidence) -> list[str]:
    answers: dict[tuple[str, str], set[tuple[str, int, int]]] = {}
    for look in ev.lookups:
        if look.kind == "fib_match" or look.cpu is None:
            continue
        cache_bits = look.flags & (types.RTCF_LOCAL | types.RTCF_BROADCAST)
        answers.setdefault((look.address, look.kind), set()).add(
            (look.type, cache_bits, look.errno)
        )
    return sorted({address for (address, _), seen in answers.items() if len(seen) > 1})


def _policy_rules(ctx: Context) -> Iterable[Scored]:
    ev = ctx.evidence
    if ev is None:
        return
    for rule in ev.rules:
        if rule.action not in ERRNO_OF_ACTION:
            continue
        code = ERRNO_OF_ACTION[rule.action]
        failed = ctx.failures_with(code, family=rule.family)
        hidden = _hidden_by_flow_key(ev, family=rule.family)
        facts = [f"policy rule '{rule.text}' ({_family(rule.family)}) refuses matching traffic"]
        if hidden:
            facts.append(
                f"a TCP flow-key lookup of {hidden} fails with {stats.errno_name(code)} while a"
                " plain lookup says unicast"
            )
        if failed:
            facts.append(f"{failed} connects failed with {stats.errno_name(code)}")
        no_routes = ev.counters.get(
            "IpOutNoRoutes" if rule.family == socket.AF_INET else "Ip6OutNoRoutes"
        )
        if no_routes:
            facts.append(f"OutNoRoutes rose by {no_routes}")
        score = 95 if failed and hidden else 85 if failed or hidden else 40
        yield (
            score,
            types.Hint(
                code=f"PolicyRule{rule.action.capitalize()}",
                evidence="; ".join(facts),
                advice=(
                    f"Remove the rule in the pod's namespace (`ip {_family_flag(rule.family)} rule"
                    f" del pref {rule.priority}`) and find what adds it: a CNI plugin, an init"
                    " container or sidecar, or the application itself with NET_ADMIN. A plain"
                    " `ip route get` does not show it; `ip route get <dst> ipproto tcp dport"
                    " <port>` does."
                ),
            ),
        )


def _hidden_by_flow_key(ev: types.Evidence, *, family: int) -> str | None:
    plain_ok = {
        (look.address, look.cpu)
        for look in ev.lookups
        if look.kind == "plain" and not look.errno and look.type == "unicast"
    }
    for look in ev.lookups:
        is_family = (":" in look.address) == (family == socket.AF_INET6)
        if (
            look.kind == "flow"
            and look.errno
            and is_family
            and (look.address, look.cpu) in plain_ok
        ):
            return look.address
    return None


_ROUTE_HINTS: Final = {
    "broadcast": ("LocalTableBroadcastEntry", errno.ENETUNREACH),
    "blackhole": ("BlackholeRoute", errno.EINVAL),
    "unreachable": ("UnreachableRoute", errno.ENETUNREACH),
    "prohibit": ("ProhibitRoute", errno.EACCES),
}


def _refusing_routes(ctx: Context) -> Iterable[Scored]:
    ev = ctx.evidence
    if ev is None:
        return
    addresses = sorted({a.address for a in ctx.target_attempts} | {x.address for x in ev.lookups})
    for entry in ev.routes:
        if entry.type not in _ROUTE_HINTS:
            continue
        code, expected = _ROUTE_HINTS[entry.type]
        covered = [a for a in addresses if _covers(entry.dst, a)]
        failed = ctx.failures_with(expected)
        facts = [f"{entry.type} route {entry.dst} in table {_table(entry.table)}"]
        if covered:
            facts.append(f"it covers the target address {', '.join(covered)}")
        if failed:
            facts.append(f"{failed} connects failed with {stats.errno_name(expected)}")
        score = 95 if covered and failed else 70 if covered else 35
        dev = f" dev {entry.dev}" if entry.dev else ""
        yield (
            score,
            types.Hint(
                code=code,
                evidence="; ".join(facts),
                advice=(
                    f"Delete it in the pod's namespace (`ip route del {entry.type} {entry.dst}{dev}"
                    f" table {_table(entry.table)}`) and find what adds it (a CNI plugin, an init"
                    " container, the application with NET_ADMIN)."
                ),
            ),
        )


def _missing_default_route(ctx: Context) -> Iterable[Scored]:
    ev = ctx.evidence
    if ev is None:
        return
    families = {_family_of(x.address) for x in ev.lookups}
    families |= {_family_of(a.address) for a in ctx.failures}
    defaults = {r.family for r in ev.routes if r.dst == "default" and r.table == 254}
    for family in sorted(families - defaults):
        failed_lookups = sorted({
            x.address for x in ev.lookups
            if x.kind == "plain" and x.errno and _family_of(x.address) == family
        })  # fmt: skip
        failed = sum(1 for a in ctx.failures if _family_of(a.address) == family)
        if not failed_lookups and not failed:
            continue
        facts = [f"no {_family(family)} default route in the main table"]
        if failed_lookups:
            facts.append(f"route lookups of {', '.join(failed_lookups)} fail")
        if failed:
            facts.append(f"{failed} {_family(family)} connects failed")
        yield (
            (80 if failed_lookups else 50),
            types.Hint(
                code="MissingDefaultRoute",
                evidence="; ".join(facts),
                advice=(
                    "The pod has no way out for this address family: the CNI did not install"
                    " (or something removed) the default route. Recreate the pod; if it recurs,"
                    " check the CNI plugin's logs and anything in the pod with NET_ADMIN."
                ),
            ),
        )


def _gateway_neighbour_failed(ctx: Context) -> Iterable[Scored]:
    ev = ctx.evidence
    if ev is None:
        return
    gateways = {x.gateway for x in ev.lookups if x.gateway} | {
        r.gateway for r in ev.routes if r.gateway
    }
    path_failures = sum(
        1 for a in ctx.failures if a.final_errno in (errno.EHOSTUNREACH, errno.ETIMEDOUT)
    )
    for neighbour in ev.neighbours:
        if neighbour.address in gateways and neighbour.state in ("FAILED", "INCOMPLETE"):
            yield (
                (75 if path_failures else 30),
                types.Hint(
                    code="GatewayNeighbourFailed",
                    evidence=(
                        f"the gateway {neighbour.address} on {neighbour.dev} is {neighbour.state}"
                        f" in the neighbour table; {path_failures} connects timed out or"
                        " found no host"
                    ),
                    advice=(
                        "The pod cannot resolve its gateway's link address. With Calico the node"
                        " answers for 169.254.1.1 by proxy ARP: check proxy_arp on the host side"
                        " of the pod's veth and that the node routes 169.254.1.1 elsewhere."
                    ),
                ),
            )


def _broadcast_senders(ctx: Context) -> Iterable[Scored]:
    ev = ctx.evidence
    if ev is None or not ctx.failures_with(errno.ENETUNREACH, family=socket.AF_INET):
        return
    sockets = [s for s in ev.udp_sockets if s.port in (1900, 5353)]
    groups = [m for m in ev.memberships if m.group in SSDP_MDNS_GROUPS]
    if not sockets and not groups:
        return
    facts = []
    if sockets:
        facts.append("UDP sockets " + ", ".join(_socket_text(s) for s in sockets[:4]))
    if groups:
        joined = sorted({f"{m.group} ({SSDP_MDNS_GROUPS[m.group]})" for m in groups})
        facts.append("multicast groups " + ", ".join(joined))
    yield (
        (60 if ctx.kernel_affected else 35),
        types.Hint(
            code="BroadcastSenders",
            evidence="; ".join(facts),
            advice=(
                "SSDP and mDNS discovery send broadcasts (M-SEARCH to 255.255.255.255:1900) and"
                " join groups, which invalidates route caches. On a kernel with the broadcast"
                " route cache regression each broadcast can poison a CPU's route; disable the"
                " discovery (e.g. Home Assistant's ssdp integration) to confirm."
            ),
        ),
    )


def _socket_text(s: types.UdpSocket) -> str:
    address = f"[{s.address}]" if ":" in s.address else s.address
    owners = f" ({', '.join(s.owners[:2])})" if s.owners else ""
    return f"{address}:{s.port}{owners}"


def _per_cpu_failures(ctx: Context) -> Iterable[Scored]:
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


def _bursty_failures(ctx: Context) -> Iterable[Scored]:
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


def _path_errors(ctx: Context) -> Iterable[Scored]:
    failing = [m for m in (ctx.target, *ctx.others.values()) if m is not None]
    counts: dict[int, int] = {}
    for measurement in failing:
        for attempt in measurement.attempts:
            if attempt.final_errno in PATH_HINTS:
                counts[attempt.final_errno] = counts.get(attempt.final_errno, 0) + 1
    for code, count in sorted(counts.items(), key=lambda item: -item[1]):
        name, advice = PATH_HINTS[code]
        score = 80 if ctx.klass == types.ProbeClass.UPSTREAM else 40
        roles = [
            m.role.value for m in failing
            if any(a.final_errno == code for a in m.attempts)
        ]  # fmt: skip
        yield (
            score,
            types.Hint(
                code=name,
                evidence=(
                    f"{count} connects ended with {stats.errno_name(code)} (in {', '.join(roles)})"
                ),
                advice=advice,
            ),
        )


def _unexplained_local_refusals(ctx: Context) -> Iterable[Scored]:
    local = [a for a in ctx.failures if a.local]
    if not local or ctx.klass != types.ProbeClass.POD_NAMESPACE:
        return
    ev = ctx.evidence
    explained = ev is not None and (
        any(r.action in ERRNO_OF_ACTION for r in ev.rules)
        or any(r.type in _ROUTE_HINTS for r in ev.routes)
        or _poisoned_lookups(ev)
        or _disagreeing_cpus(ev)
    )
    if explained:
        return
    codes = sorted({stats.errno_name(a.final_errno) for a in local})
    yield (
        30,
        types.Hint(
            code="TransientLocalRefusal",
            evidence=(
                f"{len(local)} connects were refused inside the pod ({', '.join(codes)}) but no"
                " rule, route or cached route refusing them was present when evidence was taken"
            ),
            advice=(
                "The refusing state comes and goes. Probe again while it fails, and look for a"
                " process in the pod that changes rules or routes, or a kernel route cache fault."
            ),
        ),
    )


HINT_RULES: Final[tuple[HintRule, ...]] = (
    _kernel_broadcast_route_cache,
    _policy_rules,
    _refusing_routes,
    _missing_default_route,
    _gateway_neighbour_failed,
    _path_errors,
    _per_cpu_failures,
    _broadcast_senders,
    _bursty_failures,
    _unexplained_local_refusals,
)


# --- small words -------------------------------------------------------------------------


def _family_of(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _cpus(cpus: Sequence[int]) -> str:
    return ", ".join(str(c) for c in cpus)


def _family(family: int) -> str:
    return "IPv6" if family == socket.AF_INET6 else "IPv4"


def _family_flag(family: int) -> str:
    return "-6" if family == socket.AF_INET6 else "-4"


def _table(table: int) -> str:
    return {254: "main", 255: "local", 253: "default"}.get(table, str(table))


def _covers(dst: str, address: str) -> bool:
    if dst == "default":
        return False
    network = ipaddress.ip_network(dst, strict=False)
    ip = ipaddress.ip_address(address)
    return ip.version == network.version and ip in network
