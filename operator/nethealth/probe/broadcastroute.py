"""The in-place cure of the kernel's broadcast-route-cache bug: one route in the pod's netns.

On a kernel with the regression (``probe/kernels.py``), a send to 255.255.255.255 that is
looked up through the default route caches a *broadcast* route in the per-CPU output cache
of the default route's nexthop, and later unicast connects on that CPU are served it
(ENETUNREACH). With ``255.255.255.255/32 dev eth0`` in the pod's main table the broadcast
lookup matches that route's own nexthop instead, so whatever is cached there only serves
255.255.255.255: the default route's cache stays clean, and broadcasts still leave through
``eth0`` (measured on the regression kernel: ``tests/kernel``).

The route carries its own protocol number (``PROTOCOL``) so that this operator's route is
recognisable and the only one it ever removes. A namespace that has any route of its own
for 255.255.255.255 in the main table (another protocol) is left as it is: somebody chose
it, and it isolates the broadcast lookup just as well.

These functions run *inside* the pod's namespace (``netns.run_in``, a forked child), and
return JSON-able dictionaries for the command's report (``cure``).
"""

from __future__ import annotations

import errno
import socket
from typing import Any, Final

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

LIMITED_BROADCAST: Final = "255.255.255.255"
PREFIX: Final = 32
PROTOCOL: Final = 110  # rtm_protocol; unused by the kernel and routing daemons (rt_protos)
MAIN_TABLE: Final = 254
SCOPE_LINK: Final = 253
DEFAULT_DEVICE: Final = "eth0"

# What a call found or did (``result`` in the report).
ADDED: Final = "added"  # the route was not there: added now
PRESENT: Final = "present"  # ours was there already: nothing done
FOREIGN: Final = "foreign"  # the namespace has its own route for it: left untouched
REMOVED: Final = "removed"  # ours was there: deleted
ABSENT: Final = "absent"  # ours was not there: nothing to remove


class CureError(Exception):
    """The route cannot be added here; the message says why (no such device, no IPv4)."""


def describe(device: str) -> str:
    """The route, the way ``ip route`` writes it: what DryRun shows and the Job adds."""
    return f"{LIMITED_BROADCAST}/{PREFIX} dev {device} scope link proto {PROTOCOL}"


def ensure(device: str) -> dict[str, Any]:
    """Add the route unless it (ours) or another route for 255.255.255.255 is there."""
    with IPRoute() as ipr:
        found = _found(ipr)
        if found:
            return _answer(_settled(found), device=device, found=found)
        index = _device_index(ipr, device)
        try:
            ipr.route(
                "add",
                dst=LIMITED_BROADCAST,
                dst_len=PREFIX,
                oif=index,
                scope=SCOPE_LINK,
                proto=PROTOCOL,
                table=MAIN_TABLE,
                family=socket.AF_INET,
            )
        except NetlinkError as error:
            if error.code != errno.EEXIST:
                raise CureError(f"adding {describe(device)} failed: {error}") from None
            # Another cure (or person) added one between the dump and the add.
            found = _found(ipr)
            return _answer(_settled(found), device=device, found=found)
        return _answer(ADDED, device=device, found=_found(ipr))


def remove(device: str) -> dict[str, Any]:
    """Delete our route (by its protocol) if there; never another one."""
    with IPRoute() as ipr:
        ours = [r for r in _found(ipr) if r["proto"] == PROTOCOL]
        for route in ours:
            try:
                ipr.route(
                    "del",
                    dst=LIMITED_BROADCAST,
                    dst_len=PREFIX,
                    oif=route["oif"],
                    scope=SCOPE_LINK,  # without it the kernel matches scope global: ESRCH
                    proto=PROTOCOL,
                    table=MAIN_TABLE,
                    family=socket.AF_INET,
                )
            except NetlinkError as error:
                if error.code != errno.ESRCH:  # gone meanwhile: fine
                    raise CureError(f"removing {describe(device)} failed: {error}") from None
        left = _found(ipr)
        if any(r["proto"] == PROTOCOL for r in left):
            raise CureError(f"{describe(device)} is still there after deleting it")
        return _answer(REMOVED if ours else ABSENT, device=device, found=left)


def inspect(device: str) -> dict[str, Any]:
    """What the namespace has for 255.255.255.255, changing nothing."""
    with IPRoute() as ipr:
        found = _found(ipr)
        return _answer(_settled(found) if found else ABSENT, device=device, found=found)


def _settled(found: list[dict[str, Any]]) -> str:
    return PRESENT if all(r["proto"] == PROTOCOL for r in found) else FOREIGN


def _found(ipr: IPRoute) -> list[dict[str, Any]]:
    """Routes for exactly 255.255.255.255/32 in the main table, with protocol and device."""
    names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
    found = []
    for message in ipr.get_routes(family=socket.AF_INET, table=MAIN_TABLE):
        table = int(message.get_attr("RTA_TABLE") or message["table"])
        if (
            table != MAIN_TABLE
            or message["dst_len"] != PREFIX
            or message.get_attr("RTA_DST") != LIMITED_BROADCAST
        ):
            continue
        oif = message.get_attr("RTA_OIF")
        found.append({"proto": int(message["proto"]), "oif": oif, "dev": names.get(oif)})
    return found


def _device_index(ipr: IPRoute, device: str) -> int:
    """The device's index; it must carry an IPv4 address (the route is for IPv4 pods)."""
    indexes = ipr.link_lookup(ifname=device)
    if not indexes:
        raise CureError(f"the pod's namespace has no device {device!r}")
    index = int(indexes[0])
    if not ipr.get_addr(family=socket.AF_INET, index=index):
        raise CureError(f"{device} has no IPv4 address: the route is for IPv4 pods only")
    return index


def _answer(result: str, *, device: str, found: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "result": result,
        "route": describe(device),
        "routes": [
            {"dev": r["dev"], "proto": r["proto"], "ours": r["proto"] == PROTOCOL} for r in found
        ],
    }
