"""Facts about a network namespace that explain why its connects fail, read from the kernel.

Both functions run *inside* the target namespace (pass them to `netns.run_in`) and
return plain JSON, because they run in a forked child that sends its result back:

    before = netns.run_in(path, evidence.snapshot_counters)
    ...measure...
    found = types.Evidence.from_dict(netns.run_in(path, evidence.gather, endpoints, before))

What is gathered, all through netlink (pyroute2) or /proc/self/net — never by parsing
`ip` output:

* route lookups for every endpoint — plain RTM_GETROUTE, with a TCP flow key (ipproto 6
  and the destination port, which is what makes `ip rule ... ipproto tcp dport N`
  selectors match) and with RTM_F_FIB_MATCH (the FIB entry itself, bypassing the
  nexthop's route cache) — each repeated on every allowed CPU, because the kernel's
  output route cache is per CPU and a poisoned slot only shows on its own CPU;
* non-default policy rules; default routes and entries that refuse traffic (broadcast
  entries in the local table for addresses that are not broadcast addresses, blackhole,
  unreachable, prohibit); addresses; neighbours of the gateways (and failed ones);
* counter deltas since `snapshot_counters` (``IpOutNoRoutes`` rises when a *routing*
  decision refuses a connect, not when a cached broadcast route does);
* multicast memberships (/proc/self/net/igmp, igmp6) and UDP sockets on the discovery
  ports or bound to the wildcard address (/proc/self/net/udp, udp6), with their owners.

Lookups are taken by `lookups` through `rtnetlink` (the workaround for what pyroute2
cannot send); dumps use `pyroute2.IPRoute`.

Each part is gathered independently: a failure becomes an entry in ``errors`` instead
of losing the rest.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, TypeVar

from pyroute2 import IPRoute

from nethealth.probe import lookups, netlinknames, types

DISCOVERY_PORTS: Final = frozenset({1900, 5353})  # SSDP, mDNS
MAX_SOCKETS: Final = 32
MAX_NEIGHBOURS: Final = 32
MAX_ROUTES: Final = 64

REFUSING_ROUTE_TYPES: Final = frozenset({"broadcast", "blackhole", "unreachable", "prohibit"})
DEFAULT_RULE_PRIORITIES: Final = frozenset({0, 32766, 32767})

NOTES: Final = (
    "SO_BROADCAST is not visible in /proc/net/udp nor through sock_diag: UDP sockets are "
    "listed by discovery port (1900 SSDP, 5353 mDNS) and by wildcard bind instead",
)


# --- counters ----------------------------------------------------------------------


def snapshot_counters() -> dict[str, int]:
    """SNMP counters of the current namespace, named like nstat: ``IpOutNoRoutes``."""
    counters: dict[str, int] = {}
    counters.update(_read_snmp("/proc/self/net/snmp"))
    counters.update(_read_snmp6("/proc/self/net/snmp6"))
    return counters


def _read_snmp(path: str) -> dict[str, int]:
    try:
        lines = _lines(path)
    except OSError:
        return {}
    found: dict[str, int] = {}
    # Pairs of lines: "Ip: Name Name ..." then "Ip: 1 2 ...".
    for header, values in zip(lines[::2], lines[1::2], strict=False):
        proto, _, names = header.partition(":")
        _, _, numbers = values.partition(":")
        for name, number in zip(names.split(), numbers.split(), strict=False):
            if number.lstrip("-").isdigit():
                found[f"{proto}{name}"] = int(number)
    return found


def _read_snmp6(path: str) -> dict[str, int]:
    try:
        lines = _lines(path)
    except OSError:
        return {}
    found: dict[str, int] = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            found[parts[0]] = int(parts[1])
    return found


def counter_deltas(*, before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """Counters that moved, plus the OutNoRoutes ones always (0 is an answer too)."""
    deltas = {k: after[k] - before[k] for k in after if k in before and after[k] != before[k]}
    for key in ("IpOutNoRoutes", "Ip6OutNoRoutes"):
        if key in after and key in before:
            deltas.setdefault(key, 0)
    return dict(sorted(deltas.items()))


# --- the whole picture ---------------------------------------------------------------


def gather(
    endpoints: Sequence[types.Endpoint], counters_before: Mapping[str, int]
) -> dict[str, Any]:
    """Everything above for ``endpoints``, as JSON for `types.Evidence.from_dict`.

    Positional parameters because `netns.run_in` passes its arguments positionally.
    """
    counters_after = snapshot_counters()  # first: the lookups below must not count
    errors: list[str] = []
    links: dict[int, str] = _part(errors, name="links", func=_links, default={})
    found_lookups: list[types.RouteLookup] = _part(
        errors,
        name="lookups",
        func=lambda: lookups.on_every_cpu(endpoints, links=links),
        default=[],
    )
    found_addresses: list[types.InterfaceAddress] = _part(
        errors, name="addresses", func=lambda: addresses(links=links), default=[]
    )
    targets = [e.address for e in endpoints]
    gateways = sorted({look.gateway for look in found_lookups if look.gateway})
    return {
        "kernel_release": os.uname().release,
        "kernel_version": _read_text("/proc/version").strip(),
        "cpus": sorted(os.sched_getaffinity(0)),
        "counters": counter_deltas(before=counters_before, after=counters_after),
        "lookups": _asdicts(found_lookups),
        "rules": _asdicts(_part(errors, name="rules", func=rules, default=[])),
        "routes": _asdicts(
            _part(
                errors,
                name="routes",
                func=lambda: routes(links=links, addresses=found_addresses, targets=targets),
                default=[],
            )
        ),
        "addresses": _asdicts(found_addresses),
        "neighbours": _asdicts(
            _part(
                errors,
                name="neighbours",
                func=lambda: neighbours(links=links, gateways=gateways),
                default=[],
            )
        ),
        "memberships": _asdicts(_part(errors, name="memberships", func=memberships, default=[])),
        "udp_sockets": _asdicts(_part(errors, name="udp_sockets", func=udp_sockets, default=[])),
        "notes": [*NOTES, *_cpu_notes()],
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


def _cpu_notes() -> list[str]:
    allowed, online = len(os.sched_getaffinity(0)), os.cpu_count() or 0
    if allowed >= online:
        return []
    return [
        f"route lookups ran on the {allowed} CPUs this probe may use, not on all {online}:"
        " a route cached on another CPU is not seen"
    ]


def _asdicts(values: Iterable[Any]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(v) for v in values]


# --- rules, routes, addresses, neighbours ---------------------------------------------


def _links() -> dict[int, str]:
    with IPRoute() as ipr:
        return {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}


def rules() -> list[types.PolicyRule]:
    """Policy rules other than the three every namespace starts with."""
    found: list[types.PolicyRule] = []
    with IPRoute() as ipr:
        for family in (socket.AF_INET, socket.AF_INET6):
            for message in ipr.get_rules(family=family):
                rule = _rule(message)
                if not _is_default_rule(rule):
                    found.append(rule)
    return found


def _rule(message: Any) -> types.PolicyRule:
    attrs = dict(message["attrs"])
    selectors: list[str] = []
    family = message["family"]
    if message["src_len"]:
        selectors.append(f"from {attrs.get('FRA_SRC')}/{message['src_len']}")
    if message["dst_len"]:
        selectors.append(f"to {attrs.get('FRA_DST')}/{message['dst_len']}")
    for key, word in (
        ("FRA_IIFNAME", "iif"), ("FRA_OIFNAME", "oif"), ("FRA_FWMARK", "fwmark"),
        ("FRA_IP_PROTO", "ipproto"), ("FRA_SPORT_RANGE", "sport"), ("FRA_DPORT_RANGE", "dport"),
        ("FRA_UID_RANGE", "uidrange"),
    ):  # fmt: skip
        if key in attrs and attrs[key] not in (None, 0):
            selectors.append(f"{word} {_range_text(attrs[key])}")
    if message["tos"]:
        selectors.append(f"tos {message['tos']:#x}")
    if message["flags"] & 0x2:  # FIB_RULE_INVERT
        selectors.insert(0, "not")
    return types.PolicyRule(
        family=family,
        priority=int(attrs.get("FRA_PRIORITY", 0)),
        action=netlinknames.RULE_ACTIONS.get(message["action"], str(message["action"])),
        table=int(attrs.get("FRA_TABLE", message["table"]) or 0),
        selectors=tuple(selectors),
    )


def _range_text(value: Any) -> str:
    if isinstance(value, str) and ":" in value:
        low, _, high = value.partition(":")
        return low if low == high else f"{low}-{high}"
    if isinstance(value, dict) and "start" in value:
        return str(value["start"]) if value["start"] == value["end"] else str(value)
    return str(value)


def _is_default_rule(rule: types.PolicyRule) -> bool:
    default_table = {0: 255, 32766: 254, 32767: 253}.get(rule.priority)
    return (
        rule.action == "lookup"
        and not rule.selectors
        and default_table == rule.table
        # IPv6 has no "default" table rule.
        and not (rule.family == socket.AF_INET6 and rule.priority == 32767)
    )


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


# --- multicast memberships and UDP sockets ---------------------------------------------


def memberships(proc_net: str = "/proc/self/net") -> list[types.Membership]:
    """IGMP and MLD groups joined in the namespace (SSDP's 239.255.255.250, mDNS's ...)."""
    return [*_igmp(f"{proc_net}/igmp"), *_igmp6(f"{proc_net}/igmp6")]


def _igmp(path: str) -> Iterator[types.Membership]:
    # "1\tlo        :     1      V3" starts a device; "\t\t\t\t010000E0     1 0:0..." a group
    # (the address as a native-endian hex dump of the network-order word).
    dev = ""
    for line in _lines(path)[1:]:
        if not line.startswith("\t"):
            dev = line.split()[1] if len(line.split()) > 1 else ""
            continue
        word = line.split()[0]
        group = socket.inet_ntoa(int(word, 16).to_bytes(4, sys.byteorder))
        yield types.Membership(family=socket.AF_INET, dev=dev, group=group)


def _igmp6(path: str) -> Iterator[types.Membership]:
    for line in _lines(path):
        parts = line.split()
        if len(parts) >= 3 and len(parts[2]) == 32:
            group = str(ipaddress.IPv6Address(bytes.fromhex(parts[2])))
            yield types.Membership(family=socket.AF_INET6, dev=parts[1], group=group)


def udp_sockets(proc_net: str = "/proc/self/net") -> list[types.UdpSocket]:
    """UDP sockets on the discovery ports or bound to the wildcard, with their owners."""
    found = [
        *_udp(f"{proc_net}/udp", family=socket.AF_INET),
        *_udp(f"{proc_net}/udp6", family=socket.AF_INET6),
    ]
    # Discovery ports first: those are the broadcast senders that matter.
    found.sort(key=lambda s: (s.port not in DISCOVERY_PORTS, s.port, s.family))
    found = found[:MAX_SOCKETS]
    owners = _socket_owners({s.inode for s in found})
    return [dataclasses.replace(s, owners=tuple(owners.get(s.inode, ()))) for s in found]


def _udp(path: str, *, family: int) -> Iterator[types.UdpSocket]:
    try:
        lines = _lines(path)
    except FileNotFoundError:  # no IPv6 in this kernel
        return
    for line in lines[1:]:
        parts = line.split()
        if len(parts) < 10:
            continue
        hex_address, _, hex_port = parts[1].partition(":")
        address = _proc_address(hex_address, family=family)
        port = int(hex_port, 16)
        wildcard = address in ("0.0.0.0", "::")
        if port in DISCOVERY_PORTS or wildcard:
            yield types.UdpSocket(family=family, address=address, port=port, inode=int(parts[9]))


def _proc_address(text: str, *, family: int) -> str:
    # /proc/net/udp prints each 32-bit word of the address in native byte order.
    raw = bytes.fromhex(text)
    step = -1 if sys.byteorder == "little" else 1
    words = [raw[i : i + 4][::step] for i in range(0, len(raw), 4)]
    return socket.inet_ntop(family, b"".join(words))


def _socket_owners(inodes: set[int], proc: str = "/proc") -> dict[int, list[str]]:
    """Which processes in this namespace hold the sockets (needs hostPID to see them)."""
    if not inodes:
        return {}
    try:
        own_netns = os.stat("/proc/self/ns/net").st_ino
    except OSError:
        return {}
    wanted = {f"socket:[{inode}]": inode for inode in inodes}
    owners: dict[int, list[str]] = {}
    for pid in (p for p in os.listdir(proc) if p.isdigit()):
        try:
            if os.stat(f"{proc}/{pid}/ns/net").st_ino != own_netns:
                continue
            fds = os.listdir(f"{proc}/{pid}/fd")
        except OSError:  # gone, or not ours to read
            continue
        for fd in fds:
            try:
                inode = wanted.get(os.readlink(f"{proc}/{pid}/fd/{fd}"))
            except OSError:
                continue
            if inode is not None:
                owner = f"{pid}/{_read_text(f'{proc}/{pid}/comm').strip()}"
                if owner not in owners.setdefault(inode, []):
                    owners[inode].append(owner)
    return owners


# --- helpers -----------------------------------------------------------------------


def _lines(path: str) -> list[str]:
    with open(path, encoding="ascii", errors="replace") as f:
        return f.read().splitlines()


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""
