"""A run layout, certificates and inputs of a two-node dev cluster, for pure tests."""

from __future__ import annotations

import pathlib

from nethealth.devcluster import components, config, layout, pki

RUN = layout.RunLayout(root=pathlib.Path("/srv/devcluster"))
PLANS = layout.node_plans(2)


def issue(directory: pathlib.Path) -> pki.Pki:
    return pki.issue_all(
        directory=directory,
        control_plane_ip=layout.CONTROL_PLANE_IP,
        nodes=[pki.NodeIdentity(name=p.name, ip=p.ip) for p in PLANS],
        api_service_ip=layout.api_service_ip(),
        cluster_domain=layout.CLUSTER_DOMAIN,
    )


def settings(plan: layout.NodePlan = PLANS[0]) -> config.NodeSettings:
    return config.NodeSettings(
        plan=plan,
        files=RUN.node(plan.name),
        pause_image="localhost/test/pause:1",
        cni_bin_dir=RUN.cni_bin_dir,
        runc=pathlib.Path("/usr/sbin/runc"),
        resolv_conf=RUN.config / "node-resolv.conf",
    )


def control_plane_inputs(certs: pki.Pki) -> components.Inputs:
    names = ("kube-controller-manager", "kube-scheduler", "kube-proxy", "kube-router-netpol")
    return components.Inputs(
        run=RUN,
        certs=certs,
        kubenode=pathlib.Path("/cache/kubenode"),
        etcd=pathlib.Path("/cache/etcd"),
        kubeconfigs={name: RUN.config / f"{name}.kubeconfig" for name in names},
    )


def node_inputs(plan: layout.NodePlan = PLANS[0]) -> components.NodeInputs:
    node = settings(plan)
    files = node.files
    return components.NodeInputs(
        settings=node,
        kubenode=pathlib.Path("/cache/kubenode"),
        containerd=pathlib.Path("/usr/bin/containerd"),
        kubeconfigs={
            "kubelet": files.config / "kubelet.kubeconfig",
            "kube-proxy": RUN.config / "kube-proxy.kubeconfig",
            "kube-router-netpol": RUN.config / "kube-router-netpol.kubeconfig",
        },
        kubelet_config=files.config / "kubelet.json",
        proxy_config=files.config / "kube-proxy.json",
        containerd_config=files.config / "containerd.toml",
    )
