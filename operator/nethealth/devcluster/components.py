"""The command lines of a dev cluster's processes, in the order they start.

Pure: the flags are data, so tests can check the ones that matter (the
endpoint reconciler, the client-CA flags, the kubelet client certificate)
without starting anything.

- The apiserver listens on the fabric's control-plane address, not loopback:
  nodes and pods reach it there and, through kube-proxy, as the ``kubernetes``
  Service; advertising a non-loopback address also keeps the endpoint
  reconciler working.
- A node's processes (containerd, kubelet, kube-proxy, the network-policy
  controller) run in its network namespace through ``nsenter --net``.
- ``--client-ca-file`` and ``--requestheader-client-ca-file`` are set because
  the controller-manager's and scheduler's delegated authentication log errors
  until the apiserver publishes both.
- The apiserver reaches kubelets (exec, logs) with its own client certificate,
  by InternalIP, and verifies their serving certificates with the node's CA.
"""

from __future__ import annotations

import dataclasses
import pathlib

from nethealth.devcluster import config, fabric, layout, pki


@dataclasses.dataclass(frozen=True, kw_only=True)
class Component:
    """One long-running process of the node."""

    name: str
    argv: tuple[str, ...]
    # A URL answering 200 once the component serves; None when the harness
    # judges it otherwise (the node's Ready condition covers the kubelet).
    health_url: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Inputs:
    """What the control plane's processes are started from."""

    run: layout.RunLayout
    certs: pki.Pki
    kubenode: pathlib.Path
    etcd: pathlib.Path
    kubeconfigs: dict[str, pathlib.Path]  # by component name


@dataclasses.dataclass(frozen=True, kw_only=True)
class NodeInputs:
    """What one node's processes are started from."""

    settings: config.NodeSettings
    kubenode: pathlib.Path
    containerd: pathlib.Path
    kubeconfigs: dict[str, pathlib.Path]  # kubelet, kube-proxy, kube-router-netpol
    kubelet_config: pathlib.Path
    proxy_config: pathlib.Path
    containerd_config: pathlib.Path

    @property
    def files(self) -> layout.NodeLayout:
        return self.settings.files


def api_server_url() -> str:
    return f"https://{layout.CONTROL_PLANE_IP}:{layout.APISERVER_PORT}"


def etcd(inputs: Inputs) -> Component:
    client = f"http://127.0.0.1:{layout.ETCD_CLIENT_PORT}"
    peer = f"http://127.0.0.1:{layout.ETCD_PEER_PORT}"
    return Component(
        name="etcd",
        argv=(
            str(inputs.etcd),
            "--name=nethealth",
            f"--data-dir={inputs.run.etcd_data}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=nethealth={peer}",
            # Test data is thrown away with the node: no fsync per write.
            "--unsafe-no-fsync=true",
            "--log-level=warn",
        ),
        health_url=f"{client}/health",
    )


def apiserver(inputs: Inputs) -> Component:
    certs = inputs.certs
    address = layout.CONTROL_PLANE_IP
    return Component(
        name="kube-apiserver",
        argv=(
            str(inputs.kubenode),
            "kube-apiserver",
            f"--etcd-servers=http://127.0.0.1:{layout.ETCD_CLIENT_PORT}",
            f"--etcd-prefix={config.ETCD_PREFIX}",
            f"--bind-address={address}",
            f"--advertise-address={address}",
            f"--secure-port={layout.APISERVER_PORT}",
            f"--service-cluster-ip-range={layout.SERVICE_CIDR}",
            f"--tls-cert-file={certs.apiserver.cert}",
            f"--tls-private-key-file={certs.apiserver.key}",
            f"--client-ca-file={certs.ca.cert}",
            f"--requestheader-client-ca-file={certs.ca.cert}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={certs.front_proxy_client.cert}",
            f"--proxy-client-key-file={certs.front_proxy_client.key}",
            f"--kubelet-client-certificate={certs.apiserver_kubelet_client.cert}",
            f"--kubelet-client-key={certs.apiserver_kubelet_client.key}",
            f"--kubelet-certificate-authority={certs.ca.cert}",
            "--kubelet-preferred-address-types=InternalIP",
            f"--service-account-issuer=https://kubernetes.default.svc.{layout.CLUSTER_DOMAIN}",
            f"--service-account-key-file={certs.service_account_public}",
            f"--service-account-signing-key-file={certs.service_account_private}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            # The probe runs privileged (it enters other pods' namespaces).
            "--allow-privileged=true",
            "--profiling=false",
            "--v=1",
        ),
        health_url=f"{api_server_url()}/readyz",
    )


