"""Pure: the ladder's first step for the kernel's broadcast-route-cache bug — cure in place.

``spec.remediation.strategy: InPlaceThenHostNetwork`` (the default). When every degraded
pod of a workload shows the bug at work — the probe's top hint is
``KernelBroadcastRouteCache`` *with per-CPU evidence* (connects failing on some CPUs and not
others, or a cached broadcast route on some CPUs only), not only a kernel version in the
bad range — the operator adds ``255.255.255.255/32 dev eth0`` in those pods' own network
namespaces (``curejob``, a short Job on the pod's node). That changes no workload: nothing
rolls out, nothing for Argo CD to see. The next runs verify it like any remediation
(``verification.judge`` on the same pods); if it does not hold — the same pods degraded
again — the workload goes on to the hostNetwork patch, through every gate of ``planning``.
Any other fault goes to hostNetwork at once, as with ``HostNetwork``.

Pods of a workload only (the record, ``status.remediation``, is kept per workload), IPv4
only (the bug is IPv4's).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from typing import Final

from nethealth import model
from nethealth.remediation import curejob

KERNEL_BUG_HINT: Final = "KernelBroadcastRouteCache"
# The per-CPU facts of the hint's evidence (``probe/hints/kernelfacts.py``): "failures on
# CPU 0, none on CPU 1: ...", "on CPU 0 a plain lookup ... returned broadcast", "route
# lookups differ between CPUs". A kernel version alone names no CPU.
_PER_CPU: Final = re.compile(r"\bCPUs?\b")


def applies(hint: str | None) -> bool:
    """The probe's top hint shows the bug at work, with per-CPU evidence."""
    if not hint or not hint.startswith(KERNEL_BUG_HINT):
        return False
    _, _, evidence = hint.partition(":")
    return bool(_PER_CPU.search(evidence))


def ipv4(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).version == 4
    except ValueError:
        return False


def wanted(spec: model.Remediation) -> bool:
    """The strategy asks for it, and nothing (mode Off, a pause) stops anything new."""
    return (
        spec.strategy is model.RemediationStrategy.IN_PLACE_THEN_HOST_NETWORK
        and spec.mode is not model.RemediationMode.OFF
        and not spec.pause_requests
    )


def cured_message(subject: str, pods: Iterable[str], *, results: str = "") -> str:
    done = f" ({results})" if results else ""
    return (
        f"{subject}: added the route {curejob.route()} in the network namespace of pod(s)"
        f" {', '.join(pods)}{done}; verifying with the next runs; hostNetwork if it does not"
        " hold"
    )


def dry_run_message(subject: str, pods: Iterable[str]) -> str:
    return (
        f"{subject}: would add the route {curejob.route()} in the network namespace of pod(s)"
        f" {', '.join(pods)} (the kernel's broadcast-route-cache bug, seen per CPU); no"
        " workload change"
    )


def patch_of(pods: Iterable[str]) -> str:
    """What ``status.remediation[].patch`` shows for the cure: the route and where."""
    return json.dumps({"route": curejob.route(), "pods": list(pods)}, sort_keys=True)
