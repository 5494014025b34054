"""Each component's certificate names the user and groups Kubernetes authorizes it as."""

from __future__ import annotations

import devcluster_builders as builders
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from nethealth.devcluster import layout, pki


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> pki.Pki:
    return builders.issue(tmp_path_factory.mktemp("pki"))


def _load(pair: pki.Pair) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pair.cert.read_bytes())


def _subject(pair: pki.Pair, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in _load(pair).subject.get_attributes_for_oid(oid)]


def test_each_kubelet_is_its_own_node_user_in_the_nodes_group(certs):
    for plan in builders.PLANS:
        client = certs.nodes[plan.name].client
        assert _subject(client, NameOID.COMMON_NAME) == [f"system:node:{plan.name}"]
        assert _subject(client, NameOID.ORGANIZATION_NAME) == ["system:nodes"]


def test_each_kubelet_serves_a_certificate_naming_its_own_nodes_address(certs):
    for plan in builders.PLANS:
        serving = _load(certs.nodes[plan.name].serving)
        names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert plan.ip in names.get_values_for_type(x509.IPAddress)
        others = [p.ip for p in builders.PLANS if p is not plan]
        assert not set(others) & set(names.get_values_for_type(x509.IPAddress))


def test_the_network_policy_controllers_have_a_user_of_their_own(certs):
    assert _subject(certs.netpol, NameOID.COMMON_NAME) == [pki.NETPOL_USER]


def test_the_apiserver_reaches_kubelets_as_a_master_client(certs):
    assert _subject(certs.apiserver_kubelet_client, NameOID.ORGANIZATION_NAME) == ["system:masters"]


def test_the_apiserver_certificate_covers_the_fabric_address_and_the_service_address(certs):
    names = (
        _load(certs.apiserver).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    )
    addresses = names.get_values_for_type(x509.IPAddress)
    assert layout.CONTROL_PLANE_IP in addresses
    assert layout.api_service_ip() in addresses
    assert "kubernetes.default.svc.cluster.local" in names.get_values_for_type(x509.DNSName)


def test_every_certificate_is_signed_by_the_nodes_ca(certs):
    ca = _load(certs.ca)
    for pair in (certs.apiserver, certs.admin, certs.nodes[builders.PLANS[0].name].serving):
        _load(pair).verify_directly_issued_by(ca)


def test_private_keys_are_readable_by_their_owner_only(certs):
    for key in (certs.ca.key, certs.admin.key, certs.service_account_private):
        assert key.stat().st_mode & 0o077 == 0
