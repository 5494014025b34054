"""Pure: ``spec.remediation.revertOnDelete``, when the check must hold its finalizer.

A finalizer holds a deleted check until the operator has reverted the workloads it
changed. It is on the check only while the check has a workload changed (patched,
verified, or changed back by another manager, whose annotation we still own): a check that
changed nothing carries no finalizer, so deleting it never waits for the operator, and the
operator writes nothing to its metadata. When the operator is not running, a check with
the finalizer waits for it; removing the finalizer by hand (``kubectl patch nethc NAME
--type merge -p '{"metadata":{"finalizers":null}}'``) deletes it without reverting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from nethealth import model
from nethealth.model import raw
from nethealth.remediation import hostnetwork, ledger

FINALIZER: Final = "nethealth.io/revert-on-delete"
HELD: Final = ledger.HELD


def wanted(*, spec: model.Remediation, entries: Mapping[ledger.Key, ledger.Entry]) -> bool:
    return spec.revert_on_delete and any(
        e.state in HELD or e.state in ledger.IN_PLACE for e in entries.values()
    )


def routes_to_remove(body: Mapping[str, Any]) -> list[str]:
    """The pods (``namespace/name``) a deleted check's status records with the broadcast
    route in their namespace (cured in place or protected): the route goes with the check."""
    status = {k: v for k, v in raw.status(body).items() if k != "kopf"}
    try:
        parsed = model.parse_status(status)
    except model.SpecError:
        return []
    entries = ledger.load(parsed.remediation)
    return sorted({p for e in entries.values() if e.state in ledger.IN_PLACE for p in e.pods})


def holds(body: Mapping[str, Any]) -> bool:
    return FINALIZER in raw.finalizers(body)


def pending(body: Mapping[str, Any]) -> bool:
    """Deleted, and held by our finalizer: the workloads must be reverted first."""
    return raw.deleted(body) and holds(body)


def changed(finalizers: list[str], *, want: bool) -> list[str]:
    """The check's finalizers with ours added or removed, the others kept in order."""
    if want:
        return finalizers if FINALIZER in finalizers else [*finalizers, FINALIZER]
    return [f for f in finalizers if f != FINALIZER]


def changes_of(body: Mapping[str, Any]) -> str:
    """The label selector of every workload the check has changed."""
    return f"{hostnetwork.UID_LABEL}={raw.uid(body)}"


def orphans(workloads: list[raw.Workload], *, checks: set[str]) -> list[raw.Workload]:
    """Changes whose check no longer exists (uids listed *after* the workloads, so a check
    created meanwhile is among them), made by a check that asked for revert-on-delete."""
    return [
        w
        for w in workloads
        if raw.labels(w).get(hostnetwork.UID_LABEL) not in checks
        and hostnetwork.reverts_on_delete(w)
    ]


def to_revert(body: Mapping[str, Any]) -> tuple[list[ledger.Key], str | None]:
    """The workloads a deleted check's status records as changed, and why none can be
    read (an unreadable status: nothing to revert, said in the log)."""
    status = {k: v for k, v in raw.status(body).items() if k != "kopf"}
    try:
        parsed = model.parse_status(status)
    except model.SpecError as error:
        return [], str(error)
    entries = ledger.load(parsed.remediation)
    return [key for key, entry in entries.items() if entry.state in HELD], None
