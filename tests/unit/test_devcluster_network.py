"""The cluster's network plan and the Calico-shaped link its CNI plugin builds."""

from __future__ import annotations

import io
import ipaddress
import json

import pytest

from nethealth.devcluster import addons, apply, calico, cni, errors, layout

MACHINE = ipaddress.IPv4Network("192.0.2.0/24")


def test_every_node_has_its_own_address_and_slice_of_the_pod_range():
    plans = layout.node_plans(layout.MAX_NODES)
    assert len({p.ip for p in plans}) == len({p.pod_cidr for p in plans}) == layout.MAX_NODES
    for plan in plans:
        assert plan.ip in layout.FABRIC
        assert plan.ip != layout.CONTROL_PLANE_IP
        assert plan.pod_cidr.subnet_of(layout.POD_CIDR)
        assert len(plan.fabric_veth) <= calico.IFNAMSIZ
    slices = [p.pod_cidr for p in plans]
    assert not any(a.overlaps(b) for i, a in enumerate(slices) for b in slices[i + 1 :])


def test_the_first_node_keeps_the_name_single_node_callers_use():
    assert layout.node_plans(1)[0].name == layout.NODE_NAME


@pytest.mark.parametrize("count", [0, layout.MAX_NODES + 1])
def test_a_cluster_has_between_one_and_max_nodes(count):
    with pytest.raises(ValueError, match="nodes"):
        layout.node_plans(count)


def test_all_ranges_are_documentation_or_benchmark_ranges_apart_from_each_other():
    ranges = [layout.FABRIC, layout.POD_CIDR, layout.SERVICE_CIDR]
    allowed = [
        ipaddress.IPv4Network(n) for n in ("198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24")
    ]
    for network in ranges:
        assert not network.overlaps(MACHINE)
        assert any(network.subnet_of(a) for a in allowed)
    assert not any(a.overlaps(b) for i, a in enumerate(ranges) for b in ranges[i + 1 :])
    assert layout.dns_service_ip() in layout.SERVICE_CIDR
    assert layout.dns_service_ip() != layout.api_service_ip()


LINK = calico.PodLink(
    host_side=calico.host_veth_name("0123abcd" * 8),
    address=ipaddress.IPv4Address("198.51.100.7"),
    mtu=1400,
)


def test_the_node_side_is_a_cali_veth_of_a_legal_name_with_proxy_arp_answered_at_once():
    assert LINK.host_side.startswith("cali")
    assert len(LINK.host_side) == calico.IFNAMSIZ
    assert calico.host_veth_name("0123abcd" * 8) == LINK.host_side
    assert calico.node_sysctls(LINK) == {
        f"net.ipv4.conf.{LINK.host_side}.proxy_arp": "1",
        f"net.ipv4.neigh.{LINK.host_side}.proxy_delay": "0",
    }
    assert ["-4", "route", "add", "198.51.100.7/32", "dev", LINK.host_side, "scope", "link"] in (
        calico.node_side(LINK)
    )


def test_the_pod_gets_a_32_and_a_default_route_via_the_link_local_gateway():
    commands = calico.pod_side(LINK)
    assert ["-4", "addr", "add", "198.51.100.7/32", "dev", "eth0"] in commands
    gateway = ["-4", "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link"]
    default = ["-4", "route", "add", "default", "via", "169.254.1.1", "dev", "eth0"]
    assert commands.index(gateway) < commands.index(default)


def test_the_pair_is_made_with_its_pod_end_in_the_pods_namespace():
    assert calico.create_pair(LINK, pod_netns="cni-x") == [
        "link",
        "add",
        LINK.host_side,
        "mtu",
        "1400",
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "mtu",
        "1400",
        "netns",
        "cni-x",
    ]


def _plugin(command: str, stdin: str = "{}", **env: str) -> tuple[int, dict]:
    out = io.StringIO()
    code = cni.run(stdin=io.StringIO(stdin), stdout=out, env={"CNI_COMMAND": command, **env})
    return code, json.loads(out.getvalue() or "{}")


def test_the_plugin_names_the_cni_versions_it_speaks():
    code, answer = _plugin("VERSION")
    assert code == 0
    assert "1.0.0" in answer["supportedVersions"]


def test_the_plugin_answers_an_unknown_command_with_a_cni_error():
    code, answer = _plugin("FROB")
    assert code == 1
    assert answer["code"] == 4
    assert "FROB" in answer["msg"]


def test_the_plugin_refuses_a_namespace_not_pinned_where_ip_netns_finds_it():
    code, answer = _plugin(
        "ADD", json.dumps({"ipam": {"type": "host-local"}}), CNI_NETNS="/proc/1/ns/net"
    )
    assert code == 1
    assert "not pinned" in answer["msg"]


def test_dns_runs_behind_the_kube_dns_service_at_the_kubelets_cluster_dns_address():
    service = addons.dns_service()
    assert service["metadata"]["name"] == "kube-dns"
    assert service["spec"]["clusterIP"] == str(layout.dns_service_ip())
    _, deployment = addons.dns_workload()
    assert deployment["spec"]["template"]["metadata"]["labels"] == service["spec"]["selector"]
    assert layout.CLUSTER_DOMAIN in addons.COREFILE


def test_the_harness_knows_where_to_create_each_addon():
    manifests = addons.netpol_rbac() + addons.dns_rbac() + [addons.dns_service()]
    manifests += addons.dns_workload()
    paths = [apply.collection_path(m) for m in manifests]
    assert "/apis/apps/v1/namespaces/kube-system/deployments" in paths
    assert "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings" in paths
    with pytest.raises(errors.ClusterError, match="cannot create"):
        apply.collection_path({"apiVersion": "v1", "kind": "Secret", "metadata": {}})
