"""A Calico-like node built from real network namespaces, one per test.

    pod ns "pod"   eth0 198.51.100.10/32, 2001:db8:1::10/128 ─┐ veth  cali-pod   ┐
    pod ns "fresh" eth0 198.51.100.11/32, 2001:db8:1::11/128 ─┘ veth  cali-fresh ┤ node ns
    server ns      eth0 203.0.113.10/24, 2001:db8:2::10/64 ────── veth  uplink     ┘

Each pod has what Calico gives it: a /32 (/128) address, ``169.254.1.1 dev eth0 scope
link`` and ``default via 169.254.1.1`` (IPv6: ``default via fe80::1``), with proxy ARP
on the node side — the very commands of ``nethealth.devcluster.calico``, which the dev
cluster's CNI plugin runs for every pod. Proxy ARP answers for 169.254.1.1 only when the
node routes that address out of *another* interface, so the node has a default route out
of ``uplink``, as a real node does. The destination with its TCP listener lives in the
server namespace behind that uplink (this kernel has no ``dummy`` driver), so pod
traffic is forwarded by the node, and a fault in the node namespace can affect both pods
while the node's own connects still work.

Namespace names carry a unique prefix (helpers and tests run in parallel); interface
names live inside the namespaces and cannot collide. Teardown always runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from nethealth.devcluster import calico

NETNS_DIR = "/var/run/netns"

POD_IP = "198.51.100.10"
FRESH_IP = "198.51.100.11"
POD_SUBNET = "198.51.100.0/24"
NODE_UPLINK_IP = "203.0.113.1"
SERVER_IP = "203.0.113.10"
SERVER_SUBNET = "203.0.113.0/24"
POD_IP6 = "2001:db8:1::10"
FRESH_IP6 = "2001:db8:1::11"
POD_SUBNET6 = "2001:db8:1::/64"
NODE_UPLINK_IP6 = "2001:db8:2::1"
SERVER_IP6 = "2001:db8:2::10"
SERVER_SUBNET6 = "2001:db8:2::/64"
GATEWAY = str(calico.GATEWAY)
GATEWAY6 = str(calico.GATEWAY6)
PORT = 8080
# cgroup v1 (these machines): the pids hierarchy; cgroup v2: the unified hierarchy.
CGROUP_ROOT = "/sys/fs/cgroup/pids" if os.path.isdir("/sys/fs/cgroup/pids") else "/sys/fs/cgroup"

_counter = itertools.count()

_LISTENER = r"""
import socket, sys, threading
port = int(sys.argv[1])
def serve(family, address):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((address, port))
    s.listen(4096)
    def loop():
        while True:
            conn, _ = s.accept()
            conn.close()
    threading.Thread(target=loop, daemon=True).start()
serve(socket.AF_INET, "0.0.0.0")
serve(socket.AF_INET6, "::")
print("ready", flush=True)
sys.stdin.read()
"""


# A nameserver for tests: A/AAAA from a table, NXDOMAIN for anything else (RFC 1035,
# written apart from the probe's own DNS code so that they check each other).
_DNS_SERVER = r"""
import ipaddress, socket, struct, sys
address, spec = sys.argv[1], sys.argv[2]
table = {}
for item in filter(None, spec.split(";")):
    name, _, addresses = item.partition("=")
    table[name.lower().rstrip(".")] = [ipaddress.ip_address(a) for a in addresses.split(",")]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((address, 53))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(4096)
    ident, flags = struct.unpack_from("!HH", data)
    labels, offset = [], 12
    while data[offset]:
        labels.append(data[offset + 1 : offset + 1 + data[offset]].decode())
        offset += 1 + data[offset]
    qtype = struct.unpack_from("!H", data, offset + 1)[0]
    question = data[12 : offset + 5]
    name = ".".join(labels).lower()
    found = table.get(name)
    wanted = 4 if qtype == 1 else 6 if qtype == 28 else 0
    records = [a for a in found or [] if a.version == wanted]
    rcode = 0 if found is not None else 3
    answer = b"".join(
        b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 30, len(a.packed)) + a.packed
        for a in records
    )
    header = struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, len(records), 0, 0)
    s.sendto(header + question + answer, peer)
