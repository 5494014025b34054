"""Each component's certificate names the user and groups Kubernetes authorizes it as."""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from nethealth.devcluster import layout, pki

NODE_IP = ipaddress.IPv4Address("192.0.2.7")


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> pki.Pki:
    return pki.issue_all(
        directory=tmp_path_factory.mktemp("pki"),
        node_name="node-a",
        node_ip=NODE_IP,
        api_service_ip=layout.api_service_ip(),
        cluster_domain="cluster.local",
    )


def _load(pair: pki.Pair) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pair.cert.read_bytes())


def _subject(pair: pki.Pair, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in _load(pair).subject.get_attributes_for_oid(oid)]


def test_the_kubelet_is_a_node_user_in_the_nodes_group(certs):
    assert _subject(certs.kubelet_client, NameOID.COMMON_NAME) == ["system:node:node-a"]
    assert _subject(certs.kubelet_client, NameOID.ORGANIZATION_NAME) == ["system:nodes"]


def test_the_apiserver_reaches_kubelets_as_a_master_client(certs):
    assert _subject(certs.apiserver_kubelet_client, NameOID.ORGANIZATION_NAME) == ["system:masters"]


def test_the_apiserver_certificate_covers_the_node_address_and_the_service_address(certs):
    names = (
        _load(certs.apiserver).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    )
    addresses = names.get_values_for_type(x509.IPAddress)
    assert NODE_IP in addresses
    assert layout.api_service_ip() in addresses
    assert "kubernetes.default.svc.cluster.local" in names.get_values_for_type(x509.DNSName)


def test_every_certificate_is_signed_by_the_nodes_ca(certs):
    ca = _load(certs.ca)
    for pair in (certs.apiserver, certs.admin, certs.kubelet_serving, certs.proxy):
        _load(pair).verify_directly_issued_by(ca)


def test_private_keys_are_readable_by_their_owner_only(certs):
    for key in (certs.ca.key, certs.admin.key, certs.service_account_private):
        assert key.stat().st_mode & 0o077 == 0
