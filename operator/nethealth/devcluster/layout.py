"""Where a dev cluster keeps its files, and the addresses it uses.

Everything a running cluster writes lives under one run directory, so that one
directory tells what to stop and what to remove: pid files, certificates,
configs, logs, etcd's data and, per node, containerd's root and state and the
kubelet's root. Only a few paths are fixed by the components themselves and lie
outside it (``/var/run/netns/cni-*``, ``/var/lib/cni/results``,
``/var/log/containers``, the cgroups); the teardown removes exactly its own
entries there.

The control plane (etcd, apiserver, controller-manager, scheduler) runs in the
machine's own network namespace on the fabric's first address; every node has a
network namespace of its own, named after the node, with one address on the
fabric (a bridge in the machine's namespace) and its own slice of the pod range.
One dev cluster runs per machine: the fabric's names, the apiserver's ports
and the cgroup parent are fixed.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import pathlib

DEFAULT_RUN_DIR = pathlib.Path("/var/lib/nethealth-devcluster")
RUN_DIR_ENV = "NETHEALTH_RUN_DIR"

# A file in the run directory that marks it as ours: nothing is ever removed
# recursively from a directory without it.
MARKER_NAME = ".nethealth-devcluster"

NODE_NAME_PREFIX = "nethealth-node"
# The first node; single-node callers (the demo, `cluster env`) talk of it.
NODE_NAME = f"{NODE_NAME_PREFIX}-1"
DEFAULT_NODES = 3
CLUSTER_DOMAIN = "cluster.local"
# Benchmarking and TEST-NET ranges that cannot collide with the machine's own
# network (its eth0 is in 192.0.2.0/24). The fabric joins the control plane
# (its first address) and the nodes; each node routes its own slice of the pod
# range, like Calico's per-node IPAM blocks.
FABRIC = ipaddress.IPv4Network("198.18.0.0/24")
CONTROL_PLANE_IP = FABRIC.network_address + 1
FABRIC_BRIDGE = "nh-fabric"
# Host-side veth of node N on the fabric: ``nh-fabric-N``.
FABRIC_VETH_PREFIX = "nh-fabric-"
FIRST_NODE_HOST = 10  # node N is FABRIC's address 10 + N
POD_CIDR = ipaddress.IPv4Network("198.51.100.0/24")
NODE_POD_PREFIX = 26  # 4 nodes of 64 pod addresses each
MAX_NODES = 2 ** (NODE_POD_PREFIX - POD_CIDR.prefixlen)
SERVICE_CIDR = ipaddress.IPv4Network("203.0.113.0/24")
# The name of the CNI network: CNI's result cache files start with it.
CNI_NETWORK = "nethealth-devcluster"
# Every node's cgroups (its kubelet's cgroupRoot) live under this one parent, in
# every hierarchy, so that one tree holds every pod process of the cluster.
CGROUP_PARENT = "nethealth-devcluster"

ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
APISERVER_PORT = 6443
KUBELET_PORT = 10250
KUBELET_HEALTHZ_PORT = 10248
PROXY_HEALTHZ_PORT = 10256
PROXY_METRICS_PORT = 10249
CONTROLLER_MANAGER_PORT = 10257
SCHEDULER_PORT = 10259

NETNS_DIR = pathlib.Path("/var/run/netns")


@dataclasses.dataclass(frozen=True, kw_only=True)
class NodePlan:
    """Who node ``index`` (1-based) is: its name, namespace and addresses."""

    index: int
    name: str
    ip: ipaddress.IPv4Address
    pod_cidr: ipaddress.IPv4Network

    @property
    def netns(self) -> pathlib.Path:
        return NETNS_DIR / self.name

    @property
    def fabric_veth(self) -> str:
        return f"{FABRIC_VETH_PREFIX}{self.index}"

    @property
    def cgroup_root(self) -> str:
        """The kubelet's ``cgroupRoot``: the node's own cgroup under the cluster's parent."""
        return f"/{CGROUP_PARENT}/{self.name}"


def node_plan(index: int) -> NodePlan:
    if not 1 <= index <= MAX_NODES:
        raise ValueError(f"node index {index} is outside 1..{MAX_NODES}")
    slices = list(POD_CIDR.subnets(new_prefix=NODE_POD_PREFIX))
    return NodePlan(
        index=index,
        name=f"{NODE_NAME_PREFIX}-{index}",
        ip=FABRIC.network_address + FIRST_NODE_HOST + index,
        pod_cidr=slices[index - 1],
    )


