"""Route lookups of every endpoint, three ways, on every CPU the probe may use.

* plain RTM_GETROUTE: what `ip route get <dst>` says;
* with a TCP flow key (ipproto 6 and the destination port): what makes `ip rule ...
  ipproto tcp dport N` selectors match, which a plain lookup never shows;
* with RTM_F_FIB_MATCH: the FIB entry itself rather than the nexthop's cached route.

Each is repeated pinned to every allowed CPU, because the kernel's output route cache
is per CPU and a poisoned slot only shows on its own CPU. The requests go through
`rtnetlink`, the workaround for what pyroute2 cannot send.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Generator, Mapping, Sequence
from typing import Any, Final

from nethealth.probe import netlinknames, rtnetlink, types

RTM_F_FIB_MATCH: Final = 0x2000
KINDS: Final = ("plain", "flow", "fib_match")


def on_every_cpu(
    endpoints: Sequence[types.Endpoint], *, links: Mapping[int, str]
) -> list[types.RouteLookup]:
    """Plain, flow-key and FIB-match lookups of every endpoint on every allowed CPU."""
    found: list[types.RouteLookup] = []
    with rtnetlink.RouteQuery() as query, contextlib.closing(_each_cpu()) as cpus:
        for cpu in cpus:
            for endpoint in endpoints:
                for kind in KINDS:
                    found.append(_lookup(query, endpoint=endpoint, kind=kind, cpu=cpu, links=links))
    return found


def _each_cpu() -> Generator[int, None, None]:
    """Pin this thread to each allowed CPU in turn; restore the affinity afterwards."""
    allowed = os.sched_getaffinity(0)
    try:
        for cpu in sorted(allowed):
            try:
                os.sched_setaffinity(0, {cpu})
            except OSError:  # CPU went offline or a cpuset changed under us: skip it
                continue
            yield cpu
    finally:
        os.sched_setaffinity(0, allowed)


def _lookup(
    query: rtnetlink.RouteQuery,
    *,
    endpoint: types.Endpoint,
    kind: str,
    cpu: int | None,
    links: Mapping[int, str],
) -> types.RouteLookup:
    family = socket.AF_INET6 if ":" in endpoint.address else socket.AF_INET
    attrs: list[tuple[str, Any]] = [("RTA_DST", endpoint.address)]
    if kind == "flow":
        attrs += [("RTA_IP_PROTO", socket.IPPROTO_TCP), ("RTA_DPORT", endpoint.port)]
    answer = query.get(
        family=family, attrs=attrs, flags=RTM_F_FIB_MATCH if kind == "fib_match" else 0
    )
    if isinstance(answer, int):
        return types.RouteLookup(
            target=endpoint.name, address=endpoint.address, kind=kind, cpu=cpu, type="",
            errno=answer,
        )  # fmt: skip
    oif = answer.get_attr("RTA_OIF")
    return types.RouteLookup(
        target=endpoint.name,
        address=endpoint.address,
        kind=kind,
        cpu=cpu,
        type=netlinknames.ROUTE_TYPES.get(answer["type"], str(answer["type"])),
        flags=answer["flags"],
        gateway=answer.get_attr("RTA_GATEWAY"),
        dev=links.get(oif, str(oif)) if oif is not None else None,
    )


def notes() -> list[str]:
    """What the lookups could not see: CPUs outside this probe's affinity."""
    allowed, online = len(os.sched_getaffinity(0)), os.cpu_count() or 0
    if allowed >= online:
        return []
    return [
        f"route lookups ran on the {allowed} CPUs this probe may use, not on all {online}:"
        " a route cached on another CPU is not seen"
    ]
