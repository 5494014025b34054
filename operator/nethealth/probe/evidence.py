"""Facts about a network namespace that explain why its connects fail, read from the kernel.

`gather` (and `counters.snapshot`) run *inside* the target namespace (pass them to
`netns.run_in`) and return plain JSON, because they run in a forked child that sends
its result back:

    before = netns.run_in(path, counters.snapshot)
    ...measure...
    found = types.Evidence.from_dict(netns.run_in(path, evidence.gather, endpoints, before))

What is gathered, all through netlink (pyroute2) or /proc/self/net — never by parsing
`ip` output — and which module reads it:

* `lookups`: route lookups for every endpoint — plain RTM_GETROUTE, with a TCP flow key
  (ipproto 6 and the destination port, which is what makes `ip rule ... ipproto tcp
  dport N` selectors match) and with RTM_F_FIB_MATCH (the FIB entry itself, bypassing
  the nexthop's route cache) — each repeated on every allowed CPU, because the kernel's
  output route cache is per CPU and a poisoned slot only shows on its own CPU; they go
  through `rtnetlink`, the workaround for what pyroute2 cannot send;
* `policyrules`: non-default policy rules;
* `tables`: default routes and entries that refuse traffic (broadcast entries in the
  local table for addresses that are not broadcast addresses, blackhole, unreachable,
  prohibit); addresses; neighbours of the gateways (and failed ones);
* `counters`: counter deltas since `counters.snapshot` (``IpOutNoRoutes`` rises when a
  *routing* decision refuses a connect, not when a cached broadcast route does);
* `procnet`: multicast memberships (/proc/self/net/igmp, igmp6) and UDP sockets on the
  discovery ports or bound to the wildcard address (/proc/self/net/udp, udp6), with
  their owners.

Each part is gathered independently: a failure becomes an entry in ``errors`` instead
of losing the rest.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from nethealth.probe import counters, lookups, policyrules, procfiles, procnet, tables, types


def gather(
    endpoints: Sequence[types.Endpoint], counters_before: Mapping[str, int]
) -> dict[str, Any]:
    """Everything above for ``endpoints``, as JSON for `types.Evidence.from_dict`.

    Positional parameters because `netns.run_in` passes its arguments positionally.
    """
    counters_after = counters.snapshot()  # first: the lookups below must not count
    errors: list[str] = []
    links: dict[int, str] = _part(errors, name="links", func=tables.links, default={})
    found_lookups: list[types.RouteLookup] = _part(
        errors,
        name="lookups",
        func=lambda: lookups.on_every_cpu(endpoints, links=links),
        default=[],
    )
    found_addresses: list[types.InterfaceAddress] = _part(
        errors, name="addresses", func=lambda: tables.addresses(links=links), default=[]
    )
    targets = [e.address for e in endpoints]
    gateways = sorted({look.gateway for look in found_lookups if look.gateway})
    return {
        "kernel_release": os.uname().release,
        "kernel_version": procfiles.read_text("/proc/version").strip(),
        "cpus": sorted(os.sched_getaffinity(0)),
        "counters": counters.deltas(before=counters_before, after=counters_after),
        "lookups": _asdicts(found_lookups),
        "rules": _asdicts(_part(errors, name="rules", func=policyrules.non_default, default=[])),
        "routes": _asdicts(
            _part(
                errors,
                name="routes",
                func=lambda: tables.routes(links=links, addresses=found_addresses, targets=targets),
                default=[],
            )
        ),
        "addresses": _asdicts(found_addresses),
        "neighbours": _asdicts(
            _part(
                errors,
                name="neighbours",
                func=lambda: tables.neighbours(links=links, gateways=gateways),
                default=[],
            )
        ),
        "memberships": _asdicts(
            _part(errors, name="memberships", func=procnet.memberships, default=[])
        ),
        "udp_sockets": _asdicts(
            _part(errors, name="udp_sockets", func=procnet.udp_sockets, default=[])
        ),
        "notes": [*procnet.NOTES, *lookups.notes()],
        "errors": errors,
    }


T = TypeVar("T")


def _part(errors: list[str], *, name: str, func: Callable[[], T], default: T) -> T:
    """``func()``, or ``default`` with the failure noted: one part must not lose the rest."""
    try:
        return func()
    except Exception as e:
        errors.append(f"{name}: {type(e).__name__}: {e}")
        return default


def _asdicts(values: Iterable[Any]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(v) for v in values]
