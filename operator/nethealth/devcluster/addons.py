"""The cluster's own workloads and roles, as API objects: DNS and NetworkPolicy's rights.

Pure: plain dicts, applied by ``apply`` once the apiserver serves.

- CoreDNS (built by ``coredns``, image ``images.COREDNS_IMAGE``) as the
  ``coredns`` Deployment behind the ``kube-dns`` Service, with the rights of
  upstream's ``system:coredns`` role. It answers ``cluster.local`` and the
  reverse zones from the API and nothing else: the machine has no upstream
  resolver the pods could reach, so a name outside the cluster is refused at
  once instead of timing out.
- ``system:kube-router`` (the network-policy controllers' user) may read what
  kube-router's controller watches: pods, namespaces, nodes and policies.
"""

from __future__ import annotations

from typing import Any

from nethealth.devcluster import images, layout, pki

DNS_NAMESPACE = "kube-system"
DNS_NAME = "coredns"
DNS_SERVICE = "kube-dns"
DNS_REPLICAS = 2
DNS_LABELS = {"k8s-app": "kube-dns"}
NETPOL_ROLE = "nethealth:kube-router-netpol"

COREFILE = f"""\
.:53 {{
    errors
    health {{
        lameduck 2s
    }}
    ready
    kubernetes {layout.CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }}
    cache 30
    loadbalance
}}
"""

Manifest = dict[str, Any]


def _rule(groups: list[str], resources: list[str]) -> dict[str, list[str]]:
    return {"apiGroups": groups, "resources": resources, "verbs": ["get", "list", "watch"]}


def netpol_rbac() -> list[Manifest]:
    """The role and binding of kube-router's controllers (user ``pki.NETPOL_USER``)."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": NETPOL_ROLE},
        "rules": [
            _rule([""], ["pods", "namespaces", "nodes"]),
            _rule(["networking.k8s.io"], ["networkpolicies"]),
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": NETPOL_ROLE},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": NETPOL_ROLE,
        },
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": pki.NETPOL_USER}
        ],
    }
    return [role, binding]


def dns_rbac() -> list[Manifest]:
    metadata = {"name": DNS_NAME, "namespace": DNS_NAMESPACE}
    role_name = f"system:{DNS_NAME}"
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": role_name},
            "rules": [
                _rule([""], ["endpoints", "services", "pods", "namespaces"]),
                _rule(["discovery.k8s.io"], ["endpointslices"]),
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": role_name},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role_name,
            },
            "subjects": [{"kind": "ServiceAccount", **metadata}],
        },
    ]


def dns_service() -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": DNS_SERVICE, "namespace": DNS_NAMESPACE, "labels": DNS_LABELS},
        "spec": {
            "selector": DNS_LABELS,
            "clusterIP": str(layout.dns_service_ip()),
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP"},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
            ],
        },
    }


def _dns_pod_spec() -> Manifest:
    return {
        "serviceAccountName": DNS_NAME,
        "priorityClassName": "system-cluster-critical",
        # The node's resolver, never itself.
        "dnsPolicy": "Default",
        "terminationGracePeriodSeconds": 5,
        "containers": [
            {
                "name": "coredns",
                "image": images.COREDNS_IMAGE,
                "imagePullPolicy": "Never",
                "args": ["-conf", "/etc/coredns/Corefile"],
                "ports": [
                    {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                    {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                ],
                "readinessProbe": {
                    "httpGet": {"path": "/ready", "port": 8181},
                    "periodSeconds": 2,
                },
                "livenessProbe": {
                    "httpGet": {"path": "/health", "port": 8080},
                    "periodSeconds": 10,
                    "failureThreshold": 5,
                },
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                },
                "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns"}],
            }
        ],
        "volumes": [{"name": "config", "configMap": {"name": DNS_NAME}}],
    }


def dns_workload() -> list[Manifest]:
    """The Corefile and the Deployment; applied once every node has the image."""
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": DNS_NAME, "namespace": DNS_NAMESPACE},
        "data": {"Corefile": COREFILE},
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": DNS_NAME, "namespace": DNS_NAMESPACE, "labels": DNS_LABELS},
        "spec": {
            "replicas": DNS_REPLICAS,
            "selector": {"matchLabels": DNS_LABELS},
            "template": {"metadata": {"labels": DNS_LABELS}, "spec": _dns_pod_spec()},
        },
    }
    return [config_map, deployment]
