"""Pure: did moving a workload to the node's network help?

After the patch, the workload's new pods run in the node's namespace and carry the patch's
annotation, so the check measures them (``selection``). The change is judged on their
latest run: one failing run is enough to call it ineffective (the fault followed the
process: the known kernel bug lives in the node's kernel, so the node's own namespace can
fail too) and the caller reverts; every new pod passing verifies it. A change that no run
has judged within the deadline (rollout stuck, pods never measured) is reverted too: an
unverified change to a production workload is not left behind silently.
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


class Result(enum.StrEnum):
    WAITING = "Waiting"  # no new pod measured conclusively yet
    VERIFIED = "Verified"
    STILL_FAILING = "StillFailing"
    TIMED_OUT = "NotVerifiedInTime"


@dataclasses.dataclass(frozen=True, kw_only=True)
class NewPod:
    """A pod of the patched workload on hostNetwork, with its latest run."""

    key: str
    verdict: Verdict | None
    hint: str | None


def measured(run: decision.RunResult, *, threshold: model.Threshold) -> Verdict | None:
    """A new pod's own connects, judged whatever class the probe gave them: in the node's
    namespace it no longer matters where a fault lies (the probe may call a run with a
    failing fresh pod and an unmeasurable node Inconclusive), only whether the workload's
    connects fail. A run that measured nothing (its Job never ran) says nothing."""
    if run.attempts == 0:
        return None
    # The class only routes the decision; the counts are the new pod's own.
    klass = types.ProbeClass.POD_NAMESPACE if run.failures else types.ProbeClass.HEALTHY
    as_counted = dataclasses.replace(run, klass=klass)
    return decision.judge(run=as_counted, threshold=threshold).verdict


def deadline(
    *, interval: datetime.timedelta, probe_deadline: datetime.timedelta
) -> datetime.timedelta:
    """How long a change may stay unverified: a rollout, then three runs' worth."""
    return datetime.timedelta(minutes=2) + 3 * (interval + probe_deadline)


def judge(
    *,
    pods: Sequence[NewPod],
    changed_at: datetime.datetime,
    now: datetime.datetime,
    limit: datetime.timedelta,
) -> Result:
    if any(p.verdict is Verdict.FAILING for p in pods):
        return Result.STILL_FAILING
    if pods and all(p.verdict is Verdict.PASSING for p in pods):
        return Result.VERIFIED
    if now >= changed_at + limit:
        return Result.TIMED_OUT
    return Result.WAITING


def failing_hint(pods: Sequence[NewPod]) -> str | None:
    """The probe's hint of the first failing new pod, for the Ineffective message."""
    return next((p.hint for p in pods if p.verdict is Verdict.FAILING and p.hint), None)