def _delegated_auth(kubeconfig: pathlib.Path) -> tuple[str, ...]:
    return (
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        "--leader-elect=false",
        "--profiling=false",
    )


def controller_manager(inputs: Inputs) -> Component:
    certs = inputs.certs
    return Component(
        name="kube-controller-manager",
        argv=(
            str(inputs.kubenode),
            "kube-controller-manager",
            *_delegated_auth(inputs.kubeconfigs["kube-controller-manager"]),
            f"--secure-port={layout.CONTROLLER_MANAGER_PORT}",
            f"--client-ca-file={certs.ca.cert}",
            f"--requestheader-client-ca-file={certs.ca.cert}",
            f"--service-account-private-key-file={certs.service_account_private}",
            f"--root-ca-file={certs.ca.cert}",
            f"--cluster-signing-cert-file={certs.ca.cert}",
            f"--cluster-signing-key-file={certs.ca.key}",
            f"--service-cluster-ip-range={layout.SERVICE_CIDR}",
            "--use-service-account-credentials=true",
            # The default 20 QPS throttles start-up: each controller fetches its
            # own service account token, and the default ServiceAccount waits on that.
            "--kube-api-qps=200",
            "--kube-api-burst=400",
            "--allocate-node-cidrs=false",
            "--v=1",
        ),
    )


def scheduler(inputs: Inputs) -> Component:
    return Component(
        name="kube-scheduler",
        argv=(
            str(inputs.kubenode),
            "kube-scheduler",
            *_delegated_auth(inputs.kubeconfigs["kube-scheduler"]),
            f"--secure-port={layout.SCHEDULER_PORT}",
            "--v=1",
        ),
    )


def _in_node(inputs: NodeInputs, argv: tuple[str, ...]) -> tuple[str, ...]:
    return fabric.nsenter(inputs.settings.plan.netns, argv)


def containerd(inputs: NodeInputs) -> Component:
    return Component(
        name="containerd",
        argv=_in_node(inputs, (str(inputs.containerd), f"--config={inputs.containerd_config}")),
    )


def kubelet(inputs: NodeInputs) -> Component:
    files = inputs.files
    return Component(
        name="kubelet",
        argv=_in_node(
            inputs,
            (
                str(inputs.kubenode),
                "kubelet",
                f"--config={inputs.kubelet_config}",
                f"--kubeconfig={inputs.kubeconfigs['kubelet']}",
                f"--hostname-override={inputs.settings.node_name}",
                f"--node-ip={inputs.settings.node_ip}",
                f"--root-dir={files.kubelet_root}",
                f"--cert-dir={files.kubelet_root / 'pki'}",
                "--v=1",
            ),
        ),
    )


def kube_proxy(inputs: NodeInputs) -> Component:
    node_ip = inputs.settings.node_ip
    return Component(
        name="kube-proxy",
        argv=_in_node(
            inputs,
            (str(inputs.kubenode), "kube-proxy", f"--config={inputs.proxy_config}", "--v=1"),
        ),
        health_url=f"http://{node_ip}:{layout.PROXY_HEALTHZ_PORT}/healthz",
    )


def netpol(inputs: NodeInputs) -> Component:
    """kube-router's NetworkPolicy controller for this node (``cluster/kubenode/netpol.go``)."""
    return Component(
        name="kube-router-netpol",
        argv=_in_node(
            inputs,
            (
                str(inputs.kubenode),
                "kube-router-netpol",
                f"--kubeconfig={inputs.kubeconfigs['kube-router-netpol']}",
                f"--hostname-override={inputs.settings.node_name}",
                f"--service-cluster-ip-range={layout.SERVICE_CIDR}",
                # Policies follow pod and policy events at once; the periodic
                # full sync only repairs drift.
                "--sync-period=60s",
            ),
        ),
    )
