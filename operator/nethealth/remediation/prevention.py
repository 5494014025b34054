"""Pure: prevention — the broadcast route in every selected pod before the bug strikes.

``spec.remediation.prevention`` (opt-in, with mode Auto): the route that cures the kernel's
broadcast-route-cache bug in place (``inplace``, ``curejob``) also prevents it, so it can go
into every selected IPv4 pod of a workload as soon as a run sees the pod — on nodes whose
``status.nodeInfo.kernelVersion`` the project's kernel table (``probe/kernels``) places in
the affected range (``AffectedKernels``), or on every node (``Always``: vendor kernels whose
ABI name the table cannot place). The route lives as long as the pod's namespace, so each
new pod of the workload (a restart, a rollout, a scale-up) gets it at the next run.

The record is the workload's ``status.remediation`` entry (state ``Protected``) listing the
pods that have it; it is what ``nethealth_protected_pods`` counts and what deleting the
check undoes (``loop/cure.remove_all``). A pod with its own route for 255.255.255.255 is
left as it is (``broadcastroute``: ``foreign``), and so are pods on hostNetwork.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from nethealth import model
from nethealth.detection import reporting, selection
from nethealth.model import raw
from nethealth.probe import kernels, types
from nethealth.remediation import inplace, ledger


def wanted(spec: model.Remediation) -> bool:
    return (
        spec.prevention is not model.Prevention.OFF
        and spec.mode is model.RemediationMode.AUTO
        and not spec.pause_requests
    )


def affected_nodes(spec: model.Remediation, nodes: Sequence[raw.Node]) -> dict[str, str]:
    """The nodes to protect pods on, each with why (its kernel, in words)."""
    found = {}
    for node in nodes:
        release = str((raw.status(node).get("nodeInfo") or {}).get("kernelVersion") or "")
        if spec.prevention is model.Prevention.ALWAYS:
            found[raw.name(node)] = f"kernel {release or 'unknown'}; prevention: Always"
            continue
        assessment = kernels.assess(release) if release else None
        if assessment is not None and assessment.status is types.KernelStatus.AFFECTED:
            fixed = f", fixed in {assessment.fixed_in}" if assessment.fixed_in else ""
            found[raw.name(node)] = f"kernel {release} is in the affected range{fixed}"
    return found


def unprotected(
    views: Mapping[str, reporting.PodView],
    *,
    nodes: Mapping[str, str],
    entries: Mapping[ledger.Key, ledger.Entry],
) -> list[selection.PodRef]:
    """Selected IPv4 pods in their own namespace, on an affected node, without the route
    yet (no entry of this check lists them)."""
    done = {p for e in entries.values() if e.state in ledger.IN_PLACE for p in e.pods}
    return [
        v.ref
        for key, v in sorted(views.items())
        if key not in done
        and not v.ref.remediated
        and v.ref.node in nodes
        and inplace.ipv4(v.ref.ip)
    ]


def settle(
    entries: Mapping[ledger.Key, ledger.Entry], *, selected: set[str]
) -> dict[ledger.Key, ledger.Entry]:
    """Protected entries list only pods still selected (a deleted pod's namespace, and its
    route, are gone); an entry with none left goes."""
    kept = {}
    for key, entry in entries.items():
        if entry.state is model.WorkloadState.PROTECTED:
            alive = tuple(p for p in entry.pods if p in selected)
            if not alive:
                continue
            if alive != entry.pods:
                kept[key] = dataclasses.replace(entry, pods=alive, patch=inplace.patch_of(alive))
                continue
        kept[key] = entry
    return kept


def count(entries: Sequence[model.WorkloadResult]) -> int:
    """Pods protected: what ``nethealth_protected_pods`` says."""
    return sum(len(e.pods) for e in entries if e.state is model.WorkloadState.PROTECTED)
