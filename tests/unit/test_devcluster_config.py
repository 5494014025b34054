"""A dev node's rendered configs carry the settings these machines need."""

from __future__ import annotations

import ipaddress
import json
import pathlib
import tomllib

import devcluster_builders as builders
import pytest

from nethealth.devcluster import cni, config, layout, pki

NODE = builders.settings()
RUN = NODE.files


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> pki.Pki:
    return builders.issue(tmp_path_factory.mktemp("pki"))


def _cri(document: dict) -> dict:
    return document["plugins"]["io.containerd.grpc.v1.cri"]


def test_containerd_keeps_everything_under_the_run_directory():
    document = tomllib.loads(config.containerd(NODE))
    runc = _cri(document)["containerd"]["runtimes"]["runc"]["options"]
    for path in (document["root"], document["state"], document["grpc"]["address"], runc["Root"]):
        assert pathlib.Path(path).is_relative_to(RUN.root)
    assert pathlib.Path(_cri(document)["cni"]["conf_dir"]).is_relative_to(RUN.root)


def test_containerd_never_writes_oom_score_adj_and_pins_the_local_sandbox_image():
    cri = _cri(tomllib.loads(config.containerd(NODE)))
    assert cri["restrict_oom_score_adj"] is True
    assert cri["sandbox_image"] == NODE.pause_image
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is False


def test_the_kubelet_runs_on_cgroup_v1_without_oom_adjustment_or_image_gc(certs):
    kubelet = json.loads(config.kubelet(settings=NODE, certs=certs))
    assert kubelet["failCgroupV1"] is False
    assert kubelet["cgroupDriver"] == "cgroupfs"
    assert kubelet["oomScoreAdj"] == 0
    assert kubelet["imageGCHighThresholdPercent"] == 100
    assert kubelet["authentication"]["anonymous"]["enabled"] is False
    assert kubelet["containerRuntimeEndpoint"] == f"unix://{RUN.containerd_socket}"


def test_pods_get_calico_links_and_addresses_from_the_nodes_own_slice():
    network = json.loads(config.cni_network(NODE))
    (plugin,) = network["plugins"]
    assert network["name"] == layout.CNI_NETWORK
    assert plugin["type"] == cni.PLUGIN_TYPE
    assert plugin["ipam"]["type"] == "host-local"
    assert pathlib.Path(plugin["ipam"]["dataDir"]).is_relative_to(RUN.root)
    ((pod_range,),) = plugin["ipam"]["ranges"]
    assert ipaddress.IPv4Network(pod_range["subnet"]) == NODE.plan.pod_cidr


def test_the_kubelet_serves_its_nodes_certificate_under_its_own_cgroup_with_cluster_dns(certs):
    kubelet = json.loads(config.kubelet(settings=NODE, certs=certs))
    assert kubelet["tlsCertFile"] == str(certs.nodes[NODE.node_name].serving.cert)
    assert kubelet["cgroupRoot"] == f"/{layout.CGROUP_PARENT}/{NODE.node_name}"
    assert kubelet["clusterDNS"] == [str(layout.dns_service_ip())]
    assert kubelet["address"] == str(NODE.node_ip)
    # Not the machine's resolver: the nodes' own, which knows no cluster names.
    assert kubelet["resolvConf"] == str(NODE.resolv_conf)
    assert f"nameserver {layout.CONTROL_PLANE_IP}" in config.node_resolv_conf()


def test_the_address_ranges_stay_clear_of_the_machines_own_network():
    machine = ipaddress.IPv4Network("192.0.2.0/24")
    assert not layout.POD_CIDR.overlaps(machine)
    assert not layout.SERVICE_CIDR.overlaps(machine)
    assert not layout.POD_CIDR.overlaps(layout.SERVICE_CIDR)


def test_kube_proxy_leaves_machine_wide_sysctls_alone():
    proxy = json.loads(config.kube_proxy(settings=NODE, kubeconfig=RUN.config / "p"))
    assert proxy["mode"] == "iptables"
    assert proxy["iptables"]["localhostNodePorts"] is False
    assert proxy["conntrack"]["maxPerCore"] == 0
    # The harness polls it from the machine's namespace, across the fabric.
    assert proxy["healthzBindAddress"].startswith(f"{NODE.node_ip}:")


def test_an_embedded_kubeconfig_carries_its_credentials_inline(certs):
    document = json.loads(
        config.kubeconfig(
            server="https://192.0.2.7:6443",
            ca=certs.ca.cert,
            client=certs.admin,
            user="a",
            embed=True,
        )
    )
    (user,) = document["users"]
    assert "client-key-data" in user["user"]
    assert "client-key" not in user["user"]
