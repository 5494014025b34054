"""The API side of remediation: find degraded pods' workloads, apply the patch, revert it.

The decisions are pure (``remediation.planning`` judges, ``hostnetwork`` writes the bodies);
this module reads what they need and writes what it was given, through ``kube.Api``, with
server-side apply under the field manager ``nethealth-operator`` and *only* the fields of
``hostnetwork.patch_body`` / ``revert_body``: the two pod-template fields and the
annotations. Applying the same body twice is a no-op on the server (no new ReplicaSet, no
rollout), so a crash between the write and anything after it converges on the next plan,
which sees the patch in place.

A field a manager names (a GitOps manifest's ``dnsPolicy: ClusterFirst``) never reaches
the patch: the preflight blocks it (``hostnetwork.claimed_by``). What the patch takes with
``force`` is only what defaulting gave the workload's creator. The revert restores the
recorded values with ``force`` too: only a value taken back removes our ``true`` where a
co-owner applied it as well. Whether a change sticks is the GitOps tool's decision
(``planning.Outcome.REVERTED_BY_OTHER``, never fought).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from nethealth import kube
from nethealth.model import raw
from nethealth.remediation import hostnetwork, placement, planning

Owner = hostnetwork.WorkloadKey | hostnetwork.NotRemediable


@dataclasses.dataclass(frozen=True, kw_only=True)
class Gathered:
    """What ``planning.plan`` needs to know beyond the check's own records."""

    owners: Mapping[str, Owner]  # by pod key
    workloads: Mapping[hostnetwork.WorkloadKey, raw.Workload]
    namespace_labels: Mapping[str, Mapping[str, str]]
    node_pods: Mapping[str, tuple[raw.Pod, ...]]


async def resolve(
    api: kube.Api, pod: Mapping[str, Any], *, replicasets: dict[str, raw.Object | None]
) -> Owner:
    """Pod -> ReplicaSet -> Deployment, or StatefulSet / DaemonSet; else not remediable.
    ``replicasets`` caches the ReplicaSets read (None: not found) across a run's pods."""
    ref = raw.controller(pod)
    if ref is not None and ref.get("kind") == "ReplicaSet":
        rs_key = f"{raw.namespace(pod)}/{ref.get('name', '')}"
        if rs_key not in replicasets:
            replicasets[rs_key] = await api.read_replicaset(
                namespace=raw.namespace(pod), name=ref.get("name", "")
            )
    found = {k: v for k, v in replicasets.items() if v is not None}
    return hostnetwork.owner_of(pod, replicasets=found)


async def gather(api: kube.Api, *, pods: Iterable[Mapping[str, Any]]) -> Gathered:
    """Owners of ``pods``, their workloads, their namespaces' labels, and every pod on each
    node their new pods may land on (for port conflicts), not only the nodes they run on
    now. Pass every selected pod, including the hostNetwork ones the run skipped (the pods
    of workloads patched already, which count against the budget); call it only when some
    pod is Degraded, as it reads each workload once."""
    owners: dict[str, Owner] = {}
    nodes: set[str] = set()
    replicasets: dict[str, raw.Object | None] = {}
    for pod in pods:
        owners[raw.key(pod)] = await resolve(api, pod, replicasets=replicasets)
        if node := (pod.get("spec") or {}).get("nodeName"):
            nodes.add(node)
    keys = sorted({o for o in owners.values() if isinstance(o, hostnetwork.WorkloadKey)})
    workloads = {k: w for k in keys if (w := await api.read_workload(k)) is not None}
    labels = {ns: await api.namespace_labels(ns) for ns in sorted({k.namespace for k in keys})}
    if workloads:
        listed = await api.list_nodes()
        for workload in workloads.values():
            nodes.update(placement.candidate_nodes(workload=workload, nodes=listed))
    node_pods = {node: tuple(await api.list_pods_on_node(node)) for node in sorted(nodes)}
    return Gathered(
        owners=owners, workloads=workloads, namespace_labels=labels, node_pods=node_pods
    )


async def patch(api: kube.Api, verdict: planning.Verdict) -> raw.Workload:
    """Applies a planned patch (``Outcome.PATCH``); any other verdict is refused."""
    if verdict.outcome is not planning.Outcome.PATCH or verdict.body is None:
        raise ValueError(
            f"{verdict.subject}: only a Patch verdict is applied, got {verdict.outcome}"
        )
    return await api.apply_workload(verdict.body, force=True)


async def revert(
    api: kube.Api, key: hostnetwork.WorkloadKey, *, check: str | None = None
) -> raw.Workload | None:
    """Restores the recorded originals; None when the workload is gone, was never patched
    (nothing recorded: nothing to restore), or records another check's change than
    ``check`` (each check reverts only its own). A change another manager has undone since
    is not restored over the newer values: only our annotations and label are released."""
    live = await api.read_workload(key)
    if live is None or (check is not None and hostnetwork.changed_by(live) != check):
        return None
    if not (hostnetwork.is_patched(live) or hostnetwork.half_reverted(live)):
        if hostnetwork.changed_by(live) is None:
            return None
        return await api.apply_workload(hostnetwork.release_body(key=key), force=False)
    try:
        body = hostnetwork.revert_body(key=key, workload=live)
    except ValueError as error:  # a malformed record: say so, never guess the originals
        raise kube.KubeError(f"revert {key}: {error}") from error
    return None if body is None else await api.apply_workload(body, force=True)


def key_of(workload: raw.Workload) -> hostnetwork.WorkloadKey:
    return hostnetwork.WorkloadKey(
        kind=hostnetwork.Kind(workload.get("kind", "")),
        namespace=raw.namespace(workload),
        name=raw.name(workload),
    )
