"""Pure: which of the pods a check's selector matched are measured in this run, per node.

A pod that cannot be measured fairly is left out of the run *and of every denominator*:
not Running, terminating, no IP yet, or on a node that is cordoned or not Ready. Peers
that counted such pods raised false alarms during node churn, when pods are being moved
anyway. A ``hostNetwork`` pod is skipped with a reason: its namespace is the node's, so
probing it measures the host, which the probe already does as its control. The
exception is a pod our own hostNetwork patch created (it carries the patch's annotation):
it is measured, because that measurement verifies the change.

Pods are grouped by node because one probe Job per node measures all of that node's pods
(cost grows with nodes, not pods). Raw Kubernetes JSON goes in (``RawPod``/``RawNode``,
as the API returns it), typed values come out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Final

from nethealth.detection import facts

PROBE_LABEL: Final = facts.PROBE_LABEL
HOSTNAME_LABEL: Final = facts.HOSTNAME_LABEL
REMEDIATED_BY_ANNOTATION: Final = facts.REMEDIATED_BY_ANNOTATION

RawPod = facts.RawPod
RawNode = facts.RawNode


@dataclasses.dataclass(frozen=True, kw_only=True, order=True)
class PodRef:
    """A pod measured in this run."""

    namespace: str
    name: str
    uid: str
    node: str
    ip: str
    remediated: bool = False  # on hostNetwork by our patch: measured to verify the change

    @property
    def key(self) -> str:
        """``namespace/name``: how results and records name a pod."""
        return f"{self.namespace}/{self.name}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Skipped:
    """A selected pod left out of this run, and why (for status messages and logs)."""

    namespace: str
    name: str
    reason: str
    counted: bool = False  # hostNetwork pods are reported; transient states are not counted


@dataclasses.dataclass(frozen=True, kw_only=True)
class Selection:
    by_node: Mapping[str, tuple[PodRef, ...]]
    skipped: tuple[Skipped, ...]
    hostnames: Mapping[str, str] = dataclasses.field(default_factory=dict)  # node -> label

    @property
    def pods(self) -> tuple[PodRef, ...]:
        return tuple(sorted(p for pods in self.by_node.values() for p in pods))

    @property
    def eligible(self) -> int:
        return sum(len(pods) for pods in self.by_node.values())


def select(*, pods: Iterable[RawPod], nodes: Iterable[RawNode]) -> Selection:
    """The measurable pods grouped by node (nodes and pods sorted), and the rest with why."""
    return select_facts(
        pods=[facts.pod_facts(p) for p in pods], nodes=[facts.node_facts(n) for n in nodes]
    )


def select_facts(*, pods: Iterable[facts.PodFacts], nodes: Iterable[facts.NodeFacts]) -> Selection:
    """``select`` on the facts the shared view keeps (``kube.view``)."""
    nodes = list(nodes)
    node_problems = {n.name: n.problem for n in nodes}
    hostnames = {n.name: n.hostname for n in nodes}
    by_node: dict[str, list[PodRef]] = {}
    skipped: list[Skipped] = []
    for pod in pods:
        if PROBE_LABEL in pod.labels:
            continue  # our own probe pods: a selector matching them must not probe itself
        reason = _pod_problem(pod, node_problems)
        if reason is not None or pod.node is None or pod.ip is None:
            skipped.append(
                Skipped(
                    namespace=pod.namespace,
                    name=pod.name,
                    reason=reason or "not scheduled to a node",
                    counted=pod.host_network,
                )
            )
            continue
        ref = PodRef(
            namespace=pod.namespace,
            name=pod.name,
            uid=pod.uid,
            node=pod.node,
            ip=pod.ip,
            remediated=pod.remediated,
        )
        by_node.setdefault(ref.node, []).append(ref)
    return Selection(
        by_node={node: tuple(sorted(refs)) for node, refs in sorted(by_node.items())},
        skipped=tuple(sorted(skipped, key=lambda s: (s.namespace, s.name))),
        hostnames={node: hostnames[node] for node in by_node},
    )


def _pod_problem(pod: facts.PodFacts, node_problems: Mapping[str, str | None]) -> str | None:
    if pod.deleting:
        return "terminating"
    if pod.phase != "Running":
        return f"not Running (phase {pod.phase})"
    if pod.host_network and not pod.remediated:
        return "hostNetwork: its namespace is the node's, which the probe measures as the host"
    if not pod.ip:
        return "no pod IP yet"
    node = pod.node
    if not node:
        return "not scheduled to a node"
    if node not in node_problems:
        return f"node {node} not found"
    problem = node_problems[node]
    return None if problem is None else f"node {node} {problem}"
