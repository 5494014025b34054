"""Pure: did moving a workload to the node's network help, and does it keep helping?

After the patch, the workload's new pods run in the node's namespace and carry the patch's
annotation, so the check measures them (``selection``). The change is judged on their runs
as a recovery is, not on one lucky window:

- verified only after ``recoveryRuns`` runs in a row in which every new pod passed
  *clearly* below the threshold (the decision's recovery rule: the upper end of the rate's
  interval within ``failureRate``), so 11 failures out of 60 in one block do not verify;
- failures the control shares (the probe's class NodeNetwork or Upstream: a fresh pod on
  the node fails too) are not held against the change: an upstream outage during the
  verification says nothing about the workload and must not revert a good change;
- one run with the new pods' own connects clearly failing is enough to call it
  ineffective (the fault followed the process: the known kernel bug lives in the node's
  kernel, so the node's own namespace can fail too) and the caller reverts;
- a change that no run has verified within the deadline (rollout stuck, pods never
  measured) is reverted too: an unverified change to a production workload is not left
  behind silently;
- a verified change stays watched: when a new pod is decided Degraded again (the decision's
  own ``consecutiveRuns`` hysteresis), the change relapsed and is reverted and reported.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Sequence

from nethealth import model
from nethealth.detection import decision
from nethealth.probe import types

Verdict = decision.RunVerdict
# Classes in which the probe's control (a fresh pod on the node) fails as well.
SHARED: frozenset[types.ProbeClass] = frozenset(
    {types.ProbeClass.NODE_NETWORK, types.ProbeClass.UPSTREAM}
)


class Result(enum.StrEnum):
    WAITING = "Waiting"  # no run judged every new pod yet, or not enough runs in a row
    PASSED = "Passed"  # this run passed clearly; not yet enough runs in a row
    VERIFIED = "Verified"
    STILL_FAILING = "StillFailing"
    TIMED_OUT = "NotVerifiedInTime"


@dataclasses.dataclass(frozen=True, kw_only=True)
class NewPod:
    """A pod of the patched workload on hostNetwork, with its latest run's verdict and the
    decision's state of it."""

    key: str
    verdict: Verdict | None
    hint: str | None
    state: model.PodState = model.PodState.UNKNOWN


def measured(run: decision.RunResult, *, threshold: model.Threshold) -> Verdict | None:
    """A new pod's own connects, judged with the recovery rule whatever class the probe gave
    them: in the node's namespace it no longer matters where a fault lies, only whether the
    workload's connects fail. None: the run says nothing about the change (not measured, or
    the control failed too)."""
    if run.attempts == 0 or run.klass in SHARED:
        return None
    klass = types.ProbeClass.POD_NAMESPACE if run.failures else types.ProbeClass.HEALTHY
    as_counted = dataclasses.replace(run, klass=klass)
    verdict = decision.judge(run=as_counted, threshold=threshold, recovering=True).verdict
    return verdict if verdict in (Verdict.PASSING, Verdict.FAILING) else None


def deadline(
    *, interval: datetime.timedelta, probe_deadline: datetime.timedelta, runs: int = 1
) -> datetime.timedelta:
    """How long a change may stay unverified: a rollout, then three runs' worth beyond the
    ``runs`` in a row that verification needs."""
    return datetime.timedelta(minutes=2) + (runs + 2) * (interval + probe_deadline)


def judge(
    *,
    pods: Sequence[NewPod],
    passed_before: int,
    needed: int,
    changed_at: datetime.datetime,
    now: datetime.datetime,
    limit: datetime.timedelta,
) -> Result:
    """This run's word on a change waiting for verification; ``passed_before`` is how many
    runs in a row passed before this one, ``needed`` how many verify it."""
    if any(p.verdict is Verdict.FAILING for p in pods):
        return Result.STILL_FAILING
    if pods and all(p.verdict is Verdict.PASSING for p in pods):
        return Result.VERIFIED if passed_before + 1 >= needed else Result.PASSED
    if now >= changed_at + limit:
        return Result.TIMED_OUT
    return Result.WAITING


def relapsed(pods: Sequence[NewPod]) -> bool:
    """A verified change whose new pod is decided Degraded again."""
    return any(p.state is model.PodState.DEGRADED for p in pods)


def failing_hint(pods: Sequence[NewPod]) -> str | None:
    """The probe's hint of the first failing new pod, for the Ineffective message."""
    return next(
        (
            p.hint
            for p in pods
            if (p.verdict is Verdict.FAILING or p.state is model.PodState.DEGRADED) and p.hint
        ),
        None,
    )
