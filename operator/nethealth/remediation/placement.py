"""Pure: what a workload's pods would hold on a node with hostNetwork, and where they land.

With hostNetwork every container port binds on the node's own addresses (the scheduler
treats each as a host port). Two pods that bind the same port cannot share a node: the
second never schedules, or crashes when it binds. So before the patch the remediation
asks: does another pod on the node hold one of these ports; may two replicas share a node
(no required anti-affinity on the hostname); and would the next RollingUpdate need a
surge pod on the one node the workload is pinned to, next to the old pod holding the
ports (the surge never schedules: the rollout deadlocks)?
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from nethealth.model import raw
from nethealth.remediation import hostnetwork

RawObject = Mapping[str, Any]
Kind = hostnetwork.Kind
HOSTNAME_KEY: Final = "kubernetes.io/hostname"

Port = tuple[str, int]  # (protocol, port) bound on the node


def host_ports(pod_spec: Mapping[str, Any], *, host_network: bool) -> set[Port]:
    """Ports a pod binds on its node: every container port with hostNetwork, else hostPorts."""
    bound: set[Port] = set()
    containers = [*(pod_spec.get("containers") or ()), *(pod_spec.get("initContainers") or ())]
    for container in containers:
        for port in container.get("ports") or ():
            number = port.get("containerPort") if host_network else port.get("hostPort")
            if number:
                bound.add((port.get("protocol") or "TCP", int(number)))
    return bound


def port_clash(
    *,
    key: hostnetwork.WorkloadKey,
    workload: RawObject,
    node_pods: Mapping[str, Sequence[RawObject]],
) -> str | None:
    ours = host_ports(hostnetwork.pod_spec(workload), host_network=True)
    replicas = replica_count(key=key, workload=workload)
    if key.kind is not Kind.DAEMONSET and replicas > 1 and not _hostname_anti_affinity(workload):
        return (
            f"{replicas} replicas without required podAntiAffinity on {HOSTNAME_KEY}: two"
            " replicas on one node would bind the same ports; add the anti-affinity first"
        )
    selector = (workload.get("spec") or {}).get("selector") or {}
    for node in sorted(node_pods):
        for other in node_pods[node]:
            if raw.namespace(other) == key.namespace and _matches(selector, raw.labels(other)):
                continue  # the workload's own pods are replaced, not joined
            spec = other.get("spec") or {}
            taken = host_ports(spec, host_network=bool(spec.get("hostNetwork")))
            clash = sorted(ours & taken)
            if clash:
                ports = ", ".join(f"{p}/{proto}" for proto, p in clash)
                return (
                    f"port(s) {ports} would bind on node {node}, where pod"
                    f" {raw.key(other)} holds them already"
                )
    return None


def surge_deadlock(*, key: hostnetwork.WorkloadKey, workload: RawObject) -> str | None:
    ours = host_ports(hostnetwork.pod_spec(workload), host_network=True)
    spec = workload.get("spec") or {}
    strategy = spec.get("updateStrategy" if key.kind is Kind.DAEMONSET else "strategy") or {}
    if key.kind is Kind.STATEFULSET or not ours:
        return None  # a StatefulSet replaces pod by pod; nothing declared, nothing to clash
    kind = strategy.get("type") or "RollingUpdate"
    if kind != "RollingUpdate":
        return None
    default_surge = 0 if key.kind is Kind.DAEMONSET else "25%"
    surge = (strategy.get("rollingUpdate") or {}).get("maxSurge", default_surge)
    replicas = replica_count(key=key, workload=workload)
    if _surge(surge, replicas=replicas) == 0:
        return None
    pinned = key.kind is Kind.DAEMONSET or _pinned_node(workload)
    if not pinned:
        return None
    ports = ", ".join(f"{p}/{proto}" for proto, p in sorted(ours))
    return (
        f"RollingUpdate with maxSurge {surge} on a workload pinned to one node: the surge"
        f" pod would need port(s) {ports} held by the old pod on that node and never"
        " schedule; set strategy Recreate, or rollingUpdate maxSurge 0 with maxUnavailable 1"
    )


def _surge(value: Any, *, replicas: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(replicas * int(value[:-1]) / 100)
    return int(value)


def pods_moved(*, key: hostnetwork.WorkloadKey, workload: RawObject, known: int) -> int:
    """How many pods a patch of the workload moves to the node's network: all its desired
    replicas, not only the pods a check selected (a DaemonSet's as many as it schedules,
    or the ``known`` pods when its status does not say)."""
    if key.kind is Kind.DAEMONSET:
        desired = (workload.get("status") or {}).get("desiredNumberScheduled")
        return max(int(desired), known) if isinstance(desired, int) else known
    return replica_count(key=key, workload=workload)


def replica_count(*, key: hostnetwork.WorkloadKey, workload: RawObject) -> int:
    if key.kind is Kind.DAEMONSET:
        return 1  # one per node
    replicas = (workload.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def candidate_nodes(*, workload: RawObject, nodes: Sequence[RawObject]) -> list[str]:
    """The nodes the workload's new pods may land on: not cordoned, matching its
    ``nodeSelector`` and required node affinity. Taints are not weighed: a node the pods
    would not tolerate only adds a port check, never hides one."""
    spec = hostnetwork.pod_spec(workload)
    if spec.get("nodeName"):
        return [str(spec["nodeName"])]
    selector = spec.get("nodeSelector") or {}
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms") or ()
    found = []
    for node in nodes:
        labels = raw.labels(node)
        if (node.get("spec") or {}).get("unschedulable"):
            continue
        if any(labels.get(k) != v for k, v in selector.items()):
            continue
        if terms and not any(
            all(_expression(e, labels) for e in t.get("matchExpressions") or ()) for t in terms
        ):
            continue
        found.append(raw.name(node))
    return sorted(found)


def _pinned_node(workload: RawObject) -> bool:
    spec = hostnetwork.pod_spec(workload)
    if spec.get("nodeName") or HOSTNAME_KEY in (spec.get("nodeSelector") or {}):
        return True
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms") or ()
    hostnames: set[str] = set()
    for term in terms:
        for expr in term.get("matchExpressions") or ():
            if expr.get("key") == HOSTNAME_KEY and expr.get("operator") == "In":
                hostnames.update(expr.get("values") or ())
    return len(hostnames) == 1


def _hostname_anti_affinity(workload: RawObject) -> bool:
    anti = (hostnetwork.pod_spec(workload).get("affinity") or {}).get("podAntiAffinity") or {}
    terms = anti.get("requiredDuringSchedulingIgnoredDuringExecution") or ()
    return any(t.get("topologyKey") == HOSTNAME_KEY for t in terms)


def _matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    if not selector:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    return all(_expression(e, labels) for e in selector.get("matchExpressions") or ())


def _expression(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op, values = expr.get("key", ""), expr.get("operator"), expr.get("values") or ()
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    return key not in labels  # DoesNotExist
