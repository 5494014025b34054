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
from typing import Any, Final

from nethealth.model import raw

PROBE_LABEL: Final = "nethealth.io/probe"  # set on probe pods: never measured themselves
HOSTNAME_LABEL: Final = "kubernetes.io/hostname"
# Set by our hostNetwork patch on the pod template (``netpatch.BY_ANNOTATION``).
REMEDIATED_BY_ANNOTATION: Final = "nethealth.io/remediated-by"

RawPod = Mapping[str, Any]
RawNode = Mapping[str, Any]


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
    nodes = list(nodes)
    node_problems = {raw.name(n): _node_problem(n) for n in nodes}
    hostnames = {raw.name(n): raw.labels(n).get(HOSTNAME_LABEL, raw.name(n)) for n in nodes}
    by_node: dict[str, list[PodRef]] = {}
    skipped: list[Skipped] = []
    for pod in pods:
        if PROBE_LABEL in raw.labels(pod):
            continue  # our own probe pods: a selector matching them must not probe itself
        reason = _pod_problem(pod, node_problems)
        if reason is not None:
            skipped.append(
                Skipped(
                    namespace=raw.namespace(pod),
                    name=raw.name(pod),
                    reason=reason,
                    counted=_host_network(pod),
                )
            )
            continue
        ref = PodRef(
            namespace=raw.namespace(pod),
            name=raw.name(pod),
            uid=raw.uid(pod),
            node=pod["spec"]["nodeName"],
            ip=pod["status"]["podIP"],
            remediated=_remediated(pod),
        )
        by_node.setdefault(ref.node, []).append(ref)
    return Selection(
        by_node={node: tuple(sorted(refs)) for node, refs in sorted(by_node.items())},
        skipped=tuple(sorted(skipped, key=lambda s: (s.namespace, s.name))),
        hostnames={node: hostnames[node] for node in by_node},
    )


def _host_network(pod: RawPod) -> bool:
    return bool((pod.get("spec") or {}).get("hostNetwork"))


def _remediated(pod: RawPod) -> bool:
    return _host_network(pod) and REMEDIATED_BY_ANNOTATION in raw.annotations(pod)


def _pod_problem(pod: RawPod, node_problems: Mapping[str, str | None]) -> str | None:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    if meta.get("deletionTimestamp"):
        return "terminating"
    phase = status.get("phase") or "Pending"
    if phase != "Running":
        return f"not Running (phase {phase})"
    if spec.get("hostNetwork") and not _remediated(pod):
        return "hostNetwork: its namespace is the node's, which the probe measures as the host"
    if not status.get("podIP"):
        return "no pod IP yet"
    node = spec.get("nodeName")
    if not node:
        return "not scheduled to a node"
    if node not in node_problems:
        return f"node {node} not found"
    problem = node_problems[node]
    return None if problem is None else f"node {node} {problem}"


def _node_problem(node: RawNode) -> str | None:
    """Why a node's pods are not measured now, or None when they are."""
    if (node.get("spec") or {}).get("unschedulable"):
        return "is cordoned"
    if raw.deleted(node):
        return "is being deleted"
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") != "True":
        return "is not Ready"
    return None
