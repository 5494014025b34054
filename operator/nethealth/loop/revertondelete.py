"""``spec.remediation.revertOnDelete``: deleting a check restores the workloads it changed.

A finalizer holds the deleted check until the operator has reverted them. It is on the
check only while the check has a workload changed (patched, verified, or changed back by
another manager, whose annotation we still own): a check that changed nothing carries no
finalizer, so deleting it never waits for the operator, and the operator writes nothing
to its metadata. When the operator is not running, a check with the finalizer waits for
it; removing the finalizer by hand (``kubectl patch nethc NAME --type merge -p
'{"metadata":{"finalizers":null}}'``) deletes it without reverting.

The workloads to revert are read from the check's own ``status.remediation`` (the only
record that survives the operator), and each revert restores the recorded originals
(``workloads.revert``): a workload already reverted or gone is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Final

from nethealth import kube, model
from nethealth.kube import workloads
from nethealth.remediation import ledger

FINALIZER: Final = "nethealth.io/revert-on-delete"
HELD: Final = ledger.CHANGED | {model.WorkloadState.REVERTED_BY_OTHER}

logger = logging.getLogger(__name__)


def wanted(*, spec: model.Remediation, entries: Mapping[ledger.Key, ledger.Entry]) -> bool:
    return spec.revert_on_delete and any(e.state in HELD for e in entries.values())


def _finalizers(body: Mapping[str, Any]) -> list[str]:
    return list((body.get("metadata") or {}).get("finalizers") or ())


async def keep(body: Mapping[str, Any], *, want: bool) -> None:
    """Adds or removes our finalizer to match ``want``; nothing when it already does."""
    if (FINALIZER in _finalizers(body)) == want:
        return
    meta = body["metadata"]
    # A fresh read: the caller's body predates its own status write.
    fresh = await kube.read_check(namespace=meta["namespace"], name=meta["name"])
    if fresh is None or (FINALIZER in _finalizers(fresh)) == want:
        return
    current = _finalizers(fresh)
    changed = [*current, FINALIZER] if want else [f for f in current if f != FINALIZER]
    meta = fresh["metadata"]
    try:
        await kube.set_check_finalizers(
            namespace=meta["namespace"],
            name=meta["name"],
            finalizers=changed,
            resource_version=meta["resourceVersion"],
        )
    except kube.KubeError as error:
        if error.status not in (404, 409):
            raise
        # Gone, or changed meanwhile: the next run sees the fresh body and tries again.


def pending(body: Mapping[str, Any]) -> bool:
    """Deleted, and held by our finalizer: the workloads must be reverted first."""
    meta = body.get("metadata") or {}
    return bool(meta.get("deletionTimestamp")) and FINALIZER in _finalizers(body)


async def finalize(body: Mapping[str, Any]) -> list[str]:
    """Reverts the workloads the check's status records as changed, then releases the
    check; the workloads reverted. A failed revert keeps the finalizer (retried at the
    next event or resync), so no change is ever left behind silently."""
    raw = {k: v for k, v in (body.get("status") or {}).items() if k != "kopf"}
    try:
        status = model.parse_status(raw)
    except model.SpecError as error:
        logger.warning("%s: status unreadable, nothing to revert: %s", _name(body), error)
        status = model.EMPTY_STATUS
    client = kube.api_client()
    reverted = []
    for key, entry in ledger.load(status.remediation).items():
        if entry.state not in HELD:
            continue
        answer = await asyncio.to_thread(workloads.revert, client, key)
        if answer is not None:
            reverted.append(str(key))
    await keep(body, want=False)
    return reverted


def _name(body: Mapping[str, Any]) -> str:
    meta = body.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"
