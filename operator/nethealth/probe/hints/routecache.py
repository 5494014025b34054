"""Reading the route lookups for the kernel's per-CPU output route cache.

The broadcast route cache regression (see `kernels`) shows as a cached broadcast route
(`cache <local,brd>`) for a unicast destination, on some CPUs only. These readers tell
such a poisoned answer from a real broadcast entry and from a broadcast address, so that
the kernel rule and the "nothing explains it" rule agree on what was seen.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
from collections.abc import Sequence

from nethealth.probe import types
from nethealth.probe.hints import words


@dataclasses.dataclass(frozen=True, kw_only=True)
class Sighting:
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
        return {look.cpu for look in self.poisoned if look.cpu is not None and cached_brd(look)}

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


def cached_brd(look: types.RouteLookup) -> bool:
    """The answer came from a cached LOCAL|BROADCAST route (`cache <local,brd>`)."""
    bits = types.RTCF_LOCAL | types.RTCF_BROADCAST
    return look.flags & bits == bits


def poisoned_lookups(ev: types.Evidence) -> list[types.RouteLookup]:
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


def disagreeing_cpus(ev: types.Evidence) -> list[str]:
    """Addresses whose lookups of one kind get different answers on different CPUs."""
    answers: dict[tuple[str, str], set[tuple[str, int, int]]] = {}
    for look in ev.lookups:
        if look.kind == "fib_match" or look.cpu is None:
            continue
        cache_bits = look.flags & (types.RTCF_LOCAL | types.RTCF_BROADCAST)
        answers.setdefault((look.address, look.kind), set()).add(
            (look.type, cache_bits, look.errno)
        )
    return sorted({address for (address, _), seen in answers.items() if len(seen) > 1})


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
        if any(r.type == "broadcast" and words.covers(r.dst, address=address) for r in ev.routes)
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
