"""The network between the nodes: one namespace per node on a bridge, routes per pod slice.

::

    machine's namespace              node namespaces ("nethealth-node-N")
    nh-fabric 198.18.0.1/24 ──┬── nh-fabric-1 ═ eth0 198.18.0.11/24, pods 198.51.100.0/26
    (control plane)           ├── nh-fabric-2 ═ eth0 198.18.0.12/24, pods 198.51.100.64/26
                              └── nh-fabric-3 ═ eth0 198.18.0.13/24, pods 198.51.100.128/26

The bridge lives in the machine's namespace and holds the control plane's
address, so the apiserver serves the nodes and their pods directly. Each node
routes its default via the bridge and every other node's pod slice via that
node's address, as Calico's BGP mesh would; the machine routes each slice via
its node, so that the apiserver's replies reach pods. Forwarding is switched on
inside each node's namespace only: the machine's own sysctls stay as they are.

Namespaces are named after the nodes and pinned in ``/var/run/netns`` (``ip
netns add``); processes enter them with ``nsenter --net=`` only, never ``ip
netns exec``, whose fresh mount namespace hides the cgroup mounts the kubelet
needs.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import pathlib
import subprocess
from collections.abc import Sequence

from nethealth.devcluster import errors, layout

# Per node namespace: forward pods' traffic; ICMP errors not rate-limited, so a
# refused packet always tells the probe why.
NODE_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
}


def _ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    argv = ["ip", *(["-n", netns] if netns else []), *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if check and done.returncode != 0:
        raise errors.ClusterError(f"`{' '.join(argv)}` failed: {done.stderr.strip()}")
    return done.stdout


def nsenter(netns: pathlib.Path, argv: Sequence[str]) -> tuple[str, ...]:
    """``argv`` run inside ``netns``: nsenter execs it, so its pid is the program's own."""
    return ("nsenter", f"--net={netns}", "--", *argv)


def _sysctl(netns: pathlib.Path, key: str, value: str) -> None:
    path = "/proc/sys/" + key.replace(".", "/")
    subprocess.run(
        nsenter(netns, ["sh", "-c", 'echo "$1" > "$2"', "sh", value, path]),
        capture_output=True,
        timeout=10,
        check=True,
    )


def create(plans: Sequence[layout.NodePlan]) -> None:
    """The bridge, every node's namespace and link, and the routes between them."""
    bridge = layout.FABRIC_BRIDGE
    _ip("link", "add", bridge, "type", "bridge")
    _ip("addr", "add", f"{layout.CONTROL_PLANE_IP}/{layout.FABRIC.prefixlen}", "dev", bridge)
    _ip("link", "set", bridge, "up")
    for plan in plans:
        _create_node(plan)
    for plan in plans:
        for other in plans:
            if other is not plan:
                _ip("route", "add", str(other.pod_cidr), "via", str(other.ip), netns=plan.name)
        _ip("route", "add", str(plan.pod_cidr), "via", str(plan.ip), "dev", bridge)


def _create_node(plan: layout.NodePlan) -> None:
    name = plan.name
    _ip("netns", "add", name)
    for key, value in NODE_SYSCTLS.items():
        _sysctl(plan.netns, key, value)
    _ip("link", "set", "lo", "up", netns=name)
    _ip("link", "add", plan.fabric_veth, "type", "veth", "peer", "name", "eth0", "netns", name)
    _ip("link", "set", plan.fabric_veth, "master", layout.FABRIC_BRIDGE, "up")
    _ip("addr", "add", f"{plan.ip}/{layout.FABRIC.prefixlen}", "dev", "eth0", netns=name)
    _ip("link", "set", "eth0", "up", netns=name)
    _ip("route", "add", "default", "via", str(layout.CONTROL_PLANE_IP), netns=name)


def node_namespaces() -> list[pathlib.Path]:
    """Pinned namespaces named like a dev node's (a crashed run's too)."""
    if not layout.NETNS_DIR.is_dir():
        return []
    return sorted(layout.NETNS_DIR.glob(f"{layout.NODE_NAME_PREFIX}-*"))


def links() -> list[str]:
    """The fabric's links in the machine's namespace: the bridge and node veths."""
    listed = json.loads(_ip("-j", "link", "show", check=False) or "[]")
    names = [str(link.get("ifname", "")) for link in listed]
    return [
        n for n in names if n == layout.FABRIC_BRIDGE or n.startswith(layout.FABRIC_VETH_PREFIX)
    ]


def pod_routes() -> list[str]:
    """Routes of the machine's namespace into the pod range (the fabric's, or a leftover)."""
    listed = json.loads(_ip("-j", "-4", "route", "show", check=False) or "[]")
    found = []
    for route in listed:
        destination = str(route.get("dst", ""))
        with contextlib.suppress(ValueError):
            if _overlaps_pod_range(destination):
                found.append(f"{destination} via {route.get('gateway', route.get('dev', '?'))}")
    return found


def _overlaps_pod_range(destination: str) -> bool:
    if destination in ("", "default"):
        return False
    return ipaddress.IPv4Network(destination, strict=False).overlaps(layout.POD_CIDR)


def remove() -> int:
    """Delete the node namespaces, the bridge and node veths; returns how many went.

    The processes inside must be gone first: a namespace lives on while a
    process holds it, and then so do its veth and its routes.
    """
    removed = 0
    for path in node_namespaces():
        _ip("netns", "del", path.name, check=False)
        removed += 1
    for name in links():
        _ip("link", "del", name, check=False)
        removed += 1
    for route in pod_routes():
        _ip("route", "del", route.split()[0], check=False)
    return removed
