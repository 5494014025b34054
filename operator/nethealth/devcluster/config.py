"""The configuration files of a dev node, rendered as text from typed inputs.

Rendering is pure so that the settings that make a node work on these
machines are visible and testable in one place. Each one answers a pitfall:

- containerd: per node, its own root, state, socket and runc root under the
  node's directory (it never touches a system containerd or another node's);
  ``restrict_oom_score_adj`` because the VM's bounding set lacks
  ``CAP_SYS_RESOURCE`` and runc would fail every sandbox writing
  ``oom_score_adj``; the sandbox image is a local tag, as nothing can be pulled.
- kubelet: cgroup v1 allowed (``failCgroupV1: false``) with the cgroupfs
  driver under the node's own ``cgroupRoot``, ``oomScoreAdj: 0`` (same
  capability), image GC that never collects (local images cannot be pulled
  back), eviction thresholds low enough that a busy build machine never evicts
  the test pods, webhook authn/authz, the cluster's DNS Service as
  ``clusterDNS``.
- CNI: the cluster's own Calico-shaped plugin (``cni``) with ``host-local``
  IPAM over the node's slice of the pod range, its state in the node's
  directory.
- kube-proxy: iptables mode in the node's namespace, its health endpoint on the
  node's address (the harness polls it from the machine's namespace), without
  touching conntrack sysctls.

JSON is valid YAML, so the kubelet, kube-proxy and kubeconfig files are
written as JSON from plain dicts.
"""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import json
import pathlib
from typing import Any

from nethealth.devcluster import cni, layout, pki

ETCD_PREFIX = "/registry"


@dataclasses.dataclass(frozen=True, kw_only=True)
class NodeSettings:
    """What differs between nodes: names, addresses, paths and the image to pin."""

    plan: layout.NodePlan
    files: layout.NodeLayout
    pause_image: str
    cni_bin_dir: pathlib.Path
    runc: pathlib.Path
    resolv_conf: pathlib.Path

    @property
    def node_name(self) -> str:
        return self.plan.name

    @property
    def node_ip(self) -> ipaddress.IPv4Address:
        return self.plan.ip


def _toml_string(value: str | pathlib.Path) -> str:
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def containerd(settings: NodeSettings) -> str:
    run = settings.files
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""\
version = 2
root = {_toml_string(run.containerd_root)}
state = {_toml_string(run.containerd_state)}
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = {_toml_string(run.containerd_socket)}

[ttrpc]
  address = {_toml_string(str(run.containerd_socket) + ".ttrpc")}

