"""Pure: the few facts of a pod and of a node that the check loop needs.

The operator keeps these for every pod it watches (``kube.view``), so they are a frozen
value of a dozen fields rather than the API's body: 10,000 parsed pods are hundreds of
MiB, and a thousand checks each holding their own lists took 1.4 GiB
(docs/performance.md). Label strings are interned: most pods share their keys and many
their values.

``selection`` decides on these; ``pod_facts``/``node_facts`` read them from the API's JSON.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import sys
from collections.abc import Mapping
from typing import Any, Final

from nethealth.model import raw, selectors

PROBE_LABEL: Final = "nethealth.io/probe"  # set on probe pods: never measured themselves
HOSTNAME_LABEL: Final = "kubernetes.io/hostname"
# The node address types a target must not name (Hostname names are compared too).
NODE_ADDRESS_TYPES: Final = frozenset({"InternalIP", "ExternalIP", "Hostname", "InternalDNS"})
# Set by our hostNetwork patch on the pod template (``netpatch.BY_ANNOTATION``).
REMEDIATED_BY_ANNOTATION: Final = "nethealth.io/remediated-by"

RawPod = Mapping[str, Any]
RawNode = Mapping[str, Any]


@dataclasses.dataclass(frozen=True, kw_only=True)
class PodFacts:
    """What selection, Job planning and remediation read of a pod."""

    namespace: str
    name: str
    uid: str
    labels: Mapping[str, str]
    node: str | None
    ip: str | None
    phase: str
    deleting: bool
    host_network: bool
    remediated: bool  # on hostNetwork by our patch (its annotation)
    owners: tuple[Mapping[str, Any], ...]  # metadata.ownerReferences as the API has them

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def owner_facts(self) -> dict[str, Any]:
        """The pod as ``remediation`` reads it (``hostnetwork.owner_facts``' shape)."""
        meta: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if self.owners:
            meta["ownerReferences"] = [dict(o) for o in self.owners]
        return {"metadata": meta, "spec": {"nodeName": self.node}}


@dataclasses.dataclass(frozen=True, kw_only=True)
class NodeFacts:
    name: str
    hostname: str  # its kubernetes.io/hostname label (a Job's nodeSelector)
    problem: str | None  # why its pods are not measured now (None: they are)
    # Its own addresses and names (``status.addresses``): a target naming one is refused.
    addresses: frozenset[str] = frozenset()


def pod_facts(pod: RawPod) -> PodFacts:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    host_network = bool(spec.get("hostNetwork"))
    return PodFacts(
        namespace=sys.intern(raw.namespace(pod)),
        name=raw.name(pod),
        uid=raw.uid(pod),
        labels={sys.intern(k): sys.intern(v) for k, v in raw.labels(pod).items()},
        node=sys.intern(spec["nodeName"]) if spec.get("nodeName") else None,
        ip=status.get("podIP") or None,
        phase=sys.intern(status.get("phase") or "Pending"),
        deleting=bool(meta.get("deletionTimestamp")),
        host_network=host_network,
        remediated=host_network and REMEDIATED_BY_ANNOTATION in raw.annotations(pod),
        owners=tuple(meta.get("ownerReferences") or ()),
    )


def node_facts(node: RawNode) -> NodeFacts:
    return NodeFacts(
        name=raw.name(node),
        hostname=raw.labels(node).get(HOSTNAME_LABEL, raw.name(node)),
        problem=_node_problem(node),
        addresses=node_addresses(node),
    )


def node_addresses(node: RawNode) -> frozenset[str]:
    """Every address and host name the node reports in ``status.addresses``, normalised."""
    return frozenset(
        normal_host(str(address["address"]))
        for address in raw.status(node).get("addresses") or []
        if address.get("type") in NODE_ADDRESS_TYPES and address.get("address")
    )


def normal_host(host: str) -> str:
    """An address in its canonical text, or a name in lower case without the root dot."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.lower().rstrip(".")


def _node_problem(node: RawNode) -> str | None:
    if (node.get("spec") or {}).get("unschedulable"):
        return "is cordoned"
    if raw.deleted(node):
        return "is being deleted"
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") != "True":
        return "is not Ready"
    return None


def matches(selector: selectors.LabelSelector, labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy the selector, as the API server's label selector does."""
    if any(labels.get(k) != v for k, v in selector.match_labels.items()):
        return False
    return all(_meets(r, labels) for r in selector.match_expressions)


def _meets(requirement: selectors.Requirement, labels: Mapping[str, str]) -> bool:
    op, key = requirement.operator, requirement.key
    if op is selectors.SelectorOperator.EXISTS:
        return key in labels
    if op is selectors.SelectorOperator.DOES_NOT_EXIST:
        return key not in labels
    if op is selectors.SelectorOperator.IN:
        return labels.get(key) in requirement.values
    return labels.get(key) not in requirement.values  # NotIn: also true when absent
