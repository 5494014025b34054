"""Certificates for one dev node, issued fresh by a throwaway CA at every start.

Kubernetes authenticates every component by its client certificate: the
subject's common name is the user, its organisations the groups. So the
controller-manager is ``system:kube-controller-manager``, the kubelet is
``system:node:<name>`` in ``system:nodes`` (what the Node authorizer and
NodeRestriction expect), the apiserver reaches the kubelet (exec, logs) as a
``system:masters`` client, and the admin kubeconfig is ``system:masters`` too.

One CA signs everything, the front-proxy client included (the aggregation
layer only trusts the name ``front-proxy-client``). ECDSA P-256 keys take
milliseconds, so nothing is cached: a start never trusts a leftover key.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import pathlib
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=30)
CLOCK_SKEW = datetime.timedelta(hours=1)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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
    kubelet_client: Pair
    kubelet_serving: Pair
    service_account_public: pathlib.Path
    service_account_private: pathlib.Path


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
    node_name: str,
    node_ip: ipaddress.IPv4Address,
    api_service_ip: ipaddress.IPv4Address,
    cluster_domain: str,
) -> Pki:
    """Issue a fresh CA and every certificate and key of the node into ``directory``."""
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
        node_name,
    ]
    loopback = ipaddress.IPv4Address("127.0.0.1")
    apiserver_cert, apiserver_key = _issue(
        authority=authority,
        now=now,
        common_name="kube-apiserver",
        dns_names=api_names,
        ips=[node_ip, api_service_ip, loopback],
        server=True,
    )
    kubelet_cert, kubelet_key = _issue(
        authority=authority,
        now=now,
        common_name=node_name,
        dns_names=[node_name, "localhost"],
        ips=[node_ip, loopback],
        server=True,
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
        kubelet_client=client("kubelet-client", f"system:node:{node_name}", "system:nodes"),
        kubelet_serving=_write(directory, "kubelet-serving", kubelet_cert, kubelet_key),
        service_account_public=sa_public,
        service_account_private=sa_private,
    )
