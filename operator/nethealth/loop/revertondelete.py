"""Revert-on-delete, the API side: keep the finalizer as wanted; revert, then release.

The workloads to revert are those the check's ``status.remediation`` records and those
that carry the check's uid label (a change made just before a crash, before the status
recorded it, or one the bounded status could not hold); each revert restores the recorded
originals (``owners.revert``), only for a change of this check: a workload already
reverted, gone, or changed by another check is skipped. When the finalizer is wanted is
``remediation.finalizer``'s decision.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from nethealth import kube
from nethealth.loop import owners
from nethealth.model import raw
from nethealth.remediation import finalizer

logger = logging.getLogger(__name__)


async def keep(api: kube.Api, body: Mapping[str, Any], *, want: bool) -> None:
    """Adds or removes our finalizer to match ``want``; nothing when it already does."""
    if finalizer.holds(body) == want:
        return
    # A fresh read: the caller's body predates its own status write.
    fresh = await api.read_check(namespace=raw.namespace(body), name=raw.name(body))
    if fresh is None or finalizer.holds(fresh) == want:
        return
    try:
        await api.set_check_finalizers(
            namespace=raw.namespace(fresh),
            name=raw.name(fresh),
            finalizers=finalizer.changed(raw.finalizers(fresh), want=want),
            resource_version=raw.meta(fresh).get("resourceVersion", ""),
        )
    except kube.KubeError as error:
        if error.status not in (404, 409):
            raise
        # Gone, or changed meanwhile: the next run sees the fresh body and tries again.


async def finalize(api: kube.Api, body: Mapping[str, Any]) -> list[str]:
    """Reverts the workloads the check's status records as changed, then releases the
    check; the workloads reverted. A failed revert keeps the finalizer (retried at the
    next event or resync), so no change is ever left behind silently."""
    keys, unreadable = finalizer.to_revert(body)
    if unreadable is not None:
        logger.warning("%s: status unreadable: %s", raw.key(body), unreadable)
    labelled = await api.list_workloads(label_selector=finalizer.changes_of(body))
    reverted = []
    for key in sorted({*keys, *(owners.key_of(w) for w in labelled)}):
        if await owners.revert(api, key, check=raw.key(body)) is not None:
            reverted.append(str(key))
    await keep(api, body, want=False)
    return reverted
