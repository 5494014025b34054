"""The namespace's links, addresses, routes and neighbours, dumped over netlink.

Only what explains a failure is kept: default routes, entries in any table that refuse
traffic, and the neighbour entries of the gateways in use (and every failed one).
Addresses are kept whole: they tell a legitimate local-table broadcast entry from one
that catches a unicast destination.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pyroute2 import IPRoute

from nethealth.probe import netlinknames, types

MAX_NEIGHBOURS: Final = 32
MAX_ROUTES: Final = 64
REFUSING_ROUTE_TYPES: Final = frozenset({"broadcast", "blackhole", "unreachable", "prohibit"})


def links() -> dict[int, str]:
    """Interface names by index, for the ``dev`` of routes, addresses and neighbours."""
    with IPRoute() as ipr:
        return {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}


def addresses(*, links: Mapping[int, str]) -> list[types.InterfaceAddress]:
    with IPRoute() as ipr:
        return [
            types.InterfaceAddress(
                family=message["family"],
                address=message.get_attr("IFA_ADDRESS"),
                prefixlen=message["prefixlen"],
                dev=links.get(message["index"]),
            )
            for message in ipr.get_addr()
        ]


def routes(
    *,
    links: Mapping[int, str],
    addresses: Sequence[types.InterfaceAddress],
    targets: Sequence[str],
) -> list[types.RouteEntry]:
    """Default routes, and entries in any table that refuse traffic.

    A local-table broadcast entry is normal for the broadcast (and, on older kernels,
    network) address of a configured prefix; any other is reported.
    """
    legitimate = _broadcast_addresses(addresses)
    found: list[types.RouteEntry] = []
    with IPRoute() as ipr:
        for family in (socket.AF_INET, socket.AF_INET6):
            for message in ipr.get_routes(family=family):  # every table
                entry = _route(message, links=links)
                if _worth_reporting(entry, legitimate=legitimate, targets=targets):
                    found.append(entry)
    return found[:MAX_ROUTES]


def _route(message: Any, *, links: Mapping[int, str]) -> types.RouteEntry:
    dst = message.get_attr("RTA_DST")
    length = message["dst_len"]
    oif = message.get_attr("RTA_OIF")
    return types.RouteEntry(
        family=message["family"],
        table=int(message.get_attr("RTA_TABLE") or message["table"]),
        type=netlinknames.ROUTE_TYPES.get(message["type"], str(message["type"])),
        dst="default" if not length else f"{dst}/{length}",
        gateway=message.get_attr("RTA_GATEWAY"),
        dev=links.get(oif) if oif is not None else None,
    )


def _worth_reporting(
    entry: types.RouteEntry, *, legitimate: frozenset[str], targets: Sequence[str]
) -> bool:
    if entry.dst == "default" and entry.table == 254:
        return True
    if entry.type not in REFUSING_ROUTE_TYPES:
        return False
    if entry.type == "broadcast" and entry.dst.split("/")[0] in legitimate:
        return _covers(entry.dst, targets)  # normal, unless a target sits on it
    return True


def _broadcast_addresses(addresses: Sequence[types.InterfaceAddress]) -> frozenset[str]:
    found: set[str] = set()
    for address in addresses:
        if address.family != socket.AF_INET or address.prefixlen >= 31:
            continue
        network = ipaddress.ip_network(f"{address.address}/{address.prefixlen}", strict=False)
        found.update({str(network.broadcast_address), str(network.network_address)})
    return frozenset(found)


def _covers(dst: str, targets: Sequence[str]) -> bool:
    network = ipaddress.ip_network(dst, strict=False)
    return any(
        ipaddress.ip_address(t) in network
        for t in targets
        if ipaddress.ip_address(t).version == network.version
    )


def neighbours(*, links: Mapping[int, str], gateways: Sequence[str]) -> list[types.Neighbour]:
    """Neighbour entries of the gateways in use, and every FAILED/INCOMPLETE one."""
    found: list[types.Neighbour] = []
    with IPRoute() as ipr:
        for message in ipr.get_neighbours():
            address = message.get_attr("NDA_DST")
            state = netlinknames.NUD_STATES.get(message["state"], f"{message['state']:#x}")
            if address in gateways or state in ("FAILED", "INCOMPLETE"):
                dev = links.get(message["ifindex"])
                found.append(types.Neighbour(address=address, dev=dev, state=state))
    return found[:MAX_NEIGHBOURS]
