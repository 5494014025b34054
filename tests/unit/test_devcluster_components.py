"""The node's command lines carry the flags that make the components work together."""

from __future__ import annotations

import ipaddress
import pathlib

import pytest

from nethealth.devcluster import components, config, layout, pki

NODE_IP = ipaddress.IPv4Address("192.0.2.7")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> components.Inputs:
    run = layout.RunLayout(root=pathlib.Path("/srv/devnode"))
    certs = pki.issue_all(
        directory=tmp_path_factory.mktemp("pki"),
        node_name="node-a",
        node_ip=NODE_IP,
        api_service_ip=layout.api_service_ip(),
        cluster_domain=layout.CLUSTER_DOMAIN,
    )
    settings = config.NodeSettings(
        node_name="node-a",
        node_ip=NODE_IP,
        pause_image="localhost/test/pause:1",
        cni_bin_dir=pathlib.Path("/usr/lib/cni"),
        runc=pathlib.Path("/usr/sbin/runc"),
    )
    names = ("kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")
    return components.Inputs(
        run=run,
        settings=settings,
        certs=certs,
        kubenode=pathlib.Path("/cache/kubenode"),
        etcd=pathlib.Path("/cache/etcd"),
        containerd=pathlib.Path("/usr/bin/containerd"),
        kubeconfigs={name: run.config / f"{name}.kubeconfig" for name in names},
        kubelet_config=run.config / "kubelet.json",
        proxy_config=run.config / "kube-proxy.json",
        containerd_config=run.config / "containerd.toml",
    )


def _flags(component: components.Component) -> dict[str, str]:
    return dict(arg.removeprefix("--").split("=", 1) for arg in component.argv if "=" in arg)


def test_the_apiserver_serves_on_the_node_address_so_pods_can_reach_it(inputs):
    flags = _flags(components.apiserver(inputs))
    assert flags["bind-address"] == flags["advertise-address"] == str(NODE_IP)
    assert not ipaddress.IPv4Address(flags["advertise-address"]).is_loopback


def test_the_apiserver_publishes_both_client_cas_for_delegated_authentication(inputs):
    flags = _flags(components.apiserver(inputs))
    assert flags["client-ca-file"] == str(inputs.certs.ca.cert)
    assert flags["requestheader-client-ca-file"] == str(inputs.certs.ca.cert)


def test_the_apiserver_uses_its_kubelet_client_certificate_for_exec_and_logs(inputs):
    flags = _flags(components.apiserver(inputs))
    assert flags["kubelet-client-certificate"] == str(inputs.certs.apiserver_kubelet_client.cert)
    assert flags["kubelet-preferred-address-types"] == "InternalIP"


def test_every_kubernetes_component_runs_from_the_one_kubenode_binary(inputs):
    for make in (
        components.apiserver,
        components.controller_manager,
        components.scheduler,
        components.kubelet,
        components.kube_proxy,
    ):
        component = make(inputs)
        assert component.argv[:2] == (str(inputs.kubenode), component.name)


def test_the_kubelet_registers_under_the_node_name_with_the_node_address(inputs):
    flags = _flags(components.kubelet(inputs))
    assert flags["hostname-override"] == "node-a"
    assert flags["node-ip"] == str(NODE_IP)
    assert pathlib.Path(flags["root-dir"]).is_relative_to(inputs.run.root)