def node_plans(count: int) -> tuple[NodePlan, ...]:
    """The plans of a cluster of ``count`` nodes."""
    if not 1 <= count <= MAX_NODES:
        raise ValueError(f"a dev cluster has 1 to {MAX_NODES} nodes, not {count}")
    return tuple(node_plan(index) for index in range(1, count + 1))


def dns_service_ip() -> ipaddress.IPv4Address:
    """The ClusterIP of the ``kube-dns`` Service, the kubelets' ``clusterDNS``."""
    return SERVICE_CIDR.network_address + 10


def default_run_dir() -> pathlib.Path:
    """The run directory from ``$NETHEALTH_RUN_DIR``, else the machine-wide default."""
    configured = os.environ.get(RUN_DIR_ENV)
    return pathlib.Path(configured) if configured else DEFAULT_RUN_DIR


def api_service_ip() -> ipaddress.IPv4Address:
    """The ClusterIP of the ``kubernetes`` Service: the first of the service range."""
    return SERVICE_CIDR.network_address + 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunLayout:
    """The paths of one node's run directory."""

    root: pathlib.Path

    @property
    def marker(self) -> pathlib.Path:
        return self.root / MARKER_NAME

    @property
    def lock(self) -> pathlib.Path:
        # Beside the run directory, not in it: removing the directory must not
        # drop the lock of whoever holds it.
        return self.root.with_name(self.root.name + ".lock")

    @property
    def state_file(self) -> pathlib.Path:
        return self.root / "node.json"

    @property
    def pids(self) -> pathlib.Path:
        return self.root / "pids"

    @property
    def logs(self) -> pathlib.Path:
        return self.root / "logs"

    @property
    def pki(self) -> pathlib.Path:
        return self.root / "pki"

    @property
    def config(self) -> pathlib.Path:
        return self.root / "config"

    @property
    def admin_kubeconfig(self) -> pathlib.Path:
        return self.root / "admin.kubeconfig"

    @property
    def etcd_data(self) -> pathlib.Path:
        return self.root / "etcd"

    @property
    def cni_bin_dir(self) -> pathlib.Path:
        """Links to the CNI plugins the nodes call: Debian's and the cluster's own."""
        return self.root / "cni-bin"

    @property
    def nodes(self) -> pathlib.Path:
        return self.root / "nodes"

    def node(self, name: str) -> NodeLayout:
        return NodeLayout(root=self.nodes / name, logs=self.logs / name, pids=self.pids / name)

    def node_layouts(self) -> list[NodeLayout]:
        """The layouts of every node with a directory here (a crashed run's too)."""
        if not self.nodes.is_dir():
            return []
        return [self.node(entry.name) for entry in sorted(self.nodes.iterdir()) if entry.is_dir()]

    def log_of(self, component: str) -> pathlib.Path:
        return self.logs / f"{component}.log"

    def pid_file_of(self, component: str) -> pathlib.Path:
        return self.pids / f"{component}.pid"


@dataclasses.dataclass(frozen=True, kw_only=True)
class NodeLayout:
    """The paths of one node: its containerd, CNI, kubelet, configs, logs and pids."""

    root: pathlib.Path
    logs: pathlib.Path
    pids: pathlib.Path

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def config(self) -> pathlib.Path:
        return self.root / "config"

    @property
    def containerd_root(self) -> pathlib.Path:
        return self.root / "containerd" / "root"

    @property
    def containerd_state(self) -> pathlib.Path:
        return self.root / "containerd" / "state"

    @property
    def containerd_socket(self) -> pathlib.Path:
        return self.root / "containerd" / "containerd.sock"

    @property
    def runc_root(self) -> pathlib.Path:
        return self.root / "containerd" / "runc"

    @property
    def task_bundles(self) -> pathlib.Path:
        """Where containerd's runc v2 shims keep each task's OCI bundle."""
        return self.containerd_state / "io.containerd.runtime.v2.task"

    @property
    def cni_config_dir(self) -> pathlib.Path:
        return self.root / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> pathlib.Path:
        return self.root / "cni" / "ipam"

    @property
    def kubelet_root(self) -> pathlib.Path:
        return self.root / "kubelet"

    @property
    def pod_logs(self) -> pathlib.Path:
        return self.root / "pod-logs"

    @property
    def volume_plugins(self) -> pathlib.Path:
        return self.root / "volume-plugins"

    def log_of(self, component: str) -> pathlib.Path:
        return self.logs / f"{component}.log"

    def pid_file_of(self, component: str) -> pathlib.Path:
        return self.pids / f"{component}.pid"