[debug]
  address = ""

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = {_toml_string(run.root / "containerd" / "opt")}
  [{cri}]
    sandbox_image = {_toml_string(settings.pause_image)}
    restrict_oom_score_adj = true
    enable_selinux = false
    disable_apparmor = true
    stream_server_address = "127.0.0.1"
    [{cri}.containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      discard_unpacked_layers = false
      [{cri}.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [{cri}.containerd.runtimes.runc.options]
          BinaryName = {_toml_string(settings.runc)}
          Root = {_toml_string(run.runc_root)}
          SystemdCgroup = false
    [{cri}.cni]
      bin_dir = {_toml_string(settings.cni_bin_dir)}
      conf_dir = {_toml_string(run.cni_config_dir)}
      max_conf_num = 1
"""


def cni_network(settings: NodeSettings) -> str:
    conflist = {
        "cniVersion": "1.0.0",
        "name": layout.CNI_NETWORK,
        "plugins": [
            {
                "type": cni.PLUGIN_TYPE,
                # Pods talk to each other and, through the fabric, to the
                # control plane: no masquerading, so no CNI iptables rules.
                "mtu": 1400,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(settings.files.cni_ipam_dir),
                    "ranges": [[{"subnet": str(settings.plan.pod_cidr)}]],
                },
            },
        ],
    }
    return json.dumps(conflist, indent=2) + "\n"


def kubelet(*, settings: NodeSettings, certs: pki.Pki) -> str:
    run = settings.files
    node_certs = certs.nodes[settings.node_name]
    config: dict[str, Any] = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": str(settings.node_ip),
        "port": layout.KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": layout.KUBELET_HEALTHZ_PORT,
        "tlsCertFile": str(node_certs.serving.cert),
        "tlsPrivateKeyFile": str(node_certs.serving.key),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(certs.ca.cert)},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{run.containerd_socket}",
        "cgroupDriver": "cgroupfs",
        # Made in every hierarchy before the kubelet starts (``cgroups.prepare``).
        "cgroupRoot": settings.plan.cgroup_root,
        "cgroupsPerQOS": True,
        "enforceNodeAllocatable": ["pods"],
        "failCgroupV1": False,
        "failSwapOn": False,
        "oomScoreAdj": 0,
        "clusterDomain": layout.CLUSTER_DOMAIN,
        "clusterDNS": [str(layout.dns_service_ip())],
        "resolvConf": str(settings.resolv_conf),
        "podLogsDir": str(run.pod_logs),
        "volumePluginDir": str(run.volume_plugins),
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "imageMinimumGCAge": "87600h",
        "evictionHard": {
            "memory.available": "64Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
        },
        "serializeImagePulls": False,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "registerNode": True,
        "maxPods": 110,
        # Fast feedback in tests: the default 10 s makes Ready and pod status lag.
        "nodeStatusUpdateFrequency": "4s",
        "syncFrequency": "10s",
        "fileCheckFrequency": "20s",
        "staticPodPath": "",
        "shutdownGracePeriod": "0s",
    }
    return json.dumps(config, indent=2) + "\n"


def kube_proxy(*, settings: NodeSettings, kubeconfig: pathlib.Path) -> str:
    config: dict[str, Any] = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "hostnameOverride": settings.node_name,
        "bindAddress": str(settings.node_ip),
        "clusterCIDR": str(layout.POD_CIDR),
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "healthzBindAddress": f"{settings.node_ip}:{layout.PROXY_HEALTHZ_PORT}",
        "metricsBindAddress": f"127.0.0.1:{layout.PROXY_METRICS_PORT}",
        # Zeros leave the machine's conntrack sysctls alone.
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
        # Localhost NodePorts need route_localnet, a machine-wide sysctl.
        "iptables": {"localhostNodePorts": False, "syncPeriod": "30s", "minSyncPeriod": "0s"},
        "nodePortAddresses": [f"{settings.node_ip}/32"],
    }
    return json.dumps(config, indent=2) + "\n"


def node_resolv_conf() -> str:
    """The nodes' own resolver: the control plane's address, where no DNS server listens.

    What a hostNetwork pod without ``ClusterFirstWithHostNet`` (and CoreDNS itself) gets:
    a resolver that knows no cluster names and refuses at once, as a real node's would
    not know them. Not the machine's ``/etc/resolv.conf``: nothing of the cluster may
    send traffic towards the machine's own resolver.
    """
    return f"nameserver {layout.CONTROL_PLANE_IP}\noptions timeout:1 attempts:1\n"


def _b64(path: pathlib.Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def kubeconfig(
    *, server: str, ca: pathlib.Path, client: pki.Pair, user: str, embed: bool = False
) -> str:
    """A kubeconfig for one client certificate; ``embed`` inlines the files (portable)."""
    cluster: dict[str, str] = {"server": server}
    credentials: dict[str, str] = {}
    if embed:
        cluster["certificate-authority-data"] = _b64(ca)
        credentials["client-certificate-data"] = _b64(client.cert)
        credentials["client-key-data"] = _b64(client.key)
    else:
        cluster["certificate-authority"] = str(ca)
        credentials["client-certificate"] = str(client.cert)
        credentials["client-key"] = str(client.key)
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "nethealth", "cluster": cluster}],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": "nethealth", "context": {"cluster": "nethealth", "user": user}}],
        "current-context": "nethealth",
        "preferences": {},
    }
    return json.dumps(document, indent=2) + "\n"