"""


def run(argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise with its stderr, so setup errors are readable."""
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


@dataclasses.dataclass
class Topology:
    """Handles to one built node; names are the `ip netns` names."""

    prefix: str
    port: int = PORT
    node: str = ""
    pod: str = ""
    fresh: str = ""
    server: str = ""
    _created: list[str] = dataclasses.field(default_factory=list)
    _processes: list[subprocess.Popen[str]] = dataclasses.field(default_factory=list)
    _listener: subprocess.Popen[str] | None = None
    _cgroups: list[str] = dataclasses.field(default_factory=list)
    _etc: list[str] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self.node = f"{self.prefix}-node"
        self.pod = f"{self.prefix}-pod"
        self.fresh = f"{self.prefix}-fresh"
        self.server = f"{self.prefix}-server"

    # --- paths and commands --------------------------------------------------------
    @staticmethod
    def path(name: str) -> str:
        """The netns path of an `ip netns` name, as the probe's --netns flags take it."""
        return f"{NETNS_DIR}/{name}"

    @property
    def pod_netns(self) -> str:
        return self.path(self.pod)

    @property
    def fresh_netns(self) -> str:
        return self.path(self.fresh)

    @property
    def node_netns(self) -> str:
        return self.path(self.node)

    @property
    def server_netns(self) -> str:
        return self.path(self.server)

    def ip(self, ns: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`ip -n NS ARGS...`."""
        return run(["ip", "-n", ns, *args], check=check)

    def exec(self, ns: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run any command inside a namespace and wait for it."""
        return run(["ip", "netns", "exec", ns, *argv], check=check)

    def sysctl(self, ns: str, key: str, value: str) -> None:
        """Set a per-namespace sysctl (through /proc/sys: no procps needed)."""
        path = "/proc/sys/" + key.replace(".", "/")
        self.exec(ns, "sh", "-c", 'echo "$1" > "$2"', "sh", value, path)

    def start(self, ns: str, *argv: str) -> subprocess.Popen[str]:
        """Start a background process inside a namespace; it is killed at teardown."""
        process = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._processes.append(process)
        return process

    def start_in_pod_cgroup(
        self, *, ns: str, pod_uid: str, container_id: str, argv: Sequence[str]
    ) -> subprocess.Popen[str]:
        """Start a process in ``ns`` inside a kubelet-style ``kubepods/.../pod<uid>/<id>``
        cgroup (under `CGROUP_ROOT`, below this topology's own prefix so the
        machine's real kubelet never sees it), as a pod's container process would be."""
        directory = os.path.join(
            CGROUP_ROOT, self.prefix, "kubepods", "besteffort", f"pod{pod_uid}", container_id
        )
        parts = os.path.relpath(directory, CGROUP_ROOT).split(os.sep)
        for depth in range(1, len(parts) + 1):
            path = os.path.join(CGROUP_ROOT, *parts[:depth])
            if not os.path.isdir(path):
                os.mkdir(path)
                self._cgroups.append(path)
        process = self.start(ns, *argv)
        with open(os.path.join(directory, "cgroup.procs"), "w") as procs:
            procs.write(str(process.pid))
        return process

    def resolv_conf(self, ns: str, text: str) -> None:
        """The resolv.conf of processes started in ``ns`` (`ip netns exec` bind-mounts
        /etc/netns/NAME/resolv.conf over /etc/resolv.conf for them), as a pod's own."""
        directory = os.path.join("/etc/netns", ns)
        os.makedirs(directory, exist_ok=True)
        self._etc.append(directory)
        with open(os.path.join(directory, "resolv.conf"), "w") as f:
            f.write(text)

    def start_dns_server(self, answers: dict[str, tuple[str, ...]]) -> None:
        """A nameserver on the server's address (UDP 53): ``answers`` maps names to their
        addresses (both families), every other name is NXDOMAIN; returns once it listens."""
        spec = ";".join(f"{name}={','.join(addresses)}" for name, addresses in answers.items())
        process = self.start(self.server, sys.executable, "-c", _DNS_SERVER, SERVER_IP, spec)
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            _, err = process.communicate(timeout=5)
            raise RuntimeError(f"nameserver failed to start: {err.strip()}")

    # --- the listener --------------------------------------------------------------
    def start_listener(self) -> None:
        """Listen on the server's port (IPv4 and IPv6); returns once it accepts."""
        if self._listener is not None:
            return
        process = self.start(self.server, sys.executable, "-c", _LISTENER, str(self.port))
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != "ready":
            _, err = process.communicate(timeout=5)
            raise RuntimeError(f"listener failed to start: {err.strip()}")
        self._listener = process

    def stop_listener(self) -> None:
        """Stop listening: connects then get a RST (ECONNREFUSED)."""
        if self._listener is not None:
            _stop(self._listener)
            self._listener = None

    # --- faults ----------------------------------------------------------------------
    def rule_unreachable_args(self, *, family: str = "-4") -> list[str]:
        return [family, "rule", "add", "pref", "100", "ipproto", "tcp", "dport", str(self.port)]

    def add_pod_rule_unreachable(self, ns: str | None = None) -> None:
        """The seed's symptom on any kernel: TCP to the port gets ENETUNREACH at connect()."""
        for family in ("-4", "-6"):
            self.ip(ns or self.pod, *self.rule_unreachable_args(family=family), "unreachable")

    def del_pod_rule_unreachable(self, ns: str | None = None) -> None:
        for family in ("-4", "-6"):
            self.ip(ns or self.pod, family, "rule", "del", "pref", "100", check=False)

    def add_pod_broadcast_route(self, dst: str = SERVER_IP) -> None:
        """A broadcast entry for the destination in the pod's local table (ENETUNREACH)."""
        self.ip(self.pod, "route", "add", "broadcast", dst, "dev", "eth0", "table", "local")

    def del_pod_broadcast_route(self, dst: str = SERVER_IP) -> None:
        self.ip(self.pod, "route", "del", "broadcast", dst, "dev", "eth0", "table", "local")

    def add_node_forward_fault(self) -> None:
        """The node refuses to forward pod traffic to the server; its own traffic still works."""
        self.ip(
            self.node,
            "-4",
            "rule",
            "add",
            "pref",
            "100",
            "from",
            POD_SUBNET,
            "to",
            SERVER_SUBNET,
            "unreachable",
        )
        self.ip(
            self.node,
            "-6",
            "rule",
            "add",
            "pref",
            "100",
            "from",
            POD_SUBNET6,
            "to",
            SERVER_SUBNET6,
            "unreachable",
        )

    def del_node_forward_fault(self) -> None:
        for family in ("-4", "-6"):
            self.ip(self.node, family, "rule", "del", "pref", "100", check=False)

    @contextlib.contextmanager
    def toggling(
        self, *, on: Callable[[], None], off: Callable[[], None], period: float = 3.0
    ) -> Iterator[Toggle]:
        """Turn a fault on and off every ``period`` seconds in a background thread."""
        toggle = Toggle(on=on, off=off, period=period)
        toggle.start()
        try:
            yield toggle
        finally:
            toggle.stop()

    # --- lifecycle -----------------------------------------------------------------
    def build(self) -> None:
        for name in (self.node, self.pod, self.fresh, self.server):
            run(["ip", "netns", "add", name])
            self._created.append(name)
            # No duplicate address detection: addresses are usable at once.
            self.sysctl(name, "net.ipv6.conf.all.accept_dad", "0")
            self.sysctl(name, "net.ipv6.conf.default.accept_dad", "0")
            self.ip(name, "link", "set", "lo", "up")
        self.sysctl(self.node, "net.ipv4.ip_forward", "1")
        self.sysctl(self.node, "net.ipv6.conf.all.forwarding", "1")
        # ICMP errors for every refused packet, not one per second: deterministic tests.
        self.sysctl(self.node, "net.ipv4.icmp_ratelimit", "0")
        self.sysctl(self.node, "net.ipv6.icmp.ratelimit", "0")
        self._wire_pod(self.pod, host_side="cali-pod", address=POD_IP, address6=POD_IP6)
        self._wire_pod(self.fresh, host_side="cali-fresh", address=FRESH_IP, address6=FRESH_IP6)
        self._wire_server()

    def _wire_pod(self, pod: str, *, host_side: str, address: str, address6: str) -> None:
        """The dev cluster's CNI plugin builds the same link (``calico``), run here with -n."""
        link = calico.PodLink(
            host_side=host_side,
            address=ipaddress.IPv4Address(address),
            address6=ipaddress.IPv6Address(address6),
        )
        self.ip(self.node, *calico.create_pair(link, pod_netns=pod))
        for key, value in calico.node_sysctls(link).items():
            self.sysctl(self.node, key, value)
        for command in calico.node_side(link):
            self.ip(self.node, *command)
        for command in calico.pod_side(link):
            self.ip(pod, *command)

    def _wire_server(self) -> None:
        node, server = self.node, self.server
        self.ip(
            node, "link", "add", "uplink", "type", "veth", "peer", "name", "eth0", "netns", server
        )
        self.ip(node, "addr", "add", f"{NODE_UPLINK_IP}/24", "dev", "uplink")
        self.ip(node, "-6", "addr", "add", f"{NODE_UPLINK_IP6}/64", "dev", "uplink", "nodad")
        self.ip(node, "link", "set", "uplink", "up")
        self.ip(node, "route", "add", "default", "via", SERVER_IP, "dev", "uplink")
        self.ip(node, "-6", "route", "add", "default", "via", SERVER_IP6, "dev", "uplink")
        self.ip(server, "addr", "add", f"{SERVER_IP}/24", "dev", "eth0")
        self.ip(server, "-6", "addr", "add", f"{SERVER_IP6}/64", "dev", "eth0", "nodad")
        self.ip(server, "link", "set", "eth0", "up")
        self.ip(server, "route", "add", POD_SUBNET, "via", NODE_UPLINK_IP)
        self.ip(server, "-6", "route", "add", POD_SUBNET6, "via", NODE_UPLINK_IP6)

    def teardown(self) -> None:
        for process in self._processes:
            _stop(process)
        self._processes.clear()
        self._listener = None
        for path in reversed(self._cgroups):  # children first; their processes are gone
            with contextlib.suppress(OSError):
                os.rmdir(path)
        self._cgroups.clear()
        for name in reversed(self._created):
            run(["ip", "netns", "del", name], check=False)
        self._created.clear()
        for directory in self._etc:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(directory, "resolv.conf"))
                os.rmdir(directory)
        self._etc.clear()


class Toggle:
    """Turns a fault on and off; records when it was on, for duty-cycle assertions."""

    def __init__(self, *, on: Callable[[], None], off: Callable[[], None], period: float) -> None:
        self._on = on
        self._off = off
        self.period = period
        self.on_intervals: list[tuple[float, float]] = []  # time.monotonic() pairs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.period + 10)

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                self._on()
                began = time.monotonic()
                self._stop.wait(self.period)
                self._off()
                self.on_intervals.append((began, time.monotonic()))
                self._stop.wait(self.period)
        except BaseException as e:  # surfaced by the test through .error
            self.error = e
            with contextlib.suppress(Exception):
                self._off()


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=10)


def unique_prefix() -> str:
    """Short and unique across parallel test processes and helpers."""
    return f"nh{os.getpid()}x{next(_counter)}"


@contextlib.contextmanager
def calico_node(*, listener: bool = True) -> Iterator[Topology]:
    """Build a node with two pods and a server; tear it all down afterwards, always."""
    topology = Topology(prefix=unique_prefix())
    try:
        topology.build()
        if listener:
            topology.start_listener()
        yield topology
    finally:
        topology.teardown()
