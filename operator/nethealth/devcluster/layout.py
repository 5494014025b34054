"""Where a dev cluster keeps its files, and the addresses it uses.

Everything a running node writes lives under one run directory, so that one
directory tells what to stop and what to remove: pid files, certificates,
configs, logs, etcd's data, containerd's root and state, the kubelet's root.
Only a few paths are fixed by the components themselves and lie outside it
(``/var/run/netns/cni-*``, ``/var/lib/cni/results``, ``/var/log/containers``,
the ``kubepods`` cgroups); the teardown removes exactly its own entries there.

The node's ports are the components' defaults: one dev cluster runs per machine
(kube-proxy's iptables chains and the ``kubepods`` cgroups are machine-wide).
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

NODE_NAME = "nethealth-node"
CLUSTER_DOMAIN = "cluster.local"
# TEST-NET ranges that cannot collide with the machine's own network (its eth0
# is in 192.0.2.0/24). The pods take the upper half of 198.51.100.0/24 so that
# namespace tests are free to use the lower half.
POD_CIDR = ipaddress.IPv4Network("198.51.100.128/25")
SERVICE_CIDR = ipaddress.IPv4Network("203.0.113.0/24")
# The name of the CNI network: CNI's result cache files start with it.
CNI_NETWORK = "nethealth-devcluster"

ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
APISERVER_PORT = 6443
KUBELET_PORT = 10250
KUBELET_HEALTHZ_PORT = 10248
PROXY_HEALTHZ_PORT = 10256
PROXY_METRICS_PORT = 10249
CONTROLLER_MANAGER_PORT = 10257
SCHEDULER_PORT = 10259


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
