"""Pure: what remediation does in a run, as values: the loop carries them out in order.

``steps`` decides, from what the loop read, an ordered tuple of these; the loop performs
each one (an API call, or only an Event) and hands ``ledger.record`` the ``Result``; the
ledger turns it into the workload's entry and the Events to post. No decision is left to
the loop: it never chooses between restarting and patching, nor what a failure means.
"""

from __future__ import annotations

import dataclasses

from nethealth import model
from nethealth.detection import selection
from nethealth.model import raw
from nethealth.remediation import hostnetwork, planning


@dataclasses.dataclass(frozen=True, kw_only=True)
class Announce:
    """Post an Event; nothing else changes."""

    notice: model.Notice


@dataclasses.dataclass(frozen=True, kw_only=True)
class HoldFinalizer:
    """Put the revert-on-delete finalizer on the check before its first change: a check
    deleted at any moment after the change (or while the operator is down) then waits for
    the revert. If it cannot be held, no change is made in this step."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Restart:
    """The ladder's first step: evict the degraded pods (by uid, through the Eviction API,
    so PodDisruptionBudgets hold) so their controller recreates them with fresh plumbing."""

    verdict: planning.Verdict
    pods: tuple[selection.PodRef, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Patch:
    """Apply the verdict's hostNetwork body to its workload."""

    verdict: planning.Verdict


@dataclasses.dataclass(frozen=True, kw_only=True)
class Revert:
    """Restore a changed workload's recorded originals: the change did not help."""

    key: hostnetwork.WorkloadKey
    entry: model.WorkloadResult
    why: model.Reason  # STILL_FAILING, NOT_VERIFIED_IN_TIME, RELAPSED or HALF_REVERTED
    hint: str | None  # the failing new pod's top hint; for HALF_REVERTED the manager
    pods: tuple[str, ...]  # the new pods that were judged


@dataclasses.dataclass(frozen=True, kw_only=True)
class Cure:
    """InPlaceThenHostNetwork's first step: add the broadcast route in each pod's own
    network namespace, one short Job per pod on its node (``curejob``); no workload
    changes."""

    key: hostnetwork.WorkloadKey
    subject: str
    pods: tuple[selection.PodRef, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Protect:
    """Prevention: the same route in pods that did not fail yet (``prevention``); ``why``
    names the node's kernel. Pods the Job could not reach are left for the next run."""

    key: hostnetwork.WorkloadKey
    pods: tuple[selection.PodRef, ...]
    why: str


Action = Announce | HoldFinalizer | Restart | Patch | Revert | Cure | Protect


@dataclasses.dataclass(frozen=True, kw_only=True)
class Done:
    """The action happened; ``answer`` is the workload as the API server returned it."""

    answer: raw.Workload | None = None
    detail: str | None = None  # what the action found (a Cure: each pod's result)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Failed:
    """The API refused or could not be reached; ``error`` says why, ``status`` is the
    HTTP status when there was one (409: a conflict with another field manager)."""

    error: str
    status: int | None = None


Result = Done | Failed


def workload_of(action: Action) -> hostnetwork.WorkloadKey | None:
    """The workload an action changes (None for an Event only)."""
    match action:
        case Restart(verdict=verdict) | Patch(verdict=verdict):
            return verdict.workload
        case Revert(key=key):
            return key
    return None


def stops_on_failure(action: Action) -> bool:
    """Whether the rest of the step is skipped when ``action`` fails: nothing may change a
    workload that the check's deletion would then leave behind."""
    return isinstance(action, HoldFinalizer)
