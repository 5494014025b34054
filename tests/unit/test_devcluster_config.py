"""The dev node's rendered configs carry the settings these machines need."""

from __future__ import annotations

import ipaddress
import json
import pathlib
import tomllib

import pytest

from nethealth.devcluster import config, layout, pki

RUN = layout.RunLayout(root=pathlib.Path("/srv/devnode"))
SETTINGS = config.NodeSettings(
    node_name="node-a",
    node_ip=ipaddress.IPv4Address("192.0.2.7"),
    pause_image="localhost/test/pause:1",
    cni_bin_dir=pathlib.Path("/usr/lib/cni"),
    runc=pathlib.Path("/usr/sbin/runc"),
)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> pki.Pki:
    return pki.issue_all(
        directory=tmp_path_factory.mktemp("pki"),
        node_name=SETTINGS.node_name,
        node_ip=SETTINGS.node_ip,
        api_service_ip=layout.api_service_ip(),
        cluster_domain=layout.CLUSTER_DOMAIN,
    )


def _cri(document: dict) -> dict:
    return document["plugins"]["io.containerd.grpc.v1.cri"]


def test_containerd_keeps_everything_under_the_run_directory():
    document = tomllib.loads(config.containerd(run=RUN, settings=SETTINGS))
    runc = _cri(document)["containerd"]["runtimes"]["runc"]["options"]
    for path in (document["root"], document["state"], document["grpc"]["address"], runc["Root"]):
        assert pathlib.Path(path).is_relative_to(RUN.root)
    assert pathlib.Path(_cri(document)["cni"]["conf_dir"]).is_relative_to(RUN.root)


def test_containerd_never_writes_oom_score_adj_and_pins_the_local_sandbox_image():
    cri = _cri(tomllib.loads(config.containerd(run=RUN, settings=SETTINGS)))
    assert cri["restrict_oom_score_adj"] is True
    assert cri["sandbox_image"] == SETTINGS.pause_image
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is False


def test_the_kubelet_runs_on_cgroup_v1_without_oom_adjustment_or_image_gc(certs):
    kubelet = json.loads(config.kubelet(run=RUN, settings=SETTINGS, certs=certs))
    assert kubelet["failCgroupV1"] is False
    assert kubelet["cgroupDriver"] == "cgroupfs"
    assert kubelet["oomScoreAdj"] == 0
    assert kubelet["imageGCHighThresholdPercent"] == 100
    assert kubelet["authentication"]["anonymous"]["enabled"] is False
    assert kubelet["containerRuntimeEndpoint"] == f"unix://{RUN.containerd_socket}"


def test_pods_get_ptp_addresses_from_the_pod_range_with_ipam_state_in_the_run_directory():
    network = json.loads(config.cni_network(run=RUN))
    (plugin,) = network["plugins"]
    assert network["name"] == layout.CNI_NETWORK
    assert plugin["type"] == "ptp"
    assert plugin["ipam"]["type"] == "host-local"
    assert pathlib.Path(plugin["ipam"]["dataDir"]).is_relative_to(RUN.root)
    ((pod_range,),) = plugin["ipam"]["ranges"]
    assert ipaddress.IPv4Network(pod_range["subnet"]) == layout.POD_CIDR


def test_the_address_ranges_stay_clear_of_the_machines_own_network():
    machine = ipaddress.IPv4Network("192.0.2.0/24")
    assert not layout.POD_CIDR.overlaps(machine)
    assert not layout.SERVICE_CIDR.overlaps(machine)
    assert not layout.POD_CIDR.overlaps(layout.SERVICE_CIDR)


def test_kube_proxy_leaves_machine_wide_sysctls_alone():
    proxy = json.loads(config.kube_proxy(settings=SETTINGS, kubeconfig=RUN.config / "p"))
    assert proxy["mode"] == "iptables"
    assert proxy["iptables"]["localhostNodePorts"] is False
    assert proxy["conntrack"]["maxPerCore"] == 0


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
