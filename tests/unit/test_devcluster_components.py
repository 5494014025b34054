"""The node's command lines carry the flags that make the components work together."""

from __future__ import annotations

import ipaddress
import pathlib

import devcluster_builders as builders
import pytest

from nethealth.devcluster import components, layout, pki


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> pki.Pki:
    return builders.issue(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def inputs(certs) -> components.Inputs:
    return builders.control_plane_inputs(certs)


@pytest.fixture(scope="module")
def node() -> components.NodeInputs:
    return builders.node_inputs()


def _flags(component: components.Component) -> dict[str, str]:
    return dict(arg.removeprefix("--").split("=", 1) for arg in component.argv if "=" in arg)


def test_the_apiserver_serves_on_the_fabric_so_nodes_and_pods_can_reach_it(inputs):
    flags = _flags(components.apiserver(inputs))
    assert flags["bind-address"] == flags["advertise-address"] == str(layout.CONTROL_PLANE_IP)
    assert not ipaddress.IPv4Address(flags["advertise-address"]).is_loopback


def test_the_apiserver_publishes_both_client_cas_for_delegated_authentication(inputs):
    flags = _flags(components.apiserver(inputs))
    assert flags["client-ca-file"] == str(inputs.certs.ca.cert)
    assert flags["requestheader-client-ca-file"] == str(inputs.certs.ca.cert)


def test_the_apiserver_uses_its_kubelet_client_certificate_for_exec_and_logs(inputs):
    flags = _flags(components.apiserver(inputs))
    assert flags["kubelet-client-certificate"] == str(inputs.certs.apiserver_kubelet_client.cert)
    assert flags["kubelet-preferred-address-types"] == "InternalIP"


def _node_argv(component: components.Component, node: components.NodeInputs) -> tuple[str, ...]:
    """The command after ``nsenter --net=NETNS --``."""
    assert component.argv[:3] == ("nsenter", f"--net={node.settings.plan.netns}", "--")
    return component.argv[3:]


def test_every_kubernetes_component_runs_from_the_one_kubenode_binary(inputs, node):
    for make in (components.apiserver, components.controller_manager, components.scheduler):
        component = make(inputs)
        assert component.argv[:2] == (str(inputs.kubenode), component.name)
    for make_node in (components.kubelet, components.kube_proxy, components.netpol):
        component = make_node(node)
        assert _node_argv(component, node)[:2] == (str(node.kubenode), component.name)


def test_a_nodes_processes_run_in_its_own_network_namespace(node):
    for make in (components.containerd, components.kubelet, components.kube_proxy):
        assert make(node).argv[1] == f"--net={layout.NETNS_DIR / node.settings.node_name}"


def test_the_kubelet_registers_under_the_node_name_with_the_node_address(node):
    argv = _node_argv(components.kubelet(node), node)
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in argv if "=" in arg)
    assert flags["hostname-override"] == node.settings.node_name
    assert flags["node-ip"] == str(node.settings.node_ip)
    assert pathlib.Path(flags["root-dir"]).is_relative_to(node.files.root)


def test_the_network_policy_controller_knows_its_node_and_the_service_range(node):
    argv = _node_argv(components.netpol(node), node)
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in argv if "=" in arg)
    assert flags["hostname-override"] == node.settings.node_name
    assert flags["service-cluster-ip-range"] == str(layout.SERVICE_CIDR)
