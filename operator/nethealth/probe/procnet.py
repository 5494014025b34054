"""Multicast memberships and UDP sockets of the namespace, read from /proc/self/net.

They show broadcast senders: SSDP and mDNS discovery join their groups and bind their
ports, and each broadcast they send can poison a CPU's cached route on an affected
kernel. Whether a socket has SO_BROADCAST cannot be seen (see `NOTES`), so sockets are
listed by discovery port and by wildcard bind. Owners come from /proc/<pid>/fd of the
processes in the same namespace, which needs hostPID to see.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
import sys
from collections.abc import Iterator
from typing import Final

from nethealth.probe import procfiles, types

DISCOVERY_PORTS: Final = frozenset({1900, 5353})  # SSDP, mDNS
MAX_SOCKETS: Final = 32

NOTES: Final = (
    "SO_BROADCAST is not visible in /proc/net/udp nor through sock_diag: UDP sockets are "
    "listed by discovery port (1900 SSDP, 5353 mDNS) and by wildcard bind instead",
)


def memberships(proc_net: str = "/proc/self/net") -> list[types.Membership]:
    """IGMP and MLD groups joined in the namespace (SSDP's 239.255.255.250, mDNS's ...)."""
    return [*_igmp(f"{proc_net}/igmp"), *_igmp6(f"{proc_net}/igmp6")]


def _igmp(path: str) -> Iterator[types.Membership]:
    # "1\tlo        :     1      V3" starts a device; "\t\t\t\t010000E0     1 0:0..." a group
    # (the address as a native-endian hex dump of the network-order word).
    dev = ""
    for line in procfiles.lines(path)[1:]:
        if not line.startswith("\t"):
            dev = line.split()[1] if len(line.split()) > 1 else ""
            continue
        word = line.split()[0]
        group = socket.inet_ntoa(int(word, 16).to_bytes(4, sys.byteorder))
        yield types.Membership(family=socket.AF_INET, dev=dev, group=group)


def _igmp6(path: str) -> Iterator[types.Membership]:
    for line in procfiles.lines(path):
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
        lines = procfiles.lines(path)
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
                owner = f"{pid}/{procfiles.read_text(f'{proc}/{pid}/comm').strip()}"
                if owner not in owners.setdefault(inode, []):
                    owners[inode].append(owner)
    return owners
