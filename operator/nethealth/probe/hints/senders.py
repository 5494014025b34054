"""The BroadcastSenders hint: who in the pod sends the broadcasts that poison the cache.

SSDP and mDNS discovery are the usual senders (the seed incident was Home Assistant's
ssdp integration). A socket's SO_BROADCAST cannot be seen from outside, so the evidence
is the discovery ports and the multicast groups they join; it only matters next to
IPv4 connects refused with ENETUNREACH, and more so on a kernel known to be affected.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable
from typing import Final

from nethealth.probe import types
from nethealth.probe.hints import context

SSDP_MDNS_GROUPS: Final = {
    "239.255.255.250": "SSDP", "224.0.0.251": "mDNS", "ff02::c": "SSDP", "ff02::fb": "mDNS",
}  # fmt: skip


def broadcast_senders(ctx: context.Context) -> Iterable[context.Scored]:
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
