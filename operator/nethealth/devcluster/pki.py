"""Certificates for one dev cluster, issued fresh by a throwaway CA at every start.

Kubernetes authenticates every component by its client certificate: the
subject's common name is the user, its organisations the groups. So the
controller-manager is ``system:kube-controller-manager``, each kubelet is
``system:node:<name>`` in ``system:nodes`` (what the Node authorizer and
NodeRestriction expect) and serves a certificate naming its own node's address,
the apiserver reaches the kubelets (exec, logs) as a ``system:masters``
client, the network-policy controllers are ``system:kube-router`` (bound to a
role by the harness), and the admin kubeconfig is ``system:masters`` too.

One CA signs everything, the front-proxy client included (the aggregation
layer only trusts the name ``front-proxy-client``). ECDSA P-256 keys take
milliseconds, so nothing is cached: a start never trusts a leftover key.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import pathlib
from collections.abc import Mapping, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=30)
CLOCK_SKEW = datetime.timedelta(hours=1)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# The user the network-policy controllers authenticate as; the harness binds it a role.
NETPOL_USER = "system:kube-router"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Pair:
    cert: pathlib.Path
    key: pathlib.Path


@dataclasses.dataclass(frozen=True, kw_only=True)
class Pki:
    """The files every component is pointed at."""

    ca: Pair
    apiserver: Pair
    apiserver_kubelet_client: Pair
    front_proxy_client: Pair
    admin: Pair
    controller_manager: Pair
    scheduler: Pair
    proxy: Pair
    netpol: Pair
    service_account_public: pathlib.Path
    service_account_private: pathlib.Path
    nodes: Mapping[str, NodeCerts]


@dataclasses.dataclass(frozen=True, kw_only=True)
class NodeCerts:
    """One kubelet's client (``system:node:NAME``) and serving (its node's IP) pairs."""

    client: Pair
    serving: Pair


@dataclasses.dataclass(frozen=True, kw_only=True)
class NodeIdentity:
    name: str
    ip: ipaddress.IPv4Address


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Authority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(*, common_name: str, organizations: Sequence[str] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _write_key(path: pathlib.Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.touch(mode=0o600)
    path.write_bytes(data)


def _write(
    directory: pathlib.Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> Pair:
    pair = Pair(cert=directory / f"{name}.crt", key=directory / f"{name}.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(pair.key, key)
    return pair


def _authority(*, now: datetime.datetime) -> _Authority:
    key = _new_key()
    subject = _name(common_name="nethealth-devcluster-ca")
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _Authority(cert=cert, key=key)


def _issue(
    *,
    authority: _Authority,
    now: datetime.datetime,
    common_name: str,
    organizations: Sequence[str] = (),
    dns_names: Sequence[str] = (),
    ips: Sequence[IPAddress] = (),
    server: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] if server else [ExtendedKeyUsageOID.CLIENT_AUTH]
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name=common_name, organizations=organizations))
        .issuer_name(authority.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key()),
            critical=False,
        )
    )
    if server:
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
        names += [x509.IPAddress(ip) for ip in ips]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(authority.key, hashes.SHA256()), key


def issue_all(
    *,
    directory: pathlib.Path,
    control_plane_ip: ipaddress.IPv4Address,
    nodes: Sequence[NodeIdentity],
    api_service_ip: ipaddress.IPv4Address,
    cluster_domain: str,
) -> Pki:
    """Issue a fresh CA and every certificate and key of the cluster into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    authority = _authority(now=now)
    ca = _write(directory, "ca", authority.cert, authority.key)

    def client(name: str, common_name: str, *organizations: str) -> Pair:
        cert, key = _issue(
            authority=authority, now=now, common_name=common_name, organizations=organizations
        )
        return _write(directory, name, cert, key)

    api_names = [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        f"kubernetes.default.svc.{cluster_domain}",
        "localhost",
    ]
    loopback = ipaddress.IPv4Address("127.0.0.1")
    apiserver_cert, apiserver_key = _issue(
        authority=authority,
        now=now,
        common_name="kube-apiserver",
        dns_names=api_names,
        ips=[control_plane_ip, api_service_ip, loopback],
        server=True,
    )

    def node_certs(node: NodeIdentity) -> NodeCerts:
        serving_cert, serving_key = _issue(
            authority=authority,
            now=now,
            common_name=node.name,
            dns_names=[node.name, "localhost"],
            ips=[node.ip, loopback],
            server=True,
        )
        return NodeCerts(
            client=client(f"{node.name}-client", f"system:node:{node.name}", "system:nodes"),
            serving=_write(directory, f"{node.name}-serving", serving_cert, serving_key),
        )

    sa_key = _new_key()
    sa_private = directory / "service-account.key"
    sa_public = directory / "service-account.pub"
    _write_key(sa_private, sa_key)
    sa_public.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return Pki(
        ca=ca,
        apiserver=_write(directory, "apiserver", apiserver_cert, apiserver_key),
        apiserver_kubelet_client=client(
            "apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters"
        ),
        front_proxy_client=client("front-proxy-client", "front-proxy-client"),
        admin=client("admin", "nethealth-admin", "system:masters"),
        controller_manager=client("controller-manager", "system:kube-controller-manager"),
        scheduler=client("scheduler", "system:kube-scheduler"),
        proxy=client("kube-proxy", "system:kube-proxy"),
        netpol=client("kube-router", NETPOL_USER),
        service_account_public=sa_public,
        service_account_private=sa_private,
        nodes={node.name: node_certs(node) for node in nodes},
    )
