"""Pure: the operator-wide cap on pods moved to hostNetwork, shared by every check's loop.

What all changes hold is counted from the cluster (every workload carrying our uid label,
all its replicas), so the cap holds across operator restarts; and from this process's
memory of each check's changes, planned ones included, so two checks planning at the same
moment (each from a listing taken before the other's apply landed) cannot both spend the
last of it: each plan records its patches before any of them is applied, and every
other loop's next plan counts them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from nethealth.model import raw
from nethealth.remediation import hostnetwork, placement


class GlobalBudget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used: dict[str, int] = {}

    def remaining(self, *, excluding: str, in_cluster: Mapping[str, int]) -> int:
        """What a check (``excluding``: its uid) may still move, beside everyone else."""
        uids = (set(self._used) | set(in_cluster)) - {excluding}
        used = sum(max(self._used.get(u, 0), in_cluster.get(u, 0)) for u in uids)
        return self.limit - used

    def record(self, uid: str, pods: int) -> None:
        """The pods a check's changes hold, or are about to (recorded before applying)."""
        self._used[uid] = pods

    def forget(self, uid: str) -> None:
        self._used.pop(uid, None)


def in_cluster(workloads: Iterable[raw.Workload]) -> dict[str, int]:
    """Pods held by the changes found in the cluster, by the uid of the check that made
    them (workloads listed by our label)."""
    usage: dict[str, int] = {}
    for workload in workloads:
        uid = raw.labels(workload).get(hostnetwork.UID_LABEL)
        kind = workload.get("kind", "")
        if not uid or kind not in set(hostnetwork.Kind):
            continue
        key = hostnetwork.WorkloadKey(
            kind=hostnetwork.Kind(kind), namespace=raw.namespace(workload), name=raw.name(workload)
        )
        usage[uid] = usage.get(uid, 0) + placement.pods_moved(key=key, workload=workload, known=1)
    return usage
