"""How the hints write address families, route tables and CPU lists, and which
addresses a route covers: the small words several rules share, so they say them alike."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence


def family_of(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def family(family: int) -> str:
    return "IPv6" if family == socket.AF_INET6 else "IPv4"


def family_flag(family: int) -> str:
    """The `ip` option for ``family``, for commands a person can paste."""
    return "-6" if family == socket.AF_INET6 else "-4"


def table(table: int) -> str:
    return {254: "main", 255: "local", 253: "default"}.get(table, str(table))


def cpus(cpus: Sequence[int]) -> str:
    return ", ".join(str(c) for c in cpus)


def covers(dst: str, *, address: str) -> bool:
    """Whether the entry for ``dst`` (a CIDR) is aimed at ``address``.

    A default route is never counted: the rules ask about entries that single an
    address out, and every address falls under the default.
    """
    if dst == "default":
        return False
    network = ipaddress.ip_network(dst, strict=False)
    ip = ipaddress.ip_address(address)
    return ip.version == network.version and ip in network
