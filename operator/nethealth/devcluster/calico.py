"""The Calico shape of a pod's link to its node, as ``ip`` commands and sysctls.

What Calico gives every pod, and what the seed incident's hints are written for:

- pod side: ``eth0`` holds the pod's address as a /32 (IPv6: /128), with
  ``169.254.1.1 dev eth0 scope link`` and ``default via 169.254.1.1`` (IPv6:
  ``default via fe80::1``), so every packet leaves through a gateway that
  exists nowhere;
- node side: a ``cali…`` veth with proxy ARP on, which answers for
  169.254.1.1 because the node routes that address out of another interface,
  and a /32 route to the pod's address through it (the only route to the pod).

Pure: the commands are data, so the dev cluster's CNI plugin (``cni``) and the
netns test tier's topology build one and the same shape, each running the
commands its own way (the plugin inside the node's namespace, the topology with
``ip -n``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress

GATEWAY = ipaddress.IPv4Address("169.254.1.1")
GATEWAY6 = ipaddress.IPv6Address("fe80::1")
HOST_VETH_PREFIX = "cali"
POD_INTERFACE = "eth0"
# Linux interface names hold 15 characters.
IFNAMSIZ = 15


@dataclasses.dataclass(frozen=True, kw_only=True)
class PodLink:
    """One pod's veth pair and addresses."""

    host_side: str
    address: ipaddress.IPv4Address
    address6: ipaddress.IPv6Address | None = None
    pod_side: str = POD_INTERFACE
    mtu: int | None = None


def host_veth_name(workload: str) -> str:
    """``cali`` and a digest of the workload (a sandbox id): stable, unique, 15 characters."""
    digest = hashlib.sha1(workload.encode(), usedforsecurity=False).hexdigest()
    return (HOST_VETH_PREFIX + digest)[:IFNAMSIZ]


def create_pair(link: PodLink, *, pod_netns: str) -> list[str]:
    """The ``ip`` arguments, run on the node, that create the pair with one end in the pod."""
    command = ["link", "add", link.host_side]
    if link.mtu is not None:
        command += ["mtu", str(link.mtu)]
    command += ["type", "veth", "peer", "name", link.pod_side]
    if link.mtu is not None:
        command += ["mtu", str(link.mtu)]
    return [*command, "netns", pod_netns]


def node_sysctls(link: PodLink) -> dict[str, str]:
    """Per-interface sysctls of the node side: proxy ARP, answered at once.

    Without ``proxy_delay`` 0 the kernel delays proxy ARP replies by up to
    0.8 s, and a pod's first connect waits for it.
    """
    host = link.host_side
    return {
        f"net.ipv4.conf.{host}.proxy_arp": "1",
        f"net.ipv4.neigh.{host}.proxy_delay": "0",
    }


def node_side(link: PodLink) -> list[list[str]]:
    """The ``ip`` arguments, run on the node after the sysctls, for its end of the link."""
    host = link.host_side
    commands: list[list[str]] = []
    if link.address6 is not None:
        commands.append(["-6", "addr", "add", f"{GATEWAY6}/64", "dev", host, "nodad"])
    commands.append(["link", "set", host, "up"])
    commands.append(["-4", "route", "add", f"{link.address}/32", "dev", host, "scope", "link"])
    if link.address6 is not None:
        commands.append(["-6", "route", "add", f"{link.address6}/128", "dev", host])
    return commands


def pod_side(link: PodLink) -> list[list[str]]:
    """The ``ip`` arguments, run in the pod's namespace, for its end of the link."""
    eth = link.pod_side
    commands = [["-4", "addr", "add", f"{link.address}/32", "dev", eth]]
    if link.address6 is not None:
        commands.append(["-6", "addr", "add", f"{link.address6}/128", "dev", eth, "nodad"])
    commands += [
        ["link", "set", eth, "up"],
        ["-4", "route", "add", str(GATEWAY), "dev", eth, "scope", "link"],
        ["-4", "route", "add", "default", "via", str(GATEWAY), "dev", eth],
    ]
    if link.address6 is not None:
        commands.append(["-6", "route", "add", "default", "via", str(GATEWAY6), "dev", eth])
    return commands
