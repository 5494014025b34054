"""Pure: targets a probe must not connect to unless an administrator allows it.

The probe runs as root with ``hostPID`` and connects to every target from the measured
pod's namespace *and from the node's own network namespace* (the host column). A target
on loopback, a link-local address (169.254.169.254 is the cloud metadata service on most
clouds) or one of the node's own addresses would therefore turn whoever may create a
NetHealthCheck into a port scanner of the node's own services: the check's status says
what answered. Such targets are refused (``Ready=False``, ``TargetNotAllowed``, naming
``spec.targets[i].host``) unless the operator's setting
``NETHEALTH_ALLOW_NODE_LOCAL_TARGETS`` (chart: ``operator.allowNodeLocalTargets``) says
otherwise.

What this cannot see: a DNS name is resolved inside the pod, after admission, so a name
that resolves to such an address is not refused here (``localhost`` and ``*.localhost``
are, since RFC 6761 reserves them for loopback).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any, Final

from nethealth import model
from nethealth.detection import acceptance, facts
from nethealth.probe import types

SETTING: Final = "NETHEALTH_ALLOW_NODE_LOCAL_TARGETS"
CHART_VALUE: Final = "operator.allowNodeLocalTargets"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Unsafe:
    index: int  # in spec.targets
    target: types.Target
    why: str  # what the address is, in words


def node_addresses(nodes: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Every address and host name the nodes report in ``status.addresses``."""
    return frozenset().union(*(facts.node_addresses(node) for node in nodes))


def unsafe(targets: Iterable[types.Target], *, nodes: frozenset[str] = frozenset()) -> list[Unsafe]:
    """The targets that name the node itself: loopback, link-local, unspecified, or one of
    ``nodes`` (``node_addresses``)."""
    found = []
    for index, target in enumerate(targets):
        why = _why(target.host, nodes=nodes)
        if why is not None:
            found.append(Unsafe(index=index, target=target, why=why))
    return found


def refuse(
    targets: Iterable[types.Target], *, nodes: frozenset[str] = frozenset(), allowed: bool
) -> acceptance.Acceptance | None:
    """``TargetNotAllowed`` for the first such target; None when there is none or an
    administrator allows them."""
    if allowed:
        return None
    found = unsafe(targets, nodes=nodes)
    if not found:
        return None
    first = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return acceptance.Acceptance(
        ready=False,
        reason=model.Reason.TARGET_NOT_ALLOWED,
        message=(
            f"spec.targets[{first.index}].host {first.target.host!r} (target"
            f" {first.target.name!r}) is {first.why}{more}: the probe also connects from the"
            " node's own network namespace, so it would reach the node's own services; no"
            " pod is measured. Name an address outside the node, or ask an administrator to"
            f" set {SETTING}=true (chart value {CHART_VALUE})"
        ),
    )


def _why(host: str, *, nodes: frozenset[str]) -> str | None:
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return "a loopback name"
    if facts.normal_host(host) in nodes:
        return "an address of a node"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (169.254.169.254 is the cloud metadata service)"
    if address.is_unspecified:
        return "the unspecified address (it means the node itself)"
    return None
